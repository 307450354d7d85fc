"""curvelint's built-in rule pack, installed as ``curvelint_rules``.

One module per rule. The pack registers through the same ``curvelint.rules``
entry-point group that third-party packs use (see pyproject.toml), so the
plugin API is exercised by our own rules.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil

from curvelint.rule import Rule


def _collect() -> list[type[Rule]]:
    found: list[type[Rule]] = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        for value in vars(module).values():
            if inspect.isclass(value) and issubclass(value, Rule) and value.__module__ == module.__name__:
                found.append(value)
    return sorted(found, key=lambda r: r.code)


RULES = _collect()
