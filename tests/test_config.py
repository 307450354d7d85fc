"""Configuration files, selection, rule options, metric roles, per-path and run-local suppressions, baselines."""

from __future__ import annotations

import inspect
import json
import math
import os
import re
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import FIXTURES
from curvelint.baseline import fingerprint, write_baseline
from curvelint.cli import main
from curvelint.config import Config, ConfigError, load_config
from curvelint.engine import lint, select_rules
from curvelint.globs import path_matches
from curvelint.model import Finding, Report, Severity
from curvelint.registry import load_rules
from curvelint.suppression import apply_baseline, local_suppressions

sys.path.insert(0, str(FIXTURES))
from tbwrite import EventLog  # noqa: E402


# -- small hand-made runs ----------------------------------------------------------------------------

def decay(n: int = 30) -> list[float]:
    return [2.0 * math.exp(-i / 6) + 0.1 for i in range(n)]


def write_run(folder: Path, **series: list[float]) -> Path:
    """A TensorBoard run: one event file with a scalar per step for each series."""
    log = EventLog(str(folder))
    for tag, values in series.items():
        for step, value in enumerate(values):
            log.scalar(tag, step, value)
    log.close()
    return folder


def healthy_run(folder: Path, n: int = 30) -> Path:
    loss = decay(n)
    return write_run(folder, loss=loss, val_loss=[v * 1.1 + 0.02 for v in loss])


def nan_run(folder: Path, n: int = 30) -> Path:
    """CL100 (error) on loss; a constant val_loss gives CL101 (error) too."""
    loss = decay(n)
    loss[20:] = [float("nan")] * (n - 20)
    return write_run(folder, loss=loss, val_loss=[0.7] * n)


CL10X = ("CL100", "CL101")  # what nan_run triggers; end-to-end checks look at these only (more rules may fire)
CL10X_ONLY = ("--select", ",".join(CL10X))


def cli(*args: str, cwd: Path | None = None):
    """The CLI in-process (one worker: no process pool inside pytest); stderr apart from stdout (click < 8.2
    mixes them unless told not to; 8.2 keeps them apart and has no such option)."""
    runner = CliRunner() if "mix_stderr" not in inspect.signature(CliRunner).parameters else \
        CliRunner(mix_stderr=False)
    old = os.getcwd()
    try:
        if cwd:
            os.chdir(cwd)
        lints = args and args[0] not in ("rules", "rule", "--version")
        return runner.invoke(main, [*args, "--jobs", "1"] if lints else list(args))
    finally:
        os.chdir(old)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def codes(report: Report) -> list[str]:
    return sorted(f.rule for f in report.findings)


# -- finding the configuration ------------------------------------------------------------------------

def test_pyproject_table_is_found_walking_up(tmp_path):
    write(tmp_path / "pyproject.toml", """
        [tool.curvelint]
        fail-on = "warning"
        """)
    run = healthy_run(tmp_path / "runs" / "a")
    config = load_config([str(run)])
    assert config.fail_on == "warning"
    assert config.source == str(tmp_path / "pyproject.toml")


def test_nearest_file_wins_and_pyproject_without_table_is_skipped(tmp_path):
    write(tmp_path / "curvelint.toml", 'format = "json"\n')
    write(tmp_path / "runs" / "pyproject.toml", '[project]\nname = "x"\n')  # no [tool.curvelint]
    write(tmp_path / "runs" / "sub" / "curvelint.toml", 'format = "sarif"\n')
    write(tmp_path / "runs" / "sub" / ".curvelint.toml", 'format = "junit"\n')  # hidden name first
    assert load_config([str(tmp_path / "runs")]).format == "json"
    assert load_config([str(tmp_path / "runs" / "sub")]).format == "junit"
    # several paths: the folder holding them all
    assert load_config([str(tmp_path / "runs" / "sub"), str(tmp_path / "runs")]).format == "json"


