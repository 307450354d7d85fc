"""GitLab Code Quality JSON (`--format gitlab`): the ``artifacts:reports:codequality`` report.

A JSON array of issues (https://docs.gitlab.com/ci/testing/code_quality/#code-quality-report-format):
``description``, ``check_name`` (the rule code), ``fingerprint`` (unique per issue,
`curvelint.reporters.locate.fingerprints`), ``severity`` (error: critical, warning: major,
info: info) and ``location`` (the run's log file relative to the repository root, line 1).
"""

from __future__ import annotations

import json

from curvelint.model import Severity
from curvelint.reporters.escape import utf8_safe
from curvelint.reporters.locate import Logs, display_path, fingerprints, headline, source_root, unique_fingerprint

SEVERITIES = {Severity.ERROR: "critical", Severity.WARNING: "major", Severity.INFO: "info"}


def _issue(f, fingerprint: tuple[str, int], root: str, logs: Logs) -> dict:
    run = f"[{f.run}] " if f.run != f.path else ""
    return {
        "type": "issue",
        "check_name": f.rule,
        "description": f"{run}{f.rule} {f.name}: {headline(f)}",
        "categories": ["Bug Risk"],
        "fingerprint": unique_fingerprint(*fingerprint),
        "severity": SEVERITIES[f.severity],
        "location": {"path": display_path(f.path, root, logs), "lines": {"begin": 1}},
        **({"content": {"body": f"Fix: {f.hint}"}} if f.hint else {}),
    }


def document(report, root: str | None = None) -> list[dict]:
    root = root or source_root()
    logs = Logs.of(report)
    return [_issue(f, fp, root, logs) for f, fp in zip(report.findings, fingerprints(report.findings, root))]


def render(report, options) -> str:
    return json.dumps(utf8_safe(document(report)), indent=2, allow_nan=False)
