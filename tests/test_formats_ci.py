"""GitLab Code Quality (`--format gitlab`) and reviewdog rdjson (`--format rdjson`), validated against
their published schemas (tests/schemas/, see its README) and the rules their documentation adds."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from curvelint.engine import Report
from curvelint.formats import FORMATS
from curvelint.reporters import Options, render
from test_config import CL10X_ONLY, cli, nan_run
from test_reporters import make_report

SCHEMAS = Path(__file__).parent / "schemas"
GITLAB_SEVERITIES = {"info", "minor", "major", "critical", "blocker"}


def _validator(name: str) -> jsonschema.protocols.Validator:
    schema = json.loads((SCHEMAS / name).read_text(encoding="utf-8"))
    return jsonschema.validators.validator_for(schema)(schema)


def gitlab_problems(doc: object) -> list[str]:
    """What GitLab's documentation asks beyond its schema: check_name, a known severity, a relative
    path, a line >= 1, one fingerprint per issue."""
    if not isinstance(doc, list):
        return ["the report is a JSON array"]
    problems, seen = [], set()
    validator = _validator("gitlab-codeclimate.json")
    for issue in doc:
        problems += [e.message for e in validator.iter_errors(issue)]
        if not issue.get("check_name") or issue.get("severity") not in GITLAB_SEVERITIES:
            problems.append(f"{issue.get('fingerprint')}: check_name and a known severity are required")
        path = issue["location"]["path"]
        if path.startswith(("/", "./")) or ".." in path.split("/") or issue["location"]["lines"]["begin"] < 1:
            problems.append(f"{path}: not a relative path at a line")
        if issue["fingerprint"] in seen:
            problems.append(f"fingerprint {issue['fingerprint']} shared")
        seen.add(issue["fingerprint"])
    return problems


def test_both_formats_are_declared_once():
    assert FORMATS["gitlab"] == "curvelint.reporters.gitlab" and FORMATS["rdjson"] == "curvelint.reporters.rdjson"
    from click.testing import CliRunner

    from curvelint.cli import main

    shown = CliRunner().invoke(main, ["--help"]).stdout
    assert "gitlab" in shown and "rdjson" in shown


def test_gitlab_report_is_valid():
    doc = json.loads(render(make_report(), "gitlab", Options()))
    assert gitlab_problems(doc) == []
    assert [(i["check_name"], i["severity"]) for i in doc] == [("CL100", "critical"), ("CL003", "major"),
                                                               ("CL002", "info")]
    assert doc[0]["location"] == {"path": "runs/lr=1e-1, seed:0", "lines": {"begin": 1}}
    assert doc[0]["description"].startswith("CL100 non-finite-values: loss @ step 20: loss is NaN")
    assert json.loads(render(Report(), "gitlab", Options())) == []


def test_gitlab_check_catches_what_gitlab_rejects():
    doc = json.loads(render(make_report(), "gitlab", Options()))
    doc[0]["severity"] = "error"
    doc[1]["fingerprint"] = doc[2]["fingerprint"]
    del doc[2]["description"]
    assert len(gitlab_problems(doc)) == 3


def test_gitlab_fingerprints_are_unique_for_repeated_findings():
    report = make_report()
    report.findings.append(report.findings[0])
    doc = json.loads(render(report, "gitlab", Options()))
    assert gitlab_problems(doc) == [] and len({i["fingerprint"] for i in doc}) == 4


def test_rdjson_is_valid():
    doc = json.loads(render(make_report(), "rdjson", Options()))
    _validator("reviewdog-DiagnosticResult.jsonschema").validate(doc)
    first = doc["diagnostics"][0]
    assert first["severity"] == "ERROR" and first["code"] == {"value": "CL100"}
    assert first["location"] == {"path": "runs/lr=1e-1, seed:0", "range": {"start": {"line": 1}}}
    assert first["message"].endswith("\nFix: lower the learning rate")
    assert [d["severity"] for d in doc["diagnostics"]] == ["ERROR", "WARNING", "INFO"]
    assert doc["source"]["name"] == "curvelint"


def test_rdjson_schema_rejects_a_wrong_type():
    bad = {"diagnostics": [{"message": "m", "location": {"path": "a", "range": {"start": {"line": "1"}}}}]}
    with pytest.raises(jsonschema.ValidationError):
        _validator("reviewdog-DiagnosticResult.jsonschema").validate(bad)


@pytest.mark.parametrize("fmt", ["gitlab", "rdjson"])
def test_from_the_cli(tmp_path, fmt):
    (tmp_path / ".git").mkdir()
    nan_run(tmp_path / "runs" / "bad")
    out = cli("runs", "--format", fmt, *CL10X_ONLY, cwd=tmp_path)
    assert out.exit_code == 1
    doc = json.loads(out.stdout)
    if fmt == "gitlab":
        assert gitlab_problems(doc) == []
        paths = {i["location"]["path"] for i in doc}
    else:
        _validator("reviewdog-DiagnosticResult.jsonschema").validate(doc)
        paths = {d["location"]["path"] for d in doc["diagnostics"]}
    assert len(paths) == 1 and paths.pop().startswith("runs/bad/events.out.tfevents.")
