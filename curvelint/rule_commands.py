"""`curvelint rules` and `curvelint rule KEY`: the rules' documentation, as text or as data for tools."""

from __future__ import annotations

import click

from curvelint.console import fail, say

_RULE_FORMAT = click.option("--format", "--output-format", "fmt", type=click.Choice(["text", "json"]),
                            default="text", show_default=True, help="json: every field of the rules, for tools.")


@click.command("rules")
@_RULE_FORMAT
def rules_command(fmt: str) -> None:
    """List every rule: code, name, default severity, the version that added it, and summary."""
    from curvelint.registry import describe, load_rules
    from curvelint.rule import PREVIEW

    rules = load_rules()
    if fmt == "json":
        import json

        click.echo(json.dumps([describe(r) for r in rules], indent=2))
        return
    width = max((len(r.name) for r in rules), default=10)
    since = max((len(r.since) for r in rules), default=0)
    for r in rules:
        preview = "[preview] " if r.stability == PREVIEW else ""
        old = f"(old names: {', '.join(r.aliases)}) " if r.aliases else ""
        added = f"{(r.since or '-').ljust(since)}  " if since else ""
        click.echo(f"{r.code}  {r.name.ljust(width)}  {str(r.severity):<7}  {added}{preview}{old}{r.summary}")


@click.command("rule")
@click.argument("key")
@_RULE_FORMAT
def rule_command(key: str, fmt: str) -> None:
    """Show the documentation of one rule (by code, name, or an old code or name)."""
    from curvelint.registry import describe, find_rule, renamed

    rule = find_rule(key)
    if rule is None:
        from curvelint.config_values import did_you_mean
        from curvelint.registry import load_rules

        known = [k for r in load_rules() for k in (r.code, r.name)]
        fail(f"no rule {key!r}{did_you_mean(key, known)} (see `curvelint rules`)")
    for old, _ in renamed([key]):
        say(f"{old!r} is an old name of {rule.code} {rule.name}")
    if fmt == "json":
        import json

        click.echo(json.dumps(describe(rule), indent=2))
        return
    click.echo(f"{rule.code} {rule.name} ({rule.severity})\n{_status(rule)}\n\n{rule.summary}\n\n{rule.doc()}")
    if rule.options:
        click.echo("\nOptions:")
        for name, opt in rule.options.items():
            click.echo(f"  {name} = {opt.default!r}\n      {opt.doc}")
    if rule.defers_to:
        names = [f"{c} {r.name}" if (r := find_rule(c)) else c for c in rule.defers_to]
        click.echo("\nDefers to (yields a series they report; they run first, also when not selected):\n  "
                   + "\n  ".join(names))


def _status(rule) -> str:
    """``stable · since 0.2.0 · old names: CL099, flat-metric (...)``: the parts the rule declares."""
    from curvelint.rule import PREVIEW

    parts = [rule.stability + (" (selected only by its exact code or name)" if rule.stability == PREVIEW else "")]
    parts += [f"since {rule.since}"] if rule.since else []
    if rule.aliases:
        parts.append(f"old names: {', '.join(rule.aliases)} (deprecated; they still select it)")
    return " · ".join(parts)
