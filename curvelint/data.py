"""A sample of the training data (``--data FILE``): input statistics and label counts.

`load_sample(path)` reads ``.npy``, ``.npz``, ``.parquet`` or ``.csv`` and returns
(`InputStats` list, `LabelStats` or None, `Problem` list). Nothing is ever unpickled
(``allow_pickle=False``): a file of Python objects is reported, not loaded.

* ``.npy``: one array of inputs (rows = samples); a structured array is read as a table.
* ``.npz``: inputs under ``x``/``X``/``inputs``/``features``/..., labels under
  ``y``/``labels``/``targets``/...
* ``.parquet``/``.csv``: numeric columns are features; a column named ``label``,
  ``labels``, ``target``, ``y`` or ``class`` holds the labels.

Statistics are computed on at most `MAX_ROWS` rows; per-feature arrays are kept for up
to `MAX_FEATURES` features (a flattened image has one "feature" per pixel).
"""

from __future__ import annotations

import os
import warnings
from typing import Any

import numpy as np

from curvelint.fileio import check_regular
from curvelint.model import InputStats, LabelStats, Problem

FEATURE_KEYS = ("x", "inputs", "input", "features", "data", "images", "x_train", "samples")
LABEL_KEYS = ("y", "labels", "label", "targets", "target", "y_train", "classes", "class")
LABEL_COLUMNS = ("label", "labels", "target", "targets", "y", "class")
INDEX_COLUMNS = ("__index_level_0__", "unnamed: 0", "index", "id")
PICKLE_SUFFIXES = (".pkl", ".pickle", ".pt", ".pth", ".joblib")
MAX_ROWS = 200_000
MAX_FEATURES = 4096
MAX_CLASSES = 1000

Sample = tuple[list[InputStats], "LabelStats | None", list[Problem]]


class _NeedsPickle(Exception):
    pass


def load_sample(path: str) -> Sample:
    """Input statistics and label counts of a data sample. Never raises for bad input."""
    lower = path.lower()
    if not os.path.exists(path):
        return [], None, [Problem("unreadable", path, "no such data file")]
    try:
        check_regular(path)  # a FIFO would block the first read, a device would never end
    except OSError as exc:
        return [], None, [Problem("unreadable", path, f"cannot read: {exc.strerror or exc}")]
    if lower.endswith(PICKLE_SUFFIXES):
        return [], None, [_pickle_problem(path)]
    loaders = {".npy": _load_npy, ".npz": _load_npz, ".parquet": _load_parquet, ".csv": _load_csv}
    loader = next((fn for ext, fn in loaders.items() if lower.endswith(ext)), None)
    if loader is None:
        return [], None, [Problem("unreadable", path, "unsupported data sample format "
                                                      "(use .npy, .npz, .parquet or .csv)")]
    try:
        return loader(path)
    except _NeedsPickle as exc:
        return [], None, [_pickle_problem(path, str(exc))]
    except Exception as exc:  # corrupt or unexpected files: report, never crash
        text = " ".join(str(exc).split())[:200]
        return [], None, [Problem("unreadable", path, f"cannot read data sample ({type(exc).__name__}: {text})")]


def _pickle_problem(path: str, what: str = "") -> Problem:
    where = f" ({what})" if what else ""
    return Problem("unreadable", path,
                   f"this data file needs pickle to load{where}; curvelint never unpickles data "
                   "(it can run code). Save plain numeric arrays instead, e.g. "
                   "np.savez('sample.npz', x=x.astype('float32'), y=y)")


