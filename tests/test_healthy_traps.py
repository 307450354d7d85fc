"""Healthy runs that look bad to a naive rule get no warning or error from ANY rule.

The traps of the issue "Diagnoses that hold on real runs nobody tuned for", each drawn with
several seeds and run through every registered rule together (as `curvelint` runs them), so
that an interplay between rules cannot hide behind a rule-by-rule test.
"""

from __future__ import annotations

import numpy as np
import pytest

import curves
from curvelint.config import Config
from curvelint.engine import check_run, select_rules

SEEDS = range(5)


def rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def decay(n: int, start: float, end: float, tau: float) -> np.ndarray:
    t = np.arange(n) / max(n - 1, 1)
    return end + (start - end) * np.exp(-t / tau)


def noisy(v: np.ndarray, seed: int, sigma: float) -> np.ndarray:
    return np.asarray(v, float) * np.exp(rng(seed).normal(0, sigma, len(v)))


def s(name: str, values, stride: int = 1) -> curves.Series:
    return curves.series(name, np.asarray(values, float), stride=stride)


def early_stopped(seed: int):
    n, patience = 30, 5
    train = noisy(decay(n, 2.0, 0.2, 0.3), seed, 0.01)
    val = noisy(decay(n, 2.0, 0.45, 0.2), seed + 1, 0.01)
    val[-patience:] = val[-patience - 1] * (1 + np.linspace(0.005, 0.03, patience))  # patience, then stop
    return [s("loss", train), s("val_loss", val)]


def reduce_lr_on_plateau(seed: int):
    n = 60
    val = np.r_[decay(25, 1.5, 0.6, 0.2), np.full(10, 0.6), decay(25, 0.6, 0.45, 0.3)]
    lr = np.r_[np.full(35, 1e-3), np.full(25, 1e-4)]
    train = decay(n, 1.5, 0.3, 0.3)
    return [s("loss", noisy(train, seed, 0.01)), s("val_loss", noisy(val, seed + 1, 0.005)), s("lr", lr)]


def short_improving(seed: int):
    n = 2 + seed % 4
    return [s("loss", noisy(decay(n, 0.9, 0.3, 0.5), seed, 0.01)),
            s("val_loss", noisy(decay(n, 0.8, 0.35, 0.5), seed + 1, 0.01))]


def val_below_train(seed: int):
    train = noisy(decay(40, 1.2, 0.45, 0.3), seed, 0.01)
    return [s("loss", train), s("val_loss", train * 0.8), s("accuracy", np.linspace(0.6, 0.85, 40)),
            s("val_accuracy", np.linspace(0.65, 0.9, 40))]


def one_class_detector(seed: int):
    n = 50
    return [s("train/box_loss", noisy(decay(n, 0.1, 0.03, 0.3), seed, 0.01)),
            s("train/cls_loss", np.zeros(n)), s("val/box_loss", noisy(decay(n, 0.09, 0.03, 0.3), seed, 0.01)),
            s("val/cls_loss", np.zeros(n)), s("metrics/mAP_0.5", np.linspace(0.01, 0.86, n))]


def perfect_tiny_validation(seed: int):
    return [s("loss", noisy(decay(5, 0.6, 0.05, 0.4), seed, 0.01)), s("accuracy", [0.79, 0.9, 0.95, 0.98, 1.0]),
            s("val_loss", noisy(decay(5, 0.22, 0.02, 0.4), seed, 0.01)), s("val_accuracy", np.ones(5))]


def rl_value_loss(seed: int):
    n = 200
    loss = noisy(np.r_[decay(60, 24.0, 0.9, 0.3), np.linspace(0.9, 5.6, 140)], seed, 0.1)
    ret = np.linspace(-330, 300, n) + rng(seed).normal(0, 30, n)
    return [s("episode/MSE Loss", loss), s("episode/Return", ret), s("train/loss", loss)]


def fp16_skipped_steps(seed: int):
    n = 500
    loss = noisy(decay(n, 2.3, 0.3, 0.2), seed, 0.15)
    grad = noisy(decay(n, 5.0, 1.0, 0.2), seed + 1, 0.2)
    grad[rng(seed).choice(n, 4, replace=False)] = np.inf  # the scaler skipped these steps
    return [s("train/loss", loss), s("train/grad_norm", grad), s("train/loss_scale", np.full(n, 65536.0))]


def dice_bounded(seed: int):
    n = 20
    return [s("loss", noisy(decay(n, 1.004, 0.914, 0.4), seed, 0.002)),
            s("val_loss", noisy(decay(n, 0.996, 0.927, 0.4), seed + 1, 0.002)),
            s("accuracy", np.linspace(0.54, 0.85, n)), s("jaccard_coef", np.linspace(0.25, 0.69, n))]


def no_validation(seed: int):
    return [s("loss", noisy(decay(300, 2.3, 0.25, 0.2), seed, 0.2))]


def warm_restarts(seed: int):
    n = 400
    t = np.arange(n)
    return [s("loss", noisy(decay(n, 2.0, 0.2, 0.3) * (1 + 0.25 * np.exp(-(t % 100) / 5.0)), seed, 0.05))]


TRAPS = {
    "noisy per-step": lambda seed: [curves.healthy(2000, seed, noise=0.3)],
    "converged plateau": lambda seed: [curves.plateau(100, seed)],
    "step lr": lambda seed: [curves.step_lr(3000, seed)],
    "cosine": lambda seed: [curves.cosine(3000, seed)],
    "warmup": lambda seed: [curves.warmup(2000, seed)],
    "warm restarts": warm_restarts,
    "early stopping": early_stopped,
    "reduce lr on plateau": reduce_lr_on_plateau,
    "2-5 epochs": short_improving,
    "validation below training": val_below_train,
    "one-class detector": one_class_detector,
    "perfect tiny validation": perfect_tiny_validation,
    "rl value loss": rl_value_loss,
    "fp16 skipped steps": fp16_skipped_steps,
    "dice loss": dice_bounded,
    "no validation": no_validation,
}


@pytest.mark.parametrize("trap", sorted(TRAPS))
@pytest.mark.parametrize("seed", SEEDS)
def test_healthy_trap_gets_no_warning(trap, seed):
    run = curves.run_of(*TRAPS[trap](seed))
    findings, _ = check_run(run, select_rules(Config()), Config())
    bad = [f"{f.rule} {f.severity} {f.metric}: {f.message}" for f in findings if f.severity >= 2]
    assert not bad, bad
