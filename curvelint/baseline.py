"""Baselines: accept today's findings, report only new ones (``--write-baseline`` / ``--baseline``).

A finding's fingerprint is its rule code, its run's path (relative to the baseline
file's folder, with ``/`` separators) and its metric, plus the run name when it
differs from the path (a Parquet table with a ``run`` column holds several runs).
Steps, numbers and message text are left out on purpose, so a baseline survives
re-runs, appended steps and reworded messages. The file records how many findings
share each fingerprint; applying it (`curvelint.suppression.apply_baseline`) removes at most that many.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from typing import Any, Iterable

from curvelint.fileio import open_regular
from curvelint.model import Finding

VERSION = 1


def _rel(path: str, base: str) -> str:
    absolute = os.path.abspath(path)
    try:
        rel = os.path.relpath(absolute, base)
    except ValueError:  # another drive (Windows)
        rel = absolute
    return rel.replace(os.sep, "/")


def key_fields(finding: Finding, base: str) -> dict[str, Any]:
    """What identifies a finding across runs of curvelint (no step, numbers or message)."""
    path = _rel(finding.path, base)
    run = finding.run
    if run == finding.path or os.path.abspath(run) == os.path.abspath(finding.path):
        run = ""
    elif run.startswith(finding.path):
        run = run[len(finding.path):]
    return {"rule": finding.rule, "path": path, "run": run, "metric": finding.metric}


def fingerprint(finding: Finding, base: str) -> str:
    k = key_fields(finding, base)
    text = "\x1f".join([k["rule"], k["path"], k["run"], k["metric"] or ""])
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]  # a non-UTF-8 file name too


def _base(path: str) -> str:
    return os.path.dirname(os.path.abspath(path))


def write_baseline(path: str, findings: Iterable[Finding]) -> None:
    """Write the findings' fingerprints (sorted, so the file diffs well) to `path`."""
    base = _base(path)
    counts: Counter[str] = Counter()
    entries: dict[str, dict[str, Any]] = {}
    for f in findings:
        fp = fingerprint(f, base)
        counts[fp] += 1
        entries.setdefault(fp, {"fingerprint": fp, **key_fields(f, base), "name": f.name})
    rows = [{**entries[fp], "count": counts[fp]} for fp in entries]
    rows.sort(key=lambda r: (r["path"], r["run"], r["rule"], r["metric"] or ""))
    doc = {"version": VERSION, "tool": "curvelint", "findings": rows}
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(doc, fh, indent=2)
        fh.write("\n")


def read_baseline(path: str) -> Counter[str]:
    """Fingerprint -> how many findings it accepts. ValueError for a file that is not a baseline; OSError
    (`curvelint.fileio.NotRegularFile`) for one that is not a regular file (a FIFO would block)."""
    with open_regular(path) as fh:
        try:
            doc = json.loads(fh.read().decode("utf-8"))
        except UnicodeDecodeError:
            raise ValueError("not a curvelint baseline (not UTF-8 text)") from None
        except RecursionError:
            raise ValueError("not a curvelint baseline (nested too deeply)") from None
    if not isinstance(doc, dict) or doc.get("version") != VERSION or not isinstance(doc.get("findings"), list):
        raise ValueError(f"not a curvelint baseline (version {VERSION})")
    accepted: Counter[str] = Counter()
    for row in doc["findings"]:
        if not isinstance(row, dict) or not isinstance(row.get("fingerprint"), str):
            raise ValueError("baseline entry without a fingerprint")
        count = row.get("count", 1)
        if not isinstance(count, int) or count < 1:
            raise ValueError(f"baseline entry {row['fingerprint']}: bad count {count!r}")
        accepted[row["fingerprint"]] += count
    return accepted
