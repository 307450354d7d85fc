"""`curvelint -` reads one log from standard input (recognised by its content), and the command line a
newcomer meets: one spelling of paths whatever the argument, a path over a command name, usage errors
that name what was typed."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from conftest import FIXTURES, curvelint_command
from curvelint.stdin import log_name
from test_config import CL10X_ONLY, cli, nan_run

DEMO_EVENTS = next((FIXTURES / "demo" / "nan_loss").glob("events.out.tfevents.*"))
TEXT_LOG = FIXTURES / "textlogs" / "nanogpt.log"
JSONL = FIXTURES / "textlogs" / "metrics.jsonl"


def run_cli(*args: str, stdin: bytes | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*curvelint_command(), *args, "--isolated", "--jobs", "1"], input=stdin,
                          capture_output=True, cwd=cwd, timeout=120)


@pytest.mark.parametrize("head, name", [
    (DEMO_EVENTS.read_bytes()[:4096], "events.out.tfevents.stdin"),
    (b"PAR1\x15\x04", "stdin.parquet"),
    (b'{"loss": [1.0, 0.5], "val_loss": [1.1, 0.6]}', "history.json"),
    (b'{\n  "log_history": [\n    {"loss": 1.0, "step": 1}\n  ]\n}', "trainer_state.json"),
    (b'{"step": 1, "loss": 1.0}\n{"step": 2, "loss": 0.5}\n', "stdin.jsonl"),
    (b"epoch,loss,val_loss\n0,1.0,1.1\n1,0.5,0.6\n", "stdin.csv"),
    (b"step 10: train loss 4.2, val loss 4.3\nstep 20: train loss 3.9, val loss 4.0\n", "stdin.log"),
    (b"\x00\x01\x02 not a known binary", "stdin.log"),
])
def test_the_format_is_recognised_by_content(head, name):
    assert log_name(head) == name


@pytest.mark.parametrize("path", [DEMO_EVENTS, TEXT_LOG, JSONL], ids=lambda p: p.name)
def test_stdin_lints_like_the_file(path):
    from_file = json.loads(run_cli("--format", "json", str(path)).stdout)
    piped = run_cli("--format", "json", "-", stdin=path.read_bytes())
    assert piped.returncode in (0, 1), piped.stderr
    doc = json.loads(piped.stdout)
    assert [r["path"] for r in doc["runs"]] == ["-"]
    assert [r["format"] for r in doc["runs"]] == [r["format"] for r in from_file["runs"]]
    strip = lambda fs: [(f["rule"], f["metric"], f["step"], f["message"]) for f in fs]  # noqa: E731
    assert strip(doc["findings"]) == strip(from_file["findings"])
    assert all(f["path"] == "-" and f["run"] == "-" for f in doc["findings"])


def test_stdin_beside_paths_and_in_ci_formats(tmp_path):
    nan_run(tmp_path / "runs" / "bad")
    out = run_cli("--format", "gitlab", "runs", "-", stdin=DEMO_EVENTS.read_bytes(), cwd=tmp_path)
    paths = {i["location"]["path"] for i in json.loads(out.stdout)}
    assert "-" in paths and any(p.startswith("runs/bad/") for p in paths)


def test_stdin_leaves_nothing_behind_and_writes_nowhere_else(tmp_path):
    before = set(os.listdir(os.environ.get("TMPDIR", "/tmp")))
    run_cli("-", stdin=DEMO_EVENTS.read_bytes(), cwd=tmp_path)
    after = set(os.listdir(os.environ.get("TMPDIR", "/tmp")))
    assert not [n for n in after - before if n.startswith("curvelint-stdin-")]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("args, stdin, message", [
    (["-"], b"", "-: nothing on standard input"),
    (["-", "-"], b"x", "-: named twice"),
])
def test_stdin_usage_errors(args, stdin, message):
    out = run_cli(*args, stdin=stdin)
    assert out.returncode == 2 and message in out.stderr.decode()
    assert "Traceback" not in out.stderr.decode()


def test_one_spelling_of_paths_whatever_the_argument(tmp_path):
    nan_run(tmp_path / "runs" / "bad")
    outs = {cli(s, "--format", "json", *CL10X_ONLY, cwd=tmp_path).stdout for s in ("runs", "./runs", "runs/", "runs//")}
    assert len(outs) == 1 and '"path": "runs/bad"' in outs.pop()
    inside = {cli(*s, "--format", "json", *CL10X_ONLY, cwd=tmp_path / "runs").stdout for s in ((), (".",), ("./",))}
    assert len(inside) == 1 and '"path": "bad"' in inside.pop()  # not "./bad"


def test_a_path_spelt_as_a_path_beats_a_command_name(tmp_path):
    nan_run(tmp_path / "rules" / "bad")
    for spelling in ("rules/", "./rules"):
        out = cli(spelling, "--format", "json", *CL10X_ONLY, cwd=tmp_path)
        assert out.exit_code == 1 and '"path": "rules/bad"' in out.stdout
    listing = subprocess.run([*curvelint_command(), "rules"], capture_output=True, cwd=tmp_path, timeout=60)
    # the bare name is the command, and says how to lint the folder
    assert listing.returncode == 0 and b"CL100" in listing.stdout
    assert b"curvelint ./rules" in listing.stderr


def test_usage_errors_name_what_was_typed():
    out = run_cli("rulez")
    err = out.stderr.decode()
    assert out.returncode == 2 and "rulez: no such file or directory" in err and "`curvelint rules`" in err
    assert "'jsn'" in run_cli("--format", "jsn", ".").stderr.decode()
    assert "'CL9999'" in run_cli("--select", "CL9999", str(DEMO_EVENTS)).stderr.decode()
