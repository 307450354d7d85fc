"""SARIF that GitHub code scanning accepts as is: the SARIF 2.1.0 schema (../shared/schemas, skipped
when absent) and the upload constraints GitHub documents, checked offline (`github_problems`):
https://docs.github.com/code-security/code-scanning/integrating-with-code-scanning/sarif-support-for-code-scanning
and .../troubleshooting-sarif/results-exceed-limit."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from curvelint.engine import Report, RunSummary
from curvelint.model import Finding, Severity
from curvelint.reporters import Options, render
from curvelint.reporters import sarif
from curvelint.reporters.locate import fingerprints, message_template, source_root
from test_config import CL10X_ONLY, cli, healthy_run, nan_run
from test_reporters import make_report, sarif_schema

LEVELS = {"none", "note", "warning", "error"}
LIMITS = {"runs": 20, "results": 25_000, "rules": 25_000, "tags": 20, "locations": 1_000, "description": 1_024}


def github_problems(doc: dict) -> list[str]:
    """What GitHub's SARIF upload would reject or mis-track in `doc` (empty: it accepts it)."""
    problems = []
    if doc.get("version") != "2.1.0" or "$schema" not in doc:
        problems.append("$schema and version 2.1.0 are required")
    if not 1 <= len(doc["runs"]) <= LIMITS["runs"]:
        problems.append(f"{len(doc['runs'])} runs")
    for run in doc["runs"]:
        driver = run["tool"]["driver"]
        rules = {r["id"]: r for r in driver.get("rules", [])}
        bases = run.get("originalUriBaseIds", {})
        if not driver.get("name") or len(rules) > LIMITS["rules"] or len(run["results"]) > LIMITS["results"]:
            problems.append("driver name, rules or results over the limits")
        for r in rules.values():
            for key in ("shortDescription", "fullDescription", "help"):
                if not r.get(key, {}).get("text") or len(r[key]["text"]) > LIMITS["description"] and key != "help":
                    problems.append(f"rule {r['id']}: {key}")
            if r["defaultConfiguration"]["level"] not in LEVELS or len(r["properties"]["tags"]) > LIMITS["tags"]:
                problems.append(f"rule {r['id']}: level or tags")
        seen = set()
        for res in run["results"]:
            where = f"result {res.get('ruleId')}"
            if res.get("ruleId") not in rules or res.get("level") not in LEVELS or not res["message"].get("text"):
                problems.append(f"{where}: ruleId, level and message.text are required")
            if not 1 <= len(res.get("locations", [])) <= LIMITS["locations"]:
                problems.append(f"{where}: locations")
                continue
            physical = res["locations"][0]["physicalLocation"]
            art, region = physical["artifactLocation"], physical.get("region", {})
            if region.get("startLine", 0) < 1:
                problems.append(f"{where}: region.startLine >= 1 is required")
            uri = art["uri"]
            if uri.startswith("file://"):
                if "uriBaseId" in art:
                    problems.append(f"{where}: an absolute uri with a uriBaseId")
            elif uri.startswith("/") or ".." in uri.split("/") or "://" in uri or uri.startswith("./"):
                problems.append(f"{where}: {uri} is not relative to the repository root")
            elif art.get("uriBaseId") != "%SRCROOT%" or not bases.get("%SRCROOT%", {}).get("uri", "").endswith("/"):
                problems.append(f"{where}: a relative uri needs uriBaseId %SRCROOT%, defined with a trailing /")
            fingerprint = res.get("partialFingerprints", {}).get("primaryLocationLineHash")
            if not fingerprint or (res["ruleId"], fingerprint) in seen:
                problems.append(f"{where}: primaryLocationLineHash missing or shared")
            seen.add((res["ruleId"], fingerprint))
    return problems


def validate(doc: dict) -> None:
    import jsonschema

    schema = sarif_schema()
    jsonschema.validators.validator_for(schema)(schema).validate(doc)
    assert github_problems(doc) == []


def test_hand_made_report_is_valid_and_accepted():
    validate(json.loads(render(make_report(), "sarif", Options())))
    validate(json.loads(render(Report(errors=["nope: no such file or directory"]), "sarif", Options())))


def test_the_constraint_check_finds_what_github_rejects():
    doc = sarif.document(make_report())
    res = doc["runs"][0]["results"][0]
    res["locations"][0]["physicalLocation"]["artifactLocation"] = {"uri": "../outside/events"}
    res["partialFingerprints"] = {}
    doc["runs"][0]["results"][1]["locations"][0]["physicalLocation"]["region"] = {}
    assert len(github_problems(doc)) == 3


def _git_tree(tmp_path: Path) -> Path:
    """A repository (a .git folder) with runs under sub/runs: one broken, one healthy."""
    (tmp_path / "repo" / ".git").mkdir(parents=True)
    nan_run(tmp_path / "repo" / "sub" / "runs" / "bad")
    healthy_run(tmp_path / "repo" / "sub" / "runs" / "good")
    return tmp_path / "repo"


