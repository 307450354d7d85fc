"""Terminal plots under curve findings (curvelint/plot/terminal.py), as a user sees them: through a
pseudo-terminal, absent when piped, forced with --plot / --no-plot, at most 80 columns."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import struct
import subprocess
import sys
import termios

import numpy as np

from conftest import FIXTURES, curvelint_command
from curvelint.model import Finding, Run, Series, Severity
from curvelint.plot.braille import BASE
from curvelint.plot.curves import extract
from curvelint.plot.terminal import draw
from curvelint.roles import assign_roles

DEMO = FIXTURES / "demo"
ANSI = re.compile(r"\x1b\[[0-9;]*m")
BRAILLE = re.compile(f"[{chr(BASE + 1)}-{chr(BASE + 255)}]")


def in_terminal(*args: str, cols: int = 80) -> tuple[int, str]:
    """Run curvelint with a pseudo-terminal as stdin/stdout/stderr; (exit status, what it showed)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, cols, 0, 0))
    proc = subprocess.Popen([*curvelint_command(), *args], stdin=slave, stdout=slave, stderr=slave,
                            close_fds=True, env={**os.environ, "TERM": "xterm-256color"})
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 1 << 16)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    return proc.wait(timeout=120), b"".join(chunks).decode("utf-8").replace("\r\n", "\n")


def piped(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*curvelint_command(), *args], capture_output=True, text=True, timeout=120)


def test_demo_on_a_terminal_shows_a_plot_under_each_curve_finding():
    status, shown = in_terminal(str(DEMO))
    assert status == 1
    assert "\x1b[" in shown  # colours on a terminal
    plain = ANSI.sub("", shown)
    assert len(re.findall(r"^\s+(?:error|warning|info)\s+CL", plain, flags=re.M)) == 3
    assert plain.count("judged steps") == 3  # one plot per finding, each with its window
    assert "judged steps 9..29" in plain and "1 best 0.3754 at step 9" in plain  # CL110: window + best
    assert "non-finite from step 83" in plain and "×" in plain  # CL100: non-finite points as marks
    assert "log scale" in plain  # CL100 works on a blow-up: log axis
    assert BRAILLE.search(plain)
    plot_lines = [line for line in plain.splitlines() if BRAILLE.search(line) or "┤" in line or "└" in line]
    assert plot_lines and max(len(line) for line in plot_lines) <= 80


def test_plots_fit_a_narrow_terminal():
    _, shown = in_terminal(str(DEMO / "overfitting_history.json"), cols=60)
    plain = ANSI.sub("", shown)
    plot_lines = [line for line in plain.splitlines() if "┤" in line or "└" in line]
    assert plot_lines and max(len(line) for line in plot_lines) <= 60


def test_no_plot_when_piped_and_flags_force_either_way():
    out = piped(str(DEMO)).stdout
    assert not BRAILLE.search(out) and "judged steps" not in out and "\x1b[" not in out
    forced = piped(str(DEMO), "--plot").stdout
    assert BRAILLE.search(forced) and "judged steps 9..29" in forced and "\x1b[" not in forced
    _, shown = in_terminal(str(DEMO), "--no-plot")
    assert not BRAILLE.search(shown) and "judged steps" not in shown
    assert not BRAILLE.search(piped(str(DEMO), "--plot", "--format", "json").stdout)


def test_plot_modules_are_not_imported_when_nothing_is_drawn():
    code = ("import sys\nfrom curvelint.cli import main\n"
            "try:\n    main([sys.argv[1], '--format', 'json'])\nexcept SystemExit:\n    pass\n"
            "sys.stderr.write(str(sorted(m for m in sys.modules if m.startswith('curvelint.plot'))))")
    result = subprocess.run([sys.executable, "-c", code, str(DEMO)], capture_output=True, text=True, timeout=120)
    assert result.stderr.endswith("[]"), result.stderr[-500:]


def _run_with_spike() -> Run:
    n = 20_000
    steps = np.arange(n)
    loss = 2.0 * np.exp(-steps / 4000) + 0.1
    loss[12_345] = 400.0  # one step out of 20,000
    lr = np.where(steps < 10_000, 1e-3, 1e-4)
    return Run("r", "runs/r", "tensorboard", {"train/loss": Series("train/loss", steps, loss),
                                               "lr": Series("lr", steps, lr)})


def test_a_one_step_spike_is_drawn_labelled_on_a_log_axis_with_the_lr_below():
    run = _run_with_spike()
    curves = extract(run, assign_roles(list(run.series)), 120)
    f = Finding("CL104", "diverging-loss", Severity.ERROR, run.path, run.name, "train/loss", 12_345, "jumps",
                {"best_step": 100, "last_step": 19_999, "spikes": [{"step": 12_345, "value": 400.0}]})
    lines = draw(f, curves, width=80)
    text = "\n".join(lines)
    assert max(len(line) for line in lines) <= 80
    assert "log scale" in text and "lr (below)" in text
    assert "spike 400 at step 12345" in text and "judged steps 100..19999" in text
    marker_row = next(line for line in lines if "┤" in line and "2" in line.split("┤", 1)[1])
    assert lines.index(marker_row) <= 2  # the spike's marker sits at the top of the plot
    assert "20k" in text or "19999" in text  # the step axis is labelled


def test_names_from_the_log_cannot_drive_the_terminal():
    run = Run("r", "r", "csv", {"\x1b[2Jloss": Series("\x1b[2Jloss", np.arange(50), np.linspace(2, 1, 50))})
    curves = extract(run, assign_roles(list(run.series)), 60)
    f = Finding("CL107", "slow-convergence", Severity.WARNING, "r", "r", "\x1b[2Jloss", 0, "slow",
                {"first_step": 0, "last_step": 49})
    text = "\n".join(draw(f, curves))
    assert "\x1b" not in text and "\\x1b[2Jloss" in text


def test_a_smoothed_best_is_labelled_a_level_as_the_message_says():
    """CL102/CL104 quote the best *level* (a rolling median) at best_step: the plot says "best level"
    with that number, not "best" with the raw point logged at that step; a rule's best_value stays "best"."""
    from curvelint.plot.focus import key_points

    def finding(evidence):
        return Finding(rule="CL102", name="loss-not-decreasing", severity=Severity.ERROR, path="r", run="r",
                       metric="loss", step=0, message="", evidence=evidence)

    level = key_points(finding({"best": 0.0376, "best_step": 1549}))
    assert [(p.step, p.label, p.value) for p in level] == [(0, "loss-not-decreasing", None),
                                                           (1549, "best level", 0.0376)]
    logged = key_points(finding({"best_step": 9, "best_value": 0.3754}))
    assert (9, "best", 0.3754) in [(p.step, p.label, p.value) for p in logged]
