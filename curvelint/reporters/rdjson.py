"""reviewdog's Diagnostic Format (`--format rdjson`): ``reviewdog -f=rdjson`` reads it.

One ``DiagnosticResult`` (https://github.com/reviewdog/reviewdog/tree/master/proto/rdf): the source
is curvelint, each finding a diagnostic at its run's log file (relative to the current folder, as
reviewdog resolves paths; absolute outside it), line 1, with severity ERROR / WARNING / INFO and the
rule code.
"""

from __future__ import annotations

import json
import os

from curvelint.model import Severity
from curvelint.reporters.escape import utf8_safe
from curvelint.reporters.locate import Logs, display_path, headline

SEVERITIES = {Severity.ERROR: "ERROR", Severity.WARNING: "WARNING", Severity.INFO: "INFO"}
SOURCE = {"name": "curvelint", "url": "https://github.com/curvelint/curvelint"}


def _diagnostic(f, root: str, logs: Logs) -> dict:
    run = f"[{f.run}] " if f.run != f.path else ""
    return {
        "message": f"{run}{headline(f)}" + (f"\nFix: {f.hint}" if f.hint else ""),
        "location": {"path": display_path(f.path, root, logs), "range": {"start": {"line": 1}}},
        "severity": SEVERITIES[f.severity],
        "source": SOURCE,
        "code": {"value": f.rule},
    }


def document(report, root: str | None = None) -> dict:
    root = root or os.getcwd()
    logs = Logs.of(report)
    return {"source": SOURCE, "diagnostics": [_diagnostic(f, root, logs) for f in report.findings]}


def render(report, options) -> str:
    return json.dumps(utf8_safe(document(report)), indent=2, allow_nan=False)
