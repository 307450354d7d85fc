"""The rules: discovered through the ``curvelint.rules`` entry-point group, and selected.

An entry point may load a `Rule` subclass, or a module/iterable holding several.
The built-in pack (`curvelint_rules`, source folder `rules/`) registers the same way;
entry points are read by `curvelint._entry_points` (fast, with importlib.metadata as fallback).

Selection is decided here, for the command line, the configuration and the engine alike:
a selector is a code, a code prefix (``CL1``), a rule name, an old code or name (`Rule.aliases`) or
``ALL`` (`matches`); `selected` applies one set of select / extend-select / ignore (a preview rule
only when named exactly).
"""

from __future__ import annotations

import functools
import inspect
import re
from types import ModuleType
from typing import Any, Iterable, Mapping, Sequence

from curvelint._entry_points import entry_points
from curvelint.rule import PREVIEW, STABLE, Rule

GROUP = "curvelint.rules"
_CODE = re.compile(r"^[A-Z]{1,4}\d{3,4}$")
_NAME = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")


class RegistryError(Exception):
    pass


def _rules_in(obj: object) -> Iterable[type[Rule]]:
    if inspect.isclass(obj) and issubclass(obj, Rule) and obj is not Rule:
        yield obj
    elif isinstance(obj, ModuleType):
        for value in vars(obj).values():
            if inspect.isclass(value) and issubclass(value, Rule) and value.__module__ == obj.__name__:
                yield value
    elif isinstance(obj, (list, tuple, set)):
        for item in obj:
            yield from _rules_in(item)


@functools.lru_cache(maxsize=None)
def load_rules() -> tuple[type[Rule], ...]:
    """All registered rules, sorted by code. Duplicate codes or names are an error."""
    found: dict[str, type[Rule]] = {}
    names: dict[str, str] = {}
    for ep in entry_points(group=GROUP):
        try:
            loaded = ep.load()
        except Exception as exc:
            raise RegistryError(f"cannot load rule plugin {ep.name!r} ({ep.value}): {exc}") from exc
        for rule in _rules_in(loaded):
            _validate(rule)
            if rule.code in found and found[rule.code] is not rule:
                raise RegistryError(f"rule code {rule.code} is registered twice ({ep.name})")
            if rule.name in names and names[rule.name] != rule.code:
                raise RegistryError(f"rule name {rule.name} is registered twice ({ep.name})")
            found[rule.code] = rule
            names[rule.name] = rule.code
    rules = tuple(found[c] for c in sorted(found))
    _check_aliases(rules)
    return rules


def _check_aliases(rules: tuple[type[Rule], ...]) -> None:
    """An alias is an old code or name: like a code or a name, and no other rule's code, name or alias."""
    owner = {k.lower(): r.code for r in rules for k in (r.code, r.name)}
    for rule in rules:
        for alias in rule.aliases:
            if not (_CODE.match(alias) or _NAME.match(alias)):
                raise RegistryError(f"rule {rule.code}: alias {alias!r} is neither a code like CL123 nor a kebab-case name")
            if owner.setdefault(alias.lower(), rule.code) != rule.code:
                raise RegistryError(f"rule {rule.code}: alias {alias!r} is already {owner[alias.lower()]}'s")


def _validate(rule: type[Rule]) -> None:
    for attr in ("code", "name", "severity", "summary"):
        if not hasattr(rule, attr):
            raise RegistryError(f"rule class {rule.__qualname__} has no {attr!r}")
    if not _CODE.match(rule.code):
        raise RegistryError(f"rule {rule.__qualname__}: code {rule.code!r} is not like CL123")
    if not _NAME.match(rule.name):
        raise RegistryError(f"rule {rule.code}: name {rule.name!r} is not kebab-case")
    if rule.stability not in (STABLE, PREVIEW):
        raise RegistryError(f"rule {rule.code}: stability {rule.stability!r} is not {STABLE!r} or {PREVIEW!r}")


