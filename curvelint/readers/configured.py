"""The lint's configuration, for readers that have settings of their own (``[tool.curvelint.text-logs]``).

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


@contextlib.contextmanager
def using(config: Any) -> Iterator[None]:
    """Make `config`'s reader settings current (its ``text_logs``: None means the defaults, as with
    ``--isolated`` or a configuration without the table)."""
    token = _TEXT_LOGS.set(getattr(config, "text_logs", None))
    try:
        yield
    finally:
        _TEXT_LOGS.reset(token)


def text_logs() -> tuple[bool, Any]:
    """(whether a lint's configuration is in force, its text-log settings or None for the defaults)."""
    value = _TEXT_LOGS.get()
    return (False, None) if value is _UNSET else (True, value)
