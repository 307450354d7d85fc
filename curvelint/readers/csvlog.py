"""CSV training logs -> `Run`s: Keras CSVLogger, Lightning CSVLogger, YOLOv5 results.csv.

* Comma, semicolon or tab separated (whichever the header line uses most).
* Line endings CRLF, LF, CR and the ``\\r\\r\\n`` of CSVLogger on Windows; cells and
  headers are stripped (YOLOv5 pads them with spaces); a UTF-8 BOM is dropped.
* Step axis: the ``step`` column (``global_step``, ``iteration``) when present, else
  ``epoch``; without either, a first column of increasing integers (noted). A CSV with
  none of these, or without a loss- or metric-like column (`metric_like`: ``loss``,
  ``val_acc``, ``mAP``, ``lr``, ...) unless it is TensorBoard's CSV export of one tag
  (``Wall time,Step,Value``) or has both an epoch and a step column (Lightning's CSVLogger:
  ``epoch,step,validation_epoch_average``), is not a training log (``id,name,price``): no run.
* An empty cell means "not logged in this row" (Lightning writes sparse rows); the
  literal ``nan``/``inf`` is a logged value.
* A counter that goes back (``CSVLogger(append=True)`` appends several fits, each
  restarting at epoch 0) starts a new fit: each fit is a run of its own, named
  ``<file>:fit<k>`` (noted). Read as one curve, fresh models would look like a loss
  that jumps back up, a false alarm for the rules.
* A repeated header line (concatenated files) is skipped; a row with the wrong number of
  cells is an "unreadable" problem at its line (or "truncated" when it is the final,
  unterminated line) and is skipped; non-numeric columns are skipped (noted). A stray quote
  that would join the following lines into one cell costs only its own line.
* A large plain file (numbers and empty cells only, every row as wide as the header: a Lightning
  metrics.csv) is parsed by pyarrow.csv in blocks (`_csv_fast`: tens of times faster than
  the Python parser, a quarter of its memory);
  the table is the same, and any file that path declines is read by the Python parser here. Either way a
  column keeps its logged cells only (`_csv_columns.Column`).
"""

from __future__ import annotations

import csv
import itertools
import math
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import cast

import numpy as np

from curvelint import limits
from curvelint.discovery import RunSource
from curvelint.fileio import is_remote
from curvelint.model import Problem, Run
from curvelint.readers._common import (
    add_series, constant_lr_hparams, is_integral, looks_like_log, metric_like, names, new_run, read_lines_text,
    unreadable,
)
from curvelint.readers._csv_columns import Column

FORMAT = "csv"
STEP_NAMES = ("step", "global_step", "iteration", "iter", "steps")
EPOCH_NAMES = ("epoch", "epochs")
WALL_NAMES = ("wall_time", "wall time", "walltime")
TENSORBOARD_EXPORT = ["wall time", "step", "value"]  # TensorBoard's "download CSV" of one tag
FAST_MIN_BYTES = 256 << 10  # smaller files are read faster by the Python path than pyarrow is imported


@dataclass
class _Table:
    """Header and well-formed rows of a CSV file (cells stripped), with their line numbers (the fast path
    gives its rows as columns, not in `rows`)."""

    header: list[str]
    rows: list[list[str]] = field(default_factory=list)
    lines: Sequence[int] | np.ndarray = field(default_factory=list)  # a list; the fast path gives an array or a range
    problems: list[Problem] = field(default_factory=list)


def delimiter_of(first: str) -> str:
    """The separator the first non-blank line uses most: ',' (and when it has none), ';' or a tab (CSVLogger's
    `separator`)."""
    delimiter = max((",", ";", "\t"), key=first.count)
    return delimiter if first.count(delimiter) else ","


