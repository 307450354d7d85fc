"""Helpers shared by the readers.

They build `Series` from columns (dropping cells that were not logged, ordering and
de-duplicating steps with a note), make the `Run` skeleton and its problems, parse
JSON with a one-line, line/column-located error message, evaluate Python literals
without running code, and stream line-oriented files (JSON Lines, text logs) line by line.
"""

from __future__ import annotations

import ast
import json
from array import array
import math
import os
import re
import sys
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator

import numpy as np

from curvelint import limits
from curvelint.discovery import RunSource
from curvelint.fileio import open_regular, read_limited
from curvelint.model import Problem, Run, Series

LR_NAMES = ("lr", "learning_rate")


def new_run(source: RunSource, fmt: str, name: str | None = None) -> Run:
    """An empty run for `source` (name defaults to the source path)."""
    return Run(name=name or source.name, path=source.path, format=fmt, sources=list(source.files))


def unreadable(source: RunSource, fmt: str, message: str, offset: int | None = None) -> list[Run]:
    """A single run carrying one "unreadable" problem."""
    run = new_run(source, fmt)
    run.problems.append(Problem("unreadable", source.path, message, offset))
    return [run]


def to_float(cell: Any) -> float | None:
    """A number from a JSON value or a text cell ("nan", "inf", " 0.5 "); None when not a number."""
    if isinstance(cell, bool) or cell is None:
        return None
    if isinstance(cell, (int, float)):
        try:
            return float(cell)
        except OverflowError:  # an int beyond float range
            return math.inf if cell > 0 else -math.inf
    if isinstance(cell, str):
        text = cell.strip()
        if not text:
            return None
        try:
            return float(text)
        except ValueError:
            return None
    return None


def names(items: Iterable[str], limit: int = 6) -> str:
    """'a, b, c and 4 more'."""
    items = list(items)
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def add_series(run: Run, columns: dict[str, tuple[Any, Any, Any]]) -> None:
    """Turn ``name -> (steps, values, wall_times|None)`` into the run's series.

    Points with a missing step (NaN) or one beyond int64 are dropped. Steps are ordered (stable), and a
    repeated step keeps its last value; both are written to ``run.notes`` once per run. A series keeps
    at most its first `series-points` points ([tool.curvelint.limits]; a problem names those cut).
    """
    unordered: list[str] = []
    repeated: list[str] = []
    cut: list[str] = []
    most = limits.current().series_points
    for name, (steps, values, walls) in columns.items():
        steps = _exact_steps(steps)
        values = np.asarray(values, dtype=np.float64)
        walls = None if walls is None else np.asarray(walls, dtype=np.float64)
        if steps.dtype != np.int64:  # drop NaN (not logged) and steps beyond int64
            keep = np.abs(steps) < 2.0 ** 62
            if not keep.all():
                steps, values = steps[keep], values[keep]
                walls = None if walls is None else walls[keep]
        if not len(steps):
            continue  # never logged: no series
        gaps = np.diff(steps)
        if len(gaps) and gaps.min() <= 0:  # else strictly increasing (the usual case): nothing to do
            if gaps.min() < 0:
                order = np.argsort(steps, kind="stable")
                steps, values = steps[order], values[order]
                walls = None if walls is None else walls[order]
                unordered.append(name)
                gaps = np.diff(steps)
            if not gaps.all():
                last = np.ones(len(steps), dtype=bool)
                last[:-1] = gaps != 0
                repeated.append(f"{name} ({int((~last).sum())})")
                steps, values = steps[last], values[last]
                walls = None if walls is None else walls[last]
        if len(steps) > most:
            cut.append(name)
            steps, values, walls = steps[:most], values[:most], None if walls is None else walls[:most]
        run.series[name] = Series(name, steps.astype(np.int64, copy=False), values, walls)
    if cut:
        run.problems.append(limits.reached(run.path, "series-points", f"series {names(cut)}",
                                           "the points at the lowest steps were read"))
    if unordered:
        run.notes.append(f"steps were not in order; sorted {names(unordered)}")
    if repeated:
        run.notes.append(f"repeated steps: kept the last value per step, dropped earlier points of {names(repeated)}")


def _exact_steps(steps: Any) -> np.ndarray:
    """Steps as int64 when they are integers that float64 holds exactly (no conversion), else as float64."""
    if isinstance(steps, np.ndarray) and steps.dtype.kind in "iu" and len(steps):
        lo, hi = steps.min(), steps.max()
        if -(2 ** 53) <= lo and hi <= 2 ** 53:
            return steps.astype(np.int64, copy=False)
    return np.asarray(steps, dtype=np.float64)


