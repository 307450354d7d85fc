"""Benchmark: reading TensorBoard event files with curvelint vs the usual tools (product issue 6).

Generates event-file trees with TensorBoard's own record writer (``RecordWriter``, with
the C ``crc32c`` swapped in for its pure-Python CRC so that generation takes seconds;
the bytes are the same), caches them under ``benchmarks/out/`` (gitignored), then times
each tool in a fresh subprocess: wall time, points per second and peak RSS (from
``os.wait4``). Prints one table per tree with the ratio of each tool's time to
curvelint's whole CLI.

Trees: ``large`` (RUNS x TAGS x POINTS per-step ``simple_value`` scalars), ``tf2`` (the
same with TF2 tensor scalars, as the Keras callback writes them) and ``small`` (many
runs with few epochs).

Tools: curvelint's reader alone; the whole ``python -m curvelint DIR --format json``;
TensorBoard's EventAccumulator keeping every scalar; tbparse (if installed); the Rust
``tensorboard-data-server`` loading the tree once with all scalars kept (timed until
its gRPC API reports every tag complete; skipped if it cannot be driven); pyarrow
reading the same points from one Parquet file.

With ``--tools memory``: ``engine.lint`` with 1 and 2 jobs, the peak RSS of the main
process and of the largest worker (``RUSAGE_CHILDREN``), to check that the peak per
process does not grow with the number of runs.

    python benchmarks/bench_tensorboard.py                      # large 2x10x100k, tf2, small 200x8x200
    python benchmarks/bench_tensorboard.py --runs 20 --trees large   # the issue's full-size tree
    python benchmarks/bench_tensorboard.py --trees large,tf2 --tools reader,cli,memory,ea   # peak RSS
"""

from __future__ import annotations

import argparse
import functools
import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

HERE = Path(__file__).resolve().parent
PY = sys.executable


# ------------------------------------------------------------------------------------------------
# generation
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Tree:
    name: str
    runs: int
    tags: int
    points: int
    encoding: str  # "simple" or "tensor"

    @property
    def total(self) -> int:
        return self.runs * self.tags * self.points

    def describe(self) -> str:
        return f"{self.name}: {self.runs} runs x {self.tags} tags x {self.points} points ({self.encoding})"


def _fast_record_writer():
    import crc32c
    from tensorboard.summary.writer import record_writer

    def masked_crc32c(data: bytes) -> int:
        crc = crc32c.crc32c(data)
        return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF

    record_writer.masked_crc32c = masked_crc32c  # same bytes as the pure-Python CRC, 100x faster
    return record_writer.RecordWriter


def generate(tree: Tree, root: Path) -> None:
    """Write the tree's event files and the same points as one Parquet file (cached by spec)."""
    spec = root / "spec.json"
    if spec.exists() and json.loads(spec.read_text()) == vars(tree):
        return
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq
    from tensorboard.compat.proto import event_pb2, summary_pb2
    from tensorboard.plugins.scalar import metadata as scalar_metadata

    RecordWriter = _fast_record_writer()
    meta = scalar_metadata.create_summary_metadata(display_name="", description="")
    rng = np.random.default_rng(0)
    table: dict[str, list] = {"run": [], "tag": [], "step": [], "value": [], "wall_time": []}
    t0 = time.time()
    for r in range(tree.runs):
        run_dir = root / "logs" / f"run_{r:03d}"
        run_dir.mkdir(parents=True)
        steps = np.arange(tree.points, dtype=np.int64)
        curves = [np.float32(2.0 * np.exp(-steps / (tree.points / 4)) + 0.1 + 0.05 * rng.standard_normal(tree.points))
                  for _ in range(tree.tags)]
        walls = 1.7e9 + r * 1e5 + steps * 0.05
        names = [f"train/metric_{k}" if k else "train/loss" for k in range(tree.tags)]
        with open(run_dir / f"events.out.tfevents.{1700000000 + r}.bench.1.0", "wb") as fh:
            writer = RecordWriter(fh)
            writer.write(event_pb2.Event(wall_time=walls[0], file_version="brain.Event:2").SerializeToString())
            for i in range(tree.points):
                for k in range(tree.tags):
                    if tree.encoding == "simple":
                        value = summary_pb2.Summary.Value(tag=names[k], simple_value=float(curves[k][i]))
                    else:  # Keras TF2: DT_FLOAT shape [] with the bytes in tensor_content, metadata each time
                        value = summary_pb2.Summary.Value(tag=names[k], metadata=meta)
                        value.tensor.dtype = 1
                        value.tensor.tensor_shape.SetInParent()
                        value.tensor.tensor_content = curves[k][i].tobytes()
                    ev = event_pb2.Event(wall_time=float(walls[i]), step=i, summary=summary_pb2.Summary(value=[value]))
                    writer.write(ev.SerializeToString())
        for k in range(tree.tags):
            table["run"].append(np.full(tree.points, f"run_{r:03d}"))
            table["tag"].append(np.full(tree.points, names[k]))
            table["step"].append(steps)
            table["value"].append(curves[k].astype(np.float64))
            table["wall_time"].append(walls)
    pq.write_table(pa.table({k: np.concatenate(v) for k, v in table.items()}), root / "points.parquet")
    spec.write_text(json.dumps(vars(tree)))
    print(f"  generated {tree.describe()} in {time.time() - t0:.1f}s", file=sys.stderr)


