"""The stable v1 JSON shape (`--format json`; with --statistics also a "statistics" list of
{rule, name, count}); strings are valid UTF-8 (a file name's bytes that are not
are written as ``\\xff``, `utf8_safe`), control characters are JSON escapes."""

from __future__ import annotations

import json
from collections import Counter

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
    doc = document(report)
    if options.statistics:  # --statistics: the count per rule, as the text format prints it
        counts = Counter((f.rule, f.name) for f in report.findings)
        doc["statistics"] = [{"rule": code, "name": name, "count": n} for (code, name), n in sorted(counts.items())]
    return json.dumps(utf8_safe(doc), indent=2, allow_nan=False)  # a name that is not UTF-8: \\xff
