"""The diagnosis figures of the labelled sets never fall below the recorded ones (fixtures/figures.json).

Sets that are absent are skipped: ``../shared/realworld*`` beside the project root, and
(``fixtures/realbench`` is committed). ``python fixtures/score.py --record``
rewrites the record after a change that improves it.
"""

from __future__ import annotations

import math
import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "fixtures"))
import score  # noqa: E402

RECORD = score.load_record()


@pytest.mark.parametrize("name", sorted(RECORD))
def test_figures_do_not_fall_below_the_record(name):
    runs = score.load_set(name)
    if not runs:
        pytest.skip(f"{name} is not present")
    got = score.figures(score.lint_runs(runs))
    want = RECORD[name]
    assert got.runs == want["runs"], "the labelled set changed: re-record its figures"
    assert got.detection >= want["detection"] - 1e-4, got.missed  # recorded to 4 decimals
    assert got.diagnosis >= want["diagnosis"] - 1e-4, got.wrong_cause + got.missed
    assert got.healthy_warned <= want["healthy_warned"] + 1e-4, got.false_alarms


def test_scoring_counts_detection_diagnosis_and_false_alarms():
    def scored(labels, *findings):
        run = score.LabelledRun("s", "r", "r", tuple(labels))
        return score.Scored(run, [(rule, sev, None, "") for rule, sev in findings])

    f = score.figures([
        scored(["overfitting"], ("CL110", "warning")),  # detected, diagnosed
        scored(["overfitting"], ("CL104", "info")),  # detected, wrong cause
        scored(["stalled"]),  # missed
        scored(["healthy"], ("CL111", "info")),  # a remark, not a false alarm
        scored(["healthy"], ("CL104", "error")),  # a false alarm
    ])
    assert (f.problems, f.healthy) == (3, 2)
    assert math.isclose(f.detection, 2 / 3) and math.isclose(f.diagnosis, 1 / 3)
    assert f.healthy_warned == 0.5
    assert f.precision["CL110"]["precision"] == 1.0 and f.precision["CL104"]["precision"] == 0.0
    assert f.confusion["overfitting"] == {"CL110": 1, "CL104": 1}