def find_rule(key: str) -> type[Rule] | None:
    """A rule by code (case-insensitive), name, or an old code or name (`Rule.aliases`)."""
    return next((r for r in load_rules() if r.known_as(key)), None)


def describe(rule: type[Rule]) -> dict[str, Any]:
    """A rule as data (`curvelint rules --format json`): what `curvelint rule` prints, field by field."""
    return {"code": rule.code, "name": rule.name, "severity": str(rule.severity), "stability": rule.stability,
            "since": rule.since or None, "aliases": list(rule.aliases), "summary": rule.summary, "hint": rule.hint,
            "options": {name: {"default": opt.default, "doc": opt.doc} for name, opt in rule.options.items()},
            "defers_to": list(rule.defers_to), "doc": rule.doc()}


def renamed(selectors: Iterable[str]) -> list[tuple[str, type[Rule]]]:
    """(selector, rule) for each selector that is an old code or name of a rule: still honoured, deprecated."""
    return [(s, r) for s in selectors for r in load_rules()
            if r.known_as(s) and s.strip().lower() not in (r.code.lower(), r.name)]


# -- selection ---------------------------------------------------------------------------------------

def matches(rule: type[Rule], selector: str) -> bool:
    """A selector is a code, a code prefix (``CL1``), a rule name, an old code or name, or ``ALL``."""
    s = selector.strip()
    return s.upper() == "ALL" or rule.known_as(s) or rule.code.upper().startswith(s.upper())


def unknown_selectors(selectors: Iterable[str]) -> list[str]:
    """The selectors that match no registered rule (a typo, or a plugin that is not installed)."""
    rules = load_rules()
    return [s for s in selectors if not any(matches(r, s) for r in rules)]


def is_selected(rule: type[Rule], select: Sequence[str] | None, extend: Sequence[str] = (),
                ignore: Sequence[str] = ()) -> bool:
    """Whether `rule` is on: in `select` (None: every rule) or `extend`, and not in `ignore`; a preview
    rule only when one of them names it exactly."""
    if rule.stability == PREVIEW:
        on = any(rule.known_as(s) for s in [*(select or ()), *extend])
    else:
        on = select is None or any(matches(rule, s) for s in select) or any(matches(rule, s) for s in extend)
    return on and not any(matches(rule, s) for s in ignore)


def selected(select: Sequence[str] | None, extend: Sequence[str] = (), ignore: Sequence[str] = ()
             ) -> list[type[Rule]]:
    """The registered rules that are on (`is_selected`), in code order."""
    return [r for r in load_rules() if is_selected(r, select, extend, ignore)]


def selected_codes(select: Sequence[str] | None, extend: Sequence[str] = (), ignore: Sequence[str] = ()
                   ) -> list[str]:
    """`selected` as codes: one configuration layer resolved, so that the next layer (the command
    line) wins over it: ``--extend-select CL104`` turns CL104 back on even if the file ignores it."""
    return [r.code for r in selected(select, extend, ignore)]


def severity_override(rule: type[Rule], overrides: Mapping[str, str]) -> str | None:
    """The first override whose selector matches `rule` (None: its default severity)."""
    return next((v for k, v in overrides.items() if matches(rule, k)), None)


def overrides_by_code(overrides: Mapping[str, str]) -> dict[str, str]:
    """Severity overrides keyed by selector, resolved to rule code -> severity: a code or name beats a
    prefix, a longer prefix a shorter one."""
    out: dict[str, str] = {}
    for key in sorted(overrides, key=_specificity):
        for rule in load_rules():
            if matches(rule, key):
                out[rule.code] = overrides[key]
    return out


def _specificity(selector: str) -> tuple[int, int]:
    return (1 if find_rule(selector) is not None else 0, len(selector))


def finding_matches(code: str, selectors: Sequence[str]) -> bool:
    """Whether the rule of a finding (its code) matches any of `selectors`."""
    rule = find_rule(code)
    return rule is not None and any(matches(rule, s) for s in selectors)
