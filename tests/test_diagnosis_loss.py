"""Training-loss diagnoses on general shapes seen in real runs (issue: diagnoses that hold on
real runs nobody tuned for): each shape with several seeds and lengths, and a healthy twin."""

from __future__ import annotations

import numpy as np
import pytest

import curves
from curvelint.config import Config
from curvelint.engine import check_run, select_rules

SEEDS = range(4)
LENGTHS = (8, 30, 400)


def lint_series(*series, hparams=None):
    run = curves.run_of(*series, hparams=hparams)
    findings, _ = check_run(run, select_rules(Config()), Config())
    return findings


def warned(findings) -> set[str]:
    return {f.rule for f in findings if f.severity >= 2}


def noisy(values, seed: int, sigma: float) -> np.ndarray:
    return np.asarray(values, float) * np.exp(np.random.default_rng(seed).normal(0, sigma, len(values)))


def sigma_for(n: int) -> float:
    return 0.02 if n <= 30 else 0.12  # epoch means are smooth, per-step losses are not


def decay(n: int, start: float = 2.0, end: float = 0.2, tau: float = 0.1) -> np.ndarray:
    t = np.arange(n) / max(n - 1, 1)
    return end + (start - end) * np.exp(-t / tau)


# -- a blow-up is a step or a hump, not a trend ---------------------------------------------------
def hump_settles(n: int) -> np.ndarray:
    v = decay(n)
    k = max(2, int(0.4 * n))
    v[k:] = np.maximum(v[k:], 4 * 0.2)  # blows up and settles 4x above its best
    return v


def steps_up(n: int) -> np.ndarray:
    v = decay(n)
    k = max(2, int(0.4 * n))
    v[k:] = v[k] * 10
    return v


def early_blow_up(n: int) -> np.ndarray:
    v = 8 + 40 * np.exp(-np.arange(n) / (0.3 * n))
    v[0] = 0.7  # first log fine, then the loss is 10-70x above it and never comes back
    return v


@pytest.mark.parametrize("shape", [hump_settles, steps_up, early_blow_up])
@pytest.mark.parametrize("n", LENGTHS)
@pytest.mark.parametrize("seed", SEEDS)
def test_blow_up_is_diverging_not_loss_not_decreasing(shape, n, seed):
    found = lint_series(curves.series("loss", noisy(shape(n), seed, sigma_for(n))))
    rules = {f.rule for f in found}
    assert "CL104" in rules, [f.message for f in found]
    assert "CL102" not in rules  # the blow-up is the cause; "not decreasing" its symptom
    cl104 = next(f for f in found if f.rule == "CL104")
    assert "blew up" in cl104.message or "rises after its minimum" in cl104.message


def test_blow_up_quotes_logged_values_with_their_steps():
    v = np.array([0.70, 35.0, 30.0, 28.0, 27.0, 26.5, 26.0, 25.8])
    f = next(f for f in lint_series(curves.series("loss", v)) if f.rule == "CL104")
    assert "0.7 at step 1" in f.message and "25.8 at step 8" in f.message
    assert "level" not in f.message  # no smoothing on 8 points: every number was logged


