"""The CSV reader's fast path (curvelint/readers/_csv_fast.py, pyarrow.csv) against its pure-Python path
(`csvlog._split`): on CSVs of every layout quirk the two give the same runs, to the bit; plain files take
the fast path, files with quirks it cannot express are left to the Python path (issue 18)."""

from __future__ import annotations

import io
import math
import random
import re
import struct
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pytest

from curvelint import limits
from curvelint.discovery import RunSource
from curvelint.limits import Limits
from curvelint.readers import _csv_fast, csvlog
from curvelint.readers._csv_columns import Column

HEADER = "epoch,grad_norm,lr-Adam,step,train_loss_epoch,train_loss_step,val_acc,val_loss"


def _lightning(n: int = 60, end: str = "\n", header: str = HEADER) -> str:
    """Sparse rows as Lightning's CSVLogger writes them: train steps, lr rows without an epoch, per-epoch rows."""
    rng = random.Random(n)
    lines = [header]
    for step in range(n):
        epoch = step // 20
        lines.append(f"{epoch},{rng.random() + 1!r},,{step},,{2.0 / (step + 1) + rng.random() / 10!r},,")
        if step % 5 == 0:
            lines.append(f",,{1e-3 * 0.9 ** epoch!r},{step},,,,")
        if step % 20 == 19:
            lines.append(f"{epoch},,,{step},,,{0.5 + epoch / 10!r},{1.0 / (epoch + 1)!r}")
            lines.append(f"{epoch},,,{step},{1.5 / (epoch + 1)!r},,,")
    return end.join(lines) + end


def _without_step(text: str, every: int) -> str:
    """Every `every`-th line with an empty step cell (the 4th), as a sparse axis."""
    lines = text.split("\n")
    for i in range(1, len(lines) - 1, every):
        cells = lines[i].split(",")
        cells[3] = ""
        lines[i] = ",".join(cells)
    return "\n".join(lines)


def _keras(epochs: int = 12, start: float = 1.0) -> list[str]:
    return [f"{e},{0.5 + e / 40!r},{start / (e + 1)!r},{start * 1.1 / (e + 1)!r}" for e in range(epochs)]


KERAS = "epoch,accuracy,loss,val_loss"
YOLO_HEADER = "               epoch,      train/box_loss,      train/obj_loss,   metrics/mAP_0.5,            lr0"
YOLO_ROWS = "\n".join(f"{e:>20},{0.1 / (e + 1):>20.5g},{0.05 / (e + 1):>20.5g},{e / 30:>18.5g},{0.01:>15.5g}"
                      for e in range(30))

