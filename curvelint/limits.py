"""Size and record limits of the readers (``[tool.curvelint.limits]``).

A log that is larger than any real one, or a small file that expands into a huge one (a Parquet table
of a billion repeated rows compresses to a few kilobytes), must not take the machine's memory or time.
Every reader reads at most these amounts and keeps what it read; when a limit is hit, a problem names
the file, the limit and its value (``CL002 truncated-log`` when the first part was read, ``CL001
unreadable-log`` when nothing could be), and says how to raise it::

    [tool.curvelint.limits]
    file-bytes = "4 GiB"      # a byte limit: a whole number, or a string with a unit (KiB, MiB, GiB, kB, MB, GB)
    lines = 20_000_000

The engine makes the configured limits the current ones while it reads a run (`using`, also in worker
processes); readers ask `current()`. Outside a lint (tests, the Python API's readers) the defaults apply.
"""

from __future__ import annotations

import contextlib
import re
from contextvars import ContextVar
from dataclasses import dataclass, fields
from typing import Any, Callable, Iterator

from curvelint.model import Problem


@dataclass(frozen=True)
class Limits:
    """The limits, by attribute; `KEYS` gives their configuration names."""

    file_bytes: int = 1 << 30  # bytes of a binary log (TensorBoard, W&B .wandb, ONNX), decoded bytes of a Parquet table
    text_bytes: int = 64 << 20  # bytes read of one text file: JSON, CSV, MLflow metric, YAML, JSON Lines, console log
    records: int = 20_000_000  # records of one binary log (TensorBoard events, W&B records), rows of a Parquet table
    lines: int = 5_000_000  # lines of one text file (CSV rows, MLflow metric lines, JSON Lines, console-log lines)
    series_points: int = 10_000_000  # points of one series (after the files of a run are merged)
    depth: int = 32  # levels of nesting read in hparams.yaml / W&B config.yaml and in hyperparameter values
    line_bytes: int = 1 << 20  # bytes of one line of a text file that are read (the rest of the line is skipped)
    memory_budget: int = 500 * 10 ** 6  # bytes a huge run may take: read in parts, its longest series reduced to fit


KEYS = {f.name.replace("_", "-"): f.name for f in fields(Limits)}
BYTE_LIMITS = ("file-bytes", "text-bytes", "line-bytes", "memory-budget")
_UNITS = {"": 1, "b": 1, "kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40,
          "kb": 10 ** 3, "mb": 10 ** 6, "gb": 10 ** 9, "tb": 10 ** 12}
_SIZE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*", re.IGNORECASE)
DEFAULTS = Limits()
_ACTIVE: ContextVar[Limits | None] = ContextVar("curvelint_limits", default=None)


def current() -> Limits:
    """The limits in force (the configured ones during a lint, else the defaults)."""
    return _ACTIVE.get() or DEFAULTS


@contextlib.contextmanager
def using(limits: Limits | None) -> Iterator[Limits]:
    """Make `limits` the current ones for the duration of a ``with`` block (None: leave them as they are)."""
    if limits is None:
        yield current()
        return
    token = _ACTIVE.set(limits)
    try:
        yield limits
    finally:
        _ACTIVE.reset(token)


def parse_limits(table: dict[str, Any], where: Callable[..., str], error: type[Exception]) -> Limits:
    """Validate a ``limits`` table; `where(key)` names a key in messages, `error` is raised."""
    values: dict[str, int] = {}
    for raw_key, value in table.items():
        key = str(raw_key).replace("_", "-")
        if key not in KEYS:
            raise error(f"{where(key)}: unknown limit; valid limits: {', '.join(KEYS)}")
        number = _size(value) if key in BYTE_LIMITS else value
        if isinstance(number, bool) or not isinstance(number, int) or number < 1:
            want = "a whole number of bytes, or a size such as \"512 MiB\"" if key in BYTE_LIMITS else "a whole number"
            shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:40] + "..."
            raise error(f"{where(key)}: expected {want} of at least 1, got {shown}")
        values[KEYS[key]] = number
    return Limits(**values)


def _size(value: Any) -> Any:
    """Bytes from an int or a string with a unit ("2 GiB", "500MB"); the value itself when it is neither."""
    if not isinstance(value, str):
        return value
    match = _SIZE.fullmatch(value)
    if not match or match.group(2).lower() not in _UNITS:
        return value
    return int(float(match.group(1)) * _UNITS[match.group(2).lower()])


def shown(key: str, value: int) -> str:
    """A limit's value for messages: sizes in KiB/MiB/GiB (else GB/MB) when whole, counts with thousands separators."""
    if key in BYTE_LIMITS:
        for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10), ("GB", 10 ** 9), ("MB", 10 ** 6)):
            if value >= size and value % size == 0:
                return f"{value // size} {unit}"
        return f"{value:,} bytes"
    return f"{value:,}"


def value_of(key: str, limits: Limits | None = None) -> int:
    return getattr(limits or current(), KEYS[key])


def reached(path: str, key: str, what: str, kept: str | None, offset: int | None = None,
            limits: Limits | None = None) -> Problem:
    """The problem for a limit that was hit: "truncated" (CL002) when `kept` says what was read, else
    "unreadable" (CL001: nothing was). `what` names what went over ("the file", "series 'loss'")."""
    value = shown(key, value_of(key, limits))
    how = f"raise [tool.curvelint.limits] {key} to read {'all of it' if kept else 'it'}"
    if kept:
        return Problem("truncated", path, f"{what} is over the {key} limit ({value}): {kept}; {how}", offset)
    return Problem("unreadable", path, f"{what} is over the {key} limit ({value}): not read; {how}", offset)


def is_limit(problem: Problem) -> bool:
    """Whether `problem` is a limit that was hit (`reached`), not damage in the file."""
    return "[tool.curvelint.limits]" in problem.message


class TooLarge(OSError):
    """A file over a byte limit that is not read at all (a JSON or YAML document: a part of it is not one).

    An OSError, so a reader reports it like any file it cannot read (``cannot read: <strerror>``)."""

    def __init__(self, path: str, key: str) -> None:
        limit = shown(key, value_of(key))
        message = f"over the {key} limit ({limit}): not read; raise [tool.curvelint.limits] {key} to read it"
        super().__init__(message)
        self.strerror = message
        self.filename = path


HINT = ("the file is larger than a reader's limit: if it is a genuine log, raise that limit in "
        "[tool.curvelint.limits] (README: Limits), else exclude it")
