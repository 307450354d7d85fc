"""The lint's configuration, for readers that have settings of their own (``[tool.curvelint.text-logs]``)
or must know the series names it configures (``[tool.curvelint.metrics]``: a CSV of such columns is a log).

The engine sets it around reading (`using`); a reader asks `text_logs()`. Outside a lint (the
watch command's followers, a direct call) nothing is set and a reader looks its settings up
beside the file, as `load_config` would without ``--config``.
"""

from __future__ import annotations

import contextlib
from contextvars import ContextVar
from typing import Any, Iterator

_UNSET: Any = object()
_TEXT_LOGS: ContextVar[Any] = ContextVar("curvelint_text_logs", default=_UNSET)
_METRICS: ContextVar[frozenset[str]] = ContextVar("curvelint_metric_names", default=frozenset())


@contextlib.contextmanager
def using(config: Any) -> Iterator[None]:
    """Make `config`'s reader settings current (its ``text_logs``: None means the defaults, as with
    ``--isolated`` or a configuration without the table)."""
    token = _TEXT_LOGS.set(getattr(config, "text_logs", None))
    names = _METRICS.set(frozenset(_names(getattr(config, "metrics", None) or {})))
    try:
        yield
    finally:
        _METRICS.reset(names)
        _TEXT_LOGS.reset(token)


def metric_names() -> frozenset[str]:
    """The series names the lint's ``[tool.curvelint.metrics]`` gives a role or a direction: a
    table that logs only such names is a training log although none sounds like a loss."""
    return _METRICS.get()


def _names(metrics: dict) -> set[str]:
    out: set[str] = set()
    for key, value in metrics.items():
        if key == "directions" and isinstance(value, dict):
            out.update(str(k) for k in value)
        elif isinstance(value, str) and key != "mode":
            out.add(value)
        elif isinstance(value, (list, tuple)):
            out.update(str(v) for v in value)
    return out


def text_logs() -> tuple[bool, Any]:
    """(whether a lint's configuration is in force, its text-log settings or None for the defaults)."""
    value = _TEXT_LOGS.get()
    return (False, None) if value is _UNSET else (True, value)
