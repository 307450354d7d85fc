"""`Monitor`: a training's metric history, checked with curvelint's rules every N updates.

    monitor = Monitor(every=1)                        # hand-written loop
    for epoch in range(epochs):
        ...
        if monitor.update(epoch, {"loss": loss, "val_loss": val_loss}):
            break                                     # an error was found: stop
    monitor.finish()

What it does with a finding: logs it (`log`, default the ``curvelint`` logger), asks to stop
(`should_stop`) at `stop_on` or above (default: errors), and raises `TrainingProblem` at
`raise_on` or above (default: never). Findings are shown by a `Tracker` (`hold`, `confirm`):
once shown they stay until their rule was quiet for `hold` checks.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from curvelint.api import Checker, ConfigLike, as_config
from curvelint.model import Finding, Severity
from curvelint.tracking import CONFIRM, HOLD, LIVE_RULES, Change, Tracker

LOGGER = logging.getLogger("curvelint")
_DEFAULT = object()


class TrainingProblem(Exception):
    """Raised by a monitor with `raise_on` set: the findings at or above it."""

    def __init__(self, findings: list[Finding]) -> None:
        self.findings = findings
        super().__init__("; ".join(describe(f) for f in findings))


def describe(finding: Finding) -> str:
    f = finding
    where = f"{f.metric} @ step {f.step}: " if f.metric and f.step is not None else (f"{f.metric}: " if f.metric else "")
    return f"{f.severity} {f.rule} {f.name}: {where}{f.message}"


def scalar(value: Any) -> float | None:
    """A logged value as a float (Python and numpy numbers, 0-d/1-element tensors), else None."""
    if value is None or isinstance(value, (bool, str, bytes)):
        return None
    try:
        if hasattr(value, "detach"):  # a torch tensor: off the graph and the device first
            value = value.detach().cpu()
        number = float(value)
    except (TypeError, ValueError, RuntimeError, OverflowError):
        return None
    return number


class Monitor:
    """Metric history of one training, checked every `every` updates (see the module doc)."""

    def __init__(self, every: int = 1, *, stop_on: str | Severity | None = "error",
                 raise_on: str | Severity | None = None, log: Callable[[str], None] | None | object = _DEFAULT,
                 config: ConfigLike = None, roles: Mapping[str, str | Sequence[str]] | None = None,
                 hparams: Mapping[str, Any] | None = None, hold: int = HOLD, confirm: int = CONFIRM,
                 name: str = "training") -> None:
        if every < 1:
            raise ValueError("every must be at least 1")
        self.every = every
        self.stop_on = None if stop_on is None else Severity.parse(stop_on)
        self.raise_on = None if raise_on is None else Severity.parse(raise_on)
        # a callable or None once _DEFAULT is out (mypy cannot narrow an `is` test on an object sentinel)
        self.log: Callable[[str], None] | None = None if log is _DEFAULT else log  # type: ignore[assignment]
        self._default_log = log is _DEFAULT
        live = copy.deepcopy(as_config(config))
        live.ignore = [*live.ignore, *LIVE_RULES]  # a training being checked is unfinished by nature
        self.checker = Checker(live, roles)
        self.hparams: dict[str, Any] = dict(hparams or {})
        self.tracker = Tracker(hold=hold, confirm=confirm)
        self.name = name
        self.history: dict[str, tuple[list[int], list[float]]] = {}
        self.updates = 0
        self.should_stop = False
        self.stopped_by: Finding | None = None

    def record(self, step: int, metrics: Mapping[str, Any]) -> None:
        """Add one point per metric that holds a number (others are ignored)."""
        for key, value in metrics.items():
            number = scalar(value)
            if number is not None:
                steps, values = self.history.setdefault(str(key), ([], []))
                steps.append(int(step))
                values.append(number)

    def update(self, step: int, metrics: Mapping[str, Any]) -> bool:
        """`record`, then `check` every `every` updates; whether training should stop."""
        self.record(step, metrics)
        self.updates += 1
        if self.updates % self.every == 0:
            self.check()
        return self.should_stop

    def check(self) -> list[Change]:
        """Check the history now; log what changed, set `should_stop`, raise at `raise_on`."""
        series = {name: (steps, values) for name, (steps, values) in self.history.items()}
        findings = self.checker.check(series, self.hparams, name=self.name)
        return self._act(self.tracker.update(self.name, findings))

    def finish(self) -> list[Change]:
        """Training ended: a last check, and what was still waiting for confirmation is shown."""
        changes = self.check() if self.history else []
        return changes + self._act(self.tracker.settle(self.name), stop=False)

    @property
    def findings(self) -> list[Finding]:
        """The findings shown now."""
        return self.tracker.shown(self.name)

    def _act(self, changes: list[Change], stop: bool = True) -> list[Change]:
        for change in changes:
            self._say(f"curvelint: {change.kind}: {describe(change.finding)}", change.kind == "cleared")
        shown = [c.finding for c in changes if c.kind != "cleared"]
        if stop and self.stop_on is not None and not self.should_stop:
            self.stopped_by = next((f for f in shown if f.severity >= self.stop_on), None)
            self.should_stop = self.stopped_by is not None
            if self.stopped_by is not None:
                self._say(f"curvelint: stopping the training: {self.stopped_by.rule} {self.stopped_by.name}")
        bad = [f for f in shown if self.raise_on is not None and f.severity >= self.raise_on]
        if bad:
            raise TrainingProblem(bad)
        return changes

    def _say(self, message: str, quiet: bool = False) -> None:
        if self._default_log:
            LOGGER.log(logging.INFO if quiet else logging.WARNING, message)
        elif self.log is not None:
            self.log(message)