def test_uris_are_relative_to_the_git_root_whatever_the_argument(tmp_path):
    repo = _git_tree(tmp_path)
    docs = []
    for spelling in ("runs", "./runs", "runs/", str(repo / "sub" / "runs")):
        out = cli(spelling, "--format", "sarif", *CL10X_ONLY, cwd=repo / "sub")
        assert out.exit_code == 1, out.output
        docs.append(json.loads(out.stdout))
    for doc in docs:
        validate(doc)
    run = docs[0]["runs"][0]
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == (repo.as_uri() + "/")
    art = run["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert art["uriBaseId"] == "%SRCROOT%" and art["uri"].startswith("sub/runs/bad/events.out.tfevents.")
    results = [[(r["ruleId"], r["locations"], r["partialFingerprints"]) for r in d["runs"][0]["results"]] for d in docs]
    assert results[1:] == results[:-1]  # every spelling, the same results and fingerprints
    from_root = json.loads(cli("sub/runs", "--format", "sarif", *CL10X_ONLY, cwd=repo).stdout)["runs"][0]["results"]
    assert [r["partialFingerprints"] for r in from_root] == [r["partialFingerprints"] for r in run["results"]]


def test_without_git_the_current_folder_is_the_root(tmp_path):
    if any((p / ".git").exists() for p in tmp_path.parents):
        pytest.skip("the temporary folder lies in a git work tree")
    assert source_root(str(tmp_path)) == str(tmp_path)
    doc = sarif.document(Report(findings=[_finding(str(tmp_path / "runs" / "bad.csv"))]), root=str(tmp_path))
    art = doc["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert art == {"uri": "runs/bad.csv", "uriBaseId": "%SRCROOT%"}
    outside = sarif.document(Report(findings=[_finding("/elsewhere/x.csv")]), root=str(tmp_path))
    art = outside["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert art == {"uri": "file:///elsewhere/x.csv"}


def _finding(path: str, metric: str | None = "loss", message: str = "loss rises 12.5% after step 300",
             rule: str = "CL104", severity: Severity = Severity.WARNING) -> Finding:
    return Finding(rule, "diverging-loss", severity, path, path, metric, 300, message, {}, "")


def test_fingerprints_survive_new_values_and_tell_findings_apart(tmp_path):
    root = str(tmp_path)
    base = _finding("runs/a")
    same = replace(base, message="loss rises 40.1% after step 1200", step=1200)
    (fa, _), (fb, _), (fc, _), (fd, _) = fingerprints(
        [base, same, replace(base, metric="val_loss"), replace(base, path="runs/b", run="runs/b")], root)
    assert fa == fb and len({fa, fc, fd}) == 3
    assert message_template("nan at step 83 (37 of 1.2e+03, 50%)") == "nan at step # (# of #, #)"
    twice = fingerprints([base, base, same], root)
    assert [o for _, o in twice] == [1, 2, 3]
    doc = sarif.document(Report(findings=[base, base]), root=root)
    hashes = [r["partialFingerprints"]["primaryLocationLineHash"] for r in doc["runs"][0]["results"]]
    assert hashes == [f"{fa}:1", f"{fa}:2"]


def test_results_over_githubs_limit_are_cut_to_the_most_severe_and_said():
    n = sarif.MAX_RESULTS + 3
    findings = [_finding(f"runs/r{i}", severity=Severity.INFO) for i in range(n - 2)]
    findings[10:10] = [_finding("runs/e1", severity=Severity.ERROR), _finding("runs/e2", severity=Severity.ERROR)]
    report = Report(runs=[RunSummary("runs", "runs", "csv", 1, 1)], findings=findings)
    run = sarif.document(report, root="/")["runs"][0]
    assert len(run["results"]) == sarif.MAX_RESULTS and run["properties"]["resultsLeftOut"] == 3
    assert [r["level"] for r in run["results"]].count("error") == 2  # the errors are kept, in their place
    assert run["results"][10]["level"] == "error"
    note = run["invocations"][0]["toolExecutionNotifications"][-1]
    assert note["level"] == "warning" and note["message"]["text"].startswith("3 results left out")
    assert len(report.findings) == n  # the report itself is not cut
    small = sarif.document(make_report())["runs"][0]
    assert "resultsLeftOut" not in small["properties"]


def test_rule_help_and_levels():
    doc = sarif.document(make_report())
    rules = {r["id"]: r for r in doc["runs"][0]["tool"]["driver"]["rules"]}
    from curvelint.registry import find_rule

    cl100 = find_rule("CL100")
    assert rules["CL100"]["help"]["text"] == cl100.doc()
    assert rules["CL100"]["fullDescription"]["text"] == cl100.doc().split("\n\n")[0].replace("\n", " ")
    assert rules["CL100"]["properties"]["stability"] in ("stable", "preview")
    assert [r["level"] for r in doc["runs"][0]["results"]] == ["error", "warning", "note"]
    assert all(len(r["fullDescription"]["text"]) <= 1024 for r in rules.values())


def test_cli_sarif_from_a_tree_is_accepted(tmp_path):
    repo = _git_tree(tmp_path)
    out = cli("sub/runs", "--format", "sarif", cwd=repo)
    validate(json.loads(out.stdout))


@pytest.mark.parametrize("fmt", ["sarif", "gitlab", "rdjson"])
def test_ci_formats_write_one_line_per_path_spelling(tmp_path, fmt):
    repo = _git_tree(tmp_path)
    outs = {cli(s, "--format", fmt, *CL10X_ONLY, cwd=repo / "sub").stdout for s in ("runs", "./runs", "runs/")}
    assert len(outs) == 1
