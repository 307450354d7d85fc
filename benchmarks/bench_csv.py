"""Benchmark: a 1M-row Lightning ``metrics.csv`` read by curvelint vs pyarrow.csv and pandas (issue 18).

Writes, in a temporary folder, ``lightning_logs/version_0/metrics.csv`` as Lightning's CSVLogger writes it:
the columns ``epoch, grad_norm, lr-Adam, step, train_loss_epoch, train_loss_step, val_acc, val_loss``
(sorted, as the logger sorts them), sparse rows (a row per training step with its loss and gradient norm,
the learning-rate monitor's row every 10 steps without an epoch, and at the end of each 2,000-step epoch a
validation row and a train-epoch row), float32 values written as Python floats (``0.5432109832763672``).

Each tool runs in a fresh process (forked by `bench_tensorboard.LAUNCH`, which reports the child's wall
time and peak RSS from ``os.wait4``), round after round, tools interleaved; the table gives medians of
the rounds and the largest peak; "points" are the points read (for pyarrow and pandas: the non-empty
cells). "read s" is the time of the read call alone (every module imported before: for curvelint
the reader's pyarrow.csv too, which a lint imports at the first large CSV), "process s" the whole process.
"over imports" is the peak RSS less that of the same process stopped before its read (the interpreter and
the modules imported, measured in rounds of their own): the memory the read itself costs.

    python benchmarks/bench_csv.py                      # 1,000,000 rows, 3 rounds
    python benchmarks/bench_csv.py --rows 200000 --rounds 5
    python benchmarks/bench_csv.py --baseline-src ../old-checkout   # also that checkout's reader and lint
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from bench_tensorboard import LAUNCH

PY = sys.executable
COLUMNS = ["epoch", "grad_norm", "lr-Adam", "step", "train_loss_epoch", "train_loss_step", "val_acc", "val_loss"]

READERS = {
    "curvelint read": """
from curvelint.discovery import RunSource
from curvelint.readers import csvlog
try:
    from curvelint.readers import _csv_fast  # noqa: F401 - its pyarrow import, before the timer as for pyarrow itself
except ImportError:  # a checkout before the fast path
    pass
t = time.perf_counter()
runs = csvlog.read(RunSource(path=PATH, format="csv", files=(PATH,)))
seconds = time.perf_counter() - t
points = sum(len(s) for run in runs for s in run.series.values())
""",
    "pyarrow.csv.read_csv": """
import pyarrow.csv
t = time.perf_counter()
table = pyarrow.csv.read_csv(PATH)
seconds = time.perf_counter() - t
points = sum(table.column(i).length() - table.column(i).null_count for i in range(table.num_columns))
""",
    "pandas.read_csv": """
import pandas
t = time.perf_counter()
frame = pandas.read_csv(PATH)
seconds = time.perf_counter() - t
points = int(frame.notna().sum().sum())
""",
}


def generate(path: Path, rows: int, steps_per_epoch: int = 2000, lr_every: int = 10, seed: int = 0) -> None:
    """`rows` data rows of a Lightning CSVLogger metrics.csv (see the module docstring)."""
    rng = np.random.default_rng(seed)
    lines = [",".join(COLUMNS)]
    step = epoch = 0
    while len(lines) <= rows:
        losses = (2.0 * np.exp(-epoch / 50) + 0.1 * rng.random(steps_per_epoch)).astype(np.float32).tolist()
        grads = (1.0 + rng.random(steps_per_epoch)).astype(np.float32).tolist()
        lr = float(np.float32(1e-3 * 0.5 ** (epoch // 30)))
        for i in range(steps_per_epoch):
            lines.append(f"{epoch},{grads[i]!r},,{step},,{losses[i]!r},,")
            if i % lr_every == 0:
                lines.append(f",,{lr!r},{step},,,,")
            step += 1
        val_acc, val_loss = float(np.float32(0.5 + epoch / 1000)), float(np.float32(losses[-1] * 1.1))
        lines.append(f"{epoch},,,{step - 1},,,{val_acc!r},{val_loss!r}")
        lines.append(f"{epoch},,,{step - 1},{float(np.float32(np.mean(losses)))!r},,,")
        epoch += 1
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines[:rows + 1]) + "\n")


@dataclass
class Tool:
    name: str
    argv: list[str]
    env: dict[str, str]
    reads: list[float] = field(default_factory=list)
    walls: list[float] = field(default_factory=list)
    peaks: list[float] = field(default_factory=list)
    points: int | None = None
    imports: Tool | None = None  # the same process stopped before its read: its peak RSS is the baseline


def _reader_argv(name: str, path: Path, imports_only: bool = False) -> list[str]:
    """The reader's child process; with `imports_only`, the same process up to its timer (the RSS baseline)."""
    code = READERS[name]
    if imports_only:
        code = code.split("t = time.perf_counter()")[0] + "points, seconds = 0, 0.0\n"
    body = f"import sys, time\nPATH = {str(path)!r}\n{code}\nprint(points, seconds)\n"
    return [PY, "-c", body]


