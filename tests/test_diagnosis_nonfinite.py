"""Diagnoses that hold on runs nobody tuned for: non-finite values cut only their own series
(CL100 and Context.curve), and the gradient-norm rules (CL130, CL131) judge gradients by what
the loss did. Every shape has a positive case and a healthy twin, under several seeds."""

from __future__ import annotations

import numpy as np
import pytest

import curves as c
from conftest import SHARED
from curvelint.config import Config
from curvelint.engine import check_run, lint, select_rules
from curvelint.model import Finding, Series, Severity
from curvelint.rule import finite_end
from curvelint_rules.exploding_gradients import ExplodingGradients
from curvelint_rules.non_finite_values import NonFiniteValues
from curvelint_rules.vanishing_gradients import VanishingGradients

SEEDS = range(5)
OWN = ("CL100", "CL130", "CL131")


def rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def grad_norm(n: int, seed: int, level: float = 1.0, noise: float = 0.3, stride: int = 10,
              name: str = "grad_norm") -> Series:
    """A per-step global gradient norm: noisy around `level`, drifting down a little."""
    base = level * (0.6 + 0.4 * np.exp(-np.arange(n) / (0.3 * n)))
    return c.series(name, base * np.exp(rng(seed).normal(0, noise, n)), stride)


def with_values(s: Series, at, value: float) -> Series:
    v = s.values.copy()
    v[at] = value
    return Series(s.name, s.steps, v)


def rising_loss(n: int, seed: int, stride: int = 10, name: str = "loss") -> Series:
    """Falls to ~0.4 by a third of the run, then rises several-fold (x4) to the end."""
    return c.diverging(n, seed, turn=0.35, growth=4.0, stride=stride, name=name)


def run_all(*series: Series, hparams: dict | None = None, select: tuple[str, ...] | None = None) -> list[Finding]:
    config = Config(select=list(select) if select else None)
    findings, _ = check_run(c.run_of(*series, hparams=hparams), select_rules(config), config)
    return findings


def found(rule, *series: Series, **options) -> list[Finding]:
    return c.findings(rule, c.run_of(*series), **options)


def by_metric(findings: list[Finding]) -> dict[str, Severity]:
    return {f.metric: f.severity for f in findings}


def warned(findings: list[Finding], rules=OWN) -> list[Finding]:
    return [f for f in findings if f.rule in rules and f.severity >= Severity.WARNING]


# -- Context.curve: a non-finite value cuts only its own series -------------------------------------------------


@pytest.mark.parametrize("values, end", [
    ([1, 2, 3], 3),
    ([1, np.nan, 3, 4], 4),                      # isolated: recovers
    ([np.nan, 1, 2, 3], 4),                      # NaN at the first evaluation only
    ([1, 2, np.nan], 2),                         # the last value
    ([1, np.inf, np.nan, np.nan], 1),            # inf, then NaN to the end
    ([1, 2, np.inf, 5, np.inf, np.nan, 7, np.nan], 2),  # blow-up with finite garbage interleaved
    ([np.nan] * 4, 0),
])
def test_finite_end(values, end):
    assert finite_end(np.array(values, dtype=float)) == end


def test_curve_drops_isolated_values_keeps_steps_and_cuts_for_good():
    loss = c.healthy(100, 0)
    v = loss.values.copy()
    v[[10, 40]] = np.inf
    v[90:] = np.nan
    ctx = c.context_of(c.run_of(Series("loss", loss.steps, v), grad_norm(100, 0)))
    s = ctx.curve("train_loss")
    assert len(s) == 88 and np.isfinite(s.values).all()
    assert 110 not in s.steps and 410 not in s.steps and s.steps[-1] == loss.steps[89]
    assert ctx.non_finite_from("train_loss") == loss.steps[90]
    assert ctx.curve("grad_norm") is ctx.series("grad_norm")  # the loss's NaN cuts nothing else
    assert ctx.non_finite_from("grad_norm") is None


