"""Benchmark: a tree of many small runs linted from local disk, from an S3 server, and on a Dask cluster
(product issue 17; the figures and the design are in docs/scale.md).

Generates ``--runs`` small runs (cached in ``benchmarks/out/scale-N/``, gitignored): half Keras
``history.json`` files (30 epochs of loss/val_loss/accuracy/val_accuracy), half TensorBoard event files
(60 steps of loss + 6 of val_loss, framed here with the ``crc32c`` package); one run in 10 is broken
(a NaN, a flat loss, a diverging loss, overfitting), so that there are findings to compare. Then, each
in a fresh ``curvelint`` process (wall time includes start-up, imports and discovery):

* ``local``: ``curvelint DIR --format json`` (``--jobs 1`` and the default ``--jobs``);
* ``s3``: the same tree uploaded to moto's S3 server on 127.0.0.1 (tests/s3server.py; moto runs on the
  same cores as curvelint), linted as ``s3://bench/runs``; also the listing alone;
* ``dask``: ``--executor dask://...`` on a ``LocalCluster`` of 2 worker processes (1 thread each), for the
  local tree and for the S3 one; and the scheduler's own cost per task (a no-op ``client.map``).

Every lint's JSON must equal the local one (paths aside). Per-run cost = wall time / runs.

    python benchmarks/bench_scale.py                  # 10,000 runs
    python benchmarks/bench_scale.py --runs 2000 --skip dask
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import struct
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO / "tests"))  # s3server.py: moto's server in a subprocess


# -- the tree ------------------------------------------------------------------------------------------------

def _curve(kind: str, n: int, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(n, dtype=float)
    base = 2.3 * np.exp(-t / (n / 4)) + 0.1
    if kind == "flat":
        base = np.full(n, 2.3026)
    elif kind == "diverging":
        base = 0.5 + 0.02 * t ** 1.5
    out = base + rng.normal(0, 0.02, n)
    if kind == "nan":
        out[n // 2:] = np.nan
    return out


def _kind(i: int) -> str:
    return ("nan", "flat", "diverging", "overfit")[i // 10 % 4] if i % 10 == 0 else "healthy"


def _history(i: int, rng: np.random.Generator) -> str:
    kind = _kind(i)
    loss = _curve(kind, 30, rng)
    val = loss * 1.05 + 0.02 if kind != "overfit" else np.r_[loss[:10] * 1.05, loss[10] + 0.04 * np.arange(20)]
    acc = np.clip(1 - loss / 2.5, 0, 1)
    data = {"loss": loss.tolist(), "val_loss": val.tolist(), "accuracy": acc.tolist(),
            "val_accuracy": np.clip(acc - 0.02, 0, 1).tolist()}
    return json.dumps(data)


def _record(payload: bytes) -> bytes:
    from curvelint.skim import masked_crc

    head = struct.pack("<Q", len(payload))
    return head + struct.pack("<I", masked_crc(head)) + payload + struct.pack("<I", masked_crc(payload))


def _events(i: int, rng: np.random.Generator) -> bytes:
    from tensorboard.compat.proto import event_pb2, summary_pb2

    def scalar(step: int, tag: str, value: float) -> bytes:
        summary = summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag=tag, simple_value=value)])
        return _record(event_pb2.Event(wall_time=1.7e9 + step, step=step, summary=summary).SerializeToString())

    out = [_record(event_pb2.Event(wall_time=1.7e9, file_version="brain.Event:2").SerializeToString())]
    loss = _curve(_kind(i), 60, rng)
    out += [scalar(s, "train/loss", float(v)) for s, v in enumerate(loss)]
    out += [scalar(s, "val/loss", float(loss[s] * 1.05)) for s in range(0, 60, 10)]
    return b"".join(out)


def make_tree(runs: int) -> Path:
    root = HERE / "out" / f"scale-{runs}" / "runs"
    if (root.parent / "done").exists():
        return root
    shutil.rmtree(root.parent, ignore_errors=True)
    rng = np.random.default_rng(17)
    for i in range(runs):
        folder = root / f"sweep-{i // 1000:02d}" / f"run-{i:05d}"
        folder.mkdir(parents=True)
        if i % 2:
            (folder / "history.json").write_text(_history(i, rng))
        else:
            (folder / "events.out.tfevents.1700000000.bench").write_bytes(_events(i, rng))
    (root.parent / "done").touch()
    return root


# -- timing --------------------------------------------------------------------------------------------------

def lint(target: str, env: dict[str, str] | None = None, *args: str) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "curvelint", target, "--format", "json", *args], check=False,
                          capture_output=True, text=True, env=env)
    wall = time.perf_counter() - start
    if done.returncode not in (0, 1):
        raise RuntimeError(f"curvelint {target} {' '.join(args)} failed:\n{done.stderr[-2000:]}")
    return wall, done.stdout


class Table:
    def __init__(self, runs: int, reference: str, root: str) -> None:
        self.runs, self.reference, self.root, self.rows = runs, reference, root, []

    def add(self, what: str, wall: float, out: str | None = None, prefix: str = "") -> None:
        text = out.replace(prefix, self.root) if out is not None and prefix else out
        same = "" if out is None else ("same" if text == self.reference else "DIFFERENT")
        self.rows.append((what, wall, same))
        print(f"| {what} | {wall:.1f} s | {1000 * wall / self.runs:.2f} ms | {same} |", flush=True)


def upload(s3, root: Path, bucket: str) -> float:
    client = s3.client()
    client.create_bucket(Bucket=bucket)
    files = [p for p in root.rglob("*") if p.is_file()]
    start = time.perf_counter()
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda p: client.upload_file(str(p), bucket, f"runs/{p.relative_to(root).as_posix()}"), files))
    return time.perf_counter() - start


def listing(env: dict[str, str], url: str) -> tuple[float, int]:
    code = ("import time, sys\nfrom curvelint import remote\nt = time.perf_counter()\n"
            f"n = sum(len(f) for _, _, f in remote.walk({url!r}))\nprint(time.perf_counter() - t, n)")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True, env=env).stdout
    seconds, files = out.split()
    return float(seconds), int(files)


def scheduler_cost(address: str, tasks: int = 2000) -> float:
    from distributed import Client

    with Client(address) as client:
        client.gather(client.map(abs, range(100)))  # warm
        start = time.perf_counter()
        client.gather(client.map(abs, range(-tasks, 0), pure=False))
        return (time.perf_counter() - start) / tasks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--skip", action="append", default=[], choices=["s3", "dask"])
    args = parser.parse_args()
    root = make_tree(args.runs)
    print(f"{args.runs} runs in {root} ({sum(p.stat().st_size for p in root.rglob('*') if p.is_file()) >> 20} MiB)")
    wall, reference = lint(str(root), None, "--jobs", "1")
    table = Table(args.runs, reference, str(root))
    print("| what | wall | per run | findings vs local |\n|---|---|---|---|")
    table.add("local, --jobs 1", wall)
    jobs = len(os.sched_getaffinity(0))
    table.add(f"local, --jobs {jobs}", *lint(str(root), None, "--jobs", str(jobs)))
    report = json.loads(reference)
    print(f"({len(report['runs'])} runs, {len(report['findings'])} findings)")
    cluster = None
    if "dask" not in args.skip:
        from distributed import LocalCluster

        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0")
        address = cluster.scheduler_address.replace("tcp://", "dask://")
        lint(str(REPO / "fixtures" / "demo"), None, "--executor", address)  # workers import curvelint once
        table.add("local tree, Dask LocalCluster (2 workers)", *lint(str(root), None, "--executor", address))
        print(f"(scheduler: {1e3 * scheduler_cost(cluster.scheduler_address):.2f} ms per no-op task)")
    if "s3" not in args.skip:
        from s3server import S3Server

        with S3Server() as s3:
            print(f"(upload of {args.runs} objects to moto: {upload(s3, root, 'bench'):.0f} s)")
            env = s3.env()
            seconds, files = listing(env, "s3://bench/runs")
            print(f"(listing s3://bench/runs: {files} objects in {seconds:.2f} s, "
                  f"{1e3 * seconds / files * 1000:.0f} ms per 1,000)")
            url = "s3://bench/runs"
            table.add("S3 (moto), --jobs 1", *lint(url, env, "--jobs", "1"), prefix=url)
            table.add(f"S3 (moto), --jobs {jobs}", *lint(url, env, "--jobs", str(jobs)), prefix=url)
            if cluster is not None:
                cluster.close()
                from distributed import LocalCluster

                aws = {k: v for k, v in env.items() if k.startswith("AWS_")}
                cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                                       env=aws)
                address = cluster.scheduler_address.replace("tcp://", "dask://")
                lint(str(REPO / "fixtures" / "demo"), env, "--executor", address)
                table.add("S3 (moto), Dask LocalCluster (2 workers)", *lint(url, env, "--executor", address),
                          prefix=url)
    if cluster is not None:
        cluster.close()


if __name__ == "__main__":
    main()
