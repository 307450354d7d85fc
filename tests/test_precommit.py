"""The pre-commit hook: its manifest, and a real `pre-commit try-repo` on a temporary git repository.

The try-repo test installs this repository (and its dependencies, from PyPI) into
pre-commit's own virtualenv, so it is marked ``network``: skip it offline with
``-m "not network"``; CI runs it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO
from test_config import healthy_run, nan_run

MANIFEST = REPO / ".pre-commit-hooks.yaml"


def hook() -> dict:
    from pre_commit.clientlib import load_manifest

    hooks = load_manifest(str(MANIFEST))  # validates the manifest as pre-commit does
    return next(h for h in hooks if h["id"] == "curvelint")


def test_manifest_is_valid_and_matches_log_files():
    h = hook()
    assert h["language"] == "python" and h["entry"].split()[0] == "curvelint"
    assert h["require_serial"] is True
    files = re.compile(h["files"])
    for name in ("runs/a/events.out.tfevents.1700000000.host.1.0", "events.out.tfevents.1.v2",
                 "logs/history.json", "out/trainer_state.json", "metrics.parquet", "model.onnx",
                 "lightning_logs/version_0/metrics.csv"):
        assert files.search(name), name
    for name in ("train.py", "README.md", "runs/a/notes.txt", "data.json.bak", "tfevents.txt"):
        assert not files.search(name), name


def test_hook_entry_passes_on_non_log_json(tmp_path):
    """pre-commit passes any matching file; a commit touching only package.json must pass."""
    from test_config import cli

    (tmp_path / "package.json").write_text('{"name": "web", "version": "1.0.0"}')
    out = cli(*hook()["entry"].split()[1:], str(tmp_path / "package.json"))
    assert out.exit_code == 0, out.output
    assert cli(str(tmp_path / "package.json")).exit_code == 2  # without the flag: nothing found is an error


def test_named_event_files_map_to_their_runs_once(tmp_path):
    """pre-commit passes file names: every event file of a run, or just the one that changed."""
    from curvelint.discovery import discover
    from tbwrite import EventLog

    run = healthy_run(tmp_path / "runs" / "a")
    with EventLog(str(tmp_path / "restart"), name="events.out.tfevents.1700000100.host.2") as log:
        log.scalar("loss", 30, 0.1)  # a resumed run writes a second event file into the same folder
    (tmp_path / "restart" / "events.out.tfevents.1700000100.host.2").rename(run / "events.out.tfevents.1700000100.host.2")
    keras = healthy_run(tmp_path / "runs" / "k" / "train")
    healthy_run(tmp_path / "runs" / "k" / "validation")
    files = sorted(str(p) for p in run.iterdir())
    sources, errors = discover([*files, str(next(keras.iterdir()))])
    assert not errors
    assert [(Path(s.path).name, len(s.files), len(set(s.files))) for s in sources] == [("a", 2, 2), ("k", 2, 2)]


def _git(repo: Path, *args: str) -> None:
    env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.com",
               GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@example.com")
    subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True)


def _try_repo(repo: Path, home: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PRE_COMMIT_HOME=str(home), PRE_COMMIT_COLOR="never")
    return subprocess.run([sys.executable, "-m", "pre_commit", "try-repo", str(REPO), "curvelint", "--all-files",
                           "--verbose"], cwd=repo, env=env, capture_output=True, text=True, timeout=900)


@pytest.mark.network
def test_pre_commit_try_repo(tmp_path):
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("needs git and this repository's git checkout")
    repo = tmp_path / "project"
    repo.mkdir()
    _git(repo, "init", "-q", ".")
    healthy_run(repo / "runs" / "good")
    (repo / "package.json").write_text('{"name": "web"}')  # matched by the hook, but not a log
    (repo / "train.py").write_text("print('hi')\n")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "healthy logs")

    ok = _try_repo(repo, tmp_path / "pc-home")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert re.search(r"curvelint \(training logs\)\.+Passed", ok.stdout)

    nan_run(repo / "runs" / "broken")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "a broken run")

    bad = _try_repo(repo, tmp_path / "pc-home")
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert re.search(r"curvelint \(training logs\)\.+Failed", bad.stdout)
    assert "runs/broken" in bad.stdout and "CL100 non-finite-values" in bad.stdout
    assert "2 runs linted" in bad.stdout  # the event files were mapped to their two runs