def constant_lr_hparams(run: Run) -> None:
    """A learning-rate series with a single finite value is also an hparam (``lr``/``learning_rate``)."""
    for name in LR_NAMES:
        series = run.series.get(name)
        if series is None or name in run.hparams or not len(series):
            continue
        finite = series.values[np.isfinite(series.values)]
        if len(finite) and np.all(finite == finite[0]):
            run.hparams[name] = float(finite[0])


def metric_like(name: str) -> bool:
    """A loss, a metric with a known direction (accuracy, mAP, ...) or a learning rate."""
    from curvelint.roles import direction

    return "loss" in name.lower() or direction(name) is not None or name.lower() in LR_NAMES


def read_text(path: str) -> str:
    """A text file decoded as UTF-8 (BOM dropped, bad bytes replaced); only a regular file is read
    (`curvelint.fileio.NotRegularFile`, an OSError, for a FIFO or a device). A file over the `text-bytes`
    limit is not read (`curvelint.limits.TooLarge`, an OSError): a part of a JSON or YAML document is none."""
    data, more = read_limited(path, limits.current().text_bytes)
    if more:
        raise limits.TooLarge(path, "text-bytes")
    return data.decode("utf-8-sig", "replace")


def read_lines_text(path: str) -> tuple[str, list[Problem]]:
    """A line-oriented text file (a CSV, an MLflow metric) decoded as by `read_text`, within the limits: a
    file over `text-bytes` bytes or `lines` lines is cut after its last whole line within them, and the
    problems say so (OSError as for `read_text`)."""
    lim = limits.current()
    data, more = read_limited(path, lim.text_bytes)
    problems = []
    if more:
        data = data[:data.rfind(b"\n") + 1]
        problems.append(limits.reached(path, "text-bytes", "the file", f"its first {len(data):,} bytes were read "
                                       "(the whole lines in them)" if data else None))
    if data.count(b"\n") >= lim.lines:
        end = _after_line(data, lim.lines)
        if data[end:].strip():
            data = data[:end]
            problems.append(limits.reached(path, "lines", "the file", f"its first {lim.lines:,} lines were read",
                                           lim.lines + 1))
    return data.decode("utf-8-sig", "replace"), problems


def _after_line(data: bytes, n: int, block: int = 1 << 20) -> int:
    """The offset just after the `n`-th line break of `data` (len(data) when it has fewer)."""
    pos = 0
    while pos < len(data):
        k = data.count(b"\n", pos, pos + block)
        if k >= n:
            for _ in range(n):
                pos = data.index(b"\n", pos) + 1
            return pos
        n, pos = n - k, pos + block
    return len(data)


def parse_json(text: str, oversized: list[tuple[int, int]] | None = None) -> tuple[Any, str | None, int | None]:
    """(value, None, None) or (None, one-line message, line). NaN/Infinity tokens are accepted.

    An integer longer than Python converts (``sys.get_int_max_str_digits()``, 4300 digits) is read
    as the float it rounds to (+-inf) instead of failing the whole file; (line, digits) go to `oversized`.
    """
    if not text.strip():
        return None, "empty file", None
    try:
        try:
            return json.loads(text), None, None
        except ValueError as exc:
            if isinstance(exc, json.JSONDecodeError) or "integer string conversion" not in str(exc):
                raise
        return json.loads(text, parse_int=_OversizedInts(text, oversized)), None, None  # the rare slow path
    except json.JSONDecodeError as exc:
        return None, f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}", exc.lineno
    except RecursionError:
        return None, "invalid JSON: nested too deeply", None


class _OversizedInts:
    """json's ``parse_int`` hook: an int, or +-inf (with its line noted) for one too long to convert."""

    def __init__(self, text: str, lines: list[tuple[int, int]] | None) -> None:
        self.text, self.lines, self.pos = text, lines, 0

    def __call__(self, digits: str) -> int | float:
        try:
            return int(digits)
        except ValueError:
            pos = self.text.find(digits, self.pos)  # the parser goes through the text in order
            if pos >= 0:
                self.pos = pos + len(digits)
                if self.lines is not None:
                    self.lines.append((self.text.count("\n", 0, pos) + 1, len(digits.lstrip("-"))))
            return float(digits)


def oversized_problem(path: str, found: list[tuple[int, int]]) -> Problem | None:
    """The problem for the integers `parse_json` read as +-inf (None when there were none)."""
    if not found:
        return None
    line, digits = found[0]
    if len(found) == 1:
        what = f"line {line}: a number of {digits} digits"
    else:
        what = f"{len(found)} numbers of thousands of digits (first at line {line})"
    return Problem("unreadable", path, f"{what}, too long to be a logged value: read as infinity", line)


