"""CL121 learning-rate-out-of-range, CL130 vanishing-gradients and CL131 exploding-gradients
on synthetic runs with a known truth (several seeds)."""

from __future__ import annotations

import numpy as np
import pytest

import curves as c
from curvelint.model import Abstention, Finding, Series, Severity
from curvelint_rules.exploding_gradients import ExplodingGradients
from curvelint_rules.learning_rate_out_of_range import LearningRateOutOfRange
from curvelint_rules.vanishing_gradients import VanishingGradients, layer_series

SEEDS = range(5)
RULES = (LearningRateOutOfRange, VanishingGradients, ExplodingGradients)


def grad(values, name: str = "grad_norm", stride: int = 10) -> Series:
    return Series(name, np.arange(1, len(values) + 1) * stride, np.asarray(values, dtype=float))


def noisy(base, noise: float, seed: int) -> np.ndarray:
    return np.asarray(base, dtype=float) * np.exp(np.random.default_rng(seed).normal(0, noise, len(base)))


def healthy_grad(n: int = 500, seed: int = 0) -> np.ndarray:
    """Per-step gradient norm: noisy, drifting down from ~5 to ~1.5 (HF-style logging)."""
    return noisy(1.5 + 3.5 * np.exp(-np.arange(n) / (0.3 * n)), 0.3, seed)


def severities(rule, run, **options) -> list[Severity]:
    return [r.severity for r in c.results(rule, run, **options) if isinstance(r, Finding)]


# -- CL121 learning-rate-out-of-range ----------------------------------------------------------------------


@pytest.mark.parametrize("series, hparams", [
    (Series("lr-Adam", [0, 1, 2], [0.5, 0.5, 0.5]), {}),                     # Adam at 0.5
    (None, {"optimizer": "!!python/name:torch.optim.adam.Adam ''", "lr": 0.3}),
    (None, {"cfg": {"optim": {"name": "adamw", "lr": 3.0}}}),                 # nested Hydra config
    (None, {"opt_name": "SGD", "opt_learning_rate": "20"}),                    # MLflow params are strings
    (Series("learning_rate", [0, 1, 2, 3], [0.0] * 4), {}),                    # lr 0: nothing trains
    (None, {"optimizer": "Adam", "learning_rate": 1e-9}),
])
def test_learning_rate_out_of_range(series, hparams):
    run = c.run_of(*([series] if series is not None else []), hparams=hparams)
    (f,) = [r for r in c.results(LearningRateOutOfRange, run) if isinstance(r, Finding)]
    assert f.severity == Severity.WARNING
    assert f.evidence["side"] in ("below", "above") and "plausible range" in f.message


@pytest.mark.parametrize("series, hparams", [
    (Series("lr", np.arange(100), np.r_[np.linspace(0, 1e-3, 10), np.linspace(1e-3, 0, 90)]), {}),  # warmup+decay
    (Series("x/lr0", np.arange(150), np.r_[np.linspace(0.094, 0.01, 3), np.full(147, 0.005)]), {"optimizer": "SGD"}),
    (None, {"optimizer": "Adam", "lr": 1e-3}),
    (None, {"opt_name": "SGD", "opt_learning_rate": "0.002"}),
    (None, {"optimizer": "Adadelta", "lr": 1.0}),                              # PyTorch Adadelta default
    (Series("learning_rate", np.arange(100), np.full(100, 5e-7)), {}),        # DPO fine-tune
    (Series("lr-SGD", np.arange(10), np.full(10, 0.4)), {}),                  # large-batch SGD
])
def test_learning_rate_plausible(series, hparams):
    run = c.run_of(*([series] if series is not None else []), hparams=hparams)
    assert severities(LearningRateOutOfRange, run) == []


def test_learning_rate_bounds_are_configurable_and_reported_once():
    run = c.run_of(Series("lr-Adam", [0, 1, 2], [0.01] * 3), hparams={"lr": 0.01})
    assert severities(LearningRateOutOfRange, run) == []
    custom = {"adam": [1e-5, 3e-3]}
    assert len(severities(LearningRateOutOfRange, run, bounds=custom)) == 1  # series and hparam agree: once


def test_learning_rate_abstains_without_any_lr():
    (a,) = c.results(LearningRateOutOfRange, c.run_of(c.healthy(100)))
    assert isinstance(a, Abstention)