# name -> (file text or bytes, whether the fast path takes it)
LAYOUTS: dict[str, tuple[str | bytes, bool]] = {
    "lightning sparse": (_lightning(), True),
    "lightning CRLF": (_lightning(end="\r\n"), True),
    "keras CRCRLF": ("\r\r\n".join([KERAS, *_keras()]) + "\r\r\n", True),
    "lone CR": ("\r".join([KERAS, *_keras()]) + "\r", False),
    "mixed line ends": (KERAS + "\n" + "".join(r + e for r, e in zip(_keras(), ["\n", "\r\n", "\r\r\n", "\r"] * 3)),
                        True),
    "three CRs": (KERAS + "\n" + "\r\r\r\n".join(_keras()) + "\n", False),
    "BOM": ("\ufeff" + "\n".join([KERAS, *_keras()]) + "\n", True),
    "semicolons": ("\n".join(line.replace(",", ";") for line in [KERAS, *_keras()]) + "\n", True),
    "tabs": ("\n".join(line.replace(",", "\t") for line in [KERAS, *_keras()]) + "\n", True),
    "appended fits": ("\n".join([KERAS, *_keras(), *_keras(8, 2.0)]) + "\n", True),
    "appended fits, repeated header": ("\n".join([KERAS, *_keras(), KERAS, *_keras(8, 2.0)]) + "\n", False),
    "yolo padded": (YOLO_HEADER + "\n" + YOLO_ROWS + "\n", True),
    "nan inf empty": ("\n".join([KERAS, *_keras(4), "4,nan,inf,", "5,NaN,-Infinity,0.5", "6,,,", "7,+nan,-inf,1e400",
                                 "8,-nan,1e-400,-0", "9,0.5,0.4,0.3"]) + "\n", True),
    "non-numeric cells": ("\n".join([KERAS, *_keras(4), "4,n/a,0.3,0.4", "5,0.5,NA,0.2", "6,0.6,0.2,0.1"]) + "\n",
                          False),
    "text column": ("epoch,phase,loss\n" + "\n".join(f"{e},{'train' if e % 2 else 'val'},{1 / (e + 1)!r}"
                                                     for e in range(12)) + "\n", False),
    "whitespace cell": ("\n".join([KERAS, *_keras(4), "4,  ,0.3,0.4", "5,0.5,0.4,0.2"]) + "\n", False),
    "underscore number": ("\n".join([KERAS, *_keras(4), "4,1_0,0.3,0.4"]) + "\n", False),
    "stray quote": ("\n".join([KERAS, *_keras(4), '4,"0.5,0.3,0.4', *_keras(10)[5:]]) + "\n", False),
    "quoted numbers": ("\n".join([KERAS, *_keras(4), '4,"0.5","0.3","0.4"']) + "\n", False),
    "blank lines": ("\n".join([KERAS, *_keras(4), "", *_keras(8)[4:], "", ""]) + "\n", False),
    "all-empty rows": ("\n".join([KERAS, *_keras(4), ",,,", *_keras(8)[4:], ",,,"]) + "\n", True),
    "short row": ("\n".join([KERAS, *_keras(4), "4,0.5", *_keras(8)[5:]]) + "\n", False),
    "long row": ("\n".join([KERAS, *_keras(4), "4,0.5,0.3,0.4,9", *_keras(8)[5:]]) + "\n", False),
    "last line unterminated": ("\n".join([KERAS, *_keras()]), True),
    "last line truncated": ("\n".join([KERAS, *_keras()]) + "\n12,0.8", False),
    "duplicate names": ("epoch,loss,loss,val_loss\n" + "\n".join(_keras()) + "\n", True),
    "wall time": ("wall_time,step,loss\n" + "\n".join(f"{1.7e9 + s!r},{s},{1 / (s + 1)!r}" for s in range(30)) + "\n",
                  True),
    "fractional epochs": ("epoch,loss\n" + "\n".join(f"{e / 4},{1 / (e + 1)!r}" for e in range(30)) + "\n", True),
    "damaged step": ("step,loss\n" + "\n".join(f"{s + (0.5 if s == 17 else 0)},{1 / (s + 1)!r}"
                                               for s in range(60)) + "\n", True),
    "step beyond 2^62": ("step,loss\n" + "\n".join(f"{s if s != 9 else 1e19},{1 / (s + 1)!r}"
                                                   for s in range(30)) + "\n", True),
    "steps out of order": ("step,loss\n" + "\n".join(f"{s},{1 / (s + 1)!r}" for s in [0, 2, 1, 3, 3, 4, 6, 5]) + "\n",
                           True),
    "rows without a step": ("step,loss,acc\n" + "\n".join(f"{'' if s % 7 == 3 else s},{1 / (s + 1)!r},{s / 40}"
                                                          for s in range(40)) + "\n", True),
    "first column as step": ("iteration_no,loss\n" + "\n".join(f"{s + 1},{1 / (s + 1)!r}" for s in range(20)) + "\n",
                             True),
    "data table": ("id,price,weight\n" + "\n".join(f"{i},{i * 1.5},{i / 3}" for i in range(40)) + "\n", True),
    "tensorboard export": ("Wall time,Step,Value\n" + "\n".join(f"{1.7e9 + s},{s},{1 / (s + 1)!r}"
                                                                for s in range(30)) + "\n", True),
    "numeric header": ("1,2,3\n" + "\n".join(f"{s},{s + 1},{s + 2}" for s in range(30)) + "\n", True),
    "header only": (KERAS + "\n", False),
    "blank first line": ("\n" + "\n".join([KERAS, *_keras()]) + "\n", False),
    "quoted header": ('"epoch","loss"\n' + "\n".join(f"{e},{1 / (e + 1)!r}" for e in range(10)) + "\n", False),
    "non-ascii header": ("époque,loss_é\n" + "\n".join(f"{e},{1 / (e + 1)!r}" for e in range(10)) + "\n", True),
    "not utf-8": (b"epoch,loss\n0,0.5\n1,\xff0.4\n2,0.3\n", False),
    "NUL byte": (b"epoch,loss\n0,0.5\n1,0\x004\n2,0.3\n", False),
    "form feed": ("epoch,loss\n0,0.5\n1,0.4\x0c2,0.3\n3,0.2\n", False),
    "lightning rows without a step": (_without_step(_lightning(), every=3), True),
    "lightning appended fits": (_lightning(40) + _lightning(30).split("\n", 1)[1], True),
    "sparse wall time": ("wall_time,step,loss,val_loss\n" + "\n".join(
        f"{'' if s % 3 == 1 else repr(1.7e9 + s)},{s},{1 / (s + 1)!r},{'' if s % 4 else 0.5}" for s in range(40)) + "\n",
                         True),
    "comma-less single column": ("loss\n" + "\n".join(f"{1 / (e + 1)!r}" for e in range(10)) + "\n", True),
}


