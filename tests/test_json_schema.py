"""`--format json` keeps the published v1 shape (curvelint/schemas/report-v1.schema.json): every
fixture, the real-world logs in ../shared when present, --statistics, and the optional nulls."""

from __future__ import annotations

import json
import os
import subprocess

import pytest
from jsonschema import Draft202012Validator

from conftest import FIXTURES, REPO, SHARED, curvelint_command
from curvelint.engine import Report, RunSummary
from curvelint.model import Finding, Severity
from curvelint.reporters import Options, render
from curvelint.schemas import report_schema

VALIDATOR = Draft202012Validator(report_schema())


def errors(doc: dict) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in VALIDATOR.iter_errors(doc)]


def test_the_schema_is_a_valid_draft_2020_12_schema():
    Draft202012Validator.check_schema(report_schema())


@pytest.mark.parametrize("corpus", [FIXTURES, SHARED / "realworld", SHARED / "realworld2"],
                         ids=["fixtures", "realworld", "realworld2"])
def test_every_report_of_the_corpora_matches_the_schema(corpus):
    if not corpus.is_dir():
        pytest.skip(f"{corpus} is not present")
    done = subprocess.run([*curvelint_command(), "--format", "json", "--isolated", "--statistics",
                           os.path.relpath(corpus, REPO)], cwd=REPO, capture_output=True, timeout=600)
    assert done.returncode in (0, 1), done.stderr.decode(errors="replace")
    doc = json.loads(done.stdout)
    assert doc["findings"] and doc["statistics"]
    assert errors(doc) == []


def test_nulls_and_a_plugin_code_are_in_the_schema_and_a_broken_shape_is_not():
    finding = Finding(rule="XY12", name="my-rule", severity=Severity.INFO, path="a/b", run="a", metric=None,
                      step=None, message="seen", evidence={"values": [1.0, 2], "nested": {"ok": True}}, hint="do")
    report = Report(runs=[RunSummary(path="a", name="a", format="keras", series=0, points=0)], findings=[finding])
    doc = json.loads(render(report, "json", Options()))
    assert errors(doc) == []
    doc["findings"][0]["severity"] = "fatal"
    del doc["runs"][0]["points"]
    assert len(errors(doc)) == 2