@pytest.mark.parametrize("seed", SEEDS)
def test_yolo_style_isolated_validation_nan_keeps_the_rest(seed):
    """val/box_loss NaN at epoch 1 only, then 150 finite epochs."""
    val = c.val_overfit(152, seed, name="val/box_loss")
    val = with_values(val, 1, np.nan)
    ctx = c.context_of(c.run_of(c.healthy(152, seed, stride=1, name="train/box_loss"), val))
    s, reason = ctx.usable("val_loss", 3)
    assert reason == "" and len(s) == 151 and ctx.non_finite_from("val_loss") is None
    (f,) = found(NonFiniteValues, c.healthy(152, seed, stride=1, name="train/box_loss"), val)
    assert f.metric == "val/box_loss" and f.severity == Severity.WARNING and f.step == val.steps[1]
    assert f.evidence["pattern"] == "isolated" and "only" in f.message


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("where", ["early", "middle", "several"])
def test_inf_grad_norm_step_does_not_silence_the_loss_rules(seed, where):
    """fp16 loss scaling: inf grad norm at skipped steps; the loss still rises several-fold."""
    n = 1000
    at = {"early": [3], "middle": [500], "several": [3, 200, 640]}[where]
    g = with_values(grad_norm(n, seed), at, np.inf)
    loss = rising_loss(n, seed)
    findings = run_all(loss, g)
    assert "CL104" in {f.rule for f in findings}, findings
    assert by_metric([f for f in findings if f.rule == "CL100"]) == {"grad_norm": Severity.INFO}
    assert [f.rule for f in findings if f.rule == "CL131"] == []  # the finite norm is healthy


