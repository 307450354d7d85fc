"""The stable v1 JSON shape (`--format json`)."""

from __future__ import annotations

import json

from curvelint import __version__


def document(report) -> dict:
    return {
        "version": 1,
        "tool": {"name": "curvelint", "version": __version__},
        "runs": [{"path": r.path, "format": r.format, "series": r.series, "points": r.points} for r in report.runs],
        "findings": [f.to_dict() for f in report.findings],
    }


def render(report, options) -> str:
    return json.dumps(document(report), indent=2, allow_nan=False)