METRIC_WORD = re.compile(r"loss|acc|val_|metric|epoch|step|lr\b|learning_rate", re.IGNORECASE)
LOG_NAME = re.compile(r"histor|metric|log|result|train|progress|loss", re.IGNORECASE)


def looks_like_log(path: str, text: str) -> bool:
    """Whether a file that failed to parse is a broken training log rather than some other file:
    its name says so, or its text mentions metrics."""
    return bool(LOG_NAME.search(os.path.basename(path))) or bool(METRIC_WORD.search(text[:65536]))


def is_integral(values: np.ndarray) -> bool:
    finite = values[np.isfinite(values)]
    return bool(len(finite) == len(values) and np.all(finite == np.round(finite))
                and (not len(finite) or np.abs(finite).max() < 2.0 ** 62))


def is_finite_number(value: Any) -> bool:
    """A number that converts to a finite float (an int of 400 digits does not: float() would raise)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return abs(value) <= sys.float_info.max if isinstance(value, int) else math.isfinite(value)


# -- Python literals ---------------------------------------------------------------------------------------
_NUMBER_NAMES = {"nan": float("nan"), "NaN": float("nan"), "inf": float("inf"), "Infinity": float("inf")}
_NUMBER_CALLS = {"float", "float16", "float32", "float64", "double", "int", "int32", "int64"}


class _NotLiteral(ValueError):
    pass


def _literal(node: ast.AST) -> Any:
    """Evaluate dict/list/tuple/number/string literals only (plus nan/inf and np.float32(x))."""
    if isinstance(node, ast.Expression):
        return _literal(node.body)
    if isinstance(node, ast.Constant) and type(node.value) in (int, float, str):
        return node.value
    if isinstance(node, ast.Dict):
        if any(k is None for k in node.keys):
            raise _NotLiteral("dict unpacking")
        return {_literal(k): _literal(v) for k, v in zip(node.keys, node.values)}
    if isinstance(node, (ast.List, ast.Tuple)):
        return [_literal(e) for e in node.elts]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        value = _literal(node.operand)
        if not isinstance(value, (int, float)):
            raise _NotLiteral("sign on a non-number")
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.Name) and node.id in _NUMBER_NAMES:
        return _NUMBER_NAMES[node.id]
    if isinstance(node, ast.Call) and len(node.args) == 1 and not node.keywords:
        func = node.func
        fname = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
        if fname in _NUMBER_CALLS:
            return _literal(node.args[0])
    raise _NotLiteral(type(node).__name__)


def python_literal(text: str, max_chars: int = 1_000_000) -> Any:
    """The value of a Python literal repr (``{'loss': 0.5, 'epoch': nan}``), or None when it is not one.

    The text is parsed with `ast` and only literal nodes are walked: nothing is ever evaluated or called."""
    if len(text) > max_chars:
        return None
    try:
        return _literal(ast.parse(text.strip(), mode="eval"))
    except (SyntaxError, ValueError, TypeError, RecursionError, MemoryError):  # TypeError: {[1]: 2}
        return None


# -- line-oriented files -----------------------------------------------------------------------------------
MAX_LINE = limits.Limits.line_bytes  # the default of the line-bytes limit


def iter_lines(path: str, keep_tail: bool = False, report: list[Problem] | None = None
               ) -> Iterator[tuple[int, str, bool]]:
    """(line number, text without its line break, whether a line break ended it) for each line of a
    regular file, streamed; UTF-8 with bad bytes replaced, a BOM dropped. Of a line longer than the
    `line-bytes` limit only its first bytes are kept, or the last ones with `keep_tail` (a progress bar
    redrawn with ``\\r`` ends in its final state); at most `text-bytes` bytes and `lines` lines are read
    ([tool.curvelint.limits]; a line cut off by the byte limit is not yielded). The limits that were hit
    go to `report` as problems. OSError (`NotRegularFile`) propagates."""
    lim = limits.current()
    cap, budget = lim.line_bytes, lim.text_bytes
    found = report if report is not None else []
    long_lines: list[int] = []
    with open_regular(path) as fh:
        used = number = 0

        def chunk() -> bytes:
            nonlocal used
            data = fh.readline(min(cap, budget - used)) if used < budget else b""
            used += len(data)
            return data

        try:
            while True:
                raw = chunk()
                if not raw or number >= lim.lines:
                    if raw or (used >= budget and fh.read(1)):
                        key = "lines" if raw else "text-bytes"
                        found.append(limits.reached(path, key, "the file", f"its first {number:,} lines were read",
                                                    number + 1))
                    return
                number += 1
                while not raw.endswith(b"\n") and len(raw) >= cap:  # an over-long line
                    if not long_lines or long_lines[-1] != number:
                        long_lines.append(number)
                    more = chunk()
                    if not more:
                        break
                    if keep_tail:
                        raw = (raw + more)[-cap:]
                    elif more.endswith(b"\n"):
                        raw += b"\n"
                ended = raw.endswith(b"\n")
                if not ended and used >= budget and fh.read(1):  # cut off by the byte limit, not by the writer
                    found.append(limits.reached(path, "text-bytes", "the file", f"its first {number - 1:,} lines "
                                                "were read", number))
                    return
                text = raw.decode("utf-8", "replace").rstrip("\r\n")
                yield number, (text.removeprefix("\ufeff") if number == 1 else text), ended
        finally:
            if long_lines:
                part = "last" if keep_tail else "first"
                what = (f"line {long_lines[0]}" if len(long_lines) == 1 else
                        f"{len(long_lines)} lines (first at line {long_lines[0]})")
                found.append(limits.reached(path, "line-bytes", what, f"the {part} {limits.shown('line-bytes', cap)} "
                                            f"of {'it' if len(long_lines) == 1 else 'each'} were read", long_lines[0]))


@dataclass
class JsonLines:
    """The JSON objects of a JSON Lines file, streamed: iterate for (line number, object). Lines that are
    not JSON objects are skipped and remembered (`problems` says where); blank lines are ignored."""

    path: str
    bad: list[int] = field(default_factory=list)
    truncated: int | None = None  # the last line, cut off before its line break
    limited: list[Problem] = field(default_factory=list)  # the limits hit ([tool.curvelint.limits])

    def __iter__(self) -> Iterator[tuple[int, dict]]:
        for number, text, ended in iter_lines(self.path, report=self.limited):
            if not text.strip():
                continue
            try:
                obj = json.loads(text)
            except (ValueError, RecursionError):
                obj = None
            if isinstance(obj, dict):
                yield number, obj
            elif not ended:
                self.truncated = number
            else:
                self.bad.append(number)

    def problems(self) -> list[Problem]:
        out = []
        if self.bad:
            out.append(Problem("unreadable", self.path, f"{len(self.bad)} line(s) are not JSON objects "
                               f"(first at line {self.bad[0]}); skipped", self.bad[0]))
        if self.truncated is not None:
            out.append(truncated_line(self.path, self.truncated))
        return out + self.limited


def truncated_line(path: str, number: int) -> Problem:
    return Problem("truncated", path, f"the last line, line {number}, is cut off (the run was probably still "
                   "being written)", number)


def flatten_numbers(name: str, value: Any, out: dict[str, float], other: set[str]) -> None:
    """Put the number(s) of one logged value in `out` (a dict of numbers is flattened with '.'); the names
    of values that are not numbers (text, booleans, W&B media with a ``_type``) go to `other`."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        out[name] = to_float(value)
    elif isinstance(value, dict) and "_type" not in value:  # "_type": images, histograms, tables
        for key, inner in value.items():
            flatten_numbers(f"{name}.{key}", inner, out, other)
    elif value is not None:
        other.add(name)


