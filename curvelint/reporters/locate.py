"""Where a finding sits, and who it is, for the CI formats (SARIF, GitLab Code Quality, rdjson).

Code-scanning services place a result in a file of the repository: a run folder is named by its
first event file (`RunSummary.log`, as the engine found it: no reporter looks at the logs), its path is written relative to the repository's root (`source_root`:
the nearest folder above the current one holding ``.git``, else the current folder). A log has no
line that a finding belongs to, so every location is line 1.

A binary event file cannot be hashed by line (what GitHub's upload action does for a result without
a fingerprint), so each result carries a fingerprint of our own (`fingerprints`): a hash of the rule
code, the run's path relative to the root, the run's name, the series and the message with its
numbers left out (`message_template`). It survives re-runs, appended steps and changed values; the
n-th finding with the same hash in one report gets occurrence n, so no two results share one.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections import Counter
from dataclasses import dataclass
from typing import Iterable

from curvelint.model import Finding, Report, RunSummary

_NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?%?")


@dataclass(frozen=True)
class Logs:
    """The file each run's findings are placed at (code scanning locates results in files), from the
    report's `RunSummary.log`: a run folder's first event file, else the run's path."""

    by_path: dict[str, RunSummary]

    @classmethod
    def of(cls, report: Report) -> Logs:
        return cls({r.path: r for r in report.runs})

    def file(self, path: str) -> str:
        run = self.by_path.get(path)
        return run.log if run is not None and run.log else path

    def is_folder(self, path: str) -> bool:
        """Whether the file of the run at `path` is a folder (a run folder without an event file)."""
        run = self.by_path.get(path)
        return run is not None and run.log_is_folder


def source_root(start: str | None = None) -> str:
    """The absolute path of the git work tree holding `start` (default: the current folder), else `start`."""
    here = os.path.abspath(start or os.getcwd())
    folder = here
    while True:
        if os.path.exists(os.path.join(folder, ".git")):
            return folder
        parent = os.path.dirname(folder)
        if parent == folder:
            return here
        folder = parent


def relative_to(path: str, root: str) -> str | None:
    """`path` relative to `root` with ``/`` separators, or None when it lies outside `root`."""
    rel = os.path.relpath(os.path.abspath(path), root)
    if rel == os.pardir or rel.startswith(os.pardir + os.sep):
        return None
    return rel.replace(os.sep, "/")


def display_path(path: str, root: str, logs: Logs) -> str:
    """The log file of a finding's run relative to `root` (``/`` separators), else absolute."""
    located = logs.file(path)
    rel = relative_to(located, root)
    return rel if rel is not None else os.path.abspath(located).replace(os.sep, "/")


def headline(f: Finding) -> str:
    """``metric @ step N: message`` (the parts the finding has)."""
    where = " @ ".join([*([f.metric] if f.metric else []), *([f"step {f.step}"] if f.step is not None else [])])
    return f"{where}: {f.message}" if where else f.message


def message_template(message: str) -> str:
    """The message with every number written as ``#``: what stays when the values change."""
    return _NUMBER.sub("#", message)


def _key(f: Finding, root: str) -> str:
    rel = relative_to(f.path, root)
    path = rel if rel is not None else os.path.abspath(f.path).replace(os.sep, "/")
    text = "\x1f".join([f.rule, path, f.run if f.run != f.path else "", f.metric or "", message_template(f.message)])
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]  # a non-UTF-8 name too


def fingerprints(findings: Iterable[Finding], root: str) -> list[tuple[str, int]]:
    """(hash, occurrence) of each finding, in order: occurrence 1 for the first with its hash, then 2, ..."""
    seen: Counter[str] = Counter()
    out = []
    for f in findings:
        key = _key(f, root)
        seen[key] += 1
        out.append((key, seen[key]))
    return out


def unique_fingerprint(key: str, occurrence: int) -> str:
    """One string per finding (GitLab merges issues that share a fingerprint): `key`, suffixed past the first."""
    return key if occurrence == 1 else hashlib.sha256(f"{key}:{occurrence}".encode()).hexdigest()[:32]
