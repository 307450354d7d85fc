"""Suppression: findings that the rules reported but the user has accepted, all in one place.

Selection (`curvelint.registry`: select / extend-select / ignore) decides which rules run at all;
suppression drops findings of rules that ran, after the fact, in three ways:

* ``per-path-ignores`` in the configuration: glob -> selectors, for findings under a path
  (`ignored_at`; globs of `curvelint.globs`, relative to the configuration file's folder);
* a run folder's own ``.curvelint.toml`` holding only ``ignore = [...]`` and a ``reason``
  (`run_suppressions`: binary logs cannot carry inline comments); the run says what it accepted;
* a baseline file (``--baseline``, `apply_baseline`; its format is `curvelint.baseline`'s).

Each suppressed finding is counted in ``Report.suppressed``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from curvelint.baseline import fingerprint, read_baseline
from curvelint.config_files import RUN_FILE, ConfigError, Where, is_run_file, read_toml
from curvelint.config_rules import selectors
from curvelint.fileio import is_regular
from curvelint.globs import path_matches
from curvelint.model import Finding, Report
from curvelint.registry import finding_matches

if TYPE_CHECKING:
    from curvelint.config import Config

RUN_KEYS = ("ignore", "reason")


@dataclass(frozen=True)
class Kept:
    """The findings of one run after suppression, how many were dropped, and the run's note saying
    what its own suppression file accepted (empty when it accepted nothing)."""

    findings: list[Finding]
    suppressed: int
    note: str = ""


def local_suppressions(run_path: str) -> tuple[list[str], str]:
    """Selectors a run folder suppresses for itself (``.curvelint.toml`` beside its logs), and why."""
    path = os.path.join(run_path, RUN_FILE)
    if not is_regular(path):
        return [], ""
    data = read_toml(path)
    if not is_run_file(data):
        return [], ""  # a project configuration that happens to sit in a run folder
    where = Where(path, "")
    unknown = sorted(set(data) - set(RUN_KEYS))
    if unknown:
        raise ConfigError(f"{where(unknown[0])}: a run's suppression file (it has a 'reason') may only hold "
                          f"{', '.join(RUN_KEYS)}")
    ignore = selectors(data.get("ignore", []), where("ignore"))
    reason = data["reason"]
    if not isinstance(reason, str) or not reason.strip():
        raise ConfigError(f"{where('reason')}: expected a non-empty string saying why")
    return ignore, reason.strip()


def ignored_at(config: Config, path: str) -> list[str]:
    """The selectors `per-path-ignores` suppresses for a finding at `path`."""
    base = config.root or os.getcwd()
    return [s for pattern, sels in config.per_path_ignores.items() if path_matches(path, pattern, base)
            for s in sels]


def suppress(findings: list[Finding], run_dir: str, config: Config) -> Kept:
    """`findings` of the run in `run_dir` without those that per-path-ignores or the run's own
    suppression file (unless ``config.run_files`` is off: --isolated) accept."""
    local, reason = local_suppressions(run_dir) if config.run_files else ([], "")
    kept = [f for f in findings if not finding_matches(f.rule, [*local, *ignored_at(config, f.path)])]
    by_run_file = sorted({f.rule for f in findings if finding_matches(f.rule, local)})
    note = f"{os.path.join(run_dir, RUN_FILE)} suppresses {', '.join(by_run_file)}: {reason}" if by_run_file else ""
    return Kept(kept, len(findings) - len(kept), note)


def apply_baseline(report: Report, path: str) -> int:
    """Drop the findings the baseline at `path` accepts from `report.findings`; returns (and counts) how many."""
    accepted = read_baseline(path)
    base = os.path.dirname(os.path.abspath(path))
    kept: list[Finding] = []
    for f in report.findings:
        fp = fingerprint(f, base)
        if accepted[fp] > 0:
            accepted[fp] -= 1
        else:
            kept.append(f)
    removed = len(report.findings) - len(kept)
    report.findings = kept
    report.suppressed += removed
    return removed
