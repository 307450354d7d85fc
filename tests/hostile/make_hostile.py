"""Write the crafted files of tests/hostile/files/ (``python tests/hostile/make_hostile.py``; deterministic).

Each case is a folder holding one attack (README.md says what each one attacks); test_hostile.py lints
them all at once, beside a good run, through the installed CLI under a time and memory limit. The cases
that cannot be committed (FIFOs, links to devices, sparse files of gigabytes, names a checkout may refuse)
are made by the test itself (`runtime_cases`).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import struct
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
FILES = HERE / "files"
sys.path.insert(0, str(HERE.parent))

import fuzzing as F  # noqa: E402


def _events(values: list) -> bytes:
    """A TensorBoard event file of summary values [(step, wall_time, Summary.Value), ...]."""
    from tensorboard.compat.proto import event_pb2, summary_pb2

    out = bytearray(F.tfrecord(event_pb2.Event(wall_time=1.7e9, file_version="brain.Event:2").SerializeToString()))
    for step, wall, value in values:
        event = event_pb2.Event(wall_time=wall, step=step, summary=summary_pb2.Summary(value=[value]))
        out += F.tfrecord(event.SerializeToString())
    return bytes(out)


def _scalar(tag: str, value: float):
    from tensorboard.compat.proto import summary_pb2

    return summary_pb2.Summary.Value(tag=tag, simple_value=value)


def _losses(n: int = 12) -> list:
    return [(i, 1.7e9 + i, _scalar("loss", 2.0 / (i + 1))) for i in range(n)]


def tb_forged_length() -> dict[str, bytes]:
    data = _events(_losses())
    records = []
    pos = 0
    while pos < len(data):
        records.append(pos)
        pos += 16 + struct.unpack_from("<Q", data, pos)[0]
    at = records[4]
    head = struct.pack("<Q", 2 ** 62)  # a length past the end of the file, with a valid CRC
    return {"events.out.tfevents.1700000000.hostile.0": data[:at] + head + struct.pack("<I", F._masked_crc(head))
            + data[at + 12:]}


def tb_histogram_bomb() -> dict[str, bytes]:
    from tensorboard.compat.proto import summary_pb2

    bomb = summary_pb2.Summary.Value(tag="inputs")
    bomb.metadata.plugin_data.plugin_name = "histograms"
    bomb.tensor.dtype = 2
    for size in (10 ** 9, 3):
        bomb.tensor.tensor_shape.dim.add(size=size)
    bomb.tensor.double_val.append(1.0)  # make_ndarray would repeat it into 24 GB
    return {"events.out.tfevents.1700000000.hostile.0": _events([(0, 1.7e9, bomb)] + _losses())}


def tb_odd_numbers() -> dict[str, bytes]:
    steps = [0, 1, 2 ** 62 - 1, 3, -5, 5, 2 ** 61, 7, 8, 9, -(2 ** 63), 11]
    values = [math.nan, math.inf, -math.inf, 3e38, -3e38, 1e-45, 0.5, 0.4, 0.3, 1e30, 0.2, 0.1]
    walls = [math.nan if i % 3 == 0 else (-1e308 if i % 3 == 1 else 1.7e9 + i) for i in range(12)]
    tags = ("loss", "grad_norm", "loss\x1b[2J\u202e", "lossXY")
    out = [(s, w, _scalar(t, v)) for s, w, v in zip(steps, walls, values) for t in tags]
    data = _events(out).replace(b"lossXY", b"loss\xff\xfe")  # a tag that is not UTF-8 (its CRCs made again)
    return {"events.out.tfevents.1700000000.hostile.0": _reframed(data)}


def _reframed(data: bytes) -> bytes:
    """The records of `data` framed again (valid CRCs after their bytes were edited)."""
    out, pos = bytearray(), 0
    while pos < len(data):
        length = struct.unpack_from("<Q", data, pos)[0]
        out += F.tfrecord(data[pos + 12:pos + 12 + length])
        pos += 16 + length
    return bytes(out)


def keras_deep_nesting() -> dict[str, bytes]:
    return {"history.json": b'{"loss": ' + b"[" * 20_000 + b"]" * 20_000 + b"}"}  # beyond Python's recursion limit


def keras_huge_number() -> dict[str, bytes]:
    return {"history.json": b'{"loss": [2.0, 1.5, ' + b"7" * 5000 + b', 1.0], "val_loss": [2.1, 1.6, 1.2, 1.1]}'}


def keras_not_numbers() -> dict[str, bytes]:
    history = {"loss": [2.0, 1.5, "oops", 1.0, 0.9, [1], 0.8, 0.7],
               "val_loss": [2.1, 1.6, 1.3, 1.1, 1.0, 0.95, 0.9, 0.9]}
    return {"history.json": json.dumps(history).encode()}


def trainer_state_odd() -> dict[str, bytes]:
    entries = [{"loss": 1.0 / (i + 1), "step": (i + 1) * 10, "epoch": i / 4} for i in range(12)]
    entries[3] = {"loss": {"k": [[[[1]]]]}, "step": 40}
    entries[5] = "not an entry"
    entries[7] = {"loss": 0.2, "step": 10 ** 30}
    state = {"global_step": 120, "max_steps": 10 ** 400, "epoch": "x", "num_train_epochs": float("nan"),
             "log_history": entries}
    return {"trainer_state.json": json.dumps(state).encode()}


def csv_stray_quote() -> dict[str, bytes]:
    rows = [f"{i},{1.0 / (i + 1)},{1.1 / (i + 1)}" for i in range(12)]
    rows[3] = '3,"0.25,0.27'
    return {"metrics.csv": ("epoch,loss,val_loss\n" + "\n".join(rows) + "\n").encode()}


def csv_bom_crlf_nul() -> dict[str, bytes]:
    ends = ["\r\n", "\r", "\n", "\r\r\n"]
    rows = [f"{i},{1.0 / (i + 1)}{ends[i % 4]}" for i in range(12)]
    rows[5] = "5,0.1\x00\x00\n"
    return {"metrics.csv": ("\ufeffepoch,loss\r\n" + "".join(rows)).encode()}


def data_csv() -> dict[str, bytes]:
    return {"products.csv": b"id,name,price\n1,Widget,9.99\n2,Gadget,19.50\n3,Doohickey,4.25\n4,Gizmo,12.00\n"}


def lightning_deep_hparams() -> dict[str, bytes]:
    rows = "".join(f"{i // 4},{i * 10},{2.0 / (i + 1)}\n" for i in range(16))
    yaml = "lr: 0.01\n" + "".join(" " * d + f"k{d}:\n" for d in range(300)) + " " * 300 + "num_classes: 10\n"
    yaml += "seed: " + "9" * 5000 + "\nname: !!binary AAAA\nbad: [1, [2\n"
    return {"metrics.csv": ("epoch,step,train_loss\n" + rows).encode(), "hparams.yaml": yaml.encode()}


def mlflow_absurd() -> dict[str, bytes]:
    lines = [f"{1700000000000 + i} {1.0 / (i + 1)} {i}" for i in range(12)]
    lines[4] = "1700000004000 0.2 1" + "0" * 400
    lines[6] = "1700000006000 0.1 6 extra fields " + "x " * 1000
    return {"meta.yaml": b"status: 5\nend_time: null\n", "metrics/loss": ("\n".join(lines) + "\n").encode(),
            "params/lr": b"1e999", "params/x": b"\xff\xfe\x00"}


def wandb_broken_block() -> dict[str, bytes]:
    seed = F.seed_wandb(300)
    data = bytearray(seed.files[seed.target])
    start = next(a for a, b, _ in seed.records if a > 200)
    data[start + 4:start + 6] = b"\xff\xff"  # a record length past its block: the rest of the block is lost
    return {"run-hostile.wandb": bytes(data)}


def jsonl_hostile() -> dict[str, bytes]:
    lines = [json.dumps({"step": i, "loss": 1.0 / (i + 1)}) for i in range(12)]
    lines[2] = '{"step": 1' + "0" * 400 + ', "loss": 0.3}'
    lines[3] = '{"step": 3, "loss": ' + "[" * 5_000 + "]" * 5_000 + "}"
    lines[4] = '{"step": 4, "loss\\u001b[2J\\u202e": 0.2, "loss": NaN}'
    lines[5] = '{"step": 5, "loss": 1e999}'
    return {"metrics.jsonl": ("\n".join(lines) + "\n").encode()}


def text_log_redraw() -> dict[str, bytes]:
    out = []
    for epoch in range(6):
        out.append(f"Epoch {epoch + 1}/6")
        bar = "".join(f"\r{k}/50 [{'=' * (k // 2)}>] - loss: {1.0 / (epoch + 1) + k / 1000:.4f}\x1b[0m"
                      for k in range(1, 51))
        out.append(bar + f"\r50/50 - 1s - loss: {1.0 / (epoch + 1):.4f} - val_loss: {1.1 / (epoch + 1):.4f}")
    return {"train.log": ("\n".join(out) + "\n").encode()}


def parquet_bomb() -> dict[str, bytes]:
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    n = 30_000_000  # 30 million rows in about 300 KB: the records limit stops the read at 20 million
    table = pa.table({"step": pa.array(np.arange(n)), "loss": pa.array(np.full(n, 0.5))})
    path = FILES / "parquet-bomb" / "metrics.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path, use_dictionary=["loss"], column_encoding={"step": "DELTA_BINARY_PACKED"},
                   compression="zstd", compression_level=19, row_group_size=n)
    return {}


def parquet_odd_types() -> dict[str, bytes]:
    import pyarrow as pa

    table = pa.table({"step": pa.array([[1], [2], [3]]), "loss": pa.array([{"a": 1}, {"a": 2}, None]),
                      "tag": pa.array(["\x1b[2J", "\u202e", None]), "value": pa.array([1e308, float("nan"), -0.0])})
    return {"metrics.parquet": F._parquet_bytes(table)}


def onnx_odd() -> dict[str, bytes]:
    from onnx import TensorProto, helper

    attrs = [helper.make_attribute("activations", 5), helper.make_attribute("layout", "1"),
             helper.make_attribute("hidden_size", [1, 2])]
    return {"model.onnx": F.onnx_model(attrs, ops=["Sigmoid", "Foo", "", "Relu"], cycle=True),
            "history.json": json.dumps({"loss": [1.0, 0.8, 0.6, 0.5, 0.45, 0.4],
                                        "val_loss": [1.1, 0.9, 0.7, 0.6, 0.55, 0.5]}).encode(),
            "external.onnx": _external_data_model(TensorProto, helper)}


def _external_data_model(TensorProto, helper) -> bytes:
    weight = helper.make_tensor("W", TensorProto.FLOAT, [2, 2], [0.0] * 4)
    weight.ClearField("float_data")
    weight.data_location = TensorProto.EXTERNAL
    for key, value in (("location", "../../../../../../etc/passwd"), ("offset", "0"), ("length", "16")):
        weight.external_data.add(key=key, value=value)
    graph = helper.make_graph([helper.make_node("MatMul", ["X", "W"], ["Y"])], "g",
                              [helper.make_tensor_value_info("X", TensorProto.FLOAT, [1, 2])],
                              [helper.make_tensor_value_info("Y", TensorProto.FLOAT, None)], [weight])
    return helper.make_model(graph).SerializeToString()


CASES = {
    "tb-forged-length": tb_forged_length, "tb-histogram-bomb": tb_histogram_bomb, "tb-odd-numbers": tb_odd_numbers,
    "keras-deep-nesting": keras_deep_nesting, "keras-huge-number": keras_huge_number,
    "keras-not-numbers": keras_not_numbers, "trainer-state-odd": trainer_state_odd,
    "csv-stray-quote": csv_stray_quote, "csv-bom-crlf-nul": csv_bom_crlf_nul, "data-csv": data_csv,
    "lightning-deep-hparams": lightning_deep_hparams, "mlflow-absurd/mlruns/0/r1": mlflow_absurd,
    "wandb-broken-block/wandb/offline-run-20250101_000000-hostile": wandb_broken_block,
    "jsonl-hostile": jsonl_hostile, "text-log-redraw": text_log_redraw, "parquet-bomb": parquet_bomb,
    "parquet-odd-types": parquet_odd_types, "onnx-odd": onnx_odd,
}


def main() -> None:
    if FILES.exists():
        shutil.rmtree(FILES)
    for name, make in CASES.items():
        folder = FILES / name
        folder.mkdir(parents=True, exist_ok=True)
        for rel, data in make().items():
            (folder / rel).parent.mkdir(parents=True, exist_ok=True)
            (folder / rel).write_bytes(data)
    total = sum(p.stat().st_size for p in FILES.rglob("*") if p.is_file())
    print(f"wrote {len(CASES)} cases, {total:,} bytes, to {os.path.relpath(FILES)}")


if __name__ == "__main__":
    main()