def test_config_option_overrides_and_isolated_ignores(tmp_path):
    write(tmp_path / "curvelint.toml", 'format = "json"\n')
    other = write(tmp_path / "elsewhere" / "ci.toml", 'format = "github"\n')
    assert load_config([str(tmp_path)], str(other)).format == "github"
    assert load_config([str(tmp_path)], isolated=True) == Config(run_files=False)
    with pytest.raises(ConfigError, match="no such configuration file"):
        load_config([str(tmp_path)], str(tmp_path / "missing.toml"))
    empty = write(tmp_path / "p" / "pyproject.toml", '[project]\nname = "x"\n')
    with pytest.raises(ConfigError, match=r"no \[tool.curvelint\] table"):
        load_config([str(tmp_path)], str(empty))


# -- selection ----------------------------------------------------------------------------------------

def selected(toml: str, tmp_path: Path) -> list[str]:
    write(tmp_path / "curvelint.toml", toml)
    return [s.rule.code for s in select_rules(load_config([str(tmp_path)]))]


def test_select_by_code_prefix_and_name(tmp_path):
    all_codes = [r.code for r in load_rules()]
    assert selected('select = ["CL1"]\n', tmp_path) == [c for c in all_codes if c.startswith("CL1")]
    assert selected('select = ["constant-metric", "CL003"]\n', tmp_path) == ["CL003", "CL101"]
    assert selected('select = ["CL0"]\nignore = ["CL002"]\n', tmp_path) == ["CL001", "CL003", "CL004"]
    assert selected('select = ["CL10"]\nextend-select = ["no-metrics"]\nignore = ["CL100"]\n',
                    tmp_path) == ["CL003"] + [c for c in all_codes if c.startswith("CL10") and c != "CL100"]
    everything = selected('ignore = ["CL101"]\n', tmp_path)
    assert "CL101" not in everything and {"CL001", "CL100"} <= set(everything)


def test_command_line_selection_wins_over_the_file(tmp_path):
    write(tmp_path / "curvelint.toml", 'select = ["CL1"]\nignore = ["CL101"]\n')
    nan_run(tmp_path / "r")

    def rules_of(*args: str) -> set[str]:
        out = cli(str(tmp_path), "--format", "json", *args)
        return {f["rule"] for f in json.loads(out.stdout)["findings"]} & {"CL100", "CL101"}

    assert rules_of() == {"CL100"}
    assert rules_of("--select", "CL101") == {"CL101"}  # --select replaces the file's selection
    assert rules_of("--extend-select", "CL101") == {"CL100", "CL101"}  # and beats the file's ignore
    assert rules_of("--ignore", "non-finite-values") == set()
    assert rules_of("--isolated") == {"CL100", "CL101"}


def test_unknown_selectors_are_errors_naming_file_and_key(tmp_path):
    write(tmp_path / "pyproject.toml", '[tool.curvelint]\nignore = ["CL999"]\n')
    with pytest.raises(ConfigError, match=r"pyproject.toml: tool.curvelint.ignore: unknown rule selector 'CL999'"):
        load_config([str(tmp_path)])
    write(tmp_path / "pyproject.toml", '[tool.curvelint]\nselect = "CL1"\n')
    with pytest.raises(ConfigError, match="tool.curvelint.select: expected a list"):
        load_config([str(tmp_path)])


# -- rule options, severities, other keys ---------------------------------------------------------------

