"""Per-update latency of `curvelint watch` on a run of 100,000 points (issue 13).

    python benchmarks/watch_latency.py                  # TensorBoard, CSV and MLflow runs of 100k points
    python benchmarks/watch_latency.py --points 1000000 --formats tensorboard

For each format it writes a run of `--points` training-loss points (plus a validation loss
every 1,000 steps) into a temporary folder (never into the repository), lets a follower
read it once, then `--updates` times appends `--append` points and times

* read: ``follower.poll()``: reading and parsing what was appended, assembling the run;
* rules: ``engine.lint_run`` on the run (every rule, as `curvelint watch` runs them);
* re-read: ``readers.read(source)`` of the whole run, what a watcher without offsets would pay.

It prints the median and max over the updates, in milliseconds.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import struct
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def _loss(step: int) -> float:
    return 2.0 * math.exp(-step / 20000) + 0.1 + 0.02 * math.sin(step / 7.0)


class _Events:
    """TFRecord-framed ``simple_value`` events (TensorBoard's protos, the C ``crc32c``)."""

    def __init__(self, path: str) -> None:
        import crc32c
        from tensorboard.compat.proto import event_pb2, summary_pb2

        self.path, self.crc, self.pb, self.summary = path, crc32c.crc32c, event_pb2, summary_pb2
        self._write([self.pb.Event(wall_time=1.7e9, file_version="brain.Event:2").SerializeToString()])

    def _masked(self, data: bytes) -> bytes:
        crc = self.crc(data)
        return struct.pack("<I", (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF)

    def _write(self, records: list[bytes]) -> None:
        out = bytearray()
        for data in records:
            head = struct.pack("<Q", len(data))
            out += head + self._masked(head) + data + self._masked(data)
        with open(self.path, "ab") as fh:
            fh.write(out)

    def append(self, start: int, count: int) -> None:
        records = []
        for step in range(start, start + count):
            values = [self.summary.Summary.Value(tag="train/loss", simple_value=_loss(step))]
            if step % 1000 == 999:
                values.append(self.summary.Summary.Value(tag="val/loss", simple_value=_loss(step) * 1.1))
            records.append(self.pb.Event(wall_time=1.7e9 + step, step=step,
                                         summary=self.summary.Summary(value=values)).SerializeToString())
        self._write(records)


class _Csv:
    def __init__(self, path: str) -> None:
        self.path = path
        with open(path, "w") as fh:
            fh.write("step,loss,val_loss\n")

    def append(self, start: int, count: int) -> None:
        with open(self.path, "a") as fh:
            fh.write("".join(f"{s},{_loss(s):.6f},{_loss(s) * 1.1 if s % 1000 == 999 else ''}\n"
                             for s in range(start, start + count)))


class _Mlflow:
    def __init__(self, folder: str) -> None:
        os.makedirs(os.path.join(folder, "metrics"))
        with open(os.path.join(folder, "meta.yaml"), "w") as fh:
            fh.write("status: 1\nend_time: null\n")
        self.folder = folder

    def append(self, start: int, count: int) -> None:
        metrics = os.path.join(self.folder, "metrics")
        with open(os.path.join(metrics, "loss"), "a") as fh:
            fh.write("".join(f"{1700000000000 + s} {_loss(s):.6f} {s}\n" for s in range(start, start + count)))
        with open(os.path.join(metrics, "val_loss"), "a") as fh:
            fh.write("".join(f"{1700000000000 + s} {_loss(s) * 1.1:.6f} {s}\n"
                             for s in range(start, start + count) if s % 1000 == 999))


def measure(fmt: str, points: int, append: int, updates: int) -> dict[str, list[float]]:
    from curvelint import readers
    from curvelint.config import Config
    from curvelint.discovery import discover
    from curvelint.engine import Extras, lint_run, select_rules
    from curvelint.follow import follower_for
    from curvelint.tracking import LIVE_RULES

    root = tempfile.mkdtemp(prefix="curvelint-latency-")
    run_dir = os.path.join(root, "run")
    os.makedirs(run_dir)
    writer = {"tensorboard": lambda: _Events(os.path.join(run_dir, "events.out.tfevents.1700000000.bench.0")),
              "csv": lambda: _Csv(os.path.join(run_dir, "metrics.csv")),
              "mlflow": lambda: _Mlflow(os.path.join(run_dir, "mlrun"))}[fmt]()
    for start in range(0, points, 10000):
        writer.append(start, min(10000, points - start))
    config = Config(ignore=list(LIVE_RULES))
    selected = select_rules(config)
    source = discover([run_dir])[0][0]
    follower = follower_for(source)
    t = time.perf_counter()
    follower.poll()
    first = time.perf_counter() - t
    times: dict[str, list[float]] = {"first read": [first], "read": [], "rules": [], "re-read": []}
    step = points
    for _ in range(updates):
        writer.append(step, append)
        step += append
        t = time.perf_counter()
        runs = follower.poll()
        times["read"].append(time.perf_counter() - t)
        t = time.perf_counter()
        for run in runs:
            lint_run(run, config, Extras(), selected)
        times["rules"].append(time.perf_counter() - t)
        t = time.perf_counter()
        readers.read(source)
        times["re-read"].append(time.perf_counter() - t)
    assert runs[0].series[next(iter(runs[0].series))].steps[-1] >= step - 1 or fmt != "tensorboard"
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--append", type=int, default=100, help="points appended per update (default 100)")
    parser.add_argument("--updates", type=int, default=20)
    parser.add_argument("--formats", default="tensorboard,csv,mlflow")
    args = parser.parse_args()
    print(f"{args.points:,} points, {args.updates} updates of {args.append} points; milliseconds, median (max)\n")
    print(f"{'format':12s} {'first read':>10s} {'read':>14s} {'rules':>14s} {'read + rules':>14s} {'re-read':>14s}")
    for fmt in args.formats.split(","):
        t = measure(fmt, args.points, args.append, args.updates)
        both = [a + b for a, b in zip(t["read"], t["rules"])]
        cell = lambda xs: f"{1e3 * statistics.median(xs):7.1f} ({1e3 * max(xs):5.1f})"
        print(f"{fmt:12s} {1e3 * t['first read'][0]:10.1f} {cell(t['read']):>14s} {cell(t['rules']):>14s} "
              f"{cell(both):>14s} {cell(t['re-read']):>14s}")


if __name__ == "__main__":
    main()
