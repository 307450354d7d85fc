"""`curvelint watch` on a TensorBoard run being written by a real writer in another process."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from conftest import curvelint_command

pytestmark = pytest.mark.slow

WRITER = textwrap.dedent("""
    import math, sys, time
    logdir, fault, steps = sys.argv[1], sys.argv[2] == "fault", int(sys.argv[3])
    try:  # PyTorch's SummaryWriter where installed, else TensorBoard's own event writer
        from torch.utils.tensorboard import SummaryWriter
        writer = SummaryWriter(logdir, flush_secs=3600)
        def scalar(tag, value, step):
            writer.add_scalar(tag, value, step)
    except ImportError:
        from tensorboard.compat.proto import event_pb2, summary_pb2
        from tensorboard.summary.writer.event_file_writer import EventFileWriter
        writer = EventFileWriter(logdir, flush_secs=3600)
        def scalar(tag, value, step):
            value = summary_pb2.Summary.Value(tag=tag, simple_value=value)
            writer.add_event(event_pb2.Event(wall_time=time.time(), step=step, summary=summary_pb2.Summary(value=[value])))
    for step in range(steps):
        loss = 2.0 * math.exp(-step / 60) + 0.05 * math.sin(step)
        if fault and step >= 60:
            loss = float("nan")
        scalar("train/loss", loss, step)
        if step % 10 == 9:
            scalar("val/loss", loss * 1.1, step)
            writer.flush()
            print(step, flush=True)
        time.sleep(0.01)
    writer.close()
""")


def _start(tmp_path: Path, kind: str, steps: int):
    logdir = tmp_path / "runs" / kind
    logdir.mkdir(parents=True)
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    writer = subprocess.Popen([sys.executable, str(script), str(logdir), kind, str(steps)],
                              stdout=subprocess.PIPE, text=True)
    assert writer.stdout.readline().strip() == "9"  # the first flush is on disk
    return writer, logdir


def test_watch_exits_1_at_the_first_error_while_the_run_is_written(tmp_path):
    writer, logdir = _start(tmp_path, "fault", 1500)
    try:
        start = time.monotonic()
        out = subprocess.run([*curvelint_command(), "watch", str(tmp_path / "runs"), "--interval", "0.2",
                              "--exit-on", "error", "--timeout", "60", "--no-color"],
                             capture_output=True, text=True, timeout=90)
        took = time.monotonic() - start
        still_writing = writer.poll() is None
    finally:
        writer.kill()
        writer.wait()
    assert out.returncode == 1, out.stdout + out.stderr
    assert "new     error   CL100 non-finite-values" in out.stdout and "train/loss @ step 60" in out.stdout
    assert still_writing, f"watch took {took:.1f} s: the writer had finished"
    assert f"following {logdir}" in out.stderr
    assert [p.name for p in logdir.iterdir()] == [p.name for p in logdir.glob("events.out.tfevents.*")]


def test_watch_leaves_a_healthy_run_alone_and_reads_it_to_the_end(tmp_path):
    writer, logdir = _start(tmp_path, "healthy", 300)
    out = subprocess.run([*curvelint_command(), "watch", str(logdir), "--interval", "0.2", "--exit-on", "error",
                          "--timeout", "8", "--format", "jsonl"], capture_output=True, text=True, timeout=60)
    writer.wait(timeout=30)
    assert out.returncode == 0, out.stdout + out.stderr
    assert '"severity": "error"' not in out.stdout
    assert sorted(p.name for p in logdir.iterdir()) == sorted(p.name for p in logdir.glob("events.out.tfevents.*"))