# -- formats ---------------------------------------------------------------------------------------
def _load_npy(path: str) -> Sample:
    with open(path, "rb") as fh:
        version = np.lib.format.read_magic(fh)
        header = np.lib.format.read_array_header_2_0 if version >= (2, 0) else np.lib.format.read_array_header_1_0
        _shape, _fortran, dtype = header(fh)
    if dtype.hasobject:
        raise _NeedsPickle("an array of Python objects")
    arr = np.load(path, mmap_mode="r", allow_pickle=False)
    if arr.dtype.names:
        return _from_columns(path, {n: np.asarray(arr[n]) for n in arr.dtype.names})
    stats = _input_stats(os.path.splitext(os.path.basename(path))[0], path, arr)
    return ([stats] if stats else []), None, []


def _load_npz(path: str) -> Sample:
    with np.load(path, allow_pickle=False) as npz:
        keys = list(npz.files)
        x_key = _pick(keys, FEATURE_KEYS)
        y_key = _pick(keys, LABEL_KEYS)
        if x_key is None:
            rest = [k for k in keys if k != y_key]
            x_key = max(rest, key=lambda k: _size(npz, k), default=None)
        stats, labels = [], None
        if x_key is not None:
            s = _input_stats(x_key, path, _array(npz, x_key))
            stats = [s] if s else []
        if y_key is not None:
            labels = _label_stats(path, _array(npz, y_key))
    return stats, labels, []


def _array(npz: Any, key: str) -> np.ndarray:
    try:
        return npz[key]
    except ValueError as exc:
        if "pickle" in str(exc).lower():
            raise _NeedsPickle(f"array {key!r} holds Python objects") from None
        raise


def _size(npz: Any, key: str) -> int:
    try:
        return int(npz[key].size)
    except ValueError:
        return -1


def _pick(keys: list[str], wanted: tuple[str, ...]) -> str | None:
    lowered = {k.lower(): k for k in keys}
    return next((lowered[w] for w in wanted if w in lowered), None)


def _load_parquet(path: str) -> Sample:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pf = pq.ParquetFile(path)
    if pf.metadata.num_rows <= MAX_ROWS:
        table = pf.read()
    else:
        batches, rows = [], 0
        for batch in pf.iter_batches(batch_size=65536):
            batches.append(batch)
            rows += batch.num_rows
            if rows >= MAX_ROWS:
                break
        table = pa.Table.from_batches(batches)
    return _from_table(path, table)


def _load_csv(path: str) -> Sample:
    import pyarrow as pa
    import pyarrow.csv as pcsv

    def first_rows(options: pcsv.ReadOptions) -> pa.Table:
        reader = pcsv.open_csv(path, read_options=options)
        batches, rows = [], 0
        for batch in reader:
            batches.append(batch)
            rows += batch.num_rows
            if rows >= MAX_ROWS:
                break
        return pa.Table.from_batches(batches, schema=reader.schema)

    block = 64 << 20  # types are inferred from the first block: make it hold a whole typical sample
    table = first_rows(pcsv.ReadOptions(block_size=block))
    if table.num_columns and all(_is_number(c) for c in table.column_names):  # no header row
        table = first_rows(pcsv.ReadOptions(block_size=block, autogenerate_column_names=True))
    return _from_table(path, table)


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def _from_table(path: str, table: Any) -> Sample:
    import pyarrow.types as pt

    columns: dict[str, Any] = {}
    label_name = _pick(table.column_names, LABEL_COLUMNS)
    labels = _label_counts_arrow(path, table.column(label_name)) if label_name else None
    for name in table.column_names:
        col = table.column(name)
        if name == label_name or name.lower() in INDEX_COLUMNS:
            continue
        if pt.is_integer(col.type) or pt.is_floating(col.type) or pt.is_boolean(col.type):
            # a ChunkedArray: to_numpy copies as needed (pyarrow < 13 takes no zero_copy_only argument)
            columns[name] = col.to_numpy().astype(np.float64)
    stats = _table_stats(path, columns)
    return ([stats] if stats else []), labels, []


