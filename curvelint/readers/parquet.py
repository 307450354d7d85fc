"""Parquet metric tables -> `Run`s (pyarrow, imported lazily; only the needed columns are read).

Two layouts (column names matched case-insensitively):

* long: ``tag``, ``step``, ``value`` (+ optional ``wall_time``): one row per point;
* wide: a ``step`` (or ``epoch``) column plus one numeric column per metric; a null cell
  means "not logged at this step" (a NaN is a logged NaN). Without a step/epoch column, an
  increasing integer pandas index (``__index_level_0__``) is the step, else the row order
  when a column is named like a metric (loss, accuracy, mAP, ...; noted), so a table of
  per-evaluation metrics still reads. Non-numeric columns are skipped (noted). A table
  with a label column (``label``, ``target``, ...) and no step is a data sample
  (``--data``), not a log: no run.

A ``run`` column splits the table into one `Run` per value (named ``<file>:<run>``).
A table in neither layout is an "unreadable" problem naming the columns it has.

At most `records` rows and `file-bytes` bytes of decoded columns are read (``[tool.curvelint.limits]``):
a Parquet file can hold far more than its size (a billion repeated values compress to kilobytes).
"""

from __future__ import annotations

import os
from typing import Any, Iterator

import numpy as np

from curvelint import limits
from curvelint.discovery import RunSource
from curvelint.fileio import check_regular, is_remote, open_regular
from curvelint.model import Problem, Run
from curvelint.data import LABEL_COLUMNS
from curvelint.readers._common import (
    add_series, constant_lr_hparams, is_integral, metric_like, names, new_run, unreadable,
)

FORMAT = "parquet"
LONG = ("tag", "step", "value")
AXES = ("step", "epoch")
WALL = ("wall_time", "walltime", "timestamp")
RUN = "run"
LAYOUTS = ("long (tag, step, value[, run, wall_time]) or wide (step or epoch + numeric metric columns[, run])")


def _numeric(dtype: Any) -> bool:
    import pyarrow as pa

    t = pa.types
    return t.is_integer(dtype) or t.is_floating(dtype) or t.is_decimal(dtype) or t.is_boolean(dtype) \
        or t.is_timestamp(dtype) or t.is_dictionary(dtype) and _numeric(dtype.value_type)


def _text(dtype: Any) -> bool:
    import pyarrow as pa

    t = pa.types
    return t.is_string(dtype) or t.is_large_string(dtype) or t.is_binary(dtype) or t.is_large_binary(dtype)


def _floats(column: Any) -> tuple[np.ndarray, np.ndarray]:
    """(values as float64 with NaN for null, null mask) of a numeric or timestamp column."""
    import pyarrow as pa
    import pyarrow.compute as pc

    column = column.combine_chunks() if hasattr(column, "combine_chunks") else column
    if pa.types.is_dictionary(column.type):
        column = column.dictionary_decode()
    null = np.asarray(pc.is_null(column).to_numpy(zero_copy_only=False), dtype=bool) if column.null_count \
        else np.zeros(len(column), dtype=bool)
    if pa.types.is_timestamp(column.type):
        scale = {"s": 1.0, "ms": 1e3, "us": 1e6, "ns": 1e9}[column.type.unit]
        values = pc.cast(column.cast(pa.timestamp(column.type.unit)), pa.int64()).to_numpy(zero_copy_only=False)
        values = np.asarray(values, dtype=np.float64) / scale
    else:
        values = np.asarray(pc.cast(column, pa.float64(), safe=False).to_numpy(zero_copy_only=False), dtype=np.float64)
    if null.any():  # else the (possibly read-only, zero-copy) array as it is
        values = values.copy()
        values[null] = np.nan
    return values, null


def _steps(column: Any) -> np.ndarray:
    """A step column: int64 as it is when it is integer without nulls (no float round trip), else `_floats`."""
    import pyarrow as pa

    if pa.types.is_integer(column.type) and not column.null_count and not pa.types.is_uint64(column.type):
        return np.asarray(column.to_numpy(), dtype=np.int64)
    return _floats(column)[0]


