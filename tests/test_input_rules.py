"""CL001-CL003, CL100, CL101 on hand-made runs with known truth."""

from __future__ import annotations

import numpy as np

from curvelint.config import Config
from curvelint.engine import check_run, select_rules
from curvelint.model import Problem, Run, Series, Severity


def make_run(**series) -> Run:
    run = Run(name="r", path="r", format="keras-history")
    for name, values in series.items():
        run.series[name] = Series(name, np.arange(len(values)), np.asarray(values, dtype=float))
    return run


def codes(run: Run, select=("CL0", "CL100", "CL101")) -> list[tuple[str, str | None]]:
    findings, _ = check_run(run, select_rules(Config(select=list(select))), Config())
    return [(f.rule, f.metric) for f in findings]


def decay(n=20):
    return list(2.0 * np.exp(-np.arange(n) / 5) + 0.1)


def test_unreadable_and_truncated_problems_become_findings():
    run = make_run(loss=decay())
    run.problems += [Problem("unreadable", "a/events.x", "bad data CRC", 1234), Problem("truncated", "a/events.y", "partial record", 99)]
    findings, _ = check_run(run, select_rules(Config(select=["CL001", "CL002"])), Config())
    by_code = {f.rule: f for f in findings}
    assert by_code["CL001"].severity == Severity.ERROR and "1234" in by_code["CL001"].message
    assert by_code["CL002"].severity == Severity.INFO


def test_no_metrics_names_what_it_saw():
    findings, _ = check_run(make_run(accuracy=[0.1, 0.2], foo=[1, 2]), select_rules(Config(select=["CL003"])), Config())
    assert len(findings) == 1 and "accuracy" in findings[0].message and "foo" in findings[0].message


def test_no_metrics_quiet_with_a_loss_or_a_loss_like_series():
    assert codes(make_run(loss=decay()), ["CL003"]) == []
    assert codes(make_run(**{"episode/MSE Loss": decay()}), ["CL003"]) == []


def test_empty_run_gets_no_metrics():
    assert codes(make_run(), ["CL003"]) == [("CL003", None)]


def test_nan_reported_once_with_last_finite_value():
    loss = decay()
    loss[12:] = [np.nan] * 8
    findings, _ = check_run(make_run(loss=loss), select_rules(Config(select=["CL100"])), Config())
    (f,) = findings
    assert f.step == 12 and f.evidence["last_finite_step"] == 11 and f.severity == Severity.ERROR


def test_always_nan_auxiliary_metric_is_one_level_lower():
    findings, _ = check_run(make_run(loss=decay(), avg_projected_errors=[np.nan] * 10),
                            select_rules(Config(select=["CL100"])), Config())
    (f,) = findings
    assert f.metric == "avg_projected_errors" and f.severity == Severity.INFO  # the metric code is broken, not training


def test_inf_is_non_finite():
    loss = decay()
    loss[5] = np.inf
    assert codes(make_run(loss=loss), ["CL100"]) == [("CL100", "loss")]


def test_constant_validation_loss_is_flagged():
    assert codes(make_run(loss=decay(), val_loss=[0.69] * 20), ["CL101"]) == [("CL101", "val_loss")]


def test_constant_allowed_for_lr_unknown_series_and_pinned_optimum():
    run = make_run(loss=decay(), lr=[1e-3] * 20, batch_size=[32] * 20, cls_loss=[0.0] * 20,
                   val_accuracy=[1.0] * 20)
    assert codes(run, ["CL101"]) == []


def test_constant_needs_three_points():
    assert codes(make_run(loss=decay(), val_loss=[0.5, 0.5]), ["CL101"]) == []
