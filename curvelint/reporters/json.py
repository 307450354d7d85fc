"""The stable v1 JSON shape (`--format json`); strings are valid UTF-8 (a file name's bytes that are not
are written as ``\\xff``, `utf8_safe`), control characters are JSON escapes."""

from __future__ import annotations

import json

from curvelint import __version__
from curvelint.reporters.escape import utf8_safe


def document(report) -> dict:
    return {
        "version": 1,
        "tool": {"name": "curvelint", "version": __version__},
        "runs": [{"path": r.path, "format": r.format, "series": r.series, "points": r.points} for r in report.runs],
        "findings": [f.to_dict() for f in report.findings],
    }


def render(report, options) -> str:
    return json.dumps(utf8_safe(document(report)), indent=2, allow_nan=False)  # a name that is not UTF-8: \\xff