def _labels(column: Any) -> tuple[list[str], np.ndarray]:
    """(distinct labels as text, label index per row; -1 for null) of a tag or run column."""
    import pyarrow as pa

    if pa.types.is_dictionary(column.type):  # read as dictionary (`_reader`): no hashing of every row
        column = pa.table({"c": column}).unify_dictionaries().column(0).combine_chunks()
        labels = [str(v) for v in column.dictionary.to_pylist()]
        if len(set(labels)) < len(labels):  # a dictionary with repeated values: encode again
            column = column.dictionary_decode()
    if not pa.types.is_dictionary(column.type):
        column = column.combine_chunks().dictionary_encode()
        labels = [str(v) for v in column.dictionary.to_pylist()]
    index = column.indices.fill_null(-1).to_numpy(zero_copy_only=False)
    return labels, index.astype(np.int32 if len(labels) < 1 << 31 else np.int64, copy=False)


def _run_ids(table: Any, cols: dict[str, str]) -> tuple[list[str], np.ndarray | None]:
    """(labels, run id per row) of the run column: a label's index, len(labels) for a null run;
    ([], None) without a run column."""
    if RUN not in cols:
        return [], None
    column = table.column(cols[RUN])
    labels, index = _labels(column)
    if column.null_count:
        index = np.where(index < 0, len(labels), index)
    return labels, index


def _named_runs(source: RunSource, labels: list[str], ids: list[int] | None) -> list[tuple[int, Run]]:
    """(id, run) for the run ids present, ordered by label with the null run last, each named
    ``path:label``; without a run column (`ids` None) the one run of the file (id 0)."""
    if ids is None:
        return [(0, new_run(source, FORMAT))]

    def label(r: int) -> str:
        return labels[r] if r < len(labels) else ""  # the null run: ""

    return [(r, new_run(source, FORMAT, name=f"{source.path}:{label(r)}"))
            for r in sorted(ids, key=lambda r: (r == len(labels), label(r)))]


def _runs(table: Any, cols: dict[str, str], source: RunSource) -> list[tuple[Run, np.ndarray | None]]:
    """One (run, row indices) per value of the run column, or the whole table as one run (rows None)."""
    labels, index = _run_ids(table, cols)
    if index is None:
        return [(new_run(source, FORMAT), None)]
    present = np.flatnonzero(np.bincount(index, minlength=len(labels) + 1)).tolist()
    return [(run, np.flatnonzero(index == r)) for r, run in _named_runs(source, labels, present)]


def _wall(table: Any, cols: dict[str, str], schema: Any) -> np.ndarray | None:
    name = next((cols[w] for w in WALL if w in cols and _numeric(schema.field(cols[w]).type)), None)
    return None if name is None else _floats(table.column(name))[0]


def _read_table(pf: Any, columns: list[str], cut: list[Problem], path: str = "") -> Any:
    """The `columns` of the table: the first rows within the `records` and `file-bytes` limits (then a
    problem in `cut` says where it stopped), all of them when the metadata says they fit."""
    lim = limits.current()
    md = pf.metadata
    decoded = sum(md.row_group(i).total_byte_size for i in range(md.num_row_groups))
    if md.num_rows <= lim.records and max(decoded, md.num_rows * 8 * len(columns)) <= lim.file_bytes:
        return pf.read(columns=columns)
    import pyarrow as pa

    batches, rows, size, key = [], 0, 0, None
    for batch in pf.iter_batches(batch_size=1 << 16, columns=columns):
        if rows >= lim.records or size >= lim.file_bytes:
            key = "records" if rows >= lim.records else "file-bytes"
            break
        batch = batch.slice(0, lim.records - rows)
        batches.append(batch)
        rows, size = rows + batch.num_rows, size + batch.nbytes
    if key is None and rows < md.num_rows:
        key = "records"
    if key is not None:
        what = "the table" if key == "records" else "the table's decoded columns"
        cut.append(limits.reached(path, key, what, f"its first {rows:,} rows were read"))
    return pa.Table.from_batches(batches) if batches else pf.schema_arrow.empty_table().select(columns)