def test_rule_options_are_validated(tmp_path):
    cfg = tmp_path / "curvelint.toml"
    write(cfg, "[rules.constant-metric]\nmin_points = 5\n")
    assert load_config([str(tmp_path)]).rule_options == {"constant-metric": {"min_points": 5}}
    write(cfg, "[rules.CL101]\nmin_points = 7\n")  # by code too, stored by name
    assert load_config([str(tmp_path)]).rule_options == {"constant-metric": {"min_points": 7}}
    write(cfg, "[rules.CL101]\nmin-points = 6\n")  # spelled like every other key
    assert load_config([str(tmp_path)]).rule_options == {"constant-metric": {"min_points": 6}}

    write(cfg, "[rules.overfit]\npatience = 5\n")
    with pytest.raises(ConfigError) as err:
        load_config([str(tmp_path)])
    assert "rules.overfit: unknown rule (did you mean 'overfitting'?); valid rules:" in str(err.value)
    assert "constant-metric" in str(err.value)

    write(cfg, "[rules.constant-metric]\npatience = 5\n")
    with pytest.raises(ConfigError, match=r"rules.constant-metric.patience: unknown option; valid options: min_points"):
        load_config([str(tmp_path)])

    write(cfg, '[rules.constant-metric]\nmin_points = "five"\n')
    with pytest.raises(ConfigError, match=r"min_points: expected an integer \(default 3\), got 'five'"):
        load_config([str(tmp_path)])

    write(cfg, "[rules.no-metrics]\nx = 1\n")
    with pytest.raises(ConfigError, match=r"no-metrics has no options"):
        load_config([str(tmp_path)])


def test_rule_option_reaches_the_rule(tmp_path):
    write_run(tmp_path / "r", loss=decay(20), val_loss=[0.5, 0.5, 0.5, 0.5])  # 4 constant points
    assert "CL101" in codes(lint([str(tmp_path)], load_config([str(tmp_path)])))
    write(tmp_path / "curvelint.toml", "[rules.constant-metric]\nmin_points = 5\n")
    assert "CL101" not in codes(lint([str(tmp_path)], load_config([str(tmp_path)])))


def test_check_type_accepts_ints_for_floats_and_rejects_bools_for_ints():
    from curvelint.config_values import check_type

    assert check_type(2, 0.5, "k") == 2.0 and isinstance(check_type(2, 0.5, "k"), float)
    assert check_type(["relu"], ("tanh",), "k") == ("relu",)
    with pytest.raises(ConfigError, match="expected an integer"):
        check_type(True, 3, "k")
    with pytest.raises(ConfigError, match="true or false"):
        check_type(1, False, "k")


def test_severity_overrides_most_specific_wins(tmp_path):
    write(tmp_path / "curvelint.toml", """
        [severity]
        CL1 = "info"
        non-finite-values = "warning"
        """)
    config = load_config([str(tmp_path)])
    assert config.severity == {r.code: "warning" if r.code == "CL100" else "info"
                               for r in load_rules() if r.code.startswith("CL1")}
    nan_run(tmp_path / "r")
    found = {f.rule: f.severity for f in lint([str(tmp_path)], config).findings if f.rule in ("CL100", "CL101")}
    assert found == {"CL100": Severity.WARNING, "CL101": Severity.INFO}
    write(tmp_path / "curvelint.toml", '[severity]\nCL100 = "fatal"\n')
    with pytest.raises(ConfigError, match="severity.CL100: expected one of error, warning, info"):
        load_config([str(tmp_path)])


def test_fail_on_format_exclude_from_file(tmp_path):
    write(tmp_path / "curvelint.toml", """
        fail-on = "info"
        format = "json"
        exclude = ["skip*"]
        """)
    write_run(tmp_path / "keep", accuracy=[0.1, 0.2, 0.3, 0.4])  # CL003 warning only
    nan_run(tmp_path / "skipped")
    out = cli(str(tmp_path))
    doc = json.loads(out.stdout)
    assert [r["path"] for r in doc["runs"]] == [str(tmp_path / "keep")]
    assert out.exit_code == 1  # a warning fails at fail-on = info
    assert cli(str(tmp_path), "--fail-on", "error").exit_code == 0  # the command line wins


