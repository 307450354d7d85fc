"""Rule discovery through the ``curvelint.rules`` entry-point group.

An entry point may load a `Rule` subclass, or a module/iterable holding several.
The built-in pack (`curvelint_rules`, source folder `rules/`) registers the same way.
"""

from __future__ import annotations

import inspect
import re
from functools import lru_cache
from importlib.metadata import entry_points
from types import ModuleType
from typing import Iterable

from curvelint.rule import Rule

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


@lru_cache(maxsize=None)
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
    return tuple(found[c] for c in sorted(found))


def _validate(rule: type[Rule]) -> None:
    for attr in ("code", "name", "severity", "summary"):
        if not hasattr(rule, attr):
            raise RegistryError(f"rule class {rule.__qualname__} has no {attr!r}")
    if not _CODE.match(rule.code):
        raise RegistryError(f"rule {rule.__qualname__}: code {rule.code!r} is not like CL123")
    if not _NAME.match(rule.name):
        raise RegistryError(f"rule {rule.code}: name {rule.name!r} is not kebab-case")


def find_rule(key: str) -> type[Rule] | None:
    """A rule by code (case-insensitive) or name."""
    key = key.strip()
    for rule in load_rules():
        if rule.code.lower() == key.lower() or rule.name == key.lower():
            return rule
    return None
