"""Entry points of an installed group, read the way `importlib.metadata.entry_points` reads them.

The adapter behind `curvelint.registry`: a plain scan of sys.path's ``*.dist-info`` /
``*.egg-info`` folders and their ``entry_points.txt``, without importing importlib.metadata
(which brings zipfile, email, csv and pathlib: ~3 MB of peak RSS and ~50 ms on every start).
Where that scan could miss a distribution (a zip file on sys.path, a finder of its own),
importlib.metadata, the public API, is used instead. tests/test_entry_points.py checks that
both give the same entry points.
"""

from __future__ import annotations

import functools
import importlib
import os
import re
import sys
from dataclasses import dataclass
from typing import Any, Iterator

__all__ = ["EntryPoint", "entry_points"]


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
    """The entry points of `group` in the installed distributions (first on sys.path wins): each has
    ``name``, ``value`` and ``load()``, as `importlib.metadata.EntryPoint` has."""
    if not plain_paths():
        return metadata_entry_points(group)
    seen: set[str] = set()
    found: list[Any] = []
    for name, info in _distributions():
        if name not in seen:
            seen.add(name)
            found.extend(_read_group(os.path.join(info, "entry_points.txt"), group))
    return found


def metadata_entry_points(group: str) -> list[Any]:
    """The fallback and the reference: `importlib.metadata.entry_points(group=group)`."""
    from importlib.metadata import entry_points as _metadata

    return list(_metadata(group=group))


def plain_paths() -> bool:
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