def test_unknown_key_and_bad_toml_are_clean_errors(tmp_path):
    healthy_run(tmp_path / "r")
    write(tmp_path / "pyproject.toml", '[tool.curvelint]\nfail_on = "warning"\nselekt = ["CL1"]\n')
    out = cli(str(tmp_path))
    assert out.exit_code == 2
    assert "tool.curvelint.selekt: unknown key (did you mean 'select'?); valid keys: select," in out.stderr
    assert "Traceback" not in out.stderr + out.stdout
    write(tmp_path / "pyproject.toml", "[tool.curvelint\n")
    out = cli(str(tmp_path))
    assert out.exit_code == 2 and "invalid TOML" in out.stderr and "pyproject.toml" in out.stderr
    write(tmp_path / "pyproject.toml", '[tool.curvelint]\nformat = "xml"\n')
    out = cli(str(tmp_path))
    assert out.exit_code == 2 and "tool.curvelint.format: expected one of text, concise, json, sarif, github, junit" in out.stderr


# -- metric roles -------------------------------------------------------------------------------------

def test_metric_roles_and_monitor(tmp_path):
    write(tmp_path / "curvelint.toml", """
        [metrics]
        train_loss = ["objective", "train/loss"]
        val_loss = "heldout"
        monitor = "val/f1"

        [metrics.directions]
        score = "max"
        """)
    metrics = load_config([str(tmp_path)]).metrics
    assert metrics == {"train_loss": ["objective", "train/loss"], "val_loss": "heldout", "val_metric": "val/f1",
                       "directions": {"score": "max", "val/f1": "max"}}
    from curvelint.roles import assign_roles

    roles = assign_roles(["objective", "heldout", "val/f1", "loss"],
                         {k: v for k, v in metrics.items() if k != "directions"}, metrics["directions"])
    assert (roles.train_loss, roles.val_loss, roles.val_metric) == ("objective", "heldout", "val/f1")


def test_monitor_direction(tmp_path):
    cfg = tmp_path / "curvelint.toml"
    write(cfg, '[metrics]\nmonitor = "val/wer"\n')  # a loss-like name: lower is better
    assert load_config([str(tmp_path)]).metrics["directions"] == {"val/wer": "min"}
    write(cfg, '[metrics]\nmonitor = "val/custom"\nmode = "max"\n')
    assert load_config([str(tmp_path)]).metrics["directions"] == {"val/custom": "max"}
    write(cfg, '[metrics]\nmonitor = "val/custom"\n')
    with pytest.raises(ConfigError, match='metrics.monitor: cannot tell whether higher .* add mode = "max"'):
        load_config([str(tmp_path)])
    write(cfg, '[metrics]\ntrain_los = "loss"\n')
    with pytest.raises(ConfigError, match="metrics.train_los: unknown metric role; valid keys: train_loss, val_loss"):
        load_config([str(tmp_path)])
    write(cfg, '[metrics.directions]\nscore = "up"\n')
    with pytest.raises(ConfigError, match="metrics.directions.score: expected one of min, max"):
        load_config([str(tmp_path)])


# -- per-path ignores -----------------------------------------------------------------------------------

@pytest.mark.parametrize("path, pattern, hit", [
    ("experiments/sweeps/a/b", "experiments/sweeps/**", True),
    ("experiments/sweeps", "experiments/sweeps/**", False),
    ("experiments/sweeps/a", "experiments/sweeps", True),  # a folder covers what is below it
    ("experiments/other/a", "experiments/sweeps/**", False),
    ("experiments/sweeps/a/b", "experiments/*", True),  # the folder experiments/sweeps matches
    ("x/experiments/sweeps/a", "experiments/*", False),  # anchored at the configuration's folder
    ("x/experiments/sweeps/a", "**/sweeps/*", True),
    ("runs/a/metrics.parquet", "*.parquet", True),  # no slash: any path segment
    ("runs/a/metrics.parquet", "runs/*.parquet", False),  # * stays inside one segment
    ("runs/a/metrics.parquet", "runs/**/*.parquet", True),
    ("runs/metrics.parquet", "runs/**/*.parquet", True),  # ** may be no folder at all
    ("runs/seed1", "runs/seed[0-9]", True),
    ("runs/seedX", "runs/seed[!0-9]", True),
    ("./runs/a", "runs/a/", True),
])
def test_path_globs(path, pattern, hit, tmp_path):
    assert path_matches(str(tmp_path / path), pattern, str(tmp_path)) is hit


