"""Checks of one configuration value: its type, a choice, a list of strings; each failure is a
`ConfigError` naming the key (`where`) and showing the value briefly."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable
from typing import Any

from curvelint.config_files import ConfigError


def did_you_mean(key: str, valid: Iterable[str]) -> str:
    """' (did you mean 'select'?)' for a key one slip away from a valid one, else ''."""
    import difflib

    close = difflib.get_close_matches(key, list(valid), n=1, cutoff=0.75)
    return f" (did you mean {close[0]!r}?)" if close else ""


def check_type(value: Any, default: Any, where: str) -> Any:
    """`value` if it has the type of the option's default (ints are fine for floats)."""
    if default is None:
        return value
    if isinstance(default, bool):
        ok, want = isinstance(value, bool), "true or false"
    elif isinstance(default, int):
        ok, want = isinstance(value, int) and not isinstance(value, bool), "an integer"
    elif isinstance(default, float):
        ok, want = isinstance(value, (int, float)) and not isinstance(value, bool), "a number"
        ok = ok and (isinstance(value, float) or abs(value) <= sys.float_info.max)  # (400 digits are no float)
        value = float(value) if ok else value
    elif isinstance(default, str):
        ok, want = isinstance(value, str), "a string"
    elif isinstance(default, (list, tuple)):
        ok, want = isinstance(value, list), "a list"
        value = type(default)(value) if ok else value
    elif isinstance(default, dict):
        ok, want = isinstance(value, dict), "a table"
    else:
        ok, want = isinstance(value, type(default)), type(default).__name__
    if not ok:
        raise ConfigError(f"{where}: expected {want} (default {default!r}), got {brief(value)}")
    return value


def names(value: Any, where: str) -> str | list[str]:
    """A series name or a list of them."""
    if isinstance(value, str) and value:
        return value
    return strings(value, where, "a series name or a list of series names")


def strings(value: Any, where: str, want: str = "a list of strings") -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: expected {want}, got {brief(value)}")
    return list(value)


def table(value: Any, where: str) -> dict:
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: expected a table, got {brief(value)}")
    return value


def choice(value: Any, choices: tuple[str, ...], where: str) -> str:
    if not isinstance(value, str) or value.lower() not in choices:
        raise ConfigError(f"{where}: expected one of {', '.join(choices)}, got {brief(value)}")
    return value.lower()


def brief(value: Any, limit: int = 80) -> str:
    """`repr(value)` for a message, cut at `limit` characters (a file may hold a huge or deeply nested value)."""
    try:
        text = repr(value)
    except RecursionError:
        return f"a {type(value).__name__} nested too deeply to show"
    return text if len(text) <= limit else text[:limit] + "..."


def quote(key: Any) -> str:
    """A key as written in a dotted name: bare when it can be, else in double quotes."""
    key = str(key)
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else f'"{key}"'
