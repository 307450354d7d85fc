"""Findings on a growing run, shown without flapping.

A rule judged again on a longer prefix of the same run may stop firing for one evaluation
and fire again at the next (a statistic hovering around its threshold). `Tracker` turns
the findings of successive evaluations into `Change`s a user can act on:

* a finding is shown ("new") once it was reported by `confirm` evaluations in a row, or at
  once for a rule in `immediate` (non-finite values: a logged NaN is not revised by more
  points). On a short prefix a rule may judge a curve that then changes course (a loss that
  has not decreased yet over its first evaluations); `confirm` = 2 halves such blips;
* once shown it stays: only after it was absent from `hold` evaluations in a row is it
  reported "cleared". Callers evaluate a run only when it got new points, so a finding
  never disappears unless the evidence changed, and disappears only when its rule stayed
  quiet over `hold` updates;
* a shown finding reported again at a higher severity is a "worse" change.

`curvelint watch`, the training callbacks and ``benchmarks/watch_prefix.py`` (which chose the
defaults) all use it. A finding is identified by its run (`scope`), rule and metric: its
message and step may change as the run grows, it is still the same finding.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from curvelint.model import Finding

HOLD = 3  # evaluations a shown finding must be absent before it is cleared (benchmarks/watch_prefix.py)
CONFIRM = 2  # evaluations in a row a finding must be reported before it is shown
IMMEDIATE = ("CL100",)  # rules shown at their first report
LIVE_RULES = ("CL002", "CL004")  # truncated log, run unfinished: what a run being written is; not checked live

Key = tuple[str, str, "str | None"]  # scope (run), rule code, metric
Kind = Literal["new", "worse", "cleared"]


@dataclass(frozen=True)
class Change:
    """A finding that appeared ("new"), got a higher severity ("worse") or no longer holds ("cleared")."""

    kind: Kind
    finding: Finding  # for "cleared": the last report of it


@dataclass
class _Entry:
    finding: Finding
    seen: int = 0  # evaluations in a row it was reported
    quiet: int = 0  # evaluations in a row it was not (while shown)
    shown: bool = False


@dataclass
class Tracker:
    """The findings shown for each run, updated one evaluation at a time (see the module doc)."""

    hold: int = HOLD
    confirm: int = CONFIRM
    immediate: tuple[str, ...] = IMMEDIATE
    _entries: dict[Key, _Entry] = field(default_factory=dict)

    def update(self, scope: str, findings: Iterable[Finding]) -> list[Change]:
        """Take the findings of one evaluation of run `scope`; return what changed for the user."""
        changes: list[Change] = []
        now: dict[Key, Finding] = {}
        for f in findings:
            now.setdefault((scope, f.rule, f.metric), f)  # a rule's first report per metric stands for it
        for key, f in now.items():
            entry = self._entries.setdefault(key, _Entry(f))
            worse = entry.shown and f.severity > entry.finding.severity
            entry.finding, entry.seen, entry.quiet = f, entry.seen + 1, 0
            if not entry.shown and (entry.seen >= self.confirm or f.rule in self.immediate):
                entry.shown = True
                changes.append(Change("new", f))
            elif worse:
                changes.append(Change("worse", f))
        for key in [k for k in self._entries if k[0] == scope and k not in now]:
            entry = self._entries[key]
            entry.seen = 0
            if not entry.shown:
                del self._entries[key]
                continue
            entry.quiet += 1
            if entry.quiet >= self.hold:
                del self._entries[key]
                changes.append(Change("cleared", entry.finding))
        return changes

    def settle(self, scope: str | None = None) -> list[Change]:
        """Show the findings still waiting for their confirmation (the run ended: nothing more comes)."""
        changes = []
        for key, entry in self._entries.items():
            if not entry.shown and entry.seen and (scope is None or key[0] == scope):
                entry.shown = True
                changes.append(Change("new", entry.finding))
        return changes

    def shown(self, scope: str | None = None) -> list[Finding]:
        """The findings currently shown (of one run, or of all)."""
        return [e.finding for k, e in self._entries.items() if e.shown and (scope is None or k[0] == scope)]

    def forget(self, scope: str) -> None:
        """Drop a run that is no longer followed (nothing is reported for it)."""
        for key in [k for k in self._entries if k[0] == scope]:
            del self._entries[key]