def _read(path: Path, fast: bool) -> list:
    """The runs of `path` by the fast path (tried on any size) or by the Python path alone."""
    minimum = 0 if fast else 1 << 62
    old, csvlog.FAST_MIN_BYTES = csvlog.FAST_MIN_BYTES, minimum
    try:
        return csvlog.read(RunSource(path=str(path), format="csv", files=(str(path),)))
    finally:
        csvlog.FAST_MIN_BYTES = old


def _bits(values: np.ndarray | None) -> bytes | None:
    return None if values is None else np.ascontiguousarray(values, dtype=np.float64).tobytes()


def _shape(runs: list) -> list:
    """Everything a run holds, with series as exact bytes (NaN payloads and signed zeros included)."""
    return [(r.name, r.path, r.format, r.sources, r.notes, r.problems, r.hparams,
             {k: (s.steps.dtype.str, s.steps.tobytes(), _bits(s.values), _bits(s.wall_times))
              for k, s in r.series.items()}) for r in runs]


def _write(tmp_path: Path, text: str | bytes, name: str = "metrics.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


def _pyarrow_reads_a_plus_sign() -> bool:
    """Whether pyarrow reads "+1" as a number: older ones (12, 13) do not, and a file with such a cell goes the
    Python way, which reads it (the same runs, more slowly)."""
    try:
        pacsv.read_csv(io.BytesIO(b"a\n+1\n"), convert_options=pacsv.ConvertOptions(column_types={"a": pa.float64()}))
        return True
    except pa.ArrowInvalid:
        return False


PLUS_SIGN = _pyarrow_reads_a_plus_sign()


def _took_fast_path(path: Path) -> bool:
    return _csv_fast.parse(str(path), csvlog.delimiter_of) is not None


@pytest.mark.parametrize("block", [1 << 10, _csv_fast.BLOCK])
@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_fast_path_gives_the_python_paths_runs(tmp_path: Path, monkeypatch, layout: str, block: int) -> None:
    text, plain = LAYOUTS[layout]
    plain = plain and (PLUS_SIGN or not re.search(r"(^|,)[ \t]*\+", text, re.M))  # "+nan"
    monkeypatch.setattr(_csv_fast, "BLOCK", block)  # 1 KiB: rows and CRLFs straddle blocks
    path = _write(tmp_path, text)
    assert _took_fast_path(path) == plain
    assert _shape(_read(path, fast=True)) == _shape(_read(path, fast=False))


def test_a_large_lightning_log_takes_the_fast_path_by_default(tmp_path: Path) -> None:
    path = _write(tmp_path, _lightning(6000))
    assert path.stat().st_size >= csvlog.FAST_MIN_BYTES
    runs = csvlog.read(RunSource(path=str(path), format="csv", files=(str(path),)))
    assert _took_fast_path(path)
    assert _shape(runs) == _shape(_read(path, fast=False))
    assert len(runs[0].series["train_loss_step"]) == 6000 and len(runs[0].series["val_loss"]) == 300


@pytest.mark.parametrize("limit, fast", [
    ({"line_bytes": 70}, True), ({"line_bytes": 40}, False), ({"line_bytes": 24}, False),
    ({"lines": 200}, True), ({"lines": 20}, False), ({"text_bytes": 400}, False),
])
def test_limits_are_those_of_the_python_path(tmp_path: Path, monkeypatch, limit: dict, fast: bool) -> None:
    """A file at a limit is left to the Python path, which cuts it and says so; the fast path never does."""
    monkeypatch.setattr(_csv_fast, "BLOCK", 1 << 10)
    rows = [f"{e},{0.5 + e / 400!r},{1 / (e + 1)!r},{1.1 / (e + 1)!r}" for e in range(60)]
    rows[30] = "30," + "1" * 30 + ",0.1,0.2"  # a long line
    path = _write(tmp_path, "\n".join([KERAS, *rows]) + "\n")
    with limits.using(Limits(**limit)):
        assert _took_fast_path(path) == fast
        assert _shape(_read(path, fast=True)) == _shape(_read(path, fast=False))


def _cells(rng: random.Random) -> list[str]:
    """Strings near the float grammar: numbers in many spellings, nan/inf words, and near misses."""
    parts = ["", "-", "+", "0", "1", "9", "00", "123", ".", "e", "E", "e-", "e+", "5", "nan", "NaN", "inf",
             "Infinity", "INF", "n", "a", "i", "f", "t", "y", " ", "\t", "308", "324", "17976931348623157"]
    words = ["".join(rng.choice(parts) for _ in range(rng.randint(1, 6))) for _ in range(4000)]
    x = np.random.default_rng(rng.randint(0, 1 << 30)).standard_normal(2000)
    spelled = [repr(float(f"{float(v)!r}e{rng.randint(-330, 310)}")) for v in x] + [f"{float(v):.25e}" for v in x[:300]]
    spelled += ["".join(rng.choice("0123456789") for _ in range(rng.randint(1, 400))) + "." + "9" * rng.randint(0, 50)
                + rng.choice(["", "e-300", "e310", "e-340"]) for _ in range(300)]
    return [w for w in words + spelled if "," not in w and "\n" not in w]


def _python_float(cell: str) -> bytes | None:
    try:
        return struct.pack("<d", float(cell))
    except ValueError:
        return None


def test_pyarrow_reads_exactly_the_numbers_python_reads(tmp_path: Path) -> None:
    """Each cell pyarrow reads as a float64 is one `float` reads, to the same bits (NaN's sign included);
    a file of cells Python reads is read by the fast path, each cell Python rejects sends its file back."""
    rng = random.Random(18)
    cells = [c for c in _cells(rng) if c.strip()]
    good = [c for c in cells if _python_float(c.strip()) is not None]
    bad = [c for c in cells if _python_float(c.strip()) is None]
    assert len(good) > 2000 and len(bad) > 1000
    signed = [] if PLUS_SIGN else [c for c in good if c.strip().startswith("+")]  # for the Python path here
    good = [c for c in good if c not in signed]
    path = _write(tmp_path, "step,loss\n" + "".join(f"{i},{c}\n" for i, c in enumerate(good)))
    parsed = _csv_fast.parse(str(path), csvlog.delimiter_of)
    assert parsed is not None
    column = parsed.columns[1]
    assert column.rows is None  # every cell read as a number
    assert [struct.pack("<d", v) for v in column.values] == [_python_float(c.strip()) for c in good]
    for i, cell in enumerate(bad[:300] + signed):
        path = _write(tmp_path, f"step,loss\n0,0.5\n1,{cell}\n2,0.25\n", f"bad{i}.csv")
        assert _csv_fast.parse(str(path), csvlog.delimiter_of) is None, cell
    assert math.isnan(struct.unpack("<d", _python_float("-nan"))[0])


def test_fixture_csvs_read_the_same_by_both_paths() -> None:
    root = Path(__file__).resolve().parent.parent / "fixtures"
    paths = sorted(root.rglob("*.csv")) + sorted(root.rglob("training.log"))
    assert len(paths) > 20
    fast = 0
    for path in paths:
        assert _shape(_read(path, fast=True)) == _shape(_read(path, fast=False)), path
        fast += _took_fast_path(path)
    assert fast > 10


@pytest.mark.parametrize("layout", ["lightning sparse", "appended fits", "steps out of order", "step beyond 2^62",
                                    "damaged step", "fractional epochs", "wall time"])
def test_steps_made_int_once_are_what_add_series_makes_of_float_steps(tmp_path: Path, monkeypatch,
                                                                      layout: str) -> None:
    path = _write(tmp_path, LAYOUTS[layout][0])
    once = _shape(_read(path, fast=False))
    monkeypatch.setattr(csvlog, "_int_steps", lambda steps: steps)
    assert once == _shape(_read(path, fast=False))


def _dense_cells(values: np.ndarray, logged: np.ndarray, fit_rows: np.ndarray, fit_steps: np.ndarray) -> tuple:
    """A fit's cells as the reader took them from dense columns before issue 18's sparse ones."""
    mask = logged[fit_rows]
    return fit_steps[mask], values[fit_rows][mask], fit_rows[mask]


@pytest.mark.parametrize("seed", range(40))
def test_a_columns_cells_in_a_fit_are_those_of_its_dense_form(seed: int) -> None:
    """`Column.cells_in` (logged cells only) against the dense masks: sparse and full columns, consecutive and
    scattered fit rows, empty fits."""
    rng = np.random.default_rng(seed)
    length = int(rng.integers(1, 60))
    values = rng.standard_normal(length)
    logged = rng.random(length) < rng.choice([0.0, 0.3, 0.9, 1.0])
    values[~logged] = np.nan
    column = Column.from_dense(values, logged)
    assert (column.rows is None) == bool(logged.all()) and len(column.values) == logged.sum()
    assert _bits(column.dense()) == _bits(values)
    for _ in range(10):
        first, last = sorted(int(x) for x in rng.integers(0, length, 2))
        span = np.arange(first, last + 1)
        fit_rows = span if rng.random() < 0.5 else span[rng.random(len(span)) < 0.6]
        fit_steps = rng.integers(0, 1000, len(fit_rows))
        steps, cells, where = column.cells_in(fit_rows, fit_steps)
        want_steps, want_cells, want_rows = _dense_cells(values, logged, fit_rows, fit_steps)
        assert steps.tolist() == want_steps.tolist() and _bits(cells) == _bits(want_cells)
        assert np.arange(length)[where].tolist() == want_rows.tolist()


def test_the_fast_path_keeps_only_the_logged_cells(tmp_path: Path) -> None:
    """Memory (issue 18): a column holds its logged cells and, unless every row has one, their rows as int32."""
    path = _write(tmp_path, _lightning(600))
    parsed = _csv_fast.parse(str(path), csvlog.delimiter_of)
    assert parsed is not None
    names = parsed.header
    steps, grad = parsed.columns[names.index("step")], parsed.columns[names.index("grad_norm")]
    assert steps.rows is None and len(steps.values) == steps.length  # a cell in every row: no row indices
    assert grad.rows is not None and grad.rows.dtype == np.int32
    assert len(grad.values) == len(grad.rows) == 600 < grad.length