def test_per_path_ignores_are_relative_to_the_config_folder(tmp_path, monkeypatch):
    write(tmp_path / "proj" / "pyproject.toml", """
        [tool.curvelint.per-path-ignores]
        "experiments/sweeps/**" = ["CL100"]
        """)
    nan_run(tmp_path / "proj" / "experiments" / "sweeps" / "lr1e-1")
    nan_run(tmp_path / "proj" / "experiments" / "main")
    monkeypatch.chdir(tmp_path)  # the working folder is not the configuration's folder
    report = lint(["proj"], load_config(["proj"]))
    by_run = {(os.path.basename(f.path), f.rule) for f in report.findings}
    assert ("lr1e-1", "CL100") not in by_run and ("lr1e-1", "CL101") in by_run
    assert ("main", "CL100") in by_run
    assert report.suppressed == 1


# -- run-local suppression files -------------------------------------------------------------------------

def test_run_local_file_suppresses_only_its_run(tmp_path):
    write(tmp_path / "pyproject.toml", '[tool.curvelint]\nfail-on = "warning"\n')
    a = nan_run(tmp_path / "runs" / "a")
    nan_run(tmp_path / "runs" / "b")
    write(a / ".curvelint.toml", 'ignore = ["CL101"]\nreason = "eval was disabled on purpose for this ablation"\n')
    assert local_suppressions(str(a)) == (["CL101"], "eval was disabled on purpose for this ablation")
    # linting the run folder itself still finds the project configuration above it
    assert load_config([str(a)]).fail_on == "warning"
    report = lint([str(tmp_path / "runs")], load_config([str(tmp_path / "runs")]))
    assert {(os.path.basename(f.path), f.rule) for f in report.findings if f.rule in CL10X} == {
        ("a", "CL100"), ("b", "CL100"), ("b", "CL101")}
    assert report.suppressed == 1
    notes = {os.path.basename(r.path): r.notes for r in report.runs}
    assert notes["a"][-1].endswith(".curvelint.toml suppresses CL101: eval was disabled on purpose for this ablation")
    assert not any("suppresses" in n for n in notes["b"])
    # --isolated ignores every configuration file, run-local ones included
    assert len([f for f in lint([str(tmp_path / "runs")], load_config([], isolated=True)).findings
                if f.rule in CL10X]) == 4


def test_run_local_file_rules(tmp_path):
    run = healthy_run(tmp_path / "r")
    write(run / ".curvelint.toml", 'ignore = ["CL101"]\nreason = "x"\nselect = ["CL1"]\n')
    with pytest.raises(ConfigError, match=r"\.curvelint\.toml: select: a run's suppression file .* only hold ignore, reason"):
        local_suppressions(str(run))
    write(run / ".curvelint.toml", 'ignore = ["CL101"]\nreason = ""\n')
    with pytest.raises(ConfigError, match="reason: expected a non-empty string"):
        local_suppressions(str(run))
    write(run / ".curvelint.toml", 'ignore = ["CL101"]\n')  # no reason: a project configuration
    assert local_suppressions(str(run)) == ([], "")
    assert load_config([str(run)]).select is not None
    write(tmp_path / "curvelint.toml", 'reason = "x"\n')
    with pytest.raises(ConfigError, match="reason' belongs in a run folder"):
        load_config([str(tmp_path)], str(tmp_path / "curvelint.toml"))


# -- baselines ------------------------------------------------------------------------------------------

def finding(rule="CL100", path="runs/a", metric="loss", step=20, message="NaN at step 20", run=None) -> Finding:
    return Finding(rule, "non-finite-values", Severity.ERROR, path, run or path, metric, step, message)


