"""How command-line options win over a configuration: shared by `curvelint lint` and `curvelint watch`."""

from __future__ import annotations

from curvelint.console import say


def split(values) -> list[str]:
    """Repeatable, comma-separated option values as one list: ('CL1,CL2', 'CL3') -> ['CL1', 'CL2', 'CL3']."""
    return [v.strip() for value in values for v in value.split(",") if v.strip()]


def apply_options(config, select, extend_select, ignore, exclude, fail_on, fmt) -> None:
    """Command-line options win over configuration files; an unknown selector is a configuration error."""
    if select:
        config.select = split(select)
    config.extend_select += split(extend_select)
    config.ignore += split(ignore)
    config.exclude += list(exclude)
    if fail_on:
        config.fail_on = fail_on
    if fmt:
        config.format = fmt
    from curvelint.registry import unknown_selectors

    selectors = [*(config.select or []), *config.extend_select, *config.ignore]
    unknown = unknown_selectors(selectors)
    if unknown:
        from curvelint.config import ConfigError
        from curvelint.config_rules import unknown_selector

        raise ConfigError(unknown_selector(unknown[0]))
    from curvelint.registry import renamed

    for old, rule in renamed(selectors):
        say(f"warning: {old!r} is an old name of {rule.code} {rule.name}, deprecated: select {rule.code}")
