"""Crafted hostile files (tests/hostile/files/, README.md says what each attacks) and the ones a checkout cannot
hold (FIFOs, links to devices, sparse files of gigabytes, names with control characters or bytes that are not
UTF-8), linted end to end through the installed CLI in a subprocess under a time limit and an address-space
limit (resource.setrlimit in a preexec_fn), beside a good run that must still be reported as healthy."""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from conftest import FIXTURES, curvelint_command

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not hasattr(os, "mkfifo") or not os.path.exists("/dev/zero"),
                                                  reason="needs FIFOs and /dev/zero (POSIX)")]

HERE = Path(__file__).resolve().parent
FILES = HERE / "files"
SECONDS = 240  # for the whole tree: several reads of 1 GiB and a Parquet table of 20 million rows
MEMORY = 3 << 30  # address space of the CLI process (and of each worker it starts)
GOOD = "good/healthy_tensorboard"
LOG_NAMES = {"tb": "events.out.tfevents.1700000000.host.0", "keras": "history.json", "hf": "trainer_state.json",
             "csv": "metrics.csv", "parquet": "metrics.parquet", "onnx": "model.onnx", "jsonl": "metrics.jsonl",
             "log": "training.log"}
NAMES = ["run\x1b[2J\x1b]0;pwned\x07\u202eevil\u2066\nx", os.fsdecode(b"run\xff\xfe")]


def _cap() -> None:  # pragma: no cover - runs in the child
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))


def lint(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*curvelint_command(), "lint", "--no-color", *map(str, args)], capture_output=True,
                          timeout=SECONDS, preexec_fn=_cap, cwd=cwd, check=False)


def _mlflow(folder: Path) -> Path:
    (folder / "metrics").mkdir(parents=True)
    (folder / "meta.yaml").write_text("status: 3\n")
    (folder / "metrics" / "acc").write_text("".join(f"{1000 + i} {0.5 + i / 100} {i}\n" for i in range(8)))
    return folder / "metrics" / "loss"


def runtime_cases(root: Path, heavy: bool = True) -> dict[str, Path]:
    """What cannot be committed: FIFOs and links to devices named like every log, sparse files of 3 GiB named
    like every log (heavy), a 3 MB console-log line of progress-bar redraws, file names that drive a terminal."""
    made: dict[str, Path] = {}
    for kind, name in LOG_NAMES.items():
        for attack in ("fifo", "devzero", "urandom") + (("sparse",) if heavy else ()):
            path = root / f"{attack}-{kind}" / name
            path.parent.mkdir(parents=True)
            if attack == "fifo":
                os.mkfifo(path)
            elif attack == "sparse":
                with open(path, "wb") as fh:
                    fh.truncate(3 << 30)
            else:
                os.symlink("/dev/zero" if attack == "devzero" else "/dev/urandom", path)
            made[f"{attack}-{kind}"] = path
    made["fifo-mlflow"] = _mlflow(root / "fifo-mlflow" / "mlruns" / "0" / "r1")
    os.mkfifo(made["fifo-mlflow"])
    wandb = root / "fifo-wandb" / "wandb" / "run-20250101_000000-abc" / "files"
    wandb.mkdir(parents=True)
    os.mkfifo(wandb / "wandb-history.jsonl")
    made["fifo-wandb"] = wandb / "wandb-history.jsonl"
    line = root / "long-line" / "train.log"
    line.parent.mkdir()
    bar = "".join(f"\r{k}/60000 [{'=' * 20}] - loss: {1 / (1 + k / 1000):.4f}" for k in range(1, 60_000))
    line.write_text("Epoch 1/2\n" + bar + "\r60000/60000 - 30s - loss: 0.45 - val_loss: 0.52\nEpoch 2/2\n"
                    "60000/60000 - 30s - loss: 0.41 - val_loss: 0.47\n")
    made["long-line"] = line
    for k, name in enumerate(NAMES):
        try:
            folder = root / f"name-{k}" / name
            folder.mkdir(parents=True)
        except (OSError, UnicodeEncodeError):
            continue
        (folder / "history.json").write_text('{"loss": [1.0, 1.0, 1.0, 1.0, 1.0, 1.0]}')
        made[f"name-{k}"] = folder
    return made


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> tuple[Path, dict[str, Path]]:
    root = tmp_path_factory.mktemp("hostile")
    shutil.copytree(FILES, root, dirs_exist_ok=True)
    shutil.copytree(FIXTURES / "demo" / "healthy_tensorboard", root / GOOD)
    return root, runtime_cases(root)