# ------------------------------------------------------------------------------------------------
# tools: each a Python snippet run in a fresh interpreter; it prints the number of points read
# ------------------------------------------------------------------------------------------------
READER = """
import sys
from curvelint.discovery import discover
from curvelint.readers import read
sources, _ = discover([sys.argv[1]])
print(sum(run.points for s in sources for run in read(s)))
"""

EVENT_ACCUMULATOR = """
import os, sys
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
total = 0
for d in sorted(os.listdir(sys.argv[1])):
    ea = EventAccumulator(os.path.join(sys.argv[1], d), size_guidance={"scalars": 0, "tensors": 0})
    ea.Reload()
    total += sum(len(ea.Scalars(t)) for t in ea.Tags()["scalars"])
    total += sum(len(ea.Tensors(t)) for t in ea.Tags()["tensors"])  # TF2 tensor scalars stay tensors here
print(total)
"""

TBPARSE = """
import sys
from tbparse import SummaryReader
reader = SummaryReader(sys.argv[1], pivot=False)
print(len(reader.scalars) + len(reader.tensors))  # TF2 tensor scalars come out as tensors
"""

LINT_RSS = """
import os, resource, sys, threading, time
from curvelint.engine import lint
hwm, done = {}, threading.Event()
def watch():  # each worker's VmHWM (its peak RSS so far), polled until lint() returns
    me = str(os.getpid())
    while not done.is_set():
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                with open(f"/proc/{pid}/status") as fh:
                    status = dict(line.split(":", 1) for line in fh if ":" in line)
                if status["PPid"].strip() == me:
                    hwm[pid] = max(hwm.get(pid, 0), int(status["VmHWM"].split()[0]) // 1024)
            except (OSError, KeyError, ValueError):
                pass
        time.sleep(0.02)
threading.Thread(target=watch, daemon=True).start()
report = lint([sys.argv[1]], jobs=int(sys.argv[2]))
done.set()
peak = lambda who: resource.getrusage(who).ru_maxrss / 1024
# RUSAGE_CHILDREN: the largest of the worker processes (all joined when lint() returns)
workers = "/".join(str(v) for v in hwm.values()) or "-"
print(sum(r.points for r in report.runs), f"{peak(resource.RUSAGE_SELF):.0f}", f"{peak(resource.RUSAGE_CHILDREN):.0f}", workers)
"""

PARQUET = """
import sys
import pyarrow.parquet as pq
t = pq.read_table(sys.argv[1])
cols = [t.column(c).to_numpy() for c in ("step", "value", "wall_time")]
print(len(cols[1]))
"""

RUST = """
import os, subprocess, sys, tempfile, time
import grpc
import tensorboard_data_server
from tensorboard.data.proto import data_provider_pb2 as pb, data_provider_pb2_grpc as rpc
logdir, runs, tags, last_step = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
port_file = os.path.join(tempfile.mkdtemp(), "port")
t0 = time.perf_counter()
server = subprocess.Popen([tensorboard_data_server.server_binary(), "--logdir", logdir, "--port", "0",
                           "--port-file", port_file, "--reload", "once", "--samples-per-plugin", "scalars=all",
                           "--die-after-stdin"], stdin=subprocess.PIPE)
while not (os.path.exists(port_file) and open(port_file).read().endswith("\\n")):
    time.sleep(0.01)
channel = grpc.insecure_channel("localhost:" + open(port_file).read().strip(),
                                options=[("grpc.max_receive_message_length", -1)])
stub = rpc.TensorBoardDataProviderStub(channel)
req = pb.ListScalarsRequest(experiment_id="", plugin_filter=pb.PluginFilter(plugin_name="scalars"))
while True:
    done = [t for r in stub.ListScalars(req).runs for t in r.tags if t.metadata.max_step == last_step]
    if len(done) == runs * tags:
        break
    time.sleep(0.02)
loaded = time.perf_counter() - t0
data = stub.ReadScalars(pb.ReadScalarsRequest(experiment_id="", plugin_filter=pb.PluginFilter(plugin_name="scalars"),
                                              downsample=pb.Downsample(num_points=10**9)))
points = sum(len(t.data.step) for r in data.runs for t in r.tags)
# the server's own peak RSS (ru_maxrss of a child would include this Python's RSS at spawn time)
with open(f"/proc/{server.pid}/status") as fh:
    peak_kb = next(int(line.split()[1]) for line in fh if line.startswith("VmHWM:"))
server.stdin.close()
server.wait()
print(points, loaded, peak_kb)
"""


