"""What a ruff user reaches for: --output-format, the concise format, --color and NO_COLOR /
FORCE_COLOR, and one declared list of formats that the CLI, the configuration and the reporters
share."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from curvelint import config, formats, reporters

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "fixtures" / "demo"


def cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    return subprocess.run([sys.executable, "-m", "curvelint", *args], capture_output=True, text=True,
                          env={**base, **(env or {})}, timeout=120, cwd=ROOT)


def test_the_formats_are_declared_once():
    import importlib

    assert config.FORMATS == tuple(formats.FORMATS)
    assert reporters.FORMATS is formats.FORMATS
    for name, module in formats.FORMATS.items():
        assert hasattr(importlib.import_module(module), "render"), name
    help_text = cli("lint", "--help").stdout
    assert all(name in help_text for name in formats.FORMATS)


def test_concise_is_one_line_per_finding():
    out = cli("lint", "--output-format", "concise", str(DEMO))
    lines = out.stdout.splitlines()
    assert out.returncode == 1 and lines[-1].startswith("5 runs linted")
    findings = lines[:-1]
    assert findings and all(" CL" in line and "[" in line for line in findings)
    assert any(line.startswith(f"{DEMO}/nan_loss:train/loss@83: CL100 [error] ") for line in findings)


@pytest.mark.parametrize("args, env, coloured", [
    (("--color", "always"), {}, True),
    (("--color", "never"), {"FORCE_COLOR": "1"}, False),
    ((), {"FORCE_COLOR": "1"}, True),  # a pipe, forced
    ((), {}, False),  # a pipe
    (("--color", "always", "--no-color"), {}, False),
])
def test_colour_is_chosen_as_other_tools_do(args, env, coloured):
    out = cli("lint", "--no-plot", *args, str(DEMO), env=env)
    assert ("\x1b[" in out.stdout) == coloured, out.stdout[:200]


def test_no_color_wins_on_a_terminal():
    import pty

    def on_terminal(env: dict) -> bytes:
        pid, fd = pty.fork()
        if pid == 0:
            os.execve(sys.executable, [sys.executable, "-m", "curvelint", "lint", "--no-plot", str(DEMO)],
                      {k: v for k, v in {**os.environ, **env}.items() if k != "FORCE_COLOR"})
        chunks = []
        while True:
            try:
                data = os.read(fd, 65536)
            except OSError:
                break
            if not data:
                break
            chunks.append(data)
        os.waitpid(pid, 0)
        return b"".join(chunks)

    assert b"\x1b[" in on_terminal({})
    assert b"\x1b[" not in on_terminal({"NO_COLOR": "1"})


def test_top_level_help_shows_the_lint_options():
    out = cli("--help").stdout
    assert "Lint options" in out and "--fail-on" in out and "--output-format" in out and "--reference" in out


def test_statistics_reach_the_json_report():
    import json

    doc = json.loads(cli("lint", "--format", "json", "--statistics", str(DEMO)).stdout)
    assert {"rule": "CL100", "name": "non-finite-values", "count": 2} in doc["statistics"]
    assert "statistics" not in json.loads(cli("lint", "--format", "json", str(DEMO)).stdout)

