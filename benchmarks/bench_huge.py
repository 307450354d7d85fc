"""Benchmark: one huge TensorBoard run (issue 18): per-point cost and peak RSS of the whole lint.

Writes one event file per size (``--points`` per series: 100k, 1M and 10M by default) with a
vectorised writer of TensorBoard's own record layout (``simple_value`` scalars, CRC32C framing:
the bytes ``SummaryWriter.add_scalar`` writes), lints each with ``python -m curvelint --format
json`` in a fresh child process and prints wall time, ns per point and the child's peak RSS
(``os.wait4``), with the load average, from one invocation. The run logs ``--tags`` series at
every step (train/loss, train/acc, lr, grad_norm, ...) and val/loss, val/acc every 1,000 steps,
so every rule runs. At 10M points and 4 step tags the file is ~1.9 GB. ``ns/pt-fix`` leaves out the
fixed cost of a lint (start-up, imports, the rules on a 100-point run); ``--baseline`` lints with
another checkout too, alternately, for before/after figures from one invocation.

The lint reads the whole file: ``file-bytes`` and ``records`` are raised in the run's
``pyproject.toml``; ``--budget`` sets ``memory-budget`` there too. The files are generated under
``--out`` (a temporary folder by default) and deleted at the end unless ``--keep``.

    python benchmarks/bench_huge.py                          # 100k, 1M, 10M points per series
    python benchmarks/bench_huge.py --points 1000000 --rounds 2
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

PY = sys.executable
HERE = Path(__file__).resolve().parent
VAL_EVERY = 1000
RECORD_BYTES = 48  # about, per scalar event
TAGS = ["train/loss", "train/acc", "lr", "grad_norm", "train/perplexity", "train/tokens_per_s",
        "train/loss_scale", "train/weight_norm", "train/ema_loss", "train/throughput"]
LAUNCH = """
import os, sys, time
t0 = time.perf_counter()
pid = os.fork()
if pid == 0:
    fd = os.open(os.devnull, os.O_WRONLY)
    os.dup2(fd, 1)
    os.execv(sys.argv[1], sys.argv[1:])
