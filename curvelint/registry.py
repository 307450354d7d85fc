"""Rule discovery through the ``curvelint.rules`` entry-point group.

An entry point may load a `Rule` subclass, or a module/iterable holding several.
The built-in pack (`curvelint_rules`, source folder `rules/`) registers the same way.

Entry points are read the way `importlib.metadata` reads them (`entry_points`), without
importing it: importlib.metadata brings zipfile, email, csv and pathlib, 3 MB of peak RSS
and ~50 ms on every start. Where it would find distributions that a plain directory scan
cannot (a zip file on sys.path, a finder of its own), it is used instead.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import os
import re
import sys
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Iterable, Iterator

from curvelint.rule import Rule

GROUP = "curvelint.rules"
_CODE = re.compile(r"^[A-Z]{1,4}\d{3,4}$")
_NAME = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")


class RegistryError(Exception):
    pass


@dataclass(frozen=True)
class EntryPoint:
    """``name = module:attr.path [extras]`` from a distribution's ``entry_points.txt``."""

    name: str
    value: str

    _VALUE = re.compile(r"(?P<module>[\w.]+)\s*(:\s*(?P<attr>[\w.]+)\s*)?((?P<extras>\[.*\])\s*)?$")

    def load(self) -> Any:
        match = self._VALUE.match(self.value)
        if match is None:
            raise ValueError(f"malformed entry point value {self.value!r}")
        module = importlib.import_module(match.group("module"))
        return functools.reduce(getattr, filter(None, (match.group("attr") or "").split(".")), module)


def entry_points(group: str) -> list[Any]:
    """The entry points of `group` in the installed distributions (first on sys.path wins)."""
    if not _plain_paths():
        from importlib.metadata import entry_points as metadata_entry_points

        return list(metadata_entry_points(group=group))
    seen: set[str] = set()
    found: list[Any] = []
    for name, info in _distributions():
        if name not in seen:
            seen.add(name)
            found.extend(_read_group(os.path.join(info, "entry_points.txt"), group))
    return found


def _plain_paths() -> bool:
    """Whether scanning sys.path's folders finds what importlib.metadata finds: no zip file on
    sys.path, and no finder but PathFinder that finds distributions."""
    from importlib.machinery import PathFinder

    finders = [f for f in sys.meta_path if hasattr(f, "find_distributions")]
    return all(f is PathFinder for f in finders) and not any(os.path.isfile(p) for p in sys.path)


def _distributions() -> Iterator[tuple[str, str]]:
    """(normalized name, metadata folder) of each ``*.dist-info``/``*.egg-info`` folder on sys.path,
    in importlib.metadata's order: sys.path order, and all info folders of an entry before its eggs."""
    for entry in sys.path:
        root = entry or "."
        try:
            children = os.listdir(root)
        except OSError:
            continue
        base = os.path.basename(root).lower()
        infos = [(_normalize(c.lower().rpartition(".")[0].partition("-")[0]), os.path.join(root, c))
                 for c in children if c.lower().endswith((".dist-info", ".egg-info"))]
        eggs = [(_normalize(base.rpartition(".")[0].partition("-")[0]), os.path.join(root, c))
                for c in children if base.endswith(".egg") and c.lower() == "egg-info"]
        yield from infos
        yield from eggs


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def _read_group(path: str, group: str) -> Iterator[EntryPoint]:
    """The entries of ``[group]`` in an ``entry_points.txt`` (``#`` comments, blank lines ignored)."""
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except OSError:
        return
    section = None
    for line in filter(lambda s: s and not s.startswith("#"), map(str.strip, text.splitlines())):
        if line.startswith("[") and line.endswith("]"):
            section = line.strip("[]")
        elif section == group:
            name, _, value = line.partition("=")
            yield EntryPoint(name.strip(), value.strip())


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
