"""SARIF 2.1.0 output (`--format sarif`) for code-scanning dashboards (GitHub, GitLab, Azure DevOps).

Every registered rule is listed in ``tool.driver.rules`` with its documentation as
help text; each finding is a result located at its run's log file (for a run folder,
its first event file: code scanning places results in files, at line 1 for binary
logs), with the metric as a logical location and the run path, step and evidence
in ``properties``.
"""

from __future__ import annotations

import json
import os
from urllib.parse import quote

from curvelint import __version__
from curvelint.baseline import fingerprint
from curvelint.model import Severity
from curvelint.reporters.escape import utf8_safe

SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
INFORMATION_URI = "https://github.com/curvelint/curvelint"
LEVELS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}


def log_file(path: str) -> str:
    """A run folder's first event file (code scanning locates results in files), else `path`."""
    from curvelint.discovery import KERAS_SUBDIRS, is_event_file

    if not os.path.isdir(path):
        return path
    for folder in (path, *(os.path.join(path, d) for d in KERAS_SUBDIRS)):
        try:
            names = sorted(n for n in os.listdir(folder) if is_event_file(n))
        except OSError:
            continue
        if names:
            return os.path.join(folder, names[0])
    return path


def artifact_uri(path: str) -> str:
    """A relative URI (``/`` separators, percent-encoded) for paths below the current folder.

    The path's bytes are encoded (``os.fsencode``): a name that is not UTF-8 gives ``%FF``, not an error.
    """
    absolute = os.path.abspath(path)
    rel = os.path.relpath(absolute)
    if rel.startswith(".."):
        return "file://" + quote(os.fsencode(absolute.replace(os.sep, "/")), safe="/:")
    uri = quote(os.fsencode(rel.replace(os.sep, "/")), safe="/")
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
    location: dict = {"physicalLocation": {"artifactLocation": {"uri": artifact_uri(log_file(f.path))},
                                           "region": {"startLine": 1}}}
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
    return json.dumps(utf8_safe(document(report)), indent=2, allow_nan=False)
