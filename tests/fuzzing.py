"""The fuzzing core shared by tests/test_fuzz.py (hypothesis, a bounded number of cases in CI) and
tests/fuzz_long.py (the long run: random cases until a count or a time is reached).

A case is one small, valid training log of some format (`SEEDS`, built here so that every byte is
known), damaged by one `Mutation`: truncation, bit flips, byte changes, inserted NUL/BOM/CRLF,
deleted or repeated ranges, forged lengths with valid CRCs, values of other types, huge and tiny
numbers, deep nesting. `check(case)` writes it to a temporary folder and asserts what issue 14 asks:

* no exception escapes a reader (its module's ``read`` is called directly, below the catch-all of
  `curvelint.readers.read`), a rule (no "internal error" abstention) or a reporter (every format
  renders; JSON and SARIF parse, JUnit is well-formed XML, nothing but escaped text from the tree);
* each problem is one line of words, not a Python exception's text;
* the good part is kept: the points of the records (lines, events, blocks) the mutation did not
  touch are read with their values (`Seed.intact` says which ones survive a given mutation);
* it ends within `CASE_SECONDS` (SIGALRM), and the process's peak memory stays bounded (`rss_mb`).

The command line (`exit_code`) is run through click's in-process runner: 0, 1 or 2, never a traceback.
"""

from __future__ import annotations

import io
import json
import math
import random
import re
import resource
import shutil
import signal
import struct
import sys
import tempfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

REPO = Path(__file__).resolve().parents[1]
CASE_SECONDS = 20  # a case that takes longer is a hang
FORMATS = ("tensorboard", "keras-json", "keras-csv", "lightning-csv", "trainer-state", "mlflow", "wandb",
           "wandb-jsonl", "parquet", "onnx", "hparams-yaml", "jsonl", "text-log", "config")

Points = dict[str, dict[int, float]]  # series -> step -> value


@dataclass
class Seed:
    """A valid log: its files (path in the case folder -> bytes), the file the mutations damage, the
    record byte ranges of that file with the points each holds, and the whole log's points."""

    fmt: str
    files: dict[str, bytes]
    target: str
    records: list[tuple[int, int, Points]] = field(default_factory=list)  # (start, end, points) in `target`
    points: Points = field(default_factory=dict)
    unit: str = "record"  # "record" (a damaged record costs itself), "block" (W&B), "line", "document"


@dataclass(frozen=True)
class Mutation:
    kind: str
    at: int = 0  # a byte offset (taken modulo the target's length)
    arg: int = 0  # bit, length, record index, value choice ...
    data: bytes = b""

    def describe(self) -> str:
        return f"{self.kind}(at={self.at}, arg={self.arg}, data={self.data[:16]!r})"


# ------------------------------------------------------------------------------------------------------
# seeds
# ------------------------------------------------------------------------------------------------------
def _curve(n: int, start: float, end: float, wobble: float = 0.02) -> list[float]:
    return [round(start + (end - start) * (1 - math.exp(-4 * i / max(n - 1, 1))) + wobble * math.sin(i), 6)
            for i in range(n)]


def _add(points: Points, name: str, step: int, value: float) -> None:
    points.setdefault(name, {})[step] = value