def test_fingerprint_ignores_step_numbers_and_message(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    base = str(tmp_path)
    a = fingerprint(finding(), base)
    assert a == fingerprint(finding(step=95, message="NaN at step 95 (was 1.3e4)"), base)
    assert a == fingerprint(finding(path="./runs/a/"), base) == fingerprint(finding(path=str(tmp_path / "runs/a")), base)
    assert a != fingerprint(finding(metric="val_loss"), base)
    assert a != fingerprint(finding(rule="CL101"), base)
    assert a != fingerprint(finding(path="runs/b"), base)
    t = "runs/t.parquet"
    assert fingerprint(finding(path=t, run="seed1"), base) != fingerprint(finding(path=t, run="seed2"), base)


def test_baseline_round_trip_counts_and_new_findings(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    bl = tmp_path / "ci" / "baseline.json"
    bl.parent.mkdir()
    write_baseline(str(bl), [finding(), finding(step=25), finding(metric="val_loss")])
    doc = json.loads(bl.read_text())
    assert doc["version"] == 1
    assert {(r["rule"], r["path"], r["metric"], r["count"]) for r in doc["findings"]} == {
        ("CL100", "../runs/a", "loss", 2), ("CL100", "../runs/a", "val_loss", 1)}
    assert "step" not in json.dumps(doc) and str(tmp_path) not in bl.read_text()  # no machine paths

    report = Report(findings=[finding(step=40), finding(step=41), finding(step=42), finding(rule="CL101")])
    assert apply_baseline(report, str(bl)) == 2
    assert [(f.rule, f.step) for f in report.findings] == [("CL100", 42), ("CL101", 20)]
    assert report.suppressed == 2


def test_baseline_cli_survives_appended_steps(tmp_path):
    run = nan_run(tmp_path / "runs" / "a", n=30)
    bl = tmp_path / "baseline.json"
    out = cli(str(tmp_path / "runs"), "--write-baseline", str(bl), *CL10X_ONLY)
    assert out.exit_code == 0 and "wrote 2 findings" in out.stderr
    assert cli(str(tmp_path / "runs"), "--baseline", str(bl), *CL10X_ONLY).exit_code == 0
    nan_run(run, n=60)  # the run went on: later steps, other numbers in the messages
    healthy_run(tmp_path / "runs" / "b")
    out = cli(str(tmp_path / "runs"), "--baseline", str(bl), "--no-color", *CL10X_ONLY)
    assert out.exit_code == 0, out.stdout
    assert "2 suppressed" in out.stdout
    nan_run(tmp_path / "runs" / "c")  # a new broken run is reported
    out = cli(str(tmp_path / "runs"), "--baseline", str(bl), "--format", "json", *CL10X_ONLY)
    assert out.exit_code == 1
    assert {os.path.basename(f["path"]) for f in json.loads(out.stdout)["findings"]} == {"c"}


def test_bad_baseline_is_a_clean_error(tmp_path):
    healthy_run(tmp_path / "r")
    bad = write(tmp_path / "b.json", '{"findings": 3}')
    out = cli(str(tmp_path / "r"), "--baseline", str(bad))
    assert out.exit_code == 2 and "cannot read baseline" in out.stderr and "not a curvelint baseline" in out.stderr
    out = cli(str(tmp_path / "r"), "--baseline", str(tmp_path / "missing.json"))
    assert out.exit_code == 2 and "cannot read baseline" in out.stderr


def test_the_documented_configuration_is_valid(tmp_path):
    """docs/ci.md's example is loaded as it is written (and the run-local example too)."""
    from conftest import REPO

    doc = (REPO / "docs" / "ci.md").read_text()
    blocks = re.findall(r"```toml\n(.*?)```", doc, re.S)
    project = next(b for b in blocks if "[tool.curvelint]" in b)
    write(tmp_path / "pyproject.toml", project)
    config = load_config([str(tmp_path)])
    assert config.metrics["val_metric"] == "val/f1" and config.rule_options == {"constant-metric": {"min_points": 5}}
    run_file = next(b for b in blocks if "reason" in b and "[tool" not in b)
    write(tmp_path / "run" / ".curvelint.toml", run_file)
    assert local_suppressions(str(tmp_path / "run"))[0] == ["CL101"]


def test_unwritable_baseline_or_output_and_missing_config_are_clean_errors(tmp_path):
    healthy_run(tmp_path / "r")
    for option, message in (("--write-baseline", "cannot write baseline"), ("--output", "cannot write the report"),
                            ("--config", "no such configuration file")):
        out = cli(str(tmp_path / "r"), option, str(tmp_path / "no" / "such" / "file.json"))
        assert out.exit_code == 2 and message in out.stderr, (option, out.output)
        assert out.exception is None or isinstance(out.exception, SystemExit)


def test_exclude_with_a_folder_is_relative_to_the_config_file(tmp_path, monkeypatch):
    write(tmp_path / "curvelint.toml", 'exclude = ["runs/old", "scratch*"]\n')
    for name in ("old", "new", "scratch1"):
        healthy_run(tmp_path / "runs" / name)
    for cwd, target in ((tmp_path, "runs"), (tmp_path / "runs", "."), (tmp_path / "runs" / "new", "..")):
        monkeypatch.chdir(cwd)
        report = lint([target], load_config([target]))
        assert [os.path.basename(os.path.abspath(r.path)) for r in report.runs] == ["new"], cwd


@pytest.mark.parametrize("pattern, kept", [
    ("old", ["new", "scratch1"]),  # a name: any file or folder below the linted path
    ("scratch*", ["new", "old"]),
    ("runs/old", ["new", "scratch1"]),  # a folder part: relative to the current folder (the command line)
    ("runs/*", []),  # * stays in one segment; a folder covers what is below it
    ("runs/**/old", ["new", "scratch1"]),
    ("*/old", ["new", "scratch1"]),
    ("r?ns/[!n]*", ["new"]),
])
def test_exclude_uses_the_globs_of_per_path_ignores(tmp_path, monkeypatch, pattern, kept):
    for name in ("old", "new", "scratch1"):
        healthy_run(tmp_path / "runs" / name)
    monkeypatch.chdir(tmp_path)
    report = lint(["runs"], Config(exclude=[pattern]))
    assert sorted(os.path.basename(r.path) for r in report.runs) == kept


def test_exclude_never_drops_the_path_that_was_named(tmp_path, monkeypatch):
    healthy_run(tmp_path / "checkpoints" / "run1")
    monkeypatch.chdir(tmp_path)
    assert [os.path.basename(r.path) for r in lint(["checkpoints"], Config(exclude=["checkpoints"])).runs] == ["run1"]
    assert lint(["."], Config(exclude=["checkpoints"])).runs == []


def test_a_misspelt_key_option_or_rule_gets_a_suggestion_and_a_far_one_none():
    from curvelint.config import parse_config

    cases = {"failon": "unknown key (did you mean 'fail-on'?)",
             "zzz": "unknown key; valid keys:"}
    for key, said in cases.items():
        with pytest.raises(ConfigError, match=re.escape(said)):
            parse_config({key: 1}, "curvelint.toml")
    with pytest.raises(ConfigError, match=re.escape("min_rse: unknown option (did you mean 'min_rise'?)")):
        parse_config({"rules": {"overfitting": {"min_rse": 0.1}}}, "curvelint.toml")
    with pytest.raises(ConfigError, match=re.escape("reference.paht: unknown key (did you mean 'path'?)")):
        parse_config({"reference": {"paht": "x"}}, "curvelint.toml")


def test_a_misspelt_rule_selector_gets_a_suggestion():
    from curvelint.config_rules import unknown_selector

    assert unknown_selector("overfiting") == ("unknown rule selector 'overfiting' (did you mean 'overfitting'?) "
                                              "(see `curvelint rules`)")
    assert unknown_selector("CL999") == "unknown rule selector 'CL999' (see `curvelint rules`)"