# -- CL130 vanishing-gradients -------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_global_gradient_collapse_while_the_loss_is_stuck(seed):
    n = 300
    g = grad(noisy(2.0 * np.exp(-np.arange(n) / 25), 0.2, seed))
    loss = c.flat(n, seed, level=2.0)
    (f,) = [r for r in c.results(VanishingGradients, c.run_of(loss, g)) if isinstance(r, Finding)]
    assert f.severity == Severity.WARNING and f.evidence["ratio"] < 1e-3 and f.evidence["p_value"] < 0.05


@pytest.mark.parametrize("seed", SEEDS)
def test_per_layer_gradients_starve_the_early_layers(seed):
    n, layers = 200, 9
    series = [grad(noisy(np.full(n, 0.5 * 10.0 ** (-(layers - 1 - k) * 0.8)), 0.2, seed + k), f"grad_norm/layer{k + 1}")
              for k in range(layers)]  # layer1 ~ 1e-7 x layer9
    (f,) = [r for r in c.results(VanishingGradients, c.run_of(c.healthy(n, seed), *series)) if isinstance(r, Finding)]
    assert f.evidence["ratio"] < 1e-3 and f.evidence["early_layers"][0] == "grad_norm/layer1"
    assert f.evidence["late_layers"][-1] == "grad_norm/layer9"  # natural order: layer9 after layer10 would be wrong


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("case", ["healthy", "memorised", "layers_within_10x", "frozen_layer"])
def test_vanishing_gradients_quiet(seed, case):
    n = 300
    if case == "healthy":
        run = c.run_of(c.healthy(n, seed), grad(healthy_grad(n, seed)))
    elif case == "memorised":  # the loss went to ~0, so the gradients did too
        loss = Series("loss", np.arange(n) * 10, 2.0 * np.exp(-np.arange(n) / 20) + 1e-9)
        run = c.run_of(loss, grad(noisy(2.0 * np.exp(-np.arange(n) / 25), 0.2, seed)))
    elif case == "layers_within_10x":
        layers = [grad(noisy(np.full(n, 0.05 * (k + 1)), 0.3, seed + k), f"grad_norm/layer{k}") for k in range(1, 12)]
        run = c.run_of(c.healthy(n, seed), *layers)
    else:  # a frozen embedding logs exactly 0; the others are healthy
        frozen = grad(np.zeros(n), "grad_2.0_norm/embed.weight")
        live = [grad(noisy(np.full(n, 0.1), 0.3, seed + k), f"grad_2.0_norm/block{k}.weight") for k in range(3)]
        run = c.run_of(c.healthy(n, seed), frozen, *live)
    assert severities(VanishingGradients, run) == []


def test_layer_series_names():
    run = c.run_of(*(grad([1.0, 2, 3], name) for name in (
        "grad_norm", "grad_norm/layer10", "grad_norm/layer2", "grad_2.0_norm/conv1.weight", "grad_2.0_norm_total",
        "grad_norm/total", "gradients/fc/norm", "loss")))
    names = [s.name for s in layer_series(c.context_of(run))]
    assert names == ["grad_2.0_norm/conv1.weight", "gradients/fc/norm", "grad_norm/layer2", "grad_norm/layer10"]


# -- CL131 exploding-gradients -------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_gradient_norm_growing_by_orders_of_magnitude(seed):
    n = 200
    g = grad(noisy(np.exp(np.linspace(0, np.log(1e4), n)), 0.3, seed))
    (f,) = [r for r in c.results(ExplodingGradients, c.run_of(c.healthy(n, seed), g)) if isinstance(r, Finding)]
    # the loss keeps falling: a warning (test_diagnosis_nonfinite: an error when the loss rises with it)
    assert f.severity == Severity.WARNING and f.evidence["kind"] == "growth" and f.evidence["factor"] > 100


@pytest.mark.parametrize("seed", SEEDS)
def test_gradient_norm_spikes_mid_run(seed):
    v = healthy_grad(500, seed)
    v[[260, 400]] *= 300
    (f,) = [r for r in c.results(ExplodingGradients, c.run_of(grad(v))) if isinstance(r, Finding)]
    # no loss logged to tell whether they did harm: a warning (with a loss: test_diagnosis_nonfinite)
    assert f.severity == Severity.WARNING and f.evidence["kind"] == "spikes" and f.evidence["count"] == 2
    assert {s["step"] for s in f.evidence["spikes"]} == {2610, 4010}