def _read_long(pf: Any, cols: dict[str, str], source: RunSource, cut: list[Problem]) -> list[Run]:
    odd = [cols[c] for c in ("step", "value") if not _numeric(pf.schema_arrow.field(cols[c]).type)]
    if odd:
        return unreadable(source, FORMAT, f"long layout (tag, step, value) but {names(odd)} is not numeric: "
                          + ", ".join(f"{c}: {pf.schema_arrow.field(c).type}" for c in odd))
    wanted = [cols[c] for c in (*LONG, RUN, *WALL) if c in cols]
    table = _read_table(pf, wanted, cut, source.files[0] if source.files else source.path)
    tags, tag_index = _labels(table.column(cols["tag"]))
    steps = _steps(table.column(cols["step"]))
    values, value_null = _floats(table.column(cols["value"]))
    walls = _wall(table, cols, pf.schema_arrow)
    run_labels, run_index = _run_ids(table, cols)
    # one grouping key per row: (run, tag) as label indices; names order the runs and series at the end
    width = len(tags) + 1
    key = tag_index if run_index is None else run_index * (np.int32(width) if (len(run_labels) + 1) * width < 1 << 31
                                                           else np.int64(width)) + tag_index
    rows = None
    if table.column(cols["tag"]).null_count or value_null.any():  # drop rows without a tag or a value
        rows = np.flatnonzero((tag_index >= 0) & ~value_null)
        key = key[rows]
        steps, values = steps[rows], values[rows]
        walls = None if walls is None else walls[rows]
    groups: dict[int, dict[str, tuple]] = {}
    for k, sel in _blocks(key, run_index if run_index is None or rows is None else run_index[rows],
                          len(run_labels) + 1, width):
        r, t = divmod(k, width)
        groups.setdefault(r, {})[tags[t]] = (steps[sel], values[sel], None if walls is None else walls[sel])
    if run_index is None:
        present = None  # no run column: one run, even for an empty table
    elif rows is None:
        present = list(groups)
    else:  # every run with a row, logged or not
        present = np.flatnonzero(np.bincount(run_index, minlength=len(run_labels) + 1)).tolist()
    runs = []
    for r, run in _named_runs(source, run_labels, present):
        add_series(run, dict(sorted(groups.get(r, {}).items())))
        runs.append(run)
    return runs


def _blocks(key: np.ndarray, run_key: np.ndarray | None, runs: int, width: int
            ) -> Iterator[tuple[int, slice | np.ndarray]]:
    """(key, its rows in row order) for each distinct key: run by run when each run is one block of rows."""
    if run_key is not None and len(run_key):
        cuts = np.flatnonzero(run_key[1:] != run_key[:-1]) + 1
        if len(cuts) < runs and len(np.unique(run_key[np.r_[0, cuts]])) == len(cuts) + 1:
            bounds = [0, *cuts.tolist(), len(key)]
            for a, b in zip(bounds, bounds[1:]):
                yield from _rows_of(key[a:b], a, width)
            return
    yield from _rows_of(key, 0, runs * width)


def _rows_of(key: np.ndarray, offset: int, most: int) -> Iterator[tuple[int, slice | np.ndarray]]:
    """(key, rows + offset) per distinct key of `key` (at most `most` of them).

    Slices where the row order allows, i.e. one block of rows per key (a writer's usual
    order) or the keys cycling in a fixed order (every tag at every step); else index
    arrays from a stable sort.
    """
    n = len(key)
    if not n:
        return
    changes = key[1:] != key[:-1]
    pieces = int(np.count_nonzero(changes)) + 1
    if pieces <= most:
        cuts = np.flatnonzero(changes) + 1
        firsts = key[np.r_[0, cuts]]
        if len(np.unique(firsts)) == pieces:
            bounds = [0, *cuts.tolist(), n]
            for k, a, b in zip(firsts.tolist(), bounds, bounds[1:]):
                yield k, slice(offset + a, offset + b)
            return
    again = np.flatnonzero(key[1:most + 1] == key[0])
    period = int(again[0]) + 1 if len(again) else 0
    if period and len(np.unique(key[:period])) == period and np.array_equal(key[period:], key[:-period]):
        for g, k in enumerate(key[:period].tolist()):
            yield k, slice(offset + g, offset + n, period)
        return
    order = np.argsort(key.astype(np.uint16) if key.max() < 1 << 16 else key, kind="stable")  # uint16: radix
    counts = np.bincount(key)
    used = np.flatnonzero(counts)
    ends = np.cumsum(counts[used])
    for k, a, b in zip(used.tolist(), (ends - counts[used]).tolist(), ends.tolist()):
        yield k, order[a:b] + offset


