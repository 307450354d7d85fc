"""Progress on stderr (runs done/total, rate, ETA) when stderr is a terminal — tested through a
pseudo-terminal — and never in a pipe, in CI, or with --no-progress; a quick lint imports no tqdm."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios

import pytest
from conftest import FIXTURES, REALBENCH_RUNS, curvelint_command

REALBENCH = FIXTURES / "realbench" / "runs"  # REALBENCH_RUNS runs: a few seconds with one process
pytest.importorskip("tqdm", reason="the progress display is tqdm's")


def env(**extra: str) -> dict[str, str]:
    out = {k: v for k, v in os.environ.items() if k not in ("CI", "CURVELINT_PROGRESS_DELAY")}
    return {**out, "CURVELINT_PROGRESS_DELAY": "0", **extra}  # no delay: the lint need not last 2 s here


def lint_on_terminal(*args: str, **extra: str) -> str:
    """What a lint of realbench writes on its stderr when stderr is a terminal (stdout is not one)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))  # 120 columns
    process = subprocess.Popen([*curvelint_command(), str(REALBENCH), "--format", "json", "--jobs", "1", *args],
                               stdout=subprocess.DEVNULL, stderr=slave, env=env(**extra))
    os.close(slave)
    seen = b""
    while True:
        ready, _, _ = select.select([master], [], [], 1.0)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # the terminal closed: the process ended
                break
            if not chunk:
                break
            seen += chunk
        elif process.poll() is not None:
            break
    assert process.wait(120) == 1
    os.close(master)
    return seen.decode("utf-8", "replace")


def test_a_terminal_shows_runs_done_total_rate_and_eta() -> None:
    shown = lint_on_terminal()
    bar = rf"linting: +\d+%\|[^|]*\| (\d+)/{REALBENCH_RUNS} \[[0-9:]+<[0-9:?]+, +[0-9.?]+ ?run/s\]"
    bars = re.findall(bar, shown)
    assert bars, shown[-500:]
    assert len(bars) >= 2 and int(bars[-1]) > int(bars[0])  # it moves


@pytest.mark.parametrize("how", [{"args": ("--no-progress",)}, {"extra": {"CI": "true"}}])
def test_no_progress_with_no_progress_or_in_ci(how: dict) -> None:
    assert "linting" not in lint_on_terminal(*how.get("args", ()), **how.get("extra", {}))


def test_never_in_a_pipe() -> None:
    done = subprocess.run([*curvelint_command(), str(REALBENCH), "--format", "json", "--jobs", "1"], check=False,
                          capture_output=True, text=True, env=env(), timeout=300)
    assert done.returncode == 1 and done.stderr == ""


def test_progress_forces_it_in_a_pipe() -> None:
    done = subprocess.run([*curvelint_command(), str(REALBENCH), "--format", "json", "--jobs", "1", "--progress"],
                          check=False, capture_output=True, text=True, env=env(), timeout=300)
    assert f"/{REALBENCH_RUNS} [" in done.stderr


def test_a_quick_lint_draws_nothing_and_imports_no_tqdm() -> None:
    code = ("import sys, time\nfrom curvelint.progress import Progress\np = Progress(delay=2)\n"
            "for i in range(1, 101):\n    p(i, 100)\np.close()\nprint('tqdm' in sys.modules, p.bar)")
    done = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=60)
    assert done.stdout.split() == ["False", "None"] and done.stderr == ""