@pytest.mark.parametrize("seed", SEEDS)
def test_gradient_blow_up_right_before_nan(seed):
    """rnn_exploding: the last finite grad norm is 1e10x the level before it, NaN afterwards."""
    v = healthy_grad(150, seed)
    v[113] = 1.8e10
    v[114:] = np.nan
    (f,) = [r for r in c.results(ExplodingGradients, c.run_of(grad(v))) if isinstance(r, Finding)]
    assert f.severity == Severity.ERROR and f.evidence["kind"] == "terminal" and f.step == 1140


def test_early_gradient_blow_up_that_settles_is_info():
    """law-llm (row 19): grad_norm 197, 422 in the first 200 steps, then ~2-3."""
    g = Series("grad_norm", [100, 200, 300, 400, 500, 600], [197.5, 422.0, 3.32, 2.18, 2.71, 2.68])
    (f,) = [r for r in c.results(ExplodingGradients, c.run_of(g)) if isinstance(r, Finding)]
    assert f.severity == Severity.INFO and f.evidence["kind"] == "early" and f.evidence["peak_step"] == 200


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("case", ["healthy", "slow_doubling", "nan_tail", "short"])
def test_exploding_gradients_quiet(seed, case):
    if case == "healthy":
        g = grad(healthy_grad(2000, seed))
    elif case == "slow_doubling":  # tinyllama: 1.0 -> 2.0 over the run
        g = grad(noisy(np.linspace(1.0, 2.0, 186), 0.05, seed))
    elif case == "nan_tail":  # NaN is CL100's; the finite part is healthy
        v = healthy_grad(300, seed)
        v[250:] = np.nan
        g = grad(v)
    else:
        g = grad([5.0, 4.0, 3.0])
    assert severities(ExplodingGradients, c.run_of(g)) == []


def test_per_layer_explosion_reports_the_worst_layer_once():
    n = 200
    layers = [grad(noisy(np.full(n, 0.1), 0.2, k), f"grad_norm/layer{k}") for k in range(4)]
    layers[2] = grad(noisy(np.exp(np.linspace(0, np.log(1e5), n)), 0.2, 9), "grad_norm/layer2")
    (f,) = [r for r in c.results(ExplodingGradients, c.run_of(*layers)) if isinstance(r, Finding)]
    assert f.metric == "grad_norm/layer2"


@pytest.mark.parametrize("rule", RULES)
def test_gradient_rules_abstain_without_data_and_survive_odd_input(rule):
    res = c.results(rule, c.run_of(c.healthy(50)))
    assert res and all(isinstance(r, Abstention) for r in res)
    odd = c.run_of(grad([0.0, 0.0, 1.0, np.inf, np.nan, 2.0]), grad([-1.0, 1, -1, 1, -1, 1], "grad_norm/layer1"),
                   Series("lr", [0, 1], [np.nan, 1e-3]), hparams={"lr": "auto", "optimizer": {"name": None}})
    for r in c.results(rule, odd):
        assert not (isinstance(r, Abstention) and r.reason.startswith("internal error"))


@pytest.mark.parametrize("rule", RULES)
def test_gradient_rule_metadata_and_docs(rule):
    doc = rule.doc()
    assert rule.code and rule.name and rule.summary and rule.hint
    assert "Keras" in doc and "PyTorch" in doc
    assert all(opt.doc for opt in rule.options.values())


def test_real_early_gradient_blow_up_is_info(realworld):
    """Row 19 (law-llm): grad_norm 197 and 422 in the first 200 steps, then ~2-3."""
    from curvelint.config import Config
    from curvelint.engine import lint

    found = lint([str(realworld / "aaghaazkhan_law-llm")], Config(select=["CL121", "CL130", "CL131"]), jobs=1).findings
    assert [(f.rule, f.severity) for f in found] == [("CL131", Severity.INFO)]


def test_real_runs_get_no_gradient_or_lr_warnings(realworld):
    from curvelint.config import Config
    from curvelint.engine import lint

    found = lint([str(realworld)], Config(select=["CL121", "CL130", "CL131"]), jobs=1).findings
    assert [f for f in found if f.severity >= Severity.WARNING] == [], found