def _split(text: str, path: str) -> _Table | None:
    """Parse the text into a table; None when there is no header line."""
    lines = text.replace("\r\r\n", "\n").splitlines()
    cap = limits.current().line_bytes
    long = [i for i, line in enumerate(lines) if len(line) > cap // 4 and len(line.encode("utf-8", "replace")) > cap]
    for i in long:  # over the line-bytes limit: skipped (an empty line keeps the others' numbers)
        lines[i] = ""
    csv.field_size_limit(max(csv.field_size_limit(), min(cap, sys.maxsize)))  # a cell may be as long as a line
    delimiter = delimiter_of(next((line for line in lines if line.strip()), ""))
    reader = csv.reader(lines, delimiter=delimiter)
    table: _Table | None = None
    bad: list[int] = []
    short: dict[str, str] = {}  # one string per distinct short cell: a table of millions of "1", "0.5" shares them

    def take(row: list[str], number: int) -> None:
        nonlocal table
        cells = [c if len(c) > 6 else short.get(c) or _share(short, c) for c in (c.strip() for c in row)]
        if not any(cells):
            return
        if table is None:
            table = _Table(cells)
        elif len(cells) == len(table.header):
            if cells != table.header:  # else a repeated header (files concatenated)
                table.rows.append(cells)
                cast("list[int]", table.lines).append(number)  # (a table made here)
        elif number == len(lines) and not text.endswith(("\n", "\r")) and len(cells) < len(table.header):
            table.problems.append(Problem("truncated", path, f"the last line has {len(cells)} of "
                                          f"{len(table.header)} cells (file cut off while writing?)", number))
        else:
            bad.append(number)

    while True:
        before = reader.line_num
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error:  # (a NUL byte in old Pythons): that line only
            if table is None:
                return None
            bad.append(reader.line_num)
            continue
        if reader.line_num - before > 1 and table is not None:  # a quote opened a cell over several lines
            singles = [_one_line(line, delimiter) for line in lines[before:reader.line_num]]
            whole = sum(1 for s in singles if len(s) == len(table.header))
            if whole > (len(row) == len(table.header)):  # more good rows read line by line: a stray quote
                for k, single in enumerate(singles):
                    take(single, before + k + 1)
                continue
        take(row, reader.line_num)
    if table is not None and bad:
        table.problems.append(Problem("unreadable", path, f"{len(bad)} row(s) do not have the header's "
                                      f"{len(table.header)} cells (first at line {bad[0]}); skipped", bad[0]))
    if table is not None and long:
        what = f"line {long[0] + 1}" if len(long) == 1 else f"{len(long)} lines (first at line {long[0] + 1})"
        table.problems.append(limits.reached(path, "line-bytes", what, "skipped, the other lines were read",
                                             long[0] + 1))
    return table


_SHORT_CELLS = 1 << 16  # distinct short cells shared per file (more: each row keeps its own)


def _share(short: dict[str, str], cell: str) -> str:
    if len(short) < _SHORT_CELLS:
        short[cell] = cell
    return cell


def _one_line(line: str, delimiter: str) -> list[str]:
    """The cells of one physical line (a quote it opens ends with it)."""
    try:
        return next(csv.reader([line], delimiter=delimiter), [])
    except csv.Error:
        return []


def _column(cells: list[str]) -> tuple[np.ndarray, np.ndarray, int]:
    """(values, logged mask, number of non-numeric cells) of one column."""
    logged = np.fromiter((c != "" for c in cells), dtype=bool, count=len(cells))
    try:
        values = np.array([float(c) if c else math.nan for c in cells], dtype=np.float64)
        return values, logged, 0
    except ValueError:
        pass
    values = np.full(len(cells), np.nan)
    bad = 0
    for i, cell in enumerate(cells):
        if cell:
            try:
                values[i] = float(cell)
            except ValueError:
                logged[i] = False
                bad += 1
    return values, logged, bad


def _axis(header: list[str], columns: dict[int, Column]) -> tuple[int, str] | None:
    """(column index, kind) of the step axis: a step column, else epoch, else an integer first column."""
    lower = [h.lower() for h in header]
    for kind, candidates in (("step", STEP_NAMES), ("epoch", EPOCH_NAMES)):
        for name in candidates:
            if name in lower:
                i = lower.index(name)
                if len(columns[i].values):
                    return i, kind
    first = columns[0]
    if (not first.bad and first.rows is None and len(first.values) and is_integral(first.values)
            and np.all(np.diff(first.values) > 0)):
        return 0, "first"
    return None


def _segments(axis: np.ndarray) -> list[tuple[int, int]]:
    """(start, stop) positions in `axis` of each fit: a new fit starts where the axis goes back.

    Only a decrease is a restart: rows may share a step (Lightning's train and val rows).
    """
    bounds = [0, *(np.flatnonzero(np.diff(axis) < 0) + 1).tolist(), len(axis)]
    return list(itertools.pairwise(bounds))


def _int_steps(steps: np.ndarray) -> np.ndarray:
    """Whole-number steps (checked by `is_integral`) as int64 when float64 holds them exactly: what
    `add_series` would make of each series' steps, made once for all of them."""
    if len(steps) and max(-steps.min(), steps.max()) <= 2.0 ** 53:
        return steps.astype(np.int64)
    return steps


def _unique_names(header: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for h in header:
        seen[h] = seen.get(h, 0) + 1
        out.append(h if seen[h] == 1 else f"{h}#{seen[h]}")
    return out


def _series(header: list[str], columns: dict[int, Column], skip: set[int], rows: np.ndarray, steps: np.ndarray,
            run: Run) -> None:
    """Add the metric columns' logged cells of `rows` (increasing row indices, `steps` their steps) to the run."""
    lower = [h.lower() for h in header]
    wall_col = next((i for i, h in enumerate(lower) if h in WALL_NAMES and i not in skip), None)
    walls = None if wall_col is None else columns[wall_col].dense()
    text_cols, partly = [], []
    series = {}
    for i, name in enumerate(header):
        if i in skip or i == wall_col:
            continue
        cell_steps, values, where = columns[i].cells_in(rows, steps)
        bad = columns[i].bad
        if bad and not len(values):
            text_cols.append(name)
            continue
        if bad:
            partly.append(f"{name} ({bad})")
        series[name] = (cell_steps, values, None if walls is None else walls[where])
    add_series(run, series)
    if text_cols:
        run.notes.append(f"non-numeric columns skipped: {names(text_cols)}")
    if partly:
        run.notes.append(f"cells that are not numbers were skipped in {names(partly)}")


def _logged(name: str) -> bool:
    """A column a training log logs: loss- or metric-like, or named in [tool.curvelint.metrics]."""
    from curvelint.readers.configured import metric_names

    return metric_like(name) or name in metric_names()


def _runs(source: RunSource, table: _Table, given: Mapping[int, Column | tuple[np.ndarray, np.ndarray, int]] | None
          = None) -> list[Run]:
    """The runs of the table: one, or one per fit when fits were appended to one file (the
    step/epoch counter goes back); none when the table is not a training log. `given`: the
    table's columns, when already parsed (`_csv_fast`; `curvelint.follow` parses only appended rows and
    gives `_column`s)."""
    header = _unique_names(table.header)
    if all(_column([h])[1].all() for h in header):
        return []  # no header: the first row holds numbers
    lower = [h.lower() for h in header]
    if not table.rows and given is None:
        if set(lower) & set(STEP_NAMES + EPOCH_NAMES) and any(_logged(h) for h in header):
            run = new_run(source, FORMAT)
            run.notes.append("the log has a header but no rows")
            return [run]
        return []
    columns: dict[int, Column]
    if given is None:
        columns = {i: Column.from_dense(*_column(list(c))) for i, c in enumerate(zip(*table.rows))}
    else:
        columns = {i: c if isinstance(c, Column) else Column.from_dense(*c) for i, c in given.items()}
    del given  # not held to the end: what it held is freed once converted
    found = _axis(header, columns)
    counters = bool(set(lower) & set(STEP_NAMES)) and bool(set(lower) & set(EPOCH_NAMES))  # Lightning's CSVLogger writes both
    if found is None or not (lower == TENSORBOARD_EXPORT or counters
                             or any(_logged(h) for i, h in enumerate(header) if i != found[0])):
        return []  # no step axis, or nothing a training log logs (a data table: id,name,price)
    axis_col, kind = found
    notes = []
    if kind == "first":
        notes.append(f"no epoch/step column: the first column {header[axis_col]!r} is the step")
    skip = {i for i, h in enumerate(lower) if h in STEP_NAMES + EPOCH_NAMES or not h} | {axis_col}
    axis = columns[axis_col]
    columns = {i: c for i, c in columns.items() if i not in skip}  # (a large file's epoch column: freed here)
    rows, axis_values = axis.row_indices(), axis.values  # the rows with a step, and their steps
    if len(rows) < axis.length:
        notes.append(f"{axis.length - len(rows)} rows without a {header[axis_col]!r} value skipped")
    rows, axis_values, damaged = _damaged_steps(axis_values, rows, table, header[axis_col], source.path)
    if not is_integral(axis_values):
        notes.append(f"{header[axis_col]!r} is not whole numbers: row order is the step")
        axis_values = rows.astype(np.float64)
    segments = _segments(axis_values)
    runs: list[Run] = []
    for k, (start, stop) in enumerate(segments, 1):
        fit_rows = rows[start:stop]
        run = new_run(source, FORMAT, name=source.path if len(segments) == 1 else f"{source.path}:fit{k}")
        run.notes.extend(notes)
        if len(segments) > 1:
            run.notes.append(f"fit {k} of {len(segments)} appended to one file (the {header[axis_col]!r} counter "
                             f"restarts; lines {int(table.lines[fit_rows[0]])}-{int(table.lines[fit_rows[-1]])}): "
                             "read as a run of its own")
        _series(header, columns, skip, fit_rows, _int_steps(axis_values[start:stop]), run)
        runs.append(run)
    if runs and damaged is not None:
        runs[0].problems.append(damaged)
    return runs


def _damaged_steps(values: np.ndarray, rows: np.ndarray, table: _Table, name: str, path: str
                   ) -> tuple[np.ndarray, np.ndarray, Problem | None]:
    """`rows` and their step/epoch `values` without those whose value is damaged (infinite, NaN, beyond 2^62,
    or a fraction among whole numbers: a few such cells), and the problem naming them; a column of fractional
    epochs is kept."""
    finite = np.isfinite(values)
    finite &= np.abs(values) < 2.0 ** 62
    rounded = np.where(finite, values, 0)
    whole = finite & (values == np.round(rounded, out=rounded))
    bad = ~finite if finite.sum() >= 2 else np.zeros(len(rows), dtype=bool)
    if not (bad | whole).all() and 2 <= whole.sum() and (~whole).sum() <= max(1, len(rows) // 20):
        bad = ~whole  # a few fractions among whole steps: damage, not fractional epochs
    if not bad.any():
        return rows, values, None
    first = int(np.argmax(bad))
    line = int(table.lines[rows[first]]) if rows[first] < len(table.lines) else None
    problem = Problem("unreadable", path, f"{int(bad.sum())} row(s) have a {name!r} that is not a whole number below "
                      f"2^62 (first at line {line}); skipped", line)
    return rows[~bad], values[~bad], problem


def read(source: RunSource) -> list[Run]:
    """Read one CSV log (never raises for bad input): a large plain file by the fast path
    (`_csv_fast`), anything else, or what that path declines, by `_split`."""
    path = source.files[0] if source.files else source.path
    runs = _read_fast(source, path)
    if runs is None:
        runs = _read_text(source, path)
    for run in runs:
        constant_lr_hparams(run)
    return runs


def _read_fast(source: RunSource, path: str) -> list[Run] | None:
    """The runs of a large plain CSV parsed by pyarrow, or None when the file is not one."""
    if not _worth_the_fast_path(path):
        return None
    from curvelint.readers import _csv_fast  # imports pyarrow (~0.2 s): only for files worth it

    parsed = _csv_fast.parse(path, delimiter_of)
    if parsed is None:
        return None
    return _runs(source, _Table(parsed.header, lines=parsed.lines), parsed.take_columns())  # none kept here


def _worth_the_fast_path(path: str) -> bool:
    """A local file of `FAST_MIN_BYTES` or more, within the text-bytes limit."""
    if is_remote(path):
        return False
    try:
        size = os.stat(path).st_size
    except (OSError, ValueError):
        return False
    return FAST_MIN_BYTES <= size <= limits.current().text_bytes


def _read_text(source: RunSource, path: str) -> list[Run]:
    try:
        text, cut = read_lines_text(path)
    except OSError as exc:
        return unreadable(source, FORMAT, f"cannot read: {exc.strerror or exc}")
    table = _split(text, path)
    if table is None:
        if not looks_like_log(path, ""):
            return []
        if not cut:
            return unreadable(source, FORMAT, "empty file: no header line")
        run = new_run(source, FORMAT)  # no line break within the text-bytes limit: that problem says it all
        run.problems.extend(cut)
        return [run]
    runs = _runs(source, table)
    if runs:
        runs[0].problems.extend(table.problems + cut)
    return runs