def _by_case(doc: dict, root: Path) -> tuple[dict[str, list[dict]], dict[str, list[dict]]]:
    """Runs and findings grouped by the case folder they are in (the first path part below `root`)."""
    def case(path: str) -> str:
        rel = os.path.relpath(path, root).split(os.sep)
        return rel[0] if rel[0] != "good" else GOOD

    runs: dict[str, list[dict]] = {}
    findings: dict[str, list[dict]] = {}
    for r in doc["runs"]:
        runs.setdefault(case(r["path"]), []).append(r)
    for f in doc["findings"]:
        findings.setdefault(case(f["path"]), []).append(f)
    return runs, findings


def _messages(findings: dict[str, list[dict]], case: str, rule: str) -> str:
    return "\n".join(f["message"] for f in findings.get(case, []) if f["rule"] == rule)


def test_the_whole_hostile_tree_through_the_cli(tree) -> None:
    root, made = tree
    before = {p: (p.lstat().st_size, p.lstat().st_mtime_ns) for p in root.rglob("*")}
    proc = lint("--format", "json", root)
    err = proc.stderr.decode("utf-8", "replace")
    assert proc.returncode == 1, err
    assert "Traceback" not in err and "Warning" not in err, err
    doc = json.loads(proc.stdout.decode("utf-8"))
    runs, findings = _by_case(doc, root)
    # the good run is still read in full, and judged healthy
    [good] = runs[GOOD]
    assert good["points"] > 100
    assert not [f for f in findings.get(GOOD, []) if f["severity"] != "info"], findings.get(GOOD)
    # each crafted file costs only itself
    assert sum(r["points"] for r in runs["tb-forged-length"]) == 11
    assert "claims 4611686018427387904 bytes, past the end" in _messages(findings, "tb-forged-length", "CL001")
    assert sum(r["points"] for r in runs["tb-histogram-bomb"]) == 12
    assert "nested too deeply" in _messages(findings, "keras-deep-nesting", "CL001")
    assert "a number of 5000 digits" in _messages(findings, "keras-huge-number", "CL001")
    assert sum(r["points"] for r in runs["keras-not-numbers"]) == 6 + 8
    assert sum(r["points"] for r in runs["csv-stray-quote"]) == 2 * 11
    assert sum(r["points"] for r in runs["csv-bom-crlf-nul"]) >= 11
    assert "data-csv" not in runs and "data-csv" not in findings  # not a training run
    assert "over the depth limit (32)" in _messages(findings, "lightning-deep-hparams", "CL002")
    assert sum(r["points"] for r in runs["mlflow-absurd"]) == 10
    assert "broken record header" in _messages(findings, "wandb-broken-block", "CL001")
    assert 0 < sum(r["points"] for r in runs["wandb-broken-block"]) < 300
    assert sum(r["points"] for r in runs["jsonl-hostile"]) >= 9
    assert sum(r["points"] for r in runs["text-log-redraw"]) == 12
    assert "over the records limit (20,000,000)" in _messages(findings, "parquet-bomb", "CL002")
    assert "not numeric" in _messages(findings, "parquet-odd-types", "CL001")
    assert runs["onnx-odd"] and "/etc/passwd" not in _messages(findings, "onnx-odd", "CL001")
    # what a checkout cannot hold
    for kind in LOG_NAMES:
        for attack, words in (("fifo", "not a regular file (a FIFO)"), ("devzero", "(a character device)"),
                              ("urandom", "(a character device)")):
            text = _messages(findings, f"{attack}-{kind}", "CL001")
            if kind == "log":  # discovery never sniffs a FIFO or a device named *.log: not a run
                assert f"{attack}-{kind}" not in runs, (attack, kind)
            else:
                assert words in text, (attack, kind, text)
        sparse = _messages(findings, f"sparse-{kind}", "CL001") + _messages(findings, f"sparse-{kind}", "CL002")
        assert kind in ("keras", "jsonl", "log") or "limit" in sparse or "not" in sparse, (kind, sparse)
    assert "not a regular file (a FIFO)" in _messages(findings, "fifo-mlflow", "CL001")
    assert sum(r["points"] for r in runs["fifo-mlflow"]) == 8
    assert "not a regular file (a FIFO)" in _messages(findings, "fifo-wandb", "CL001")
    assert "over the line-bytes limit" in _messages(findings, "long-line", "CL002")
    assert sum(r["points"] for r in runs["long-line"]) >= 3
    for k in range(len(NAMES)):
        if f"name-{k}" in made:
            assert [f["rule"] for f in findings[f"name-{k}"]] == ["CL101"]
    after = {p: (p.lstat().st_size, p.lstat().st_mtime_ns) for p in root.rglob("*")}
    assert after == before  # nothing written into the linted tree


