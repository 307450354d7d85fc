"""Benchmark: many short TensorBoard runs with realistic tags (product issue 18, short runs and --jobs).

Generates trees of RUNS runs x 8 tags x POINTS epochs (cached in ``benchmarks/out/short-RUNS/``,
gitignored): ``train/loss``, ``val/loss``, ``train/acc``, ``val/acc``, ``lr`` (a step or cosine
schedule), ``grad_norm``, ``val/top5_acc`` and ``train/samples_per_sec``, so that the validation,
learning-rate and gradient rules all run; one run in 8 overfits, one in 8 stalls, one in 16 has a
spike, the rest are healthy with their own noise. Then, in interleaved rounds (each tool once per
round, in a fresh process, page cache warm), times:

* ``lint -j1``: ``python -m curvelint DIR --format json -j1``;
* ``lint``: the same with the default ``--jobs`` (which chooses its workers itself);
* ``rust``: RustBoard (``tensorboard-data-server``) loading the tree once with every scalar kept,
  until its gRPC API reports every tag at its last step (`bench_tensorboard.RUST`);
* ``floor``: a Python process that reads every event file and takes its CRC32C (``crc32c``): what any
  reader that checks the bytes pays at least.

Prints each tool's median and every round's ratio to RustBoard and to the floor (same round), and
the load average. Wall time includes interpreter start-up and imports.

    python benchmarks/bench_short.py                     # 200 and 1,000 runs, 5 rounds
    python benchmarks/bench_short.py --runs 200 --rounds 9
    python benchmarks/bench_short.py --baseline ../old-checkout   # before/after, same rounds
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import bench_tensorboard as tb  # measure, warm_page_cache, RUST, compile_curvelint (after sys.path)

TAGS = ("train/loss", "val/loss", "train/acc", "val/acc", "lr", "grad_norm", "val/top5_acc",
        "train/samples_per_sec")
FLOOR = """
import os, sys, crc32c
total = 0
for top, _, files in os.walk(sys.argv[1]):
    for name in files:
        with open(os.path.join(top, name), "rb") as fh:
            data = fh.read()
        total += len(data)
        crc32c.crc32c(data)
print(total)
"""


# -- the tree ------------------------------------------------------------------------------------------------

def _kind(i: int) -> str:
    return "overfit" if i % 8 == 3 else "stalled" if i % 8 == 6 else "spike" if i % 16 == 9 else "healthy"


def curves(i: int, points: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """The 8 series of run `i` (per epoch): a noisy exponential fit, its validation twin, accuracies,
    a learning-rate schedule, gradient norms and throughput; `_kind(i)` decides what goes wrong."""
    kind = _kind(i)
    t = np.arange(points, dtype=np.float64)
    tau = points / rng.uniform(3, 8)
    floor = rng.uniform(0.05, 0.4)
    loss = (2.3 - floor) * np.exp(-t / tau) + floor
    if kind == "stalled":
        loss = np.full(points, 2.3026)
    val = loss * rng.uniform(1.02, 1.15) + 0.02
    if kind == "overfit":
        turn = points // 3
        val[turn:] = val[turn] + (t[turn:] - turn) * rng.uniform(0.002, 0.01)
    loss = loss * (1 + rng.normal(0, 0.02, points))
    val = val * (1 + rng.normal(0, 0.03, points))
    if kind == "spike":
        loss[points // 2] *= 8
    acc = np.clip(1 - loss / 2.5 + rng.normal(0, 0.005, points), 0, 1)
    val_acc = np.clip(1 - val / 2.5 + rng.normal(0, 0.01, points), 0, 1)
    if i % 2:
        lr = 1e-3 * 0.1 ** np.floor(t / (points / 3))
    else:
        lr = 1e-3 * 0.5 * (1 + np.cos(np.pi * t / points))
    grad = np.abs(rng.normal(1.0, 0.2, points)) * (0.3 + loss)
    return {"train/loss": loss, "val/loss": val, "train/acc": acc, "val/acc": val_acc, "lr": lr,
            "grad_norm": grad, "val/top5_acc": np.clip(val_acc + 0.15, 0, 1),
            "train/samples_per_sec": rng.normal(2400, 60, points)}


def _record(payload: bytes) -> bytes:
    from curvelint.skim import masked_crc

    head = struct.pack("<Q", len(payload))
    return head + struct.pack("<I", masked_crc(head)) + payload + struct.pack("<I", masked_crc(payload))


def event_file(i: int, points: int, rng: np.random.Generator) -> bytes:
    """Run `i`'s event file: one event per tag and epoch (``simple_value``), as a Keras/PyTorch logger writes."""
    from tensorboard.compat.proto import event_pb2, summary_pb2

    series = curves(i, points, rng)
    out = [_record(event_pb2.Event(wall_time=1.7e9, file_version="brain.Event:2").SerializeToString())]
    for step in range(points):
        for tag in TAGS:
            value = summary_pb2.Summary.Value(tag=tag, simple_value=float(series[tag][step]))
            event = event_pb2.Event(wall_time=1.7e9 + i * 1e4 + step * 30.0, step=step,
                                    summary=summary_pb2.Summary(value=[value]))
            out.append(_record(event.SerializeToString()))
    return b"".join(out)