@pytest.mark.parametrize("seed", SEEDS)
def test_isolated_inf_in_the_loss_itself_does_not_silence_the_loss_rules(seed):
    """The logged loss is inf at the skipped step too (the overflow was in the forward pass)."""
    n = 1000
    g = with_values(grad_norm(n, seed), 420, np.inf)
    loss = with_values(rising_loss(n, seed), 420, np.inf)
    findings = run_all(loss, g)
    assert "CL104" in {f.rule for f in findings}
    assert by_metric([f for f in findings if f.rule == "CL100"]) == {"grad_norm": Severity.INFO,
                                                                     "loss": Severity.INFO}


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("extra", ["none", "loss_scale", "fp16_hparam"])
def test_fp16_healthy_run_with_a_few_skipped_steps_is_quiet(seed, extra):
    """Healthy twin: a healthy loss, a few skipped inf grad-norm steps: info at most."""
    n = 1000
    g = with_values(grad_norm(n, seed), [2, 5, 377], np.inf)
    series = [c.healthy(n, seed), g]
    hparams = None
    if extra == "loss_scale":
        series.append(c.series("loss_scale", 2.0 ** np.clip(16 - np.arange(n) // 300, 10, 16), 10))
    elif extra == "fp16_hparam":
        hparams = {"fp16": True}
    findings = run_all(*series, hparams=hparams)
    assert [f for f in findings if f.severity >= Severity.WARNING] == [], findings  # any rule
    (f,) = [f for f in findings if f.rule == "CL100"]
    assert f.severity == Severity.INFO and "loss scaler" in f.message
    if extra != "none":
        assert "loss_scaling" in f.evidence


# -- CL100 severities ----------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_frequent_grad_norm_overflow_is_a_warning(seed):
    n = 300
    at = rng(seed).choice(np.arange(n - 20), size=60, replace=False)  # 20% of the steps
    (f,) = found(NonFiniteValues, c.healthy(n, seed), with_values(grad_norm(n, seed), at, np.inf))
    assert f.severity == Severity.WARNING and f.evidence["pattern"] == "isolated"


@pytest.mark.parametrize("seed", SEEDS)
def test_grad_norm_nan_for_good(seed):
    n = 300
    g = with_values(grad_norm(n, seed), slice(200, None), np.nan)
    loss_nan = with_values(c.healthy(n, seed), slice(201, None), np.nan)
    assert by_metric(found(NonFiniteValues, loss_nan, g)) == {"grad_norm": Severity.ERROR, "loss": Severity.ERROR}
    # the loss stays finite: every update was skipped, not a broken model
    assert by_metric(found(NonFiniteValues, c.healthy(n, seed), g)) == {"grad_norm": Severity.WARNING}


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", ["loss", "val_loss"])
def test_loss_that_turns_nan_is_an_error_and_isolated_nan_a_warning(seed, name):
    n = 40
    train = c.early_stopped(n, seed)
    s = c.early_stopped(n, seed + 10, name=name) if name != "loss" else train
    turned = with_values(s, slice(25, None), np.nan)
    one = with_values(s, 7, np.nan)
    others = [train] if name != "loss" else []
    (f,) = found(NonFiniteValues, *others, turned)
    assert f.severity == Severity.ERROR and f.evidence["turn_step"] == s.steps[25]
    (f,) = found(NonFiniteValues, *others, one)
    assert f.severity == Severity.WARNING and f.evidence["isolated_steps"] == [int(s.steps[7])]


@pytest.mark.parametrize("seed", SEEDS)
def test_always_nan_auxiliary_metric_is_info_but_a_loss_term_keeps_warning(seed):
    """avg_val_projected_errors NaN at all 10 points while the losses are fine."""
    n = 10
    nan = np.full(n, np.nan)
    loss, val = c.early_stopped(n, seed), c.early_stopped(n, seed + 1, name="val_loss")
    findings = found(NonFiniteValues, loss, val, c.series("avg_val_projected_errors", nan),
                     c.series("data_loss", nan), c.series("val_f1", with_values(c.rising_accuracy(n, seed), 3,
                                                                                 np.nan).values))
    assert by_metric(findings) == {"avg_val_projected_errors": Severity.INFO, "data_loss": Severity.WARNING,
                                   "val_f1": Severity.INFO}
    (f,) = [f for f in findings if f.metric == "avg_val_projected_errors"]
    assert "every one of its 10 values" in f.message and "metric" in f.message
    assert by_metric(found(NonFiniteValues, c.series("loss", nan))) == {"loss": Severity.ERROR}


def test_auxiliary_metric_that_turns_nan_is_a_warning():
    acc = with_values(c.rising_accuracy(30, 0, name="val_precision"), slice(20, None), np.nan)
    assert by_metric(found(NonFiniteValues, c.early_stopped(30, 0), acc)) == {"val_precision": Severity.WARNING}


def test_configured_severity_is_the_ceiling():
    loss = with_values(c.early_stopped(30, 0), slice(20, None), np.nan)
    one = with_values(c.early_stopped(30, 1, name="val_loss"), 4, np.nan)
    found_ = c.findings(NonFiniteValues, c.run_of(loss, one))
    assert by_metric(found_) == {"loss": Severity.ERROR, "val_loss": Severity.WARNING}
    ctx = c.context_of(c.run_of(loss, one)).for_rule(NonFiniteValues, severity=Severity.WARNING)
    lowered = [r for r in NonFiniteValues().check(ctx)]
    assert by_metric(lowered) == {"loss": Severity.WARNING, "val_loss": Severity.INFO}


# -- CL131: spikes that do not hurt, and those that do --------------------------------------------------------


def spiky_norm(n: int, seed: int, factor: float = 300.0, level: float = 1.0) -> Series:
    g = grad_norm(n, seed, level=level)
    at = np.sort(rng(seed + 3).choice(np.arange(n // 3, n - 10), size=3, replace=False))
    return with_values(g, at, g.values[at] * factor), at


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("level", [1e-3, 1.0, 1e3])
def test_spikes_the_loss_never_felt_are_info(seed, level):
    """Clipping absorbed them: the per-step loss keeps falling through every spike."""
    n = 1000
    g, _ = spiky_norm(n, seed, level=level)
    (f,) = found(ExplodingGradients, c.healthy(n, seed), g)
    assert f.severity == Severity.INFO and f.evidence["kind"] == "spikes"
    assert f.evidence["loss_reaction"] == "none" and "never reacted" in f.message


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("level", [1e-3, 1.0, 1e3])
def test_spikes_with_a_loss_that_jumps_are_a_warning(seed, level):
    n = 1000
    g, at = spiky_norm(n, seed, level=level)
    loss = c.healthy(n, seed)
    loss = with_values(loss, at + 1, loss.values[at + 1] * 6)
    (f,) = found(ExplodingGradients, loss, g)
    assert f.severity == Severity.WARNING and f.evidence["loss_reaction"] == "spike"
    assert f.evidence["loss_jump_step"] in set((loss.steps[at + 1]).tolist())


@pytest.mark.parametrize("seed", SEEDS)
def test_spikes_then_a_nan_loss_are_an_error(seed):
    n = 1000
    g, at = spiky_norm(n, seed)
    g = with_values(g, slice(int(at[-1]) + 2, None), np.nan)
    loss = with_values(c.healthy(n, seed), slice(int(at[-1]) + 1, None), np.nan)
    (f,) = found(ExplodingGradients, loss, g)
    assert f.severity == Severity.ERROR and f.evidence["loss_reaction"] == "non-finite"


def test_spikes_without_a_loss_are_a_warning():
    g, _ = spiky_norm(1000, 0)
    (f,) = found(ExplodingGradients, g)
    assert f.severity == Severity.WARNING and f.evidence["loss_reaction"] == "unknown"


@pytest.mark.parametrize("seed", SEEDS)
def test_growth_with_a_rising_loss_is_an_error_and_without_a_warning(seed):
    n = 400
    t = np.arange(n)
    g = c.series("grad_norm", np.exp(np.where(t > 150, (t - 150) / 25, 0)) * np.exp(rng(seed).normal(0, 0.3, n)))
    falling = c.healthy(n, seed, stride=1)
    rising = Series("loss", falling.steps, falling.values * (1 + np.clip(np.log10(g.values), 0, None)))
    (bad,) = found(ExplodingGradients, rising, g)
    assert bad.evidence["kind"] == "growth" and bad.severity == Severity.ERROR
    assert bad.evidence["loss_reaction"] == "rise"
    (mild,) = found(ExplodingGradients, falling, g)
    assert mild.evidence["kind"] == "growth" and mild.severity == Severity.WARNING


@pytest.mark.parametrize("seed", SEEDS)
def test_early_blow_up_that_settles_while_the_loss_falls_is_info(seed):
    n = 300
    g = grad_norm(n, seed, level=2.0)
    g = with_values(g, [3, 4, 5], np.array([150.0, 400.0, 90.0]) * (1 + 0.1 * seed))
    loss = c.healthy(n, seed, start=20.0, end=2.0, tau=0.05)
    (f,) = found(ExplodingGradients, loss, g)
    assert f.severity == Severity.INFO and f.evidence["kind"] == "early" and f.evidence["peak_step"] == g.steps[4]


@pytest.mark.parametrize("seed", SEEDS)
def test_norm_largest_at_its_first_value_falling_with_the_loss_is_no_blow_up(seed):
    """Healthy twin (and the hate-speech shape): the norm falls 1e4x from its first value as the loss does."""
    n = 300
    t = np.arange(n)
    g = c.series("train/grad_norm", 6.0 * np.exp(-t / 12) + 3e-4 * np.exp(rng(seed).normal(0, 0.2, n)))
    loss = c.series("train/loss", np.maximum(0.85 * np.exp(-t / 8) - 1e-4, 0.0))
    assert found(ExplodingGradients, loss, g) == []
    assert found(VanishingGradients, loss, g) == []


@pytest.mark.parametrize("seed", SEEDS)
def test_heavy_tailed_healthy_norm_gets_no_warning(seed):
    """RL-style norm: lognormal noise of sigma 0.8 around a flat level, the loss falling."""
    n = 1500
    g = grad_norm(n, seed, noise=0.8)
    assert warned(found(ExplodingGradients, c.healthy(n, seed), g)) == []


# -- CL130: vanishing or converged --------------------------------------------------------------------------


def collapsing(n: int, seed: int, by: float = 1e4) -> Series:
    t = np.arange(n)
    return c.series("grad_norm", 2.0 * by ** (-t / n) * np.exp(rng(seed).normal(0, 0.2, n)), 10)


@pytest.mark.parametrize("seed", SEEDS)
def test_norm_collapse_while_the_loss_is_stalled_is_a_warning(seed):
    n = 400
    (f,) = found(VanishingGradients, c.flat(n, seed, level=2.3), collapsing(n, seed))
    assert f.severity == Severity.WARNING and f.evidence["loss_kept"] > 0.9 and "still high" in f.message


@pytest.mark.parametrize("seed", SEEDS)
def test_norm_falling_with_a_converging_loss_is_quiet(seed):
    n = 400
    t = np.arange(n)
    loss = c.series("loss", 2.3 * np.exp(-t / 40) * np.exp(rng(seed).normal(0, 0.1, n)) + 1e-4, 10)
    assert found(VanishingGradients, loss, collapsing(n, seed)) == []


@pytest.mark.parametrize("seed", SEEDS)
def test_norm_collapse_out_of_proportion_to_a_falling_loss_is_info(seed):
    n = 400
    loss = c.healthy(n, seed, start=2.3, end=0.5, noise=0.05)  # fell ~4x
    (f,) = found(VanishingGradients, loss, collapsing(n, seed, by=1e5))
    assert f.severity == Severity.INFO and 0.01 < f.evidence["loss_kept"] < 0.5


def test_norm_collapse_without_a_loss_is_info():
    (f,) = found(VanishingGradients, collapsing(400, 0))
    assert f.severity == Severity.INFO and "no training loss" in f.message


@pytest.mark.parametrize("seed", SEEDS)
def test_per_layer_starvation_is_reported_even_with_a_converging_loss(seed):
    n, k = 200, 8
    layers = [c.series(f"grad_norm/layer{i + 1}", 0.5 * 0.15 ** (k - 1 - i) * np.exp(rng(seed + i).normal(0, 0.2, n)))
              for i in range(k)]
    (f,) = found(VanishingGradients, c.plateau(n, seed), *layers)
    assert f.severity == Severity.WARNING and f.evidence["ratio"] < 1e-3
    healthy = [c.series(f"grad_norm/layer{i + 1}", 0.5 * 0.8 ** (k - 1 - i) * np.exp(rng(seed + i).normal(0, 0.2, n)))
               for i in range(k)]
    assert found(VanishingGradients, c.plateau(n, seed), *healthy) == []


# -- real logs (confirm, never fitted) ----------------------------------------------------------------------


def real(path: str, select=OWN) -> list[Finding]:
    full = SHARED / path
    if not full.exists():
        pytest.skip(f"../shared/{path} is not present")
    return lint([str(full)], Config(select=list(select)), jobs=1).findings


def test_real_always_nan_aux_metrics_are_info():
    """macchinine: avg_*_projected_errors NaN at all 10 points, losses fine; labelled healthy."""
    found_ = real("realworld/leonardo-russo_macchinine")
    assert warned(found_) == [] and {f.metric for f in found_ if f.rule == "CL100"} == {
        "avg_train_projected_errors", "avg_val_projected_errors"}


def test_real_early_grad_blow_up_is_info_at_most():
    assert warned(real("realworld/aaghaazkhan_law-llm")) == []
    assert warned(real("realworld2/akanksha_smolvlm")) == []


def test_real_isolated_validation_nan_is_still_reported():
    """YOLOv5 val/box_loss NaN at epoch 1 only (labelled nan_loss)."""
    for path in ("realworld2/ahmetkoray_lid/runs/train/exp", "realworld2/ahmetkoray_lid/runs/train/exp/results.csv"):
        box = [f for f in real(path, ("CL100",)) if f.metric == "val/box_loss"]
        assert box and all(f.severity >= Severity.WARNING and f.step == 1 for f in box)


def test_real_leakage_to_zero_loss_is_not_vanishing_gradients():
    """hate-speech: grad_norm 6.2 -> 3e-4 as the training loss reaches exactly 0."""
    found_ = real("realworld2/aryan1112003_hate-speech/logs")
    assert [f for f in found_ if f.rule == "CL130"] == [] and warned(found_) == []


@pytest.mark.parametrize("labelled_set", ["realworld", "realworld2"])
def test_real_healthy_runs_get_no_warning_from_these_rules(labelled_set):
    import json

    labels = SHARED / labelled_set / "labels.json"
    if not labels.exists():
        pytest.skip(f"../shared/{labelled_set} is not present")
    healthy = [e["run"] for e in json.loads(labels.read_text()) if e["labels"] == ["healthy"]]
    bad = {run: warned(real(f"{labelled_set}/{run}")) for run in healthy}
    assert {run: fs for run, fs in bad.items() if fs} == {}


# -- many series turning non-finite at one step are one event ---------------------------------------------------


def _terms(k: int, seed: int, turn: int = 60, n: int = 100) -> list[Series]:
    """A physics-informed loss with k terms: each falls, then all are NaN from step `turn` on."""
    out = []
    for i in range(k):
        v = (1.0 + i) * np.exp(-np.arange(n) / 40) * np.exp(rng(seed + i).normal(0, 0.02, n))
        v[turn:] = np.nan
        out.append(c.series(f"term{i}_loss", v, 1))
    return out


@pytest.mark.parametrize("seed", SEEDS)
def test_loss_terms_turning_nan_at_one_step_are_one_error_listing_the_others(seed):
    mean = _terms(1, seed + 50)[0]
    mean = Series("loss", mean.steps, mean.values)
    (f,) = found(NonFiniteValues, mean, *_terms(4, seed))
    assert f.metric == "loss" and f.severity == Severity.ERROR  # the series with a role leads
    assert f.evidence["together_with"] == [f"term{i}_loss" for i in range(4)]
    assert "4 other loss series turn non-finite for good at the same step" in f.message


@pytest.mark.parametrize("seed", SEEDS)
def test_two_series_or_different_steps_are_reported_one_by_one(seed):
    a, b = _terms(2, seed)
    late = Series("late_loss", a.steps, np.where(a.steps >= 80, np.nan, np.nan_to_num(a.values, nan=0.2)))
    results = found(NonFiniteValues, a, b, late)
    assert sorted(f.metric for f in results) == ["late_loss", "term0_loss", "term1_loss"]
    assert not any("together_with" in f.evidence for f in results)