@pytest.mark.parametrize("fmt", ["text", "sarif", "junit", "github", "json"])
def test_every_output_format_on_hostile_files(tmp_path: Path, fmt: str) -> None:
    shutil.copytree(FILES, tmp_path / "files", ignore=shutil.ignore_patterns("parquet-bomb"))
    shutil.copytree(FIXTURES / "demo" / "healthy_tensorboard", tmp_path / GOOD)
    runtime_cases(tmp_path, heavy=False)
    (tmp_path / "out").mkdir()
    out = tmp_path / "out" / f"report.{fmt}"
    proc = lint("--format", fmt, "-o", out, tmp_path / "files", tmp_path / "good", *sorted(
        p for p in tmp_path.iterdir() if p.name.startswith(("fifo", "devzero", "name", "long"))))
    err = proc.stderr.decode("utf-8", "replace")
    assert proc.returncode == 1 and "Traceback" not in err, err
    raw = out.read_bytes()
    text = raw.decode("utf-8")  # strict: every report is valid UTF-8
    if fmt in ("json", "sarif"):
        json.loads(text)
        assert b"\\udc" not in raw.lower()
    elif fmt == "junit":
        ET.fromstring(raw)
    if fmt != "json":  # (JSON escapes control characters itself)
        assert not set(text) & {"\x1b", "\x07", "\u202e", "\u2066"}, fmt
    if fmt in ("json", "junit"):  # (the others list findings only, and the good run has none)
        assert "healthy_tensorboard" in text


@pytest.mark.parametrize("content", [
    b"[tool.curvelint]\nselect = \"\xff\xfe\"\n",  # not UTF-8
    b"[tool.curvelint]\nselect = " + b"[" * 5000 + b"]" * 5000 + b"\n",  # nested too deeply
    b"[tool.curvelint.limits]\nlines = 0\n",  # a limit that is not one
    b"[tool.curvelint.limits]\nfile-bytes = \"1 parsec\"\n",
    b"[tool.curvelint.rules.overfitting]\nmin_rise = 1" + b"0" * 400 + b"\n",  # no float
    b"[tool.curvelint.text-logs.patterns]\na = '(?P<x'\n",  # an invalid regex
], ids=["not-utf8", "deep", "zero-lines", "bad-size", "huge-number", "bad-regex"])
def test_hostile_configuration_is_a_one_line_error(tmp_path: Path, content: bytes) -> None:
    shutil.copytree(FIXTURES / "demo" / "healthy_tensorboard", tmp_path / GOOD)
    (tmp_path / "pyproject.toml").write_bytes(content)
    proc = lint(tmp_path / GOOD)
    err = proc.stderr.decode("utf-8", "replace")
    assert proc.returncode == 2, err
    assert err.count("\n") == 1 and err.startswith("curvelint: error: ") and "Traceback" not in err, err
    assert len(err) < 400