def measure(tool: Tool, cwd: Path) -> None:
    """One run of `tool` in a fresh process: its read time (as it prints it), wall time and peak RSS."""
    with tempfile.NamedTemporaryFile("r", suffix=".stat") as stat:
        done = subprocess.run([PY, "-c", LAUNCH, stat.name, *tool.argv], cwd=cwd, env=tool.env,
                              capture_output=True, text=True, timeout=900, check=False)
        wall, rss_kb, code = stat.read().split()
    if int(code) not in (0, 1):
        raise SystemExit(f"{tool.name} failed (exit {code}): {done.stderr.strip()[-300:]}")
    tool.walls.append(float(wall))
    tool.peaks.append(int(rss_kb) / 1024)
    fields = done.stdout.split()
    if tool.argv[1] == "-c" and len(fields) == 2:
        tool.points, seconds = int(fields[0]), float(fields[1])
        tool.reads.append(seconds)


def _installed(reader: str) -> bool:
    """pandas is no dependency: its row is left out (and said so) where it is not installed."""
    module = reader.split()[0].split(".")[0]
    if module == "curvelint" or importlib.util.find_spec(module) is not None:
        return True
    print(f"{reader}: skipped ({module} is not installed)", file=sys.stderr)
    return False


def tools_for(path: Path, logs: Path, baseline_src: str | None) -> list[Tool]:
    env = dict(os.environ)
    lint = [PY, "-m", "curvelint", str(logs), "--format", "json", "--isolated", "-j1"]
    tools = [Tool(name, _reader_argv(name, path), env,
                  imports=Tool(f"{name} imports", _reader_argv(name, path, imports_only=True), env))
             for name in READERS if _installed(name)]
    tools.append(Tool("curvelint lint", lint, env))
    if baseline_src:
        old = dict(env, PYTHONPATH=os.path.abspath(baseline_src))
        tools.insert(1, Tool("curvelint read (baseline)", _reader_argv("curvelint read", path), old,
                             imports=Tool("baseline imports", _reader_argv("curvelint read", path, True), old)))
        tools.append(Tool("curvelint lint (baseline)", lint, old))
    return tools


def report(tools: list[Tool], size: int) -> str:
    anchor = next(t for t in tools if t.name == "pyarrow.csv.read_csv")
    anchor_read, anchor_rss = statistics.median(anchor.reads), max(anchor.peaks)
    mb = size / 2 ** 20
    lines = [(f"  {'tool':28}{'read s':>8}{'process s':>11}{'peak RSS MB':>13}{'x file':>8}{'over imports':>14}"
              f"{'x file':>8}{'read x pyarrow':>16}{'RSS x pyarrow':>15}{'points':>10}")]
    for t in tools:
        read = statistics.median(t.reads) if t.reads else None
        rss = max(t.peaks)
        over = "-" if t.imports is None else f"{rss - max(t.imports.peaks):.0f}"
        over_x = "-" if t.imports is None else f"{(rss - max(t.imports.peaks)) / mb:.2f}"
        lines.append(f"  {t.name:28}{'-' if read is None else f'{read:.2f}':>8}{statistics.median(t.walls):>11.2f}"
                     f"{rss:>13.0f}{rss / mb:>8.2f}{over:>14}{over_x:>8}"
                     f"{'-' if read is None else f'{read / anchor_read:.2f}':>16}{rss / anchor_rss:>15.2f}"
                     f"{'' if t.points is None else t.points:>10}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--baseline-src", help="another checkout whose reader and lint are timed too (PYTHONPATH)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-csv-") as tmp:
        root = Path(tmp)
        path = root / "lightning_logs" / "version_0" / "metrics.csv"
        generate(path, args.rows)
        size = path.stat().st_size
        path.read_bytes()  # page cache warm
        tools = tools_for(path, root / "lightning_logs", args.baseline_src)
        load = os.getloadavg()
        for _ in range(args.rounds):
            for tool in tools:
                measure(tool, root)
                if tool.imports is not None:
                    measure(tool.imports, root)
        end = os.getloadavg()
        print(f"Lightning metrics.csv: {args.rows:,} rows x {len(COLUMNS)} columns, {size / 2 ** 20:.1f} MB; "
              f"{args.rounds} interleaved rounds, medians (peak RSS: the largest)")
        print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} at the start, "
              f"{end[0]:.2f} {end[1]:.2f} {end[2]:.2f} at the end; {os.cpu_count()} CPUs")
        print(report(tools, size))
    return 0


if __name__ == "__main__":
    sys.exit(main())