def make_tree(runs: int, points: int) -> Path:
    root = HERE / "out" / f"short-{runs}x{points}"
    logs = root / "logs"
    if (root / "done").exists():
        return logs
    rng = np.random.default_rng(18)
    for i in range(runs):
        folder = logs / f"run_{i:04d}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"events.out.tfevents.{1700000000 + i}.bench.1.0").write_bytes(event_file(i, points, rng))
    (root / "done").touch()
    return logs


# -- timing --------------------------------------------------------------------------------------------------

def tools(logs: Path, runs: int, points: int, timeout: float, baseline: Path | None = None
          ) -> dict[str, functools.partial]:
    py = sys.executable
    run = functools.partial(tb.measure, timeout=timeout, cwd=str(logs.parent))
    rust_argv = [py, "-c", tb.RUST, str(logs), str(runs), str(len(TAGS)), str(points - 1)]
    lint = [py, "-m", "curvelint", str(logs), "--format", "json"]
    out = {
        "lint -j1": functools.partial(run, "curvelint CLI", [*lint, "-j1"]),
        "lint": functools.partial(run, "curvelint CLI", lint),
        "rust": functools.partial(_rust, rust_argv, timeout),
        "floor": functools.partial(run, "read+CRC floor", [py, "-c", FLOOR, str(logs)]),
    }
    if baseline is not None:  # another checkout (e.g. a git worktree of an older commit), same rounds
        env = {**os.environ, "PYTHONPATH": str(baseline)}
        out["baseline -j1"] = functools.partial(run, "curvelint CLI", [*lint, "-j1"], env=env)
    return out


def _rust(argv: list[str], timeout: float) -> float | None:
    """RustBoard's load time (`bench_tensorboard.RUST` prints points, seconds, peak RSS), or None."""
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        print(f"  RustBoard timed out after {timeout:.0f}s", file=sys.stderr)
        return None
    try:
        return float(done.stdout.split()[1])
    except (IndexError, ValueError):
        print(f"  RustBoard could not be driven: {done.stderr[-200:]}", file=sys.stderr)
        return None


def bench(runs: int, points: int, rounds: int, timeout: float, baseline: Path | None = None) -> None:
    logs = make_tree(runs, points)
    size = sum(f.stat().st_size for f in logs.rglob("*") if f.is_file())
    print(f"\n{runs} runs x {len(TAGS)} tags x {points} points ({size / 1e6:.1f} MB); "
          f"load average before: {_load()}", flush=True)
    timed: dict[str, list[float | None]] = {name: [] for name in tools(logs, runs, points, timeout, baseline)}
    pressure = []  # CPU pressure as each default-jobs lint starts: what its choice of workers saw
    for _ in range(rounds):
        for name, tool in tools(logs, runs, points, timeout, baseline).items():
            tb.warm_page_cache(logs)
            if name == "lint":
                pressure.append(_pressure())
            result = tool()
            timed[name].append(result if isinstance(result, float) or result is None else result.seconds)
    print(f"load average after: {_load()}; CPU pressure (some avg10) as each default lint started: "
          + ", ".join(pressure))
    print("| tool | median s | min s | / RustBoard, each round | / floor, each round |")
    print("|---|---|---|---|---|")
    for name, times in timed.items():
        ok = [t for t in times if t is not None]
        if not ok:
            print(f"| {name} | - | - | - | - |")
            continue
        print(f"| {name} | {statistics.median(ok):.3f} | {min(ok):.3f} | {_ratios(times, timed['rust'])} | "
              f"{_ratios(times, timed['floor'])} |", flush=True)


def _ratios(times: list[float | None], anchor: list[float | None]) -> str:
    pairs = [t / a for t, a in zip(times, anchor) if t is not None and a]
    if not pairs:
        return "-"
    return f"{statistics.median(pairs):.2f}x (" + ", ".join(f"{p:.2f}" for p in pairs) + ")"


def _load() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def _pressure() -> str:
    try:
        with open("/proc/pressure/cpu") as fh:
            return fh.readline().split()[1].split("=")[1] + "%"
    except (OSError, IndexError):
        return "-"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", default="200,1000", help="comma-separated tree sizes (runs)")
    ap.add_argument("--points", type=int, default=200, help="epochs per series")
    ap.add_argument("--rounds", type=int, default=5, help="interleaved rounds per tree")
    ap.add_argument("--timeout", type=float, default=600, help="seconds per tool run")
    ap.add_argument("--baseline", type=Path, help="also time `-j1` with this checkout first on PYTHONPATH "
                                                  "(before/after in the same rounds)")
    args = ap.parse_args(argv)
    tb.compile_curvelint()
    for runs in (int(r) for r in args.runs.split(",") if r.strip()):
        bench(runs, args.points, args.rounds, args.timeout, args.baseline)
    return 0


if __name__ == "__main__":
    sys.exit(main())
