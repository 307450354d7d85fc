"""End-to-end: the installed `curvelint` command on small runs, exit codes and the JSON shape."""

from __future__ import annotations

import json
import math
import subprocess

import pytest

from conftest import FIXTURES, curvelint_command


def run_cli(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([*curvelint_command(), *args], capture_output=True, text=True, cwd=cwd, timeout=120)


def write_history(path, **series) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as fh:
        json.dump(series, fh)  # exactly what json.dump(history.history) writes


def healthy(n: int = 30) -> dict:
    loss = [2.0 * math.exp(-i / 6) + 0.1 for i in range(n)]
    return {"loss": loss, "val_loss": [v * 1.1 + 0.02 for v in loss]}


def test_version():
    out = run_cli("--version")
    assert out.returncode == 0 and "curvelint" in out.stdout


def test_rules_and_rule_docs():
    out = run_cli("rules")
    assert out.returncode == 0
    for code in ("CL001", "CL002", "CL003", "CL100", "CL101"):
        assert code in out.stdout
    doc = run_cli("rule", "non-finite-values")
    assert doc.returncode == 0 and "clip_grad_norm_" in doc.stdout
    assert run_cli("rule", "CL100").stdout == doc.stdout
    missing = run_cli("rule", "no-such-rule")
    assert missing.returncode == 2 and "no rule" in missing.stderr
    slip = run_cli("rule", "overfiting")
    assert slip.returncode == 2 and "no rule 'overfiting' (did you mean 'overfitting'?)" in slip.stderr


def test_no_logs_found_is_exit_2(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    out = run_cli(str(tmp_path))
    assert out.returncode == 2
    assert "no training logs found" in out.stderr


def test_missing_path_is_reported(tmp_path):
    out = run_cli(str(tmp_path / "nope"))
    assert out.returncode == 2
    assert out.stderr == f"curvelint: error: {tmp_path / 'nope'}: no such file or directory\n"  # one line, no
    (tmp_path / "empty").mkdir()  # "no training logs found under" it: that is said of the paths that exist only
    out = run_cli(str(tmp_path / "nope"), str(tmp_path / "empty"))
    assert out.returncode == 2 and out.stderr.splitlines()[1].startswith(
        f"curvelint: error: no training logs found under {tmp_path / 'empty'} (looked for")


def test_nan_loss_is_an_error_and_json_shape(tmp_path):
    h = healthy()
    h["loss"][20:] = [float("nan")] * 10
    write_history(tmp_path / "nan_run" / "history.json", **h)
    out = run_cli(str(tmp_path), "--format", "json")
    assert out.returncode == 1, out.stderr
    doc = json.loads(out.stdout)
    assert set(doc) == {"version", "tool", "runs", "findings"}
    assert doc["version"] == 1 and doc["tool"]["name"] == "curvelint"
    assert set(doc["runs"][0]) == {"path", "format", "series", "points"}
    assert doc["runs"][0]["format"] == "keras-history"
    nan = [f for f in doc["findings"] if f["rule"] == "CL100"]
    assert nan and nan[0]["metric"] == "loss" and nan[0]["step"] == 20
    assert set(nan[0]) == {"rule", "name", "severity", "path", "run", "metric", "step", "message", "evidence", "hint"}
    assert nan[0]["evidence"]["last_finite_step"] == 19


def test_healthy_run_exits_0(tmp_path):
    write_history(tmp_path / "ok" / "history.json", **healthy())
    out = run_cli(str(tmp_path), "--no-color")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "1 run linted: 0 errors, 0 warnings" in out.stdout


def test_constant_val_loss(tmp_path):
    h = healthy()
    h["val_loss"] = [0.7] * len(h["loss"])
    write_history(tmp_path / "frozen.json", **h)
    out = run_cli(str(tmp_path), "--format", "json")
    findings = json.loads(out.stdout)["findings"]
    assert [f["rule"] for f in findings if f["metric"] == "val_loss"] == ["CL101"]
    assert out.returncode == 1


def test_fail_on_and_exit_zero(tmp_path):
    write_history(tmp_path / "r.json", loss=[2.0, 1.2, 0.8, 0.5, 0.3, 0.2, 0.12, 0.08, 0.05, 0.03],
                  val_loss=[1.9, 1.3, 1.0, 1.1, 1.3, 1.5, 1.8, 2.1, 2.4, 2.8])  # CL110 overfitting: a warning
    assert run_cli(str(tmp_path)).returncode == 0
    assert run_cli(str(tmp_path), "--fail-on", "warning").returncode == 1
    assert run_cli(str(tmp_path), "--fail-on", "warning", "--exit-zero").returncode == 0


def test_one_bad_file_does_not_stop_the_others(tmp_path):
    write_history(tmp_path / "good" / "history.json", **healthy())
    bad = tmp_path / "bad" / "history.json"
    bad.parent.mkdir()
    bad.write_text('{"loss": [1.0, 0.9,')
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    out = run_cli(str(tmp_path), "--format", "json")
    doc = json.loads(out.stdout)
    assert len(doc["runs"]) == 2
    assert any(f["rule"] == "CL001" and "bad" in f["path"] for f in doc["findings"])
    assert "Traceback" not in out.stderr
    after = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    assert before == after  # curvelint never writes into the logs it reads


def test_jobs_give_the_same_output(tmp_path):
    for i in range(6):
        h = healthy()
        if i % 2:
            h["val_loss"] = [0.5] * len(h["loss"])
        write_history(tmp_path / f"run{i}" / "history.json", **h)
    one = json.loads(run_cli(str(tmp_path), "--format", "json", "--jobs", "1").stdout)
    two = json.loads(run_cli(str(tmp_path), "--format", "json", "--jobs", "2").stdout)
    assert one == two


def test_python_dash_m(tmp_path):
    import sys

    out = subprocess.run([sys.executable, "-m", "curvelint", "--version"], capture_output=True, text=True)
    assert out.returncode == 0


@pytest.mark.skipif(not (FIXTURES / "demo").is_dir(), reason="demo fixtures not generated")
def test_demo_prints_findings_and_exits_1():
    out = run_cli(str(FIXTURES / "demo"), "--no-color")
    assert out.returncode == 1, out.stdout + out.stderr
    assert "error" in out.stdout and "runs linted" in out.stdout


def test_rules_and_rule_as_json_for_tools():
    import json

    listed = json.loads(run_cli("rules", "--format", "json").stdout)
    text = run_cli("rules").stdout.splitlines()
    assert [r["code"] for r in listed] == [line.split()[0] for line in text]
    one = json.loads(run_cli("rule", "overfitting", "--output-format", "json").stdout)
    assert one == next(r for r in listed if r["code"] == "CL110")
    assert set(one) == {"code", "name", "severity", "stability", "since", "aliases", "summary", "hint", "options",
                        "defers_to", "doc"}
    assert one["options"]["min_rise"]["default"] == 0.05 and "EarlyStopping" in one["doc"]
    assert run_cli("rule", "CL110").stdout.startswith("CL110 overfitting (warning)")  # text stays the default