@dataclass
class Rows:
    """Logged rows (name -> number, at a step) gathered as per-series columns for `add_series` (arrays of
    doubles: 8 bytes a number, where lists of floats took some 40)."""

    columns: dict[str, tuple[array, array, array]] = field(default_factory=dict)
    other: set[str] = field(default_factory=set)  # logged names whose values are not numbers
    rows: int = 0
    stepless: int = 0  # rows without a step (placed at the row index)
    timed: bool = False

    def add(self, values: dict[str, float], step: float | None, wall: float | None = None) -> None:
        if step is None:
            step, self.stepless = float(self.rows), self.stepless + 1
        self.rows += 1
        wall = math.nan if wall is None else wall
        self.timed = self.timed or not math.isnan(wall)
        for name, value in values.items():
            steps, vals, walls = self.columns.get(name) or self.columns.setdefault(name, (array("d"), array("d"),
                                                                                          array("d")))
            steps.append(step)
            vals.append(value)
            walls.append(wall)

    def to_run(self, run: Run) -> None:
        """The columns as the run's series, and a note naming the values that were not numbers."""
        add_series(run, {name: (cols[0], cols[1], cols[2] if self.timed else None)
                         for name, cols in sorted(self.columns.items())})
        if self.other:
            run.notes.append(f"logged values that are not numbers were not read: {names(sorted(self.other))}")


def final_note(source: str, values: dict[str, float], shown: int = 8) -> str:
    """'final values from all_results.json: eval_loss=0.223, train_loss=0.4594 and 3 more'."""
    items = [f"{k}={v:.4g}" for k, v in values.items()]
    more = f" and {len(items) - shown} more" if len(items) > shown else ""
    return f"final values from {source}: {', '.join(items[:shown])}{more}"