def _masked_crc(data: bytes) -> int:
    from curvelint.readers.tfrecord import crc32c

    crc = crc32c()(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def tfrecord(data: bytes, length: int | None = None) -> bytes:
    """One TFRecord: length, its masked CRC32C, the data, its CRC (a forged `length` gets a valid CRC too)."""
    head = struct.pack("<Q", len(data) if length is None else length)
    return head + struct.pack("<I", _masked_crc(head)) + data + struct.pack("<I", _masked_crc(data))


def seed_tensorboard(n: int = 24) -> Seed:
    from tensorboard.compat.proto import event_pb2, summary_pb2

    out = bytearray(tfrecord(event_pb2.Event(wall_time=1.7e9, file_version="brain.Event:2").SerializeToString()))
    records, points = [], {}
    loss, val, acc = _curve(n, 2.3, 0.3), _curve(n, 2.4, 0.5), _curve(n, 0.1, 0.9)
    for i in range(n):
        values = [summary_pb2.Summary.Value(tag="loss", simple_value=loss[i])]
        own: Points = {}
        _add(own, "loss", i, float(np.float32(loss[i])))
        if i % 3 == 2:  # a TF2 tensor scalar with the scalars metadata, as Keras writes validation values
            v = summary_pb2.Summary.Value(tag="val_loss")
            v.tensor.dtype = 1
            v.tensor.tensor_content = struct.pack("<f", val[i])
            v.metadata.plugin_data.plugin_name = "scalars"
            values.append(v)
            _add(own, "val_loss", i, float(np.float32(val[i])))
        if i % 4 == 0:
            values.append(summary_pb2.Summary.Value(tag="accuracy", simple_value=acc[i]))
            _add(own, "accuracy", i, float(np.float32(acc[i])))
        event = event_pb2.Event(wall_time=1.7e9 + i, step=i, summary=summary_pb2.Summary(value=values))
        start = len(out)
        out += tfrecord(event.SerializeToString())
        records.append((start, len(out), own))
        for name, pts in own.items():
            points.setdefault(name, {}).update(pts)
    return Seed("tensorboard", {"run/events.out.tfevents.1700000000.fuzz.0": bytes(out)},
                "run/events.out.tfevents.1700000000.fuzz.0", records, points)


def _lines_seed(fmt: str, target: str, header: str, rows: list[tuple[str, Points]],
                other: dict[str, bytes] | None = None, newline: str = "\n") -> Seed:
    text = header + newline if header else ""
    records, points = [], {}
    for line, own in rows:
        start = len(text.encode())
        text += line + newline
        records.append((start, len(text.encode()), own))
        for name, pts in own.items():
            points.setdefault(name, {}).update(pts)
    return Seed(fmt, {target: text.encode(), **(other or {})}, target, records, points, unit="line")


def seed_keras_csv(n: int = 20) -> Seed:
    loss, val, acc = _curve(n, 1.2, 0.2), _curve(n, 1.3, 0.4), _curve(n, 0.4, 0.95)
    rows = []
    for i in range(n):
        own: Points = {}
        for name, v in (("accuracy", acc[i]), ("loss", loss[i]), ("val_loss", val[i])):
            _add(own, name, i, v)
        rows.append((f"{i},{acc[i]},{loss[i]},{val[i]}", own))
    return _lines_seed("keras-csv", "run/training.log", "epoch,accuracy,loss,val_loss", rows)


def seed_lightning_csv(n: int = 24) -> Seed:
    loss, val = _curve(n, 2.0, 0.4), _curve(n // 4 + 1, 2.1, 0.6)
    rows = []
    for i in range(n):
        own: Points = {}
        _add(own, "train_loss", i * 10, loss[i])
        rows.append((f"{i // 4},{i * 10},{loss[i]},", own))
        if i % 4 == 3:
            own = {}
            _add(own, "val_loss", i * 10, val[i // 4])
            rows.append((f"{i // 4},{i * 10},,{val[i // 4]}", own))
    hparams = b"lr: 0.001\noptimizer: adam\nmodel:\n  hidden: 64\n  layers: [64, 32]\n  num_classes: 10\n"
    return _lines_seed("lightning-csv", "lightning_logs/version_0/metrics.csv", "epoch,step,train_loss,val_loss", rows,
                       {"lightning_logs/version_0/hparams.yaml": hparams})


def seed_mlflow(n: int = 20) -> Seed:
    loss = _curve(n, 1.5, 0.2)
    rows = []
    for i in range(n):
        own: Points = {}
        _add(own, "loss", i, loss[i])
        rows.append((f"{1700000000000 + 1000 * i} {loss[i]} {i}", own))
    other = {"mlruns/0/abc/meta.yaml": b"status: 3\nend_time: 1700000100000\nlifecycle_stage: active\n",
             "mlruns/0/abc/metrics/val_loss": "".join(f"{1700000000000 + i} {v} {i}\n" for i, v in
                                                      enumerate(_curve(n, 1.6, 0.4))).encode(),
             "mlruns/0/abc/params/lr": b"0.01"}
    seed = _lines_seed("mlflow", "mlruns/0/abc/metrics/loss", "", rows, other)
    seed.points["val_loss"] = {i: v for i, v in enumerate(_curve(n, 1.6, 0.4))}
    return seed


def seed_jsonl(n: int = 24) -> Seed:
    loss = _curve(n, 1.8, 0.3)
    rows = []
    for i in range(n):
        own: Points = {}
        _add(own, "loss", i, loss[i])
        _add(own, "lr", i, 0.1)
        rows.append((json.dumps({"step": i, "loss": loss[i], "lr": 0.1}), own))
    return _lines_seed("jsonl", "run/metrics.jsonl", "", rows)


def seed_text_log(n: int = 10) -> Seed:
    loss, val = _curve(n, 0.7, 0.25), _curve(n, 0.6, 0.35)
    rows = []
    for i in range(n):
        rows.append((f"Epoch {i + 1}/{n}", {}))
        own: Points = {}
        _add(own, "loss", i, loss[i])
        _add(own, "val_loss", i, val[i])
        rows.append((f"12/12 - 0s - 40ms/step - loss: {loss[i]:.4f} - val_loss: {val[i]:.4f}", own))
    seed = _lines_seed("text-log", "run/train.log", "", rows)
    seed.unit = "document"  # a printer's state spans lines (an "Epoch k/n" line names the next one's epoch)
    seed.points = {}
    return seed


def seed_keras_json(n: int = 16) -> Seed:
    history = {"loss": _curve(n, 1.0, 0.2), "accuracy": _curve(n, 0.5, 0.9), "val_loss": _curve(n, 1.1, 0.4),
               "val_accuracy": _curve(n, 0.45, 0.85)}
    points = {k: dict(enumerate(v)) for k, v in history.items()}
    return Seed("keras-json", {"run/history.json": json.dumps(history, indent=1).encode()}, "run/history.json",
                points=points, unit="document")


def seed_trainer_state(n: int = 16) -> Seed:
    loss, ev = _curve(n, 2.0, 0.5), _curve(n // 4, 2.1, 0.7)
    history: list[dict[str, Any]] = []
    for i in range(n):
        history.append({"epoch": i / 4, "grad_norm": 1.0 + i / 10, "learning_rate": 5e-5, "loss": loss[i],
                        "step": (i + 1) * 10})
        if i % 4 == 3:
            history.append({"epoch": (i + 1) / 4, "eval_loss": ev[i // 4], "eval_runtime": 0.5, "step": (i + 1) * 10})
    state = {"global_step": n * 10, "max_steps": n * 10, "num_train_epochs": 4, "train_batch_size": 8,
             "logging_steps": 10, "log_history": history,
             "stateful_callbacks": {"EarlyStoppingCallback": {"args": {"early_stopping_patience": 3}}}}
    points = {"loss": {(i + 1) * 10: loss[i] for i in range(n)},
              "eval_loss": {(i + 1) * 40: ev[i] for i in range(n // 4)}}
    files = {"out/trainer_state.json": json.dumps(state, indent=2).encode(),
             "out/all_results.json": json.dumps({"eval_loss": ev[-1], "train_loss": 0.8}).encode()}
    return Seed("trainer-state", files, "out/trainer_state.json", points=points, unit="document")


def _wandb_frame(kind: int, data: bytes) -> bytes:
    return struct.pack("<IHB", zlib.crc32(data, zlib.crc32(bytes((kind,)))), len(data), kind) + data


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _ld(number: int, data: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(data)) + data


def seed_wandb(n: int = 400) -> Seed:
    """A ``.wandb`` log of `n` history rows over several 32 KiB blocks (records split into fragments)."""
    from curvelint.readers import wandb as wb

    out = bytearray(b":W&B" + struct.pack("<HB", 0xBEE1, 0))
    records, points = [], {}
    loss = _curve(n, 2.0, 0.3)
    for i in range(n):
        pad = "x" * (40 + (i * 37) % 300)  # rows of different lengths: some cross block boundaries
        items = [("_step", str(i)), ("loss", repr(loss[i])), ("note", json.dumps(pad))]
        body = b"".join(_ld(1, _ld(2, k.encode()) + _ld(16, v.encode())) for k, v in items)
        payload = _ld(2, body)
        start = len(out)
        first = True
        while True:
            left = wb.BLOCK - len(out) % wb.BLOCK
            if left < wb.HEADER:
                out += b"\0" * left
                continue
            piece, payload = payload[:left - wb.HEADER], payload[left - wb.HEADER:]
            kind = (wb.FULL if first else wb.LAST) if not payload else (wb.FIRST if first else wb.MIDDLE)
            out += _wandb_frame(kind, piece)
            first = False
            if not payload:
                break
        own: Points = {"loss": {i: loss[i]}}
        records.append((start, len(out), own))
        points.setdefault("loss", {})[i] = loss[i]
    config = _ld(5, _ld(1, _ld(2, b"learning_rate") + _ld(16, b"0.001")))
    out += _wandb_frame(wb.FULL, config)
    target = "wandb/offline-run-20250101_000000-fuzz/run-fuzz.wandb"
    return Seed("wandb", {target: bytes(out)}, target, records, points, unit="block")


def seed_wandb_jsonl(n: int = 20) -> Seed:
    loss = _curve(n, 1.4, 0.3)
    rows = []
    for i in range(n):
        own: Points = {}
        _add(own, "loss", i, loss[i])
        rows.append((json.dumps({"_step": i, "_timestamp": 1.7e9 + i, "loss": loss[i]}), own))
    folder = "wandb/run-20250101_000000-fuzzj"
    other = {f"{folder}/files/config.yaml": b"wandb_version: 1\nlr:\n  desc: null\n  value: 0.001\n",
             f"{folder}/files/wandb-summary.json": json.dumps({"loss": loss[-1], "_step": n - 1}).encode()}
    return _lines_seed("wandb-jsonl", f"{folder}/files/wandb-history.jsonl", "", rows, other)


def _parquet_bytes(table: Any) -> bytes:
    import pyarrow.parquet as pq

    buf = io.BytesIO()
    pq.write_table(table, buf)
    return buf.getvalue()


def seed_parquet(n: int = 30) -> Seed:
    import pyarrow as pa

    loss, acc = _curve(n, 1.5, 0.2), _curve(n, 0.3, 0.9)
    table = pa.table({"step": list(range(n)), "loss": loss, "val_acc": acc})
    points = {"loss": dict(enumerate(loss)), "val_acc": dict(enumerate(acc))}
    return Seed("parquet", {"run/metrics.parquet": _parquet_bytes(table)}, "run/metrics.parquet", points=points,
                unit="document")


def onnx_model(attributes: list[Any] | None = None, ops: list[str] | None = None, cycle: bool = False) -> bytes:
    """An MLP of Gemm + Sigmoid layers and an LSTM; `attributes` go on the LSTM, `ops` replace the
    activations, `cycle` feeds the last output back into the first layer (not a DAG)."""
    from onnx import TensorProto, helper

    nodes, inits, x = [], [], "X"
    for k, op in enumerate(ops or ["Sigmoid", "Sigmoid", "Sigmoid", "Sigmoid"]):
        w = f"W{k}"
        inits.append(helper.make_tensor(w, TensorProto.FLOAT, [4, 4], [0.1] * 16))
        nodes.append(helper.make_node("Gemm", ["A" if (cycle and k == 0) else x, w], [f"g{k}"]))
        nodes.append(helper.make_node(op, [f"g{k}"], [f"a{k}"]))
        x = f"a{k}"
    if cycle:
        nodes.append(helper.make_node("Identity", [x], ["A"]))
    lstm = helper.make_node("LSTM", ["S", "LW", "LR"], ["Y"], hidden_size=4)
    for attr in attributes or []:
        lstm.attribute.append(attr)
    nodes.append(lstm)
    inits += [helper.make_tensor("LW", TensorProto.FLOAT, [1, 16, 3], [0.0] * 48),
              helper.make_tensor("LR", TensorProto.FLOAT, [1, 16, 4], [0.0] * 64)]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("X", TensorProto.FLOAT, [1, 4]),
                                           helper.make_tensor_value_info("S", TensorProto.FLOAT, [60, 1, 3])],
                              [helper.make_tensor_value_info(x, TensorProto.FLOAT, None),
                               helper.make_tensor_value_info("Y", TensorProto.FLOAT, None)], inits)
    return helper.make_model(graph).SerializeToString()


def seed_onnx() -> Seed:
    history = json.dumps({"loss": _curve(12, 1.0, 0.3), "val_loss": _curve(12, 1.1, 0.5)}).encode()
    return Seed("onnx", {"run/model.onnx": onnx_model(), "run/history.json": history}, "run/model.onnx",
                points={"loss": dict(enumerate(_curve(12, 1.0, 0.3)))}, unit="document")


HPARAMS = """\
lr: 0.001
optimizer: !!python/name:torch.optim.adamw.AdamW ''
betas: !!python/tuple
- 0.9
- 0.999
model:
  hidden: [64, 32]
  num_classes: 10
  dropout: 0.1
  name: "mlp"
data:
  batch_size: 32
  augment: true
"""


def seed_hparams_yaml(n: int = 12) -> Seed:
    seed = seed_lightning_csv(n)
    files = dict(seed.files)
    files["lightning_logs/version_0/hparams.yaml"] = HPARAMS.encode()
    return Seed("hparams-yaml", files, "lightning_logs/version_0/hparams.yaml", points=seed.points, unit="document")


CONFIG = """\
[tool.curvelint]
select = ["CL0", "CL1"]
ignore = ["slow-convergence"]
fail-on = "warning"
exclude = ["checkpoints"]
per-path-ignores = {"runs/old/**" = ["CL107"]}

[tool.curvelint.rules.overfitting]
min_rise = 0.1

[tool.curvelint.metrics]
train_loss = ["loss"]

[tool.curvelint.limits]
lines = 1_000_000
file-bytes = "512 MiB"

[tool.curvelint.text-logs.patterns]
mine = ['it (?P<step>\\d+) loss (?P<loss>\\S+)']
"""


def seed_config() -> Seed:
    seed = seed_keras_json(12)
    files = {**seed.files, "pyproject.toml": CONFIG.encode()}
    return Seed("config", files, "pyproject.toml", points=seed.points, unit="document")


SEED_MAKERS: dict[str, Callable[[], Seed]] = {
    "tensorboard": seed_tensorboard, "keras-json": seed_keras_json, "keras-csv": seed_keras_csv,
    "lightning-csv": seed_lightning_csv, "trainer-state": seed_trainer_state, "mlflow": seed_mlflow,
    "wandb": seed_wandb, "wandb-jsonl": seed_wandb_jsonl, "parquet": seed_parquet, "onnx": seed_onnx,
    "hparams-yaml": seed_hparams_yaml, "jsonl": seed_jsonl, "text-log": seed_text_log, "config": seed_config,
}
_SEEDS: dict[str, Seed] = {}


def seed(fmt: str) -> Seed:
    if fmt not in _SEEDS:
        _SEEDS[fmt] = SEED_MAKERS[fmt]()
    return _SEEDS[fmt]


# ------------------------------------------------------------------------------------------------------
# mutations
# ------------------------------------------------------------------------------------------------------
BYTE_KINDS = ("truncate", "flip", "byte", "insert", "delete", "repeat")
INSERTS = (b"\0", b"\xef\xbb\xbf", b"\r\n", b"\r", b"\n", b"\0" * 64, b"\xff\xfe", b"\x1b[2J", b"\"", b",",
           b"\t", b"NaN", b"1e999", b"-" + b"9" * 40, "\u202e".encode())
# values that a structure-aware mutation puts in place of one value (JSON, CSV cells, YAML, Parquet)
ODD_VALUES: tuple[Any, ...] = ("text", "", None, True, False, [], {}, [1, 2], {"a": 1}, 0, -1, 1e308, -1e308,
                               5e-324, float("nan"), float("inf"), 10 ** 30, -(10 ** 19), 2 ** 63, "NaN", "1e999",
                               "\x00", "\ufeff0.5", "0.5\r", " 0.5 ", "9" * 5000, "ü∂\u202e")
STRUCT_KINDS = {
    "tensorboard": ("forge-length", "forge-data", "huge-shape", "odd-tensor"),
    "keras-json": ("value", "schema", "nest"), "trainer-state": ("value", "schema", "nest"),
    "keras-csv": ("cell", "column", "crlf"), "lightning-csv": ("cell", "column", "crlf"),
    "jsonl": ("value", "nest", "crlf"), "wandb-jsonl": ("value", "nest", "crlf"), "mlflow": ("cell", "crlf"),
    "text-log": ("cell", "crlf"), "wandb": ("forge-length",),
    "parquet": ("table",), "onnx": ("attribute", "ops", "cycle"), "hparams-yaml": ("value", "nest", "indent"),
    "config": ("value", "nest", "key"),
}


def kinds(fmt: str) -> tuple[str, ...]:
    return BYTE_KINDS + STRUCT_KINDS.get(fmt, ())


@dataclass
class Case:
    fmt: str
    mutation: Mutation
    files: dict[str, bytes]
    keep: Points  # points that must be read (with their values)


def mutate(fmt: str, mutation: Mutation) -> Case:
    """The seed of `fmt` damaged by `mutation`, and the points that must survive it."""
    s = seed(fmt)
    files = dict(s.files)
    data = files[s.target]
    n = max(len(data), 1)
    at, kind = mutation.at % n, mutation.kind
    touched: tuple[int, int] | None = None  # the damaged byte range [a, b) of the target
    cut: int | None = None  # truncation: everything from here is gone
    if kind == "truncate":
        data, cut = data[:at], at
    elif kind == "flip":
        data = data[:at] + bytes([data[at] ^ (1 << (mutation.arg % 8))]) + data[at + 1:] if data else data
        touched = (at, at + 1)
    elif kind == "byte":
        data = data[:at] + bytes([mutation.arg % 256]) + data[at + 1:] if data else data
        touched = (at, at + 1)
    elif kind == "insert":
        piece = mutation.data or INSERTS[mutation.arg % len(INSERTS)]
        data = data[:at] + piece + data[at:]
        touched = (at, at + 1)
    elif kind == "delete":
        length = 1 + mutation.arg % 64
        data, touched = data[:at] + data[at + length:], (at, at + length)
    elif kind == "repeat":
        length = 1 + mutation.arg % 64
        data, touched = data[:at + length] + data[at:at + length] + data[at + length:], (at, at + length)
    else:
        data, touched = _structural(fmt, s, data, mutation)
    files[s.target] = data
    if isinstance(touched, dict):  # the mutation knows exactly which points stay
        return Case(fmt, mutation, files, touched)
    return Case(fmt, mutation, files, _kept(s, touched, cut, kind))


def _kept(s: Seed, touched: tuple[int, int] | None, cut: int | None, kind: str) -> Points:
    """The points that must survive: those of records (lines, blocks) the damage did not reach."""
    if s.unit == "document" or not s.records or (touched is None and cut is None):
        return {} if touched is not None or cut is not None else _copy(s.points)
    keep: Points = {}
    if cut is not None:
        intact = [r for r in s.records if r[1] <= cut]
        if s.unit == "line":  # the last whole line may have lost only its line break: it is cut off
            intact = [r for r in s.records if r[1] < cut]
    else:
        a, b = touched
        if s.unit == "block":
            from curvelint.readers.wandb import BLOCK

            lo, hi = a // BLOCK * BLOCK, (max(b - 1, a) // BLOCK + 1) * BLOCK
            intact = [r for r in s.records if r[1] <= lo or r[0] >= hi]
            if kind in ("insert", "delete", "repeat"):  # the blocks after it moved: only those before count
                intact = [r for r in intact if r[1] <= lo]
        else:
            intact = [r for r in s.records if r[1] <= a or r[0] >= b]
            if s.unit == "line":  # the neighbours of a damaged line break may merge with it
                intact = [r for r in s.records if r[1] < a or r[0] > b]
    if s.fmt == "jsonl" and len(intact) < 2:  # a .jsonl is a log only when 2 lines say so (jsonl.MIN_LINES)
        return {}
    for _, _, own in intact:
        for name, pts in own.items():
            keep.setdefault(name, {}).update(pts)
    if s.unit == "line" and s.fmt in ("keras-csv", "lightning-csv") and s.records and touched is not None:
        if touched[0] < s.records[0][0]:  # the header line was damaged: the columns are not known
            return {}
    return keep


def _copy(points: Points) -> Points:
    return {k: dict(v) for k, v in points.items()}


def _odd(arg: int) -> Any:
    return ODD_VALUES[arg % len(ODD_VALUES)]


def _nested(depth: int, leaf: Any = 1, kind: str = "list") -> Any:
    for _ in range(depth):
        leaf = [leaf] if kind == "list" else {"k": leaf}
    return leaf


def _json_dumps(value: Any) -> bytes:
    try:
        return json.dumps(value, allow_nan=True).encode("utf-8", "surrogatepass")
    except (ValueError, RecursionError):
        return b"{}"


def _structural(fmt: str, s: Seed, data: bytes, m: Mutation) -> tuple[bytes, tuple[int, int] | None]:
    """Structure-aware damage; returns the new target bytes and the byte range of the seed it spoils."""
    rng = random.Random(m.at * 1_000_003 + m.arg)
    kind = m.kind
    if fmt in ("tensorboard", "wandb") and kind == "forge-length":
        r = s.records[m.arg % len(s.records)]
        if fmt == "tensorboard":  # a length with a valid CRC: the framing itself lies
            forged = rng.choice([0, 1, 11, 2 ** 31, 2 ** 63 + 5, 2 ** 64 - 1, r[1] - r[0] + rng.randint(-20, 200),
                                 len(data) * 2])
            head = struct.pack("<Q", forged)
            data = data[:r[0]] + head + struct.pack("<I", _masked_crc(head)) + data[r[0] + 12:]
        else:
            data = data[:r[0] + 4] + struct.pack("<H", rng.randint(0, 65535)) + data[r[0] + 6:]
        return data, (r[0], r[1])
    if fmt == "tensorboard":
        from tensorboard.compat.proto import event_pb2, summary_pb2

        r = s.records[m.arg % len(s.records)]
        if kind == "forge-data":  # other bytes with valid CRCs: a record that is not an Event
            body = bytes(rng.randrange(256) for _ in range(rng.randint(0, 64)))
        else:
            v = summary_pb2.Summary.Value(tag=rng.choice(["loss", "inputs", "x", "val_loss", "\udcff".encode(
                "utf-8", "surrogatepass").decode("latin-1")]))
            v.metadata.plugin_data.plugin_name = rng.choice(["scalars", "histograms", "hparams", "text"])
            v.tensor.dtype = rng.choice([1, 2, 3, 9, 19, 7])
            if kind == "huge-shape":
                for size in rng.choice([[10 ** 9, 3], [2 ** 62], [-1, 3], [3, 10 ** 12, 10 ** 6]]):
                    v.tensor.tensor_shape.dim.add(size=size)
                v.tensor.float_val.append(1.0)
            else:
                v.tensor.tensor_content = bytes(rng.randrange(256) for _ in range(rng.choice([0, 1, 3, 4, 7, 8, 12])))
                if rng.random() < 0.5:
                    v.tensor.tensor_shape.dim.add(size=rng.choice([0, 1, 2, 3]))
            step = rng.choice([0, 5, -1, 2 ** 62, -(2 ** 63)])
            body = event_pb2.Event(wall_time=rng.choice([1.7e9, float("nan"), -1e308, float("inf")]), step=step,
                                   summary=summary_pb2.Summary(value=[v])).SerializeToString()
            # a valid Event: its tag's first metadata names the tag's plugin, its step may purge the tag's
            # points (TensorBoard's rules); the other tags' points of the other records stay
            keep = _kept(s, (r[0], r[1]), None, kind)
            keep.pop(v.tag, None)
            return data[:r[0]] + tfrecord(body) + data[r[1]:], keep
        return data[:r[0]] + tfrecord(body) + data[r[1]:], (r[0], r[1])
    if fmt in ("keras-json", "trainer-state", "config", "hparams-yaml") or kind in ("value", "nest") and fmt in (
            "jsonl", "wandb-jsonl"):
        return _document(fmt, s, data, m, rng)
    if kind == "crlf":  # line endings mixed: CRLF, CR, LF at random
        text = data.replace(b"\r\n", b"\n")
        out = b"".join(line + rng.choice([b"\n", b"\r\n", b"\r\r\n", b"\r"]) for line in text.split(b"\n"))
        return out, (0, len(data))  # (CR alone ends no line of a text log or an MLflow metric)
    if kind in ("cell", "column"):
        lines = data.split(b"\n")
        i = rng.randrange(len(lines))
        cells = lines[i].split(b"," if b"," in lines[i] else b" ")
        sep = b"," if b"," in lines[i] else b" "
        if kind == "cell":
            j = rng.randrange(len(cells))
            cells[j] = str(_odd(m.arg)).encode("utf-8", "surrogatepass")
        elif rng.random() < 0.5:
            cells.insert(rng.randrange(len(cells) + 1), b"extra")
        elif len(cells) > 1:
            del cells[rng.randrange(len(cells))]
        a = sum(len(x) + 1 for x in lines[:i])
        lines[i] = sep.join(cells)
        return b"\n".join(lines), (a, a + len(lines[i]) + 1)
    if fmt == "parquet":
        return _parquet_table(rng, m.arg), (0, len(data))
    if fmt == "onnx":
        return _onnx_variant(kind, rng, m.arg), (0, len(data))
    raise ValueError(f"no mutation {kind} for {fmt}")


YAML_VALUES = ("!!binary AAAA", "&a 1", "*a", "[1, [2", "0x1F", "1:2:3", ".inf", '"a', "9" * 5000, "{a: 1}", "|",
               "- x", "'it''s'", '"\\x41\\u00e9"', "~", "1e-3", "1_000", "-.inf", "[a, b, c]")


def _document(fmt: str, s: Seed, data: bytes, m: Mutation, rng: random.Random) -> tuple[bytes, tuple[int, int]]:
    """JSON, YAML and TOML documents: one value changed (type, size), the schema changed, deep nesting."""
    whole = (0, len(data))
    if fmt in ("jsonl", "wandb-jsonl"):
        lines = data.split(b"\n")
        i = rng.randrange(len(lines) - 1) if len(lines) > 1 else 0
        try:
            obj = json.loads(lines[i])
        except ValueError:
            obj = {}
        key = rng.choice(list(obj) or ["loss"])
        if m.kind == "nest":
            obj[key] = _nested(rng.choice([5, 200, 5000]), 0.5, rng.choice(["list", "dict"]))
        else:
            obj[key] = _odd(m.arg)
        a = sum(len(x) + 1 for x in lines[:i])
        new = _json_dumps(obj)
        if m.kind == "nest" and len(new) < 10:
            new = b"[" * 100_000 + b"]" * 100_000
        lines[i] = new
        if key in ("step", "_step"):  # another step (a repeated one replaces the first): no point is sure to stay
            return b"\n".join(lines), whole
        return b"\n".join(lines), (a, a + len(new) + 1)
    if fmt == "hparams-yaml":
        text = data.decode()
        if m.kind == "nest":
            depth = rng.choice([40, 300, 3000])
            text += "".join(" " * d + f"k{d}:\n" for d in range(depth)) + " " * depth + "lr: 0.5\n"
        elif m.kind == "indent":
            text = "".join(" " * rng.randint(0, 6) + line.lstrip() + "\n" for line in text.splitlines())
        else:
            lines = text.splitlines()
            i = rng.randrange(len(lines))
            key = lines[i].split(":")[0]
            value = rng.choice(YAML_VALUES)
            lines[i] = f"{key}: {value}"
            text = "\n".join(lines) + "\n"
        return text.encode(), whole
    if fmt == "config":
        return _config_variant(m, rng), whole
    obj = json.loads(data)
    if m.kind == "nest":
        depth = rng.choice([50, 500, 5000, 50_000])
        if depth >= 5000:
            return b'{"loss": ' + b"[" * depth + b"1" + b"]" * depth + b"}", whole
        obj[rng.choice(list(obj))] = _nested(depth, 0.5, rng.choice(["list", "dict"]))
        return _json_dumps(obj), whole
    if m.kind == "schema":  # the top level becomes another type, keys renamed or dropped
        choice = m.arg % 6
        if choice == 0:
            obj = list(obj.values()) if isinstance(obj, dict) else obj
        elif choice == 1:
            obj = {k.upper() + "!": v for k, v in obj.items()}
        elif choice == 2:
            obj = {"history": obj}
        elif choice == 3:
            obj = json.dumps(obj)  # a JSON string holding the document
        elif choice == 4:
            obj = {k: v for k, v in list(obj.items())[: len(obj) // 2]}
        else:
            obj = {k: (v[: len(v) // 2] if isinstance(v, list) else v) for k, v in obj.items()}
        return _json_dumps(obj), whole
    # one value replaced: every other point stays
    keep = _copy(s.points)
    if fmt == "trainer-state":
        entries = obj["log_history"]
        if rng.random() < 0.2:
            obj[rng.choice(list(obj))] = _odd(m.arg)
            keep = {}
        else:
            e = entries[rng.randrange(len(entries))]
            key = rng.choice(list(e))
            if key == "step":
                keep = {}
            for name in ("loss", "eval_loss"):
                if name in e and keep:
                    keep[name].pop(e["step"], None)
            e[key] = _odd(m.arg)
    else:
        key = rng.choice(list(obj))
        values = obj[key]
        i = rng.randrange(len(values))
        values[i] = _odd(m.arg)
        keep[key].pop(i, None)
    return _json_dumps(obj), keep


def _config_variant(m: Mutation, rng: random.Random) -> bytes:
    keys = ["select", "ignore", "fail-on", "format", "exclude", "per-path-ignores", "rules", "metrics", "severity",
            "limits", "text-logs", "reference", "nope", "reason", "extend-select"]
    values = ['"x"', "1", "-1", "0", "1e999", "nan", "true", "[]", "{}", "[1, 2]", '["CL1"]', '["nope"]',
              '{overfitting = {min_rise = "a"}}', '{lines = 0}', '{file-bytes = "9 parsecs"}', '{depth = -5}',
              '{patterns = {a = "(?P<x"}}', '{patterns = {a = "(?P<loss>a+)+$"}}', '"' + "a" * 5000 + '"',
              "9" * 400, '{path = "/dev/zero"}', '{"a/**" = ["CL1"]}', '"\\u202e\\u0000"']
    if m.kind == "nest":
        depth = rng.choice([10, 500, 5000])
        value = rng.choice(["[" * depth + "]" * depth, "{a = " * min(depth, 900) + "1" + "}" * min(depth, 900)])
        return f"[tool.curvelint]\n{rng.choice(keys)} = {value}\n".encode()
    if m.kind == "key":
        return f"[tool.curvelint.{rng.choice(keys)}]\n{rng.choice(keys)} = {rng.choice(values)}\n".encode()
    body = CONFIG.splitlines()
    i = rng.randrange(len(body))
    if "=" in body[i]:
        body[i] = body[i].split("=")[0] + "= " + values[m.arg % len(values)]
    return ("\n".join(body) + "\n").encode("utf-8", "surrogatepass")


def _parquet_table(rng: random.Random, arg: int) -> bytes:
    """A Parquet table whose schema or types differ from a metric table's."""
    import pyarrow as pa

    n = rng.choice([0, 1, 3, 50])
    columns: dict[str, Any] = {}
    layout = rng.choice(["long", "wide", "wide-index", "odd"])
    steps = list(range(n))
    pick = arg % 9
    odd_types = [pa.array([str(i) for i in steps]), pa.array([True] * n), pa.array([[i] for i in steps]),
                 pa.array([None] * n, pa.float64()), pa.array([float("nan")] * n),
                 pa.array([1e308 * (-1) ** i for i in steps]), pa.array([2 ** 63 - 1] * n, pa.int64()),
                 pa.array([{"a": i} for i in steps]), pa.array(steps, pa.uint64())]
    odd = odd_types[pick]
    if layout == "long":
        columns = {"tag": pa.array([rng.choice(["loss", "val_loss", None, ""]) for _ in steps]),
                   "step": odd if rng.random() < 0.4 else pa.array(steps), "value": odd if rng.random() < 0.5 else
                   pa.array([1.0 / (i + 1) for i in steps])}
        if rng.random() < 0.4:
            columns["run"] = pa.array([rng.choice(["a", "b", None]) for _ in steps]).dictionary_encode()
    elif layout == "wide":
        columns = {"step": odd if rng.random() < 0.3 else pa.array(steps), "loss": odd,
                   "val_acc": pa.array([0.5] * n), "wall_time": pa.array([1.7e9] * n)}
    elif layout == "wide-index":
        columns = {"__index_level_0__": pa.array(steps[::-1]), "loss": odd, "label": pa.array(steps)}
    else:
        columns = {rng.choice(["", "step", "LOSS", "tag"]): odd, "x": pa.array([0] * n)}
    try:
        return _parquet_bytes(pa.table(columns))
    except (pa.ArrowException, ValueError, TypeError):
        return _parquet_bytes(pa.table({"step": steps, "loss": [1.0] * n}))


def _onnx_variant(kind: str, rng: random.Random, arg: int) -> bytes:
    from onnx import TensorProto, helper

    if kind == "attribute":
        value = rng.choice([5, 2.5, "Relu", [1, 2], [1.5], ["Relu", "Tanh"], ["Relu", 3],
                            helper.make_tensor("t", TensorProto.FLOAT, [1], [1.0]), b"\xff\xfe"])
        name = rng.choice(["activations", "layout", "hidden_size", "direction", "clip", "activation_alpha"])
        try:
            attr = helper.make_attribute(name, value)
        except (ValueError, TypeError):
            attr = helper.make_attribute(name, 1)
        return onnx_model([attr])
    if kind == "ops":
        ops = [rng.choice(["Sigmoid", "Relu", "Tanh", "HardSigmoid", "Softsign", "Foo", "", "LSTM", "Loop", "If",
                           "BatchNormalization", "Add"]) for _ in range(rng.randint(0, 6))]
        return onnx_model(ops=ops or ["Sigmoid"])
    return onnx_model(cycle=True)


# ------------------------------------------------------------------------------------------------------
# checks
# ------------------------------------------------------------------------------------------------------
class Hang(Exception):
    pass


class Failure(AssertionError):
    """What a case broke (an escape, a lost record, a hang, bad output); `kind` classifies it."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind = kind


def _alarm(signum, frame):  # pragma: no cover - only when a case hangs
    raise Hang(f"a case took longer than {CASE_SECONDS} s")


def rss_mb() -> float:
    """The process's peak resident memory so far, in MB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 if sys.platform != "darwin" else peak / 2 ** 20


def write(case: Case, root: Path) -> Path:
    for rel, data in case.files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def check(case: Case, root: Path | None = None, cli: bool = False) -> dict[str, Any]:
    """Run every assertion of the module doc on `case`; raises `Failure`. Returns what was seen."""
    own = root is None
    root = Path(tempfile.mkdtemp(prefix="curvelint-fuzz-")) if own else root
    previous = signal.signal(signal.SIGALRM, _alarm) if hasattr(signal, "SIGALRM") else None
    if previous is not None:
        signal.alarm(CASE_SECONDS)
    try:
        write(case, root)
        if case.fmt == "config":
            return _check_config(case, root, cli)
        return _check_lint(case, root, cli)
    except Hang as exc:
        raise Failure("hang", f"{case.fmt} {case.mutation.describe()}: {exc}") from None
    except MemoryError:
        raise Failure("memory", f"{case.fmt} {case.mutation.describe()}: MemoryError") from None
    finally:
        if previous is not None:
            signal.alarm(0)
            signal.signal(signal.SIGALRM, previous)
        if own:
            shutil.rmtree(root, ignore_errors=True)


def _check_lint(case: Case, root: Path, cli: bool) -> dict[str, Any]:
    import importlib

    from curvelint import readers
    from curvelint.config import Config
    from curvelint.discovery import discover
    from curvelint.engine import Report, lint_run, select_rules

    where = f"{case.fmt} {case.mutation.describe()}"
    sources, errors = discover([str(root)])
    runs = []
    config = Config(run_files=False)
    for source in sources:
        module = importlib.import_module(readers.READERS[source.format])
        try:
            with readers.quiet_numbers():
                runs.extend(readers.finish(module.read(source), source))
        except Exception as exc:
            raise Failure("escape", f"{where}: {source.format} reader raised {type(exc).__name__}: {exc}") from exc
    report = Report(errors=errors)
    selected = select_rules(config)
    points: dict[str, dict[int, list[float]]] = {}  # every run's values (a step may be in several runs)
    for run in runs:
        for p in run.problems:
            if "\n" in p.message or _EXCEPTION_TEXT.match(p.message):
                raise Failure("message", f"{where}: problem is not one line of words: {p.message[:300]!r}")
        summary, findings, abstentions, _ = lint_run(run, config, _extras(), selected)
        crashed = [a for a in abstentions if "internal error" in a.reason]
        if crashed:
            raise Failure("rule", f"{where}: {crashed[0].rule} {crashed[0].reason[:300]}")
        report.runs.append(summary)
        report.findings.extend(findings)
        report.abstentions.extend(abstentions)
        for name, s in run.series.items():
            for step, value in zip(s.steps.tolist(), s.values.tolist()):
                points.setdefault(name, {}).setdefault(step, []).append(value)
    _check_reports(report, where)
    for name, want in case.keep.items():
        got = points.get(name, {})
        if seed(case.fmt).unit == "line":  # a damaged line may repeat a good line's step (the later value wins)
            lost = [step for step in want if step not in got]
        else:
            lost = [step for step, value in want.items() if not any(_same(v, value) for v in got.get(step, ()))]
        if lost:
            raise Failure("lost", f"{where}: {name} lost {len(lost)} of {len(want)} good points (steps {lost[:8]})")
    if cli:
        _check_cli(root, where)
    return {"runs": len(runs), "points": sum(len(v) for v in points.values())}


_EXCEPTION_TEXT = re.compile(r"\w*(?:Error|Exception|Exit|Interrupt): ")  # readers.read's catch-all: "TypeError: ..."


def _extras():
    from curvelint.engine import Extras

    return Extras()


def _same(a: float, b: float) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b)) or abs(a - b) <= 1e-6 * max(abs(a), abs(b))


RAW_CONTROLS = set(chr(c) for c in range(0x20) if chr(c) not in "\n\t") | {"\x7f", "\u202e", "\u2066"}


def _check_reports(report, where: str) -> None:
    import xml.etree.ElementTree as ET

    from curvelint.reporters import Options, render

    for fmt in ("text", "json", "sarif", "github", "junit"):
        try:
            out = render(report, fmt, Options(verbose=True, show_evidence=True, statistics=True))
            out.encode("utf-8")  # what -o writes (strict: a lone surrogate fails)
        except Exception as exc:
            raise Failure("report", f"{where}: --format {fmt} raised {type(exc).__name__}: {exc}") from exc
        if fmt in ("json", "sarif"):
            json.loads(out)
        elif fmt == "junit":
            try:
                ET.fromstring(out.encode("utf-8"))
            except ET.ParseError as exc:
                raise Failure("report", f"{where}: JUnit output is not well-formed XML: {exc}") from exc
        if fmt in ("text", "github") and RAW_CONTROLS & set(out.replace("\r\n", "\n")):
            raise Failure("report", f"{where}: --format {fmt} holds a raw control character")


def _check_cli(root: Path, where: str, args: tuple[str, ...] = ()) -> int:
    code = exit_code([str(root), "--isolated", "--format", "json", *args])
    if code not in (0, 1, 2):
        raise Failure("exit", f"{where}: exit {code}")
    return code


def exit_code(args: list[str]) -> int:
    """`curvelint lint ARGS` in this process (click's runner): its exit status; a traceback is a `Failure`."""
    from click.testing import CliRunner

    from curvelint.cli import main

    result = CliRunner().invoke(main, ["lint", "--no-color", *args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        exc = result.exception
        raise Failure("escape", f"curvelint {' '.join(args)}: {type(exc).__name__}: {exc}")
    return result.exit_code


def _check_config(case: Case, root: Path, cli: bool) -> dict[str, Any]:
    from curvelint.config import ConfigError, load_config

    where = f"config {case.mutation.describe()}"
    try:
        load_config([str(root)])
        ok = True
    except ConfigError as exc:
        message = str(exc)
        if "\n" in message or len(message) > 2000:
            raise Failure("message", f"{where}: configuration error is not one short line: {message[:300]!r}")
        ok = False
    except Exception as exc:
        raise Failure("escape", f"{where}: load_config raised {type(exc).__name__}: {exc}") from exc
    code = exit_code([str(root), "--format", "json"]) if cli or not ok else None
    if code is not None and code not in ((0, 1) if ok else (2,)):
        raise Failure("exit", f"{where}: exit {code} (configuration {'valid' if ok else 'invalid'})")
    return {"valid": ok}


def random_mutation(fmt: str, rng: random.Random) -> Mutation:
    kind = rng.choice(kinds(fmt))
    size = len(seed(fmt).files[seed(fmt).target])
    at = rng.randrange(max(size, 1) + 1)
    data = b""
    if kind == "insert" and rng.random() < 0.3:
        data = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
    return Mutation(kind, at, rng.randrange(1 << 16), data)