def _wide_axis(pf: Any, cols: dict[str, str], metrics: list[str]) -> tuple[str | None, str | None]:
    """(axis column, or None for row order; a note) of a wide table; ("", None) when it has none."""
    schema = pf.schema_arrow
    for axis in AXES:
        if axis in cols and _numeric(schema.field(cols[axis]).type):
            return cols[axis], None
    index = next((c for c in schema.names if c.startswith("__index_level_")), None)
    if index and _numeric(schema.field(index).type):
        values, null = _floats(_read_table(pf, [index], []).column(index))  # (the limit is said once, below)
        if len(values) > 1 and not null.any() and is_integral(values) and np.all(np.diff(values) > 0):
            return index, f"no step/epoch column: the pandas index {index!r} is the step"
    if any(metric_like(m) for m in metrics):
        why = f" (the pandas index {index!r} does not increase)" if index else ""
        return None, f"no step/epoch column{why}: row order is the step"
    return "", None


def _read_wide(pf: Any, cols: dict[str, str], source: RunSource, cut: list[Problem]) -> list[Run]:
    schema = pf.schema_arrow
    skip = {cols[c] for c in (*AXES, RUN, *WALL) if c in cols}
    candidates = [c for c in schema.names if c not in skip and not c.startswith("__index_level_")]
    metrics = [c for c in candidates if _numeric(schema.field(c).type)]
    if not any(c in cols for c in AXES) and any(c in cols for c in LABEL_COLUMNS):
        return []  # a data sample (features + labels, see curvelint.data), not a metric log
    axis, note = _wide_axis(pf, cols, metrics)
    if axis == "" or not metrics:
        return unreadable(source, FORMAT, f"no metric table layout: columns {names(schema.names, 12)}; "
                                          f"expected {LAYOUTS}")
    extra = [cols[c] for c in (RUN, *WALL) if c in cols]
    table = _read_table(pf, list(dict.fromkeys(([axis] if axis else []) + metrics + extra)), cut,
                        source.files[0] if source.files else source.path)
    steps = _floats(table.column(axis))[0] if axis else np.arange(table.num_rows, dtype=np.float64)
    notes = [note] if note else []
    if not is_integral(steps[~np.isnan(steps)]):
        notes.append(f"{axis!r} is not whole numbers: row order is the step")
        steps = np.arange(table.num_rows, dtype=np.float64)
    if len(metrics) < len(candidates):
        notes.append(f"non-numeric columns skipped: {names([c for c in candidates if c not in metrics])}")
    walls = _wall(table, cols, schema)
    data = {m: _floats(table.column(m)) for m in metrics}
    runs = []
    for run, rows in _runs(table, cols, source):
        run.notes.extend(notes)
        columns = {}
        for m, (values, null) in data.items():
            if rows is None and not null.any():  # the whole column: no copy
                columns[m] = (steps, values, walls)
                continue
            keep = np.flatnonzero(~null) if rows is None else rows[~null[rows]]
            columns[m] = (steps[keep], values[keep], None if walls is None else walls[keep])
        add_series(run, columns)
        runs.append(run)
    return runs


def _source(path: str) -> Any:
    """What pyarrow reads: a local path, or a URL's seekable remote file (pyarrow reads its footer, then
    only the projected columns' chunks, with range requests)."""
    if not is_remote(path):
        return path
    import pyarrow as pa

    return pa.PythonFile(open_regular(path), mode="r")


def read(source: RunSource) -> list[Run]:
    """Read one Parquet file (never raises for bad input)."""
    path = source.files[0] if source.files else source.path
    try:
        check_regular(path)
    except OSError as exc:
        return unreadable(source, FORMAT, f"cannot read: {exc.strerror or exc}")
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        opened = _source(path)
        pf = pq.ParquetFile(opened)
        cols: dict[str, str] = {}
        for name in pf.schema_arrow.names:
            cols.setdefault(name.lower(), name)
        long = all(c in cols for c in LONG)
        labels = [cols[c] for c in ("tag", RUN) if c in cols and _text(pf.schema_arrow.field(cols[c]).type)]
        if labels:  # run/tag strings come as Parquet's own dictionary: no hashing of every row
            pf = pq.ParquetFile(opened, read_dictionary=labels)
        cut: list[Problem] = []
        runs = _read_long(pf, cols, source, cut) if long else _read_wide(pf, cols, source, cut)
        for run in runs:
            run.problems.extend(cut)
    except (OSError, ValueError, pa.ArrowException) as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return unreadable(source, FORMAT, f"not a readable Parquet file: {message}")
    for run in runs:
        if not run.series and not run.problems:
            run.notes.append(f"the table has no logged values ({os.path.basename(path)})")
        constant_lr_hparams(run)
    return runs