@dataclass
class Result:
    tool: str
    seconds: float | None
    points: int | None
    rss_mb: float | None
    note: str = ""
    stdout: str = ""


# Linux keeps a process's peak RSS across execve, so a tool started straight from this process
# would report at least this process's RSS (tens of MB after a few trees: above the small tree's
# real figures). Each tool is forked afresh by a small launcher that reports its time and peak.
LAUNCH = """
import os, sys, time
t0 = time.perf_counter()
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[2], sys.argv[2:])
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as fh:
    fh.write(f"{time.perf_counter() - t0} {usage.ru_maxrss} {os.waitstatus_to_exitcode(status)}")
"""


def measure(tool: str, argv: list[str], timeout: float, env: dict | None = None, cwd: str | None = None) -> Result:
    """Run argv in a fresh process (`LAUNCH`); wall time, its peak RSS and the point count it prints.

    Tools run in `cwd` (the tree's folder): from a checkout's root, ``python -m curvelint`` would
    import the checkout's sources (uncompiled in a fresh clone with PYTHONDONTWRITEBYTECODE: +1.7 MB
    and ~0.1 s) and read its pyproject.toml, instead of the installed package."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            tempfile.NamedTemporaryFile("r", suffix=".stat") as stat:
        proc = subprocess.Popen([PY, "-c", LAUNCH, stat.name, *argv], stdout=out, stderr=err, env=env, cwd=cwd,
                                start_new_session=True)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            return Result(tool, None, None, None, f"timed out after {timeout:.0f}s")
        seconds, rss_kb, returncode = stat.read().split()
        out.seek(0)
        err.seek(0)
        text, errtext = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    seconds, rss, returncode = float(seconds), int(rss_kb) / 1024, int(returncode)
    if returncode not in (0, 1, 2) or (not text.strip() and tool != "curvelint CLI"):
        return Result(tool, None, None, rss, f"failed (exit {returncode}): {errtext.strip()[-200:]}")
    try:
        fields = text.split()
        return Result(tool, seconds, int(fields[0]), rss, stdout=text)
    except (ValueError, IndexError):
        return Result(tool, seconds, None, rss, stdout=text)


def warm_page_cache(root: Path) -> None:
    """Read every file once so that each tool is timed on cached files, not on the disk."""
    for path in sorted(root.rglob("*")):
        if path.is_file():
            with path.open("rb") as fh:
                while fh.read(1 << 24):
                    pass


def run_tools(tree: Tree, root: Path, tools: list[str], timeout: float) -> list[Result]:
    logs = str(root / "logs")
    run = functools.partial(measure, timeout=timeout, cwd=str(root))
    results = []
    for tool in tools:
        warm_page_cache(root)
        if tool == "reader":
            results.append(run("curvelint reader", [PY, "-c", READER, logs]))
        elif tool == "cli":
            r = run("curvelint CLI", [PY, "-m", "curvelint", logs, "--format", "json"])
            r.points = r.points if r.points and r.points > 1000 else tree.total if r.seconds else None
            results.append(r)
        elif tool == "ea":
            results.append(run("EventAccumulator", [PY, "-c", EVENT_ACCUMULATOR, logs]))
        elif tool == "tbparse":
            if subprocess.run([PY, "-c", "import tbparse"], capture_output=True).returncode:
                results.append(Result("tbparse", None, None, None, "not installed (pip install tbparse)"))
            else:
                results.append(run("tbparse", [PY, "-c", TBPARSE, logs]))
        elif tool == "rust":
            results.append(_rust(tree, logs, timeout))
        elif tool == "memory":
            results.extend(_lint_rss(logs, run))
        elif tool == "parquet":
            results.append(run("pyarrow Parquet", [PY, "-c", PARQUET, str(root / "points.parquet")]))
    return results


def _lint_rss(logs: str, run: Callable[..., Result]) -> list[Result]:
    """`engine.lint` with 1 and 2 jobs: peak RSS of the main process and of the largest worker."""
    out = []
    for jobs in (1, 2):
        r = run(f"lint --jobs {jobs}", [PY, "-c", LINT_RSS, logs, str(jobs)])
        fields = r.stdout.split()
        if r.seconds is not None and len(fields) == 4:
            r.note = f"peak RSS: main {fields[1]} MB" + (f", largest worker {fields[2]} MB (each: {fields[3]} MB)"
                                                         if jobs > 1 else "")
        out.append(r)
    return out


def _rust(tree: Tree, logs: str, timeout: float) -> Result:
    try:
        import tensorboard_data_server  # noqa: F401
    except ImportError:
        return Result("Rust data server", None, None, None, "tensorboard-data-server not installed")
    argv = [PY, "-c", RUST, logs, str(tree.runs), str(tree.tags), str(tree.points - 1)]
    with tempfile.TemporaryFile() as out:
        try:
            proc = subprocess.run(argv, stdout=out, stderr=subprocess.PIPE, timeout=timeout)
        except subprocess.TimeoutExpired:
            return Result("Rust data server", None, None, None, f"timed out after {timeout:.0f}s")
        out.seek(0)
        text = out.read().decode()
    try:
        points, seconds, rss = text.split()
    except ValueError:
        return Result("Rust data server", None, None, None, "could not drive it: " + proc.stderr.decode()[-200:])
    return Result("Rust data server", float(seconds), int(points), int(rss) / 1024,
                  "time to load (gRPC reports every tag complete); RSS of the server")


def table(tree: Tree, results: list[Result]) -> str:
    ref = next((r.seconds for r in results if r.tool == "curvelint CLI" and r.seconds), None)
    lines = [tree.describe(), f"  {'tool':<20} {'wall s':>8} {'points':>11} {'Mpoints/s':>10} {'peak RSS MB':>12} "
             f"{'x CLI time':>10}  note"]
    for r in results:
        if r.seconds is None:
            lines.append(f"  {r.tool:<20} {'-':>8} {'-':>11} {'-':>10} {'-':>12} {'-':>10}  {r.note}")
            continue
        rate = f"{(r.points or 0) / r.seconds / 1e6:.2f}" if r.points else "-"
        ratio = f"{r.seconds / ref:.1f}" if ref else "-"
        rss = f"{r.rss_mb:.1f}" if r.rss_mb is not None else "-"
        lines.append(f"  {r.tool:<20} {r.seconds:>8.2f} {r.points or '-':>11} {rate:>10} {rss:>12} {ratio:>10}  {r.note}")
    return "\n".join(lines)


def compile_curvelint() -> None:
    """Byte-compile curvelint and its rule pack, as `pip install` does for every package timed here:
    from a source checkout with PYTHONDONTWRITEBYTECODE set, each run would recompile them (~0.1-0.2 s)."""
    import compileall

    for package in ("curvelint", "curvelint_rules"):
        spec = importlib.util.find_spec(package)
        if spec is not None and spec.origin:
            compileall.compile_dir(os.path.dirname(spec.origin), quiet=1)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=textwrap.dedent(__doc__.split("\n\n", 1)[1]))
    ap.add_argument("--runs", type=int, default=2, help="runs in the large/tf2 trees (issue: 20)")
    ap.add_argument("--tags", type=int, default=10, help="scalar tags per run in the large/tf2 trees")
    ap.add_argument("--points", type=int, default=100_000, help="points per tag in the large/tf2 trees")
    ap.add_argument("--small-runs", type=int, default=200)
    ap.add_argument("--small-tags", type=int, default=8)
    ap.add_argument("--small-points", type=int, default=200)
    ap.add_argument("--trees", default="large,tf2,small", help="comma-separated: large, tf2, small")
    ap.add_argument("--tools", default="reader,cli,ea,tbparse,rust,parquet",
                    help="comma-separated subset; also: memory (engine.lint with 1 and 2 jobs, per-process peaks)")
    ap.add_argument("--out", type=Path, default=HERE / "out", help="where trees are generated (cached)")
    ap.add_argument("--timeout", type=float, default=900, help="seconds per tool run")
    ap.add_argument("--generate", help=argparse.SUPPRESS)  # internal: generate one tree (JSON spec) and exit
    args = ap.parse_args(argv)
    args.out = args.out.resolve()  # tools run in the tree's folder (`measure`)
    trees = {
        "large": Tree("large", args.runs, args.tags, args.points, "simple"),
        "tf2": Tree("tf2", args.runs, args.tags, args.points, "tensor"),
        "small": Tree("small", args.small_runs, args.small_tags, args.small_points, "simple"),
    }
    if args.generate:
        tree = Tree(**json.loads(args.generate))
        generate(tree, args.out / tree.name)
        return 0
    tools = [t.strip() for t in args.tools.split(",") if t.strip()]
    compile_curvelint()
    for name in [t.strip() for t in args.trees.split(",") if t.strip()]:
        tree = trees[name]
        root = args.out / name
        # generate in a child: this process stays small, so children do not inherit a high RSS mark
        subprocess.run([PY, __file__, "--out", str(args.out), "--generate", json.dumps(vars(tree))], check=True)
        print(table(tree, run_tools(tree, root, tools, args.timeout)), flush=True)
        print(flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