def _from_columns(path: str, columns: dict[str, np.ndarray]) -> Sample:
    label_name = _pick(list(columns), LABEL_COLUMNS)
    labels = _label_stats(path, columns[label_name]) if label_name else None
    numeric = {k: v.astype(np.float64) for k, v in columns.items()
               if k != label_name and k.lower() not in INDEX_COLUMNS and v.dtype.kind in "iufb" and v.ndim == 1}
    stats = _table_stats(path, numeric)
    return ([stats] if stats else []), labels, []


def _table_stats(path: str, columns: dict[str, np.ndarray]) -> InputStats | None:
    if not columns:
        return None
    x = np.column_stack(list(columns.values()))
    return _input_stats("features", path, x, tuple(columns))


# -- statistics ------------------------------------------------------------------------------------
def _input_stats(name: str, path: str, arr: np.ndarray, names: tuple[str, ...] | None = None) -> InputStats | None:
    """Overall and per-feature statistics of an array whose first axis is the sample axis."""
    if arr.dtype.kind not in "iufb" or arr.size == 0:
        return None
    if arr.ndim == 0:
        return None
    if len(arr) > MAX_ROWS:  # evenly spaced rows: a deterministic sample of a large array
        arr = arr[np.linspace(0, len(arr) - 1, MAX_ROWS).astype(np.int64)]
    x = np.asarray(arr, dtype=np.float64).reshape(len(arr), -1)
    x = np.where(np.isfinite(x), x, np.nan)
    finite = int(np.isfinite(x).sum())
    if finite == 0:
        return None
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        per = None
        if x.shape[1] <= MAX_FEATURES and x.shape[1] > 1:
            per = (np.nanmin(x, axis=0), np.nanmax(x, axis=0), np.nanmean(x, axis=0), np.nanstd(x, axis=0))
        overall = (np.nanmin(x), np.nanmax(x), np.nanmean(x), np.nanstd(x))
    return InputStats(
        name=name, source=path, count=float(finite),
        min=float(overall[0]), max=float(overall[1]), mean=float(overall[2]), std=float(overall[3]),
        feature_min=per[0] if per else None, feature_max=per[1] if per else None,
        feature_mean=per[2] if per else None, feature_std=per[3] if per else None,
        feature_names=names if per and names and len(names) == x.shape[1] else None,
    )


def _label_stats(path: str, y: np.ndarray) -> LabelStats | None:
    """Class counts of integer, boolean, string or one-hot labels; None for regression targets."""
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim == 2 and y.shape[1] > 1:
        if y.dtype.kind not in "iufb" or not np.isin(y, (0, 1)).all() or not (y.sum(axis=1) == 1).all():
            return None  # multi-label or soft targets: no single class per sample
        y = y.argmax(axis=1)
    if y.ndim != 1 or len(y) == 0:
        return None
    if y.dtype.kind == "f":
        y = y[np.isfinite(y)]
        if len(y) == 0 or not np.all(y == np.round(y)):
            return None  # continuous: a regression target
        y = y.astype(np.int64)
    if y.dtype.kind not in "iubUS":
        return None
    values, counts = np.unique(y, return_counts=True)
    return _counts(path, [str(v) for v in values], counts)


def _label_counts_arrow(path: str, column: Any) -> LabelStats | None:
    import pyarrow.compute as pc
    import pyarrow.types as pt

    if pt.is_floating(column.type):
        finite = pc.filter(column, pc.is_finite(column))
        if len(finite) == 0 or not pc.all(pc.equal(finite, pc.round(finite))).as_py():
            return None
        column = pc.cast(finite, "int64")
    vc = pc.value_counts(column.drop_null())
    values = [str(v) for v in vc.field("values").to_pylist()]
    return _counts(path, values, vc.field("counts").to_numpy())


def _counts(path: str, values: list[str], counts: Any) -> LabelStats | None:
    if not values or len(values) > MAX_CLASSES:
        return None
    pairs = sorted(zip(values, (int(c) for c in counts)), key=lambda p: (len(p[0]), p[0]))
    return LabelStats(source=path, counts=dict(pairs))
