"""SARIF 2.1.0 output (`--format sarif`) for code-scanning dashboards (GitHub, GitLab, Azure DevOps).

Every registered rule is listed in ``tool.driver.rules`` with its documentation as
help text; each finding is a result located at its run's path (a log file or a run
folder), with the metric as a logical location and the evidence in ``properties``.
"""

from __future__ import annotations

import json
import os
from urllib.parse import quote

from curvelint import __version__
from curvelint.baseline import fingerprint
from curvelint.model import Severity

SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
INFORMATION_URI = "https://github.com/curvelint/curvelint"
LEVELS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}


def artifact_uri(path: str) -> str:
    """A relative URI (``/`` separators, percent-encoded) for paths below the current folder."""
    absolute = os.path.abspath(path)
    rel = os.path.relpath(absolute)
    if rel.startswith(".."):
        return "file://" + quote(absolute.replace(os.sep, "/"), safe="/:")
    uri = quote(rel.replace(os.sep, "/"), safe="/")
    return uri + "/" if os.path.isdir(path) else uri


def _descriptor(rule) -> dict:
    doc = rule.doc()
    descriptor = {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": doc.split("\n\n")[0].replace("\n", " ")},
        "help": {"text": doc, "markdown": f"**{rule.code} {rule.name}**: {rule.summary}\n\n{doc}"},
        "defaultConfiguration": {"level": LEVELS[rule.severity]},
        "properties": {"tags": ["training-logs"]},
    }
    if rule.options:
        descriptor["properties"]["options"] = {k: o.default for k, o in rule.options.items()}
    return descriptor


def _result(f, index: int | None) -> dict:
    where = " @ ".join([*([f.metric] if f.metric else []), *([f"step {f.step}"] if f.step is not None else [])])
    text = f"{where}: {f.message}" if where else f.message
    if f.hint:
        text += f" Fix: {f.hint}"
    location: dict = {"physicalLocation": {"artifactLocation": {"uri": artifact_uri(f.path)}}}
    if f.metric:
        location["logicalLocations"] = [{"name": f.metric, "fullyQualifiedName": f"{f.run}::{f.metric}"}]
    result = {
        "ruleId": f.rule,
        "level": LEVELS[f.severity],
        "message": {"text": text},
        "locations": [location],
        "partialFingerprints": {"curvelint/v1": fingerprint(f, os.getcwd())},
        "properties": {"run": f.run, "metric": f.metric, "step": f.step, "severity": str(f.severity),
                       "evidence": f.evidence, "hint": f.hint},
    }
    if index is not None:
        result["ruleIndex"] = index
    return result


def document(report) -> dict:
    from curvelint.registry import load_rules

    rules = list(load_rules())
    index = {r.code: i for i, r in enumerate(rules)}
    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "curvelint",
                "version": __version__,
                "semanticVersion": __version__,
                "informationUri": INFORMATION_URI,
                "rules": [_descriptor(r) for r in rules],
            }},
            "invocations": [{
                "executionSuccessful": True,
                "toolExecutionNotifications": [
                    {"level": "error", "message": {"text": e}} for e in report.errors
                ],
            }],
            "results": [_result(f, index.get(f.rule)) for f in report.findings],
            "properties": {"runsLinted": len(report.runs), "suppressed": report.suppressed},
        }],
    }


def render(report, options) -> str:
    return json.dumps(document(report), indent=2, allow_nan=False)
