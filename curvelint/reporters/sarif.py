"""SARIF 2.1.0 output (`--format sarif`) that GitHub code scanning accepts as is.

Every registered rule is listed in ``tool.driver.rules`` (summary, the first paragraph of its
documentation as full description, the whole documentation as help; ``properties.since``: the version
that added it). No ``helpUri``: the project declares no hosted documentation and no project URL
(pyproject.toml has no ``[project.urls]``), and a guessed address would be a dead link in every alert;
the help text is the whole of ``curvelint rule CODE``, which code scanning shows as is. Each finding is a result at
its run's log file (a run folder: its first event file), written relative to the repository root
(``uriBaseId`` ``%SRCROOT%``, `curvelint.reporters.locate.source_root`; a file outside it gets an
absolute ``file://`` URI), at line 1: a log has no line a finding belongs to. The metric is a logical
location; run, step and evidence are in ``properties``.

``partialFingerprints.primaryLocationLineHash`` is our own (`locate.fingerprints`: rule, run path,
series, message template, and the occurrence): GitHub's upload action would otherwise hash line 1
of the binary event file, which gives every finding on one run the same fingerprint. GitHub's limits
(https://docs.github.com/code-security/code-scanning/integrating-with-code-scanning/sarif-support-for-code-scanning)
are kept: at most 25,000 results per run (the most severe are kept, the rest counted in a
notification and in ``properties.resultsLeftOut``), descriptions within 1,024 characters.
"""

from __future__ import annotations

import json
import os
from urllib.parse import quote

from curvelint import __version__
from curvelint.model import Severity
from curvelint.reporters.escape import utf8_safe
from curvelint.reporters.locate import Logs, fingerprints, headline, relative_to, source_root

__all__ = ["document", "render", "artifact_location", "MAX_RESULTS"]

SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
INFORMATION_URI = "https://github.com/curvelint/curvelint"
LEVELS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}
SRCROOT = "%SRCROOT%"
MAX_RESULTS = 25_000  # GitHub rejects a run with more
MAX_DESCRIPTION = 1_024  # GitHub's limit on a rule's short and full description


def _uri(path: str) -> str:
    """A path as a URI reference: ``/`` separators, each byte outside the safe set percent-encoded
    (`os.fsencode`: a name that is not UTF-8 gives ``%FF``, not an error)."""
    return quote(os.fsencode(path.replace(os.sep, "/")), safe="/")


def _file_uri(path: str) -> str:
    """An absolute ``file://`` URI (``file:///C:/...`` on Windows)."""
    uri = _uri(os.path.abspath(path))
    return "file://" + (uri if uri.startswith("/") else "/" + uri)


def artifact_location(path: str, root: str, folder: bool = False) -> dict:
    """``{"uri": relative, "uriBaseId": "%SRCROOT%"}`` below `root` (ending in ``/`` for a `folder`), else an
    absolute ``file://`` URI."""
    rel = relative_to(path, root)
    if rel is None:
        return {"uri": _file_uri(path)}
    return {"uri": _uri(rel) + ("/" if folder and rel != "." else ""), "uriBaseId": SRCROOT}


def _clip(text: str, limit: int = MAX_DESCRIPTION) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _descriptor(rule) -> dict:
    doc = rule.doc()
    descriptor = {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": _clip(rule.summary)},
        "fullDescription": {"text": _clip(doc.split("\n\n")[0].replace("\n", " "))},
        "help": {"text": doc, "markdown": f"**{rule.code} {rule.name}**: {rule.summary}\n\n{doc}"},
        "defaultConfiguration": {"level": LEVELS[rule.severity]},
        "properties": {"tags": ["training-logs"], "stability": rule.stability},
    }
    old_codes = [a for a in rule.aliases if a[:1].isupper()]  # codes are upper case, names kebab-case
    if old_codes:
        descriptor["deprecatedIds"] = old_codes
    if len(old_codes) < len(rule.aliases):
        descriptor["deprecatedNames"] = [a for a in rule.aliases if a not in old_codes]
    if rule.since:
        descriptor["properties"]["since"] = rule.since
    if rule.options:
        descriptor["properties"]["options"] = {k: o.default for k, o in rule.options.items()}
    return descriptor


def _result(f, index: int | None, fingerprint: tuple[str, int], root: str, logs: Logs) -> dict:
    text = (f"[{f.run}] " if f.run != f.path else "") + headline(f) + (f" Fix: {f.hint}" if f.hint else "")
    where = artifact_location(logs.file(f.path), root, logs.is_folder(f.path))
    location: dict = {"physicalLocation": {"artifactLocation": where,
                                           "region": {"startLine": 1}}}
    if f.metric:
        run = (relative_to(f.path, root) or f.run) if f.run == f.path else f.run
        location["logicalLocations"] = [{"name": f.metric, "fullyQualifiedName": f"{run}::{f.metric}"}]
    key, occurrence = fingerprint
    result = {
        "ruleId": f.rule,
        "level": LEVELS[f.severity],
        "message": {"text": text},
        "locations": [location],
        "partialFingerprints": {"primaryLocationLineHash": f"{key}:{occurrence}"},
        "properties": {"run": f.run, "metric": f.metric, "step": f.step, "severity": str(f.severity),
                       "evidence": f.evidence, "hint": f.hint},
    }
    if index is not None:
        result["ruleIndex"] = index
    return result


def kept(findings: list, limit: int = MAX_RESULTS) -> list:
    """At most `limit` findings, the most severe first to stay, in their order."""
    if len(findings) <= limit:
        return findings
    order = sorted(range(len(findings)), key=lambda i: (-int(findings[i].severity), i))[:limit]
    return [findings[i] for i in sorted(order)]


def _notifications(report, left_out: int) -> list[dict]:
    notes = [{"level": "error", "message": {"text": e}} for e in report.errors]
    if left_out:
        notes.append({"level": "warning", "message": {
            "text": f"{left_out} results left out: GitHub code scanning takes at most {MAX_RESULTS:,} results "
                    "per run (the most severe are kept; --format json has them all)"}})
    return notes


def document(report, root: str | None = None) -> dict:
    from curvelint.registry import load_rules

    root = root or source_root()
    rules = list(load_rules())
    index = {r.code: i for i, r in enumerate(rules)}
    findings = kept(report.findings)
    left_out = len(report.findings) - len(findings)
    logs = Logs.of(report)
    properties = {"runsLinted": len(report.runs), "suppressed": report.suppressed}
    if left_out:
        properties["resultsLeftOut"] = left_out
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
            "invocations": [{"executionSuccessful": True,
                             "toolExecutionNotifications": _notifications(report, left_out)}],
            "originalUriBaseIds": {SRCROOT: {"uri": _file_uri(root).rstrip("/") + "/"}},
            "results": [_result(f, index.get(f.rule), fp, root, logs)
                        for f, fp in zip(findings, fingerprints(findings, root))],
            "properties": properties,
        }],
    }


def render(report, options) -> str:
    return json.dumps(utf8_safe(document(report)), indent=2, allow_nan=False)
