"""The configuration keys about rules: selectors, ``[rules.NAME]`` options and ``[severity]``.

Which rules a selector names is the registry's to say (`curvelint.registry`); here each value is
checked and turned into what the engine needs, with a `ConfigError` naming the key.
"""

from __future__ import annotations

from typing import Any

from curvelint import registry
from curvelint.config_files import ConfigError, Where
from curvelint.config_values import check_type, choice, did_you_mean, quote, strings, table

SEVERITIES = ("error", "warning", "info")


def selectors(value: Any, where: str) -> list[str]:
    """A list of rule codes, code prefixes or names, each naming at least one registered rule."""
    given = strings(value, where, "a list of rule codes, code prefixes or names")
    unknown = registry.unknown_selectors(given)
    if unknown:
        raise ConfigError(f"{where}: {unknown_selector(unknown[0])}")
    return given


def unknown_selector(selector: str) -> str:
    """The error for a selector that names no rule, with the nearest code or name for a slip."""
    known = [key for r in registry.load_rules() for key in (r.code, r.name)]
    return f"unknown rule selector {selector!r}{did_you_mean(selector, known)} (see `curvelint rules`)"


def rule_options(value: Any, where: Where) -> dict[str, dict[str, Any]]:
    """``[rules.NAME]`` tables as rule name -> {option: value}, each option known and of its default's type."""
    out: dict[str, dict[str, Any]] = {}
    for key, opts in table(value, where("rules")).items():
        rule = registry.find_rule(key)
        if rule is None:
            known = [r.name for r in registry.load_rules()]
            raise ConfigError(f"{where('rules', quote(key))}: unknown rule{did_you_mean(key, known)}; "
                              f"valid rules: {', '.join(known)}")
        opts = table(opts, where("rules", quote(key)))
        checked = out.setdefault(rule.name, {})
        for spelled, given in opts.items():
            name = spelled.replace("-", "_")  # min-rise and min_rise, as every other key
            if name not in rule.options:
                valid = ", ".join(rule.options) if rule.options else f"none ({rule.name} has no options)"
                raise ConfigError(f"{where('rules', quote(key), quote(spelled))}: unknown option"
                                  f"{did_you_mean(name, rule.options)}; valid options: {valid}")
            checked[name] = check_type(given, rule.options[name].default, where("rules", quote(key), quote(spelled)))
    return out


def severities(value: Any, where: Where) -> dict[str, str]:
    """Overrides as code -> severity; a code or name beats a prefix, a longer prefix a shorter one."""
    overrides = {str(k): choice(v, SEVERITIES, where("severity", quote(k)))
                 for k, v in table(value, where("severity")).items()}
    for key in overrides:
        selectors([key], where("severity", quote(key)))
    return registry.overrides_by_code(overrides)