def warm_restarts(n: int) -> np.ndarray:
    t = np.arange(n)
    period = max(4, n // 4)
    return decay(n) * (1 + 0.3 * ((t % period) == 0))


def warmup_then_fall(n: int) -> np.ndarray:
    v = decay(n, start=1.0, end=0.2, tau=0.2)
    k = max(1, n // 10)
    v[:k] = np.linspace(1.0, 1.3, k)
    return v


def tiny_wobble(n: int) -> np.ndarray:
    v = decay(n, start=0.6, end=0.001, tau=0.05)
    v[int(0.9 * n):] *= 5  # 0.001 -> 0.005 at the end of a 0.6 -> 0.001 run
    return v


@pytest.mark.parametrize("shape", [warm_restarts, warmup_then_fall, tiny_wobble])
@pytest.mark.parametrize("n", (30, 400))
@pytest.mark.parametrize("seed", SEEDS)
def test_healthy_bumps_are_not_blow_ups(shape, n, seed):
    found = lint_series(curves.series("loss", noisy(shape(n), seed, sigma_for(n))))
    assert "CL104" not in {f.rule for f in found}, [f.message for f in found]


def blow_up_partial(n: int, end: float) -> np.ndarray:
    """An LSTM at SGD lr 20: 3.1 at the first log, 25x that a few logs later, then a fall to
    `end` times the first value (per-step noise added by the caller)."""
    t = np.arange(n) / (n - 1)
    v = 3.1 * (end + (25 - end) * np.exp(-t / 0.15))
    v[0] = 3.1
    return v


@pytest.mark.parametrize("n", (40, 70, 400))
@pytest.mark.parametrize("seed", SEEDS)
def test_an_early_blow_up_that_never_gets_back_to_its_start_is_diverging(n, seed):
    """Every point after the first stays above it: the run ends no better than before it blew up."""
    v = noisy(blow_up_partial(n, 1.45), seed, 0.08)
    v[0] = 3.1
    found = [f for f in lint_series(curves.series("loss", v)) if f.rule == "CL104"]
    assert found and found[0].severity == 2 and "never got back below its first value" in found[0].message


@pytest.mark.parametrize("n", (40, 70, 400))
@pytest.mark.parametrize("seed", SEEDS)
def test_the_same_blow_up_with_clipping_falls_far_below_its_start_and_is_quiet(n, seed):
    """The healthy twin (clipped at 0.25): the same early jump, then down to half the first value."""
    v = noisy(blow_up_partial(n, 0.45), seed, 0.08)
    v[0] = 3.1
    assert "CL104" not in {f.rule for f in lint_series(curves.series("loss", v))}


@pytest.mark.parametrize("seed", SEEDS)
def test_rl_loss_that_rises_while_the_return_improves_is_info_at_most(seed):
    loss = curves.series("train/loss", noisy([8.4, 11.6, 18.5, 17.6, 18.0, 19.0], seed, 0.05))
    ret = curves.series("rollout/ep_rew_mean", np.linspace(22, 180, 6))
    assert not warned(lint_series(loss, ret))


# -- frozen after a change -------------------------------------------------------------------------
def _frozen(n: int, since: float, seed: int, jump: float = 1.0) -> np.ndarray:
    v = noisy(decay(n, 2.3, 0.2, 0.2), seed, 0.01)
    k = int(since * n)
    v[k:] = np.float32(v[k - 1] * jump)  # float32 as frameworks log it, then never changes again
    return v


@pytest.mark.parametrize("n, since", [(10, 0.6), (15, 0.3), (50, 0.5)])
@pytest.mark.parametrize("seed", SEEDS)
def test_validation_loss_frozen_after_a_change_is_reported(n, since, seed):
    train = curves.series("loss", noisy(decay(20 * n, 2.3, 0.2, 0.2), seed, 0.15))
    val = curves.series("val_loss", _frozen(n, since, seed), stride=20)
    found = [f for f in lint_series(train, val) if f.rule == "CL109"]
    assert found and found[0].metric == "val_loss" and found[0].severity == 2
    assert "stopped changing" in found[0].message
    assert not {f.rule for f in lint_series(train, val)} & {"CL111", "CL120"}  # not "wasted epochs"


def test_a_jump_up_before_the_frozen_stretch_says_diverged_then_saturated():
    v = _frozen(20, 0.5, 0, jump=20.0)
    f = next(f for f in lint_series(curves.series("loss", v)) if f.rule == "CL109")
    assert "diverged, then saturated" in f.message


def test_metric_collapsed_to_zero_is_reported():
    m = np.concatenate([np.linspace(0.005, 0.04, 8), [0.03, 0.01], np.zeros(40)])
    found = lint_series(curves.series("loss", decay(50)), curves.series("metrics/mAP50(B)", m))
    assert any(f.rule == "CL109" and f.metric == "metrics/mAP50(B)" for f in found)


def test_frozen_with_a_zero_learning_rate_says_so():
    v = _frozen(12, 0.5, 1)
    lr = np.r_[np.full(5, 1e-3), np.zeros(7)]  # 0 from the last value that moved on
    f = next(f for f in lint_series(curves.series("val_loss", v), curves.series("lr", lr),
                                    curves.series("loss", decay(12))) if f.rule == "CL109")
    assert "learning rate is 0" in f.message


@pytest.mark.parametrize("seed", SEEDS)
def test_healthy_converged_repeats_and_bounds_are_not_frozen(seed):
    rng = np.random.default_rng(seed)
    acc = np.r_[0.80, 0.90, np.full(8, 0.95)]  # k/N of a small validation set repeats
    converged = 0.2 * (1 + rng.normal(0, 1e-4, 10))  # converged, still moving in the 4th digit
    perfect = np.r_[0.8, 0.1, np.zeros(8)]  # a perfect fit, not a frozen model
    cosine_end = np.r_[decay(20, 2.0, 0.3, 0.3)[:18], 0.3001, 0.3001]  # LR ~0 for the last 2 of 20 only
    for series in (curves.series("val_accuracy", acc), curves.series("val_loss", converged),
                   curves.series("val_loss", perfect), curves.series("val_loss", cosine_end)):
        found = lint_series(curves.series("loss", decay(10 * len(series), 2.3, 0.2)), series)
        assert "CL109" not in {f.rule for f in found}, (series.name, [f.message for f in found])


# -- unfinished runs and runs without a loss -------------------------------------------------------
def test_single_point_run_is_unfinished_info():
    found = lint_series(curves.series("train_loss", np.array([0.9])), curves.series("val_loss", np.array([0.8])))
    assert [(f.rule, f.severity) for f in found] == [("CL004", 1)]


def test_unfinished_reader_fact_is_info():
    run = curves.run_of(curves.series("loss", decay(20)))
    run.unfinished = "stopped at global_step 500 of max_steps 625"
    findings, _ = check_run(run, select_rules(Config()), Config())
    assert [(f.rule, f.severity, f.message) for f in findings] == [("CL004", 1, run.unfinished)]


def test_metrics_without_a_loss_is_info_and_no_series_at_all_a_warning():
    only_metrics = lint_series(curves.series("catboost_ndcg", np.linspace(0.97, 0.96, 9)))
    assert [(f.rule, f.severity) for f in only_metrics] == [("CL003", 1)]
    run = curves.run_of(curves.series("hp_metric", np.array([-1.0])))
    findings, _ = check_run(run, select_rules(Config()), Config())
    assert [(f.rule, f.severity) for f in findings] == [("CL003", 2)]
    empty = curves.run_of(hparams={"max_steps": 3, "logging_steps": 10})
    findings, _ = check_run(empty, select_rules(Config()), Config())
    assert [(f.rule, f.severity) for f in findings] == [("CL003", 1)]
    assert "fewer than logging_steps=10" in findings[0].message


# -- converged high without validation -------------------------------------------------------------
@pytest.mark.parametrize("n", (10, 40, 400))
@pytest.mark.parametrize("seed", SEEDS)
def test_training_loss_that_learned_little_and_stopped_is_underfitting_info(n, seed):
    v = noisy(decay(n, start=330.0, end=235.0, tau=0.15), seed, 0.002 if n <= 40 else 0.03)
    found = [f for f in lint_series(curves.series("loss", v)) if f.rule == "CL114"]
    assert found and found[0].severity == 1 and "converged high" in found[0].message


@pytest.mark.parametrize("seed", SEEDS)
def test_converged_low_still_falling_or_learning_metric_is_not_underfitting(seed):
    low = noisy(decay(40, 2.3, 0.05, 0.15), seed, 0.01)
    falling = noisy(np.linspace(2.0, 1.3, 40), seed, 0.002)
    dice = noisy(decay(40, 1.0, 0.91, 0.2), seed, 0.002)
    iou = curves.series("val_jaccard_coef", np.linspace(0.25, 0.69, 40))
    acc = curves.series("accuracy", np.linspace(0.54, 0.85, 40))
    for series in ([curves.series("loss", low)], [curves.series("loss", falling)],
                   [curves.series("loss", dice), acc, iou]):
        assert "CL114" not in {f.rule for f in lint_series(*series)}


# -- spikes judged at the run's scale --------------------------------------------------------------
@pytest.mark.parametrize("seed", SEEDS)
def test_spike_tiny_at_the_runs_scale_is_not_reported(seed):
    v = noisy(decay(400, 1.0, 0.001, 0.05), seed, 0.05)
    v[300] = 0.032  # 32x the local level, 3% of the way back to the start
    assert "CL106" not in {f.rule for f in lint_series(curves.series("loss", v))}


@pytest.mark.parametrize("seed", SEEDS)
def test_spike_large_at_the_runs_scale_is_reported(seed):
    v = noisy(decay(400, 1.0, 0.05, 0.05), seed, 0.05)
    v[250] = 0.9
    assert "CL106" in {f.rule for f in lint_series(curves.series("loss", v))}


@pytest.mark.parametrize("seed", SEEDS)
def test_a_spike_that_precedes_a_dead_plateau_is_reported_with_it(seed):
    """One symptom per series hid the cause: the spike and the frozen stretch are both the story."""
    v = noisy(decay(40, 2.0, 0.3, 0.15), seed, 0.01)
    v[20] = 6.0  # the blow-up
    v[22:] = np.float32(0.9)  # then every ReLU is dead: bit-identical for the rest of the run
    v[21] = 1.4
    rules = {f.rule for f in lint_series(curves.series("loss", v))}
    assert {"CL106", "CL109"} <= rules or {"CL104", "CL109"} <= rules, rules


# -- an absurd first loss -------------------------------------------------------------------------
@pytest.mark.parametrize("first", (14.0, 60.0, 800.0))
@pytest.mark.parametrize("seed", SEEDS)
def test_first_loss_far_above_chance_names_unscaled_inputs_and_blow_up(first, seed):
    v = noisy(decay(30, first, 0.3, 0.1), seed, 0.02)
    found = [f for f in lint_series(curves.series("loss", v), hparams={"num_classes": 10}) if f.rule == "CL108"]
    assert found and found[0].severity == 2
    assert "unscaled inputs" in found[0].message and "blow-up" in found[0].message


def test_orders_of_magnitude_above_the_end_is_info_without_classes():
    v = np.r_[2.9e12, 4e8, 1e5, 300.0, decay(30, 20.0, 1.0, 0.2)]
    found = [f for f in lint_series(curves.series("loss", v)) if f.rule == "CL108"]
    assert found and found[0].severity == 1


@pytest.mark.parametrize("seed", SEEDS)
def test_a_classifier_starting_near_chance_and_unscaled_regression_stay_quiet(seed):
    near_chance = noisy(decay(30, 2.4, 0.3, 0.1), seed, 0.02)
    regression = noisy(decay(30, 8e3, 12.0, 0.1), seed, 0.02)  # MSE of raw targets: 1e3x, a healthy trap
    assert "CL108" not in {f.rule for f in lint_series(curves.series("loss", near_chance),
                                                        hparams={"num_classes": 10})}
    assert "CL108" not in {f.rule for f in lint_series(curves.series("loss", regression))}


# -- short runs are judged ------------------------------------------------------------------------
def test_loss_identical_to_three_digits_over_four_epochs_is_not_decreasing():
    found = lint_series(curves.series("loss", np.array([2.3155, 2.3041, 2.3032, 2.3029])))
    assert "CL102" not in {f.rule for f in found}  # 0.5% range: it moved a little, no verdict on 4 points
    found = lint_series(curves.series("loss", np.array([0.6931, 0.6934, 0.6930, 0.6932, 0.6931])))
    assert [(f.rule, f.severity) for f in found if f.rule == "CL102"] == [("CL102", 3)]


def test_short_runs_that_improve_stay_quiet():
    for v in ([0.596, 0.419, 0.376, 0.352], [2.1, 1.4, 1.1], [0.146, 0.08, 0.05, 0.035, 0.02]):
        assert not warned(lint_series(curves.series("loss", np.array(v))))
