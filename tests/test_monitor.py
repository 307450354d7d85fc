"""`Monitor` (hand-written loops, and what every callback uses) and the Tracker behind it."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from curvelint.integrations import Monitor, TrainingProblem
from curvelint.model import Finding, Severity
from curvelint.tracking import Tracker


def _finding(rule: str = "CL102", severity: Severity = Severity.ERROR, metric: str = "loss") -> Finding:
    return Finding(rule, "x", severity, "run", "run", metric, 1, "message")


def test_tracker_shows_after_confirm_keeps_for_hold_and_clears():
    tracker = Tracker(hold=3, confirm=2)
    f = _finding()
    assert tracker.update("r", [f]) == []  # waiting for its confirmation
    assert [c.kind for c in tracker.update("r", [f])] == ["new"]
    assert tracker.update("r", []) == [] and tracker.update("r", []) == []  # held
    assert tracker.shown("r") == [f]
    assert [c.kind for c in tracker.update("r", [])] == ["cleared"]
    assert tracker.shown("r") == []


def test_tracker_immediate_rules_worse_severity_scopes_and_settle():
    tracker = Tracker(hold=2, confirm=2)
    assert [c.kind for c in tracker.update("r", [_finding("CL100")])] == ["new"]  # non-finite: at once
    tracker.update("r", [_finding("CL100"), _finding("CL110", Severity.WARNING)])
    assert [c.kind for c in tracker.update("other", [_finding("CL110", Severity.WARNING)])] == []
    changes = tracker.update("r", [_finding("CL100"), _finding("CL110", Severity.WARNING)])
    assert [c.kind for c in changes] == ["new"]
    assert [c.kind for c in tracker.update("r", [_finding("CL100"), _finding("CL110", Severity.ERROR)])] == ["worse"]
    assert [(c.kind, c.finding.rule) for c in tracker.settle()] == [("new", "CL110")]  # the other run's


def test_monitor_stops_a_hand_written_loop_at_a_nan_loss_and_leaves_a_healthy_one_alone():
    said: list[str] = []
    monitor = Monitor(every=2, log=said.append)
    losses = [2.0, 1.6, 1.3, 1.1, float("nan"), float("nan"), float("nan"), float("nan")]
    stopped_at = next((i for i, loss in enumerate(losses) if monitor.update(i, {"loss": loss})), None)
    assert stopped_at == 5  # the check after the first NaN (every 2 updates)
    assert monitor.stopped_by is not None and monitor.stopped_by.rule == "CL100"
    assert any("stopping the training" in line for line in said)

    healthy = Monitor(log=None)
    for epoch, loss in enumerate(2.0 * np.exp(-np.arange(30) / 8) + 0.1):
        assert not healthy.update(epoch, {"loss": loss, "val_loss": loss * 1.1, "note": "text is ignored"})
    healthy.finish()
    assert not healthy.should_stop
    assert all(f.severity < Severity.ERROR for f in healthy.findings)
    assert set(healthy.history) == {"loss", "val_loss"}


def test_monitor_raises_and_logs_to_the_curvelint_logger(caplog):
    monitor = Monitor(stop_on=None, raise_on="error")
    with caplog.at_level(logging.WARNING, logger="curvelint"):
        monitor.update(0, {"loss": 1.0})
        with pytest.raises(TrainingProblem, match="CL100"):
            monitor.update(1, {"loss": float("inf")})
    assert "CL100" in caplog.text
    assert not monitor.should_stop


def test_the_core_and_the_monitor_import_no_framework():
    import subprocess
    import sys

    code = ("import sys, curvelint, curvelint.api, curvelint.watch, curvelint.integrations\n"
            "loaded = {'torch', 'keras', 'tensorflow', 'jax', 'lightning', 'pytorch_lightning', 'transformers'}"
            " & set(sys.modules)\n"
            "assert not loaded, loaded")
    subprocess.run([sys.executable, "-c", code], check=True)