_, status, usage = os.wait4(pid, 0)
print(time.perf_counter() - t0, usage.ru_maxrss, os.waitstatus_to_exitcode(status))
"""


# ------------------------------------------------------------------------------------------------
# writing: records of one step-varint length at a time, every field placed with numpy
# ------------------------------------------------------------------------------------------------
def _crc32c():
    sys.path.insert(0, str(HERE.parent))
    from curvelint._crc32c import crc32c

    return crc32c()


def _masked(crc: np.ndarray) -> np.ndarray:
    crc = crc.astype(np.uint32)
    return (((crc >> np.uint32(15)) | (crc << np.uint32(17))) + np.uint32(0xA282EAD8)).astype(np.uint32)


def _varint(steps: np.ndarray, width: int) -> np.ndarray:
    """(n, width) bytes of the varints of `steps` (all of that byte length)."""
    out = np.empty((len(steps), width), np.uint8)
    for j in range(width):
        out[:, j] = ((steps >> (7 * j)) & 0x7F) | (0x80 if j < width - 1 else 0)
    return out


def _records(tag: bytes, steps: np.ndarray, values: np.ndarray, walls: np.ndarray, crc) -> np.ndarray:
    """The framed records (n, size) of one tag at `steps` (every step's varint of one length; 0 = no step)."""
    width = 0 if steps[0] == 0 else int(np.ceil(int(steps[0]).bit_length() / 7))
    body = bytes([0x0A, len(tag)]) + tag + b"\x15"
    value = bytes([0x0A, len(body) + 4]) + body
    summary = bytes([0x2A, len(value) + 4]) + value
    length = 9 + (1 + width if width else 0) + len(summary) + 4
    rec = np.empty((len(steps), 12 + length + 4), np.uint8)
    rec[:, :8] = np.frombuffer(length.to_bytes(8, "little"), np.uint8)
    rec[:, 8:12] = np.frombuffer(int(_masked(np.array([crc(length.to_bytes(8, "little"))]))[0]).to_bytes(4, "little"),
                                 np.uint8)
    rec[:, 12] = 0x09
    rec[:, 13:21] = walls.astype("<f8").view(np.uint8).reshape(-1, 8)
    pos = 21
    if width:
        rec[:, pos] = 0x10
        rec[:, pos + 1:pos + 1 + width] = _varint(steps, width)
        pos += 1 + width
    rec[:, pos:pos + len(summary)] = np.frombuffer(summary, np.uint8)
    pos += len(summary)
    rec[:, pos:pos + 4] = values.astype("<f4").view(np.uint8).reshape(-1, 4)
    data = rec[:, 12:12 + length]
    crcs = np.fromiter(map(crc, data), np.uint32, len(rec))
    rec[:, -4:] = _masked(crcs).view(np.uint8).reshape(-1, 4)
    return rec


def _curves(steps: np.ndarray, total: int, tags: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Healthy training curves: a falling loss, rising accuracy, cosine lr, noisy grad_norm, ..."""
    t = steps / total
    noise = lambda scale: scale * rng.standard_normal(len(steps))  # noqa: E731
    out = [2.0 * np.exp(-5 * t) + 0.1 + noise(0.02), 0.95 - 0.85 * np.exp(-5 * t) + noise(0.005),
           1e-3 * 0.5 * (1 + np.cos(np.pi * t)), 1.0 + 0.5 * np.exp(-3 * t) + np.abs(noise(0.1))]
    while len(out) < tags:
        out.append(1.0 + np.exp(-3 * t) + noise(0.01) + 0.1 * len(out))
    return out[:tags]


def _path(root: Path, points: int) -> Path:
    return root / f"run_{points}" / f"events.out.tfevents.1700000000.bench.{points}.0"


def write_run(folder: Path, points: int, tags: int, seed: int = 0) -> Path:
    """One event file: `tags` series at steps 0..points-1 (step-major) and 2 validation series."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"events.out.tfevents.1700000000.bench.{points}.0"
    crc = _crc32c()
    rng = np.random.default_rng(seed)
    names = [t.encode() for t in TAGS[:tags]]
    with open(path, "wb") as fh:
        header = b"\x09" + np.float64(1.7e9).tobytes() + b"\x1a\x0dbrain.Event:2"
        fh.write(len(header).to_bytes(8, "little"))
        fh.write(int(_masked(np.array([crc(len(header).to_bytes(8, "little"))]))[0]).to_bytes(4, "little"))
        fh.write(header + int(_masked(np.array([crc(header)]))[0]).to_bytes(4, "little"))
        edges = [0, 1, 1 << 7, 1 << 14, 1 << 21, 1 << 28]
        chunk = 1 << 18
        for lo_w, hi_w in zip(edges, edges[1:]):
            for lo in range(lo_w, min(hi_w, points), chunk):
                steps = np.arange(lo, min(lo + chunk, hi_w, points), dtype=np.int64)
                walls = 1.7e9 + steps * 0.05
                recs = [_records(name, steps, curve, walls, crc)
                        for name, curve in zip(names, _curves(steps, points, tags, rng))]
                val = steps[steps % VAL_EVERY == VAL_EVERY - 1]
                if len(val):  # validation after the step's training scalars
                    t = val / points
                    vals = [(b"val/loss", 2.1 * np.exp(-4.5 * t) + 0.15), (b"val/acc", 0.9 - 0.8 * np.exp(-4.5 * t))]
                    by_step = {int(s): [_records(n, val[k:k + 1], v[k:k + 1], 1.7e9 + val[k:k + 1] * 0.05, crc)
                                        for n, v in vals] for k, s in enumerate(val.tolist())}
                else:
                    by_step = {}
                block = np.concatenate(recs, axis=1)  # step-major: every tag of a step, then the next step
                start = 0
                for s in sorted(by_step):  # write up to each validation step, then its validation records
                    i = s - int(steps[0]) + 1
                    fh.write(block[start:i].tobytes())
                    fh.write(b"".join(r.tobytes() for r in by_step[s]))
                    start = i
                fh.write(block[start:].tobytes())
    return path


# ------------------------------------------------------------------------------------------------
# measuring
# ------------------------------------------------------------------------------------------------
@dataclass
class Result:
    source: str  # "this" or "baseline"
    points: int  # per step series
    total: int  # points in the file
    size: int  # bytes
    seconds: float
    rss_mb: float
    exit: int

    def row(self, fixed: float) -> str:
        return (f"{self.source:>9} {self.points:>12,} {self.total:>12,} {self.size / 1e6:>7.0f} {self.seconds:>8.2f} "
                f"{self.seconds / self.total * 1e9:>7.0f} {(self.seconds - fixed) / self.total * 1e9:>9.0f} "
                f"{self.rss_mb:>8.0f} {self.exit:>4}")


def lint(folder: Path, env: dict[str, str]) -> tuple[float, float, int]:
    """Wall seconds, peak RSS (MB) and exit code of ``python -m curvelint --format json folder``."""
    out = subprocess.run([PY, "-c", LAUNCH, PY, "-m", "curvelint", "--format", "json", "--jobs", "1", str(folder)],
                         capture_output=True, text=True, env=env, cwd=str(folder), check=True)
    seconds, rss_kb, code = out.stdout.split()
    return float(seconds), int(rss_kb) / 1024, int(code)


def config(folder: Path, budget: str | None) -> None:
    lines = ["[tool.curvelint.limits]", 'file-bytes = "4 GiB"', "records = 2_000_000_000"]
    if budget:
        lines.append(f'memory-budget = "{budget}"')
    (folder / "pyproject.toml").write_text("\n".join(lines) + "\n")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--points", default="100000,1000000,10000000", help="points per series, comma-separated")
    ap.add_argument("--tags", type=int, default=4, help="series logged at every step (at most 10)")
    ap.add_argument("--rounds", type=int, default=1, help="lints per size (sizes interleaved)")
    ap.add_argument("--budget", help="memory-budget for the lint (default: curvelint's; a --baseline from before "
                    "the limit existed rejects it)")
    ap.add_argument("--out", type=Path, help="where the files are written (default: a temporary folder)")
    ap.add_argument("--keep", action="store_true", help="keep the generated files")
    ap.add_argument("--reuse", action="store_true", help="lint the files already in --out (written with --keep)")
    ap.add_argument("--baseline", type=Path, help="another checkout of curvelint, linted alternately (before/after)")
    args = ap.parse_args(argv)
    sizes = [int(p) for p in args.points.split(",")]
    root = args.out or Path(tempfile.mkdtemp(prefix="curvelint-huge-"))
    root.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PYTHONPATH": str(HERE.parent) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    need = sum(RECORD_BYTES * n * (args.tags + 0.002) for n in sizes if not (args.reuse and _path(root, n).exists()))
    free = shutil.disk_usage(root).free
    if need * 1.2 > free:
        print(f"bench_huge: {need / 1e9:.1f} GB to write, {free / 1e9:.1f} GB free in {root}", file=sys.stderr)
        return 2
    try:
        files = {}
        for n in sizes:
            t0, path = time.perf_counter(), _path(root, n)
            how = "reused"
            if not (args.reuse and path.exists()):
                write_run(path.parent, n, args.tags)
                how = f"written in {time.perf_counter() - t0:.1f} s"
            config(path.parent, args.budget)
            files[n] = path
            print(f"  {path.stat().st_size / 1e6:,.0f} MB ({n:,} points x {args.tags} tags): {how}", file=sys.stderr)
        sources = {"this": env} if args.baseline is None else {
            "this": env, "baseline": {**env, "PYTHONPATH": str(args.baseline.resolve())}}
        tiny = root / "run_tiny"
        write_run(tiny, 100, args.tags)
        config(tiny, args.budget)
        results: list[Result] = []
        fixed: dict[str, float] = {}
        load = [os.getloadavg()[0]]
        for _ in range(args.rounds):
            for name, source_env in sources.items():
                seconds, _, _ = lint(tiny, source_env)
                fixed[name] = min(fixed.get(name, seconds), seconds)
                for n in sizes:
                    seconds, rss, code = lint(files[n].parent, source_env)
                    total = n * args.tags + 2 * (n // VAL_EVERY)
                    results.append(Result(name, n, total, files[n].stat().st_size, seconds, rss, code))
        load.append(os.getloadavg()[0])
        print(f"load average (1 min) before/after: {load[0]:.2f} / {load[1]:.2f}; fixed cost (a 100-point run): "
              + ", ".join(f"{k} {v:.2f} s" for k, v in fixed.items()))
        print(f"{'source':>9} {'pts/series':>12} {'points':>12} {'MB':>7} {'wall s':>8} {'ns/pt':>7} {'ns/pt-fix':>9} "
              f"{'peak MB':>8} exit")
        for r in results:
            print(r.row(fixed[r.source]))
    finally:
        if not args.keep:  # only what this wrote
            for folder in [*(root / f"run_{n}" for n in sizes), root / "run_tiny"]:
                shutil.rmtree(folder, ignore_errors=True)
            if args.out is None:
                shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
