"""Output formats (text, json, sarif, github, junit) and the text options, on hand-made reports."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from curvelint import __version__
from curvelint.engine import Report, RunSummary
from curvelint.model import Abstention, Finding, Severity
from curvelint.registry import load_rules
from curvelint.reporters import Options, render
from curvelint.reporters.github import escape_data, escape_property
from test_config import CL10X_ONLY, cli, healthy_run, nan_run

SCHEMAS = Path(__file__).resolve().parents[1].parent / "shared" / "schemas"


def make_report() -> Report:
    """Two runs: one with an error, a warning and an info finding, one healthy."""
    bad, good = "runs/lr=1e-1, seed:0", "runs/ok"
    return Report(
        runs=[RunSummary(bad, bad, "tensorboard", 2, 60), RunSummary(good, good, "keras-history", 2, 40)],
        findings=[
            Finding("CL100", "non-finite-values", Severity.ERROR, bad, bad, "loss", 20,
                    "loss is NaN from step 20 (100% of 10 later points)\nthen stays NaN",
                    {"first_bad_step": 20, "last_finite_value": 1.25}, "lower the learning rate"),
            Finding("CL003", "no-metrics", Severity.WARNING, bad, bad, None, None, "no loss series; 50% done",
                    {}, ""),
            Finding("CL002", "truncated-log", Severity.INFO, bad, bad, None, None, "partial final record", {}, ""),
        ],
        abstentions=[Abstention("CL101", bad, None, "too short")],
        suppressed=1,
        elapsed=0.25,
    )


# -- text ---------------------------------------------------------------------------------------------

def test_text_summary_line_and_grouping():
    text = render(make_report(), "text", Options())
    assert text.splitlines()[-1] == "2 runs linted: 1 error, 1 warning, 1 info, 1 suppressed in 0.25s"
    assert "runs/lr=1e-1, seed:0" in text and "CL100 non-finite-values: loss @ step 20:" in text
    assert "fix: lower the learning rate" in text
    assert "\x1b[" not in text


def test_text_options():
    report = make_report()
    quiet = render(report, "text", Options(quiet=True))
    assert "CL002" not in quiet and "CL100" in quiet and "fix:" not in quiet
    evidence = render(report, "text", Options(show_evidence=True))
    assert re.search(r"\| first_bad_step\s+20", evidence) and re.search(r"\| last_finite_value\s+1.25", evidence)
    assert "first_bad_step" not in render(report, "text", Options())
    stats = render(report, "text", Options(statistics=True))
    assert re.search(r"Statistics:\n\s+1\s+CL002 truncated-log\n\s+1\s+CL003 no-metrics\n\s+1\s+CL100", stats)
    verbose = render(report, "text", Options(verbose=True))
    assert "CL101: too short" in verbose and "CL101: too short" not in render(report, "text", Options())
    assert "\x1b[" in render(report, "text", Options(color=True))


def test_cli_text_options(tmp_path):
    nan_run(tmp_path / "bad")
    healthy_run(tmp_path / "good")
    out = cli(str(tmp_path), "--no-color", "--statistics", "--show-evidence", *CL10X_ONLY)
    assert out.exit_code == 1
    assert "\x1b[" not in out.stdout
    assert re.search(r"Statistics:\n\s+1\s+CL100 non-finite-values\n\s+1\s+CL101 constant-metric", out.stdout)
    assert "| " in out.stdout  # evidence table
    assert re.search(r"^2 runs linted: 2 errors, 0 warnings, 0 info in \d+\.\d\ds$", out.stdout, re.M)
    assert cli(str(tmp_path), "--exit-zero").exit_code == 0
    quiet = cli(str(tmp_path), "--quiet", *CL10X_ONLY)
    assert "fix:" not in quiet.stdout and "CL100" in quiet.stdout


def test_cli_version_rules_and_rule_docs():
    out = cli("--version")
    assert out.exit_code == 0 and __version__ in out.stdout and "curvelint" in out.stdout
    listing = cli("rules").stdout
    for rule in load_rules():
        assert re.search(rf"^{rule.code}\s+{rule.name}\s+{rule.severity}\s", listing, re.M)
    doc = cli("rule", "constant-metric")
    assert doc.exit_code == 0 and "CL101 constant-metric (error)" in doc.stdout
    assert "min_points = 3" in doc.stdout  # documented options
    assert cli("rule", "cl101").stdout == doc.stdout
    assert cli("rule", "nope").exit_code == 2


def test_cli_output_file(tmp_path):
    healthy_run(tmp_path / "good")
    target = tmp_path / "out" / "report.json"
    target.parent.mkdir()
    out = cli(str(tmp_path / "good"), "--format", "json", "--output", str(target))
    assert out.exit_code == 0 and out.stdout == ""
    assert json.loads(target.read_text())["version"] == 1


# -- json ---------------------------------------------------------------------------------------------

def test_json_stable_shape():
    doc = json.loads(render(make_report(), "json", Options()))
    assert set(doc) == {"version", "tool", "runs", "findings"}
    assert doc["version"] == 1 and doc["tool"] == {"name": "curvelint", "version": __version__}
    assert doc["runs"][0] == {"path": "runs/lr=1e-1, seed:0", "format": "tensorboard", "series": 2, "points": 60}
    assert doc["findings"][0]["severity"] == "error" and doc["findings"][0]["step"] == 20


# -- sarif --------------------------------------------------------------------------------------------

def sarif_schema() -> dict:
    path = SCHEMAS / "sarif-schema-2.1.0.json"
    if not path.is_file():
        pytest.skip("../shared/schemas/sarif-schema-2.1.0.json is not present")
    return json.loads(path.read_text())


def test_sarif_is_valid_against_the_official_schema():
    import jsonschema

    schema = sarif_schema()
    doc = json.loads(render(make_report(), "sarif", Options()))
    jsonschema.validators.validator_for(schema)(schema).validate(doc)
    empty = json.loads(render(Report(errors=["nope: no such file or directory"]), "sarif", Options()))
    jsonschema.validators.validator_for(schema)(schema).validate(empty)


def test_sarif_content():
    doc = json.loads(render(make_report(), "sarif", Options()))
    assert doc["version"] == "2.1.0"
    run = doc["runs"][0]
    driver = run["tool"]["driver"]
    assert driver["name"] == "curvelint" and driver["version"] == __version__
    rules = driver["rules"]
    assert [r["id"] for r in rules] == [r.code for r in load_rules()]
    cl100 = next(r for r in rules if r["id"] == "CL100")
    assert cl100["name"] == "non-finite-values" and "clip_grad_norm_" in cl100["help"]["text"]
    assert cl100["defaultConfiguration"]["level"] == "error"
    levels = [(r["ruleId"], r["level"]) for r in run["results"]]
    assert levels == [("CL100", "error"), ("CL003", "warning"), ("CL002", "note")]
    first = run["results"][0]
    assert rules[first["ruleIndex"]]["id"] == "CL100"
    assert first["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "runs/lr%3D1e-1%2C%20seed%3A0"
    assert first["locations"][0]["logicalLocations"][0]["name"] == "loss"
    assert first["properties"]["evidence"] == {"first_bad_step": 20, "last_finite_value": 1.25}
    assert "Fix: lower the learning rate" in first["message"]["text"]
    assert first["partialFingerprints"]["primaryLocationLineHash"]


def test_sarif_from_the_cli_is_valid(tmp_path):
    import jsonschema

    schema = sarif_schema()
    nan_run(tmp_path / "bad")
    out = cli(str(tmp_path), "--format", "sarif", *CL10X_ONLY)
    assert out.exit_code == 1
    doc = json.loads(out.stdout)
    jsonschema.validators.validator_for(schema)(schema).validate(doc)
    results = doc["runs"][0]["results"]
    assert {r["ruleId"] for r in results} == {"CL100", "CL101"}
    uri = results[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri.startswith("file://") and "/bad/events.out.tfevents." in uri  # the run's event file


# -- github -------------------------------------------------------------------------------------------

def test_github_escaping():
    assert escape_data("100% done\r\nnext") == "100%25 done%0D%0Anext"
    assert escape_property("a,b:c%\n") == "a%2Cb%3Ac%25%0A"


def test_github_workflow_commands():
    lines = render(make_report(), "github", Options()).splitlines()
    assert lines[0] == ("::error file=runs/lr=1e-1%2C seed%3A0,title=CL100 non-finite-values::"
                        "loss @ step 20: loss is NaN from step 20 (100%25 of 10 later points)%0Athen stays NaN"
                        "%0AFix: lower the learning rate")
    assert lines[1].startswith("::warning file=runs/lr=1e-1%2C seed%3A0,title=CL003 no-metrics::no loss series; 50%25")
    assert lines[2].startswith("::notice file=") and "title=CL002 truncated-log::" in lines[2]
    assert lines[-1].startswith("2 runs linted:")
    assert all(line.count("::") == 2 for line in lines[:3])  # no unescaped separators in properties
    quiet = render(make_report(), "github", Options(quiet=True))
    assert "::notice" not in quiet


def test_github_from_the_cli(tmp_path):
    nan_run(tmp_path / "runs" / "bad")
    out = cli("runs", "--format", "github", "--fail-on", "error", cwd=tmp_path)
    assert out.exit_code == 1
    assert re.search(r"^::error file=runs/bad/events\.out\.tfevents\.[^,]+,title=CL100 non-finite-values::loss @ step 20: ",
                     out.stdout, re.M)


# -- junit --------------------------------------------------------------------------------------------

def test_junit_one_case_per_run_and_a_failure_per_finding():
    report = make_report()
    report.errors.append("missing/: no such file or directory")
    root = ET.fromstring(render(report, "junit", Options()))
    assert root.tag == "testsuites"
    suite = root.find("testsuite")
    assert suite.get("tests") == "3" and suite.get("failures") == "2" and suite.get("errors") == "1"
    cases = {c.get("name"): c for c in suite.findall("testcase")}
    assert set(cases) == {"runs/lr=1e-1, seed:0", "runs/ok", "missing/"}
    bad = cases["runs/lr=1e-1, seed:0"]
    assert [f.get("type") for f in bad.findall("failure")] == ["CL100 non-finite-values", "CL003 no-metrics"]
    assert "first_bad_step: 20" in bad.find("failure").text
    assert "CL002 truncated-log (info)" in bad.find("system-out").text  # info does not fail the case
    assert list(cases["runs/ok"]) == []
    assert cases["missing/"].find("error") is not None


def test_junit_from_the_cli(tmp_path):
    nan_run(tmp_path / "bad")
    healthy_run(tmp_path / "good")
    out = cli(str(tmp_path), "--format", "junit", *CL10X_ONLY)
    root = ET.fromstring(out.stdout)
    cases = {Path(c.get("name")).name: c for c in root.iter("testcase")}
    assert set(cases) == {"bad", "good"}
    assert len(cases["bad"].findall("failure")) == 2 and not cases["good"].findall("failure")
