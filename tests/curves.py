"""Synthetic training curves with a known truth, for rule tests.

Every generator returns a `Series` (name, steps, values) and takes a `seed`, so
tests can run each pattern under several seeds. Noise is multiplicative
(log-normal), as in real per-step logging, unless stated. `run_of` and
`context_of` turn series into a `Run` / a rule `Context`.

Healthy patterns: healthy, plateau, step_lr, cosine, warmup, early_stopped, short.
Unhealthy patterns: flat, diverging, exploding, oscillating, spiky, slow,
chance_accuracy. Validation helpers: val_following, val_overfit.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from curvelint.model import LabelStats, Run, Series
from curvelint.roles import assign_roles
from curvelint.rule import Context, Rule


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def _steps(n: int, stride: int) -> np.ndarray:
    return np.arange(1, n + 1, dtype=np.int64) * stride


def _noisy(base: np.ndarray, noise: float, seed: int) -> np.ndarray:
    return base * np.exp(_rng(seed).normal(0.0, noise, len(base)))


def _decay(n: int, start: float, end: float, tau: float) -> np.ndarray:
    """Exponential decay from `start` to asymptote `end`; `tau` is a fraction of the run."""
    t = np.arange(n) / max(n - 1, 1)
    return end + (start - end) * np.exp(-t / tau)


def series(name: str, values: np.ndarray, stride: int = 1, steps: np.ndarray | None = None) -> Series:
    return Series(name, _steps(len(values), stride) if steps is None else steps, np.asarray(values, float))


# -- healthy -----------------------------------------------------------------------------------


def healthy(n: int = 2000, seed: int = 0, start: float = 2.3, end: float = 0.2, noise: float = 0.15,
            tau: float = 0.3, stride: int = 10, name: str = "loss") -> Series:
    """Noisy per-step loss trending down, still improving a little at the end."""
    return series(name, _noisy(_decay(n, start, end * 0.8, tau), noise, seed), stride)


def plateau(n: int = 100, seed: int = 0, start: float = 2.3, end: float = 0.05, noise: float = 0.03,
            stride: int = 1, name: str = "loss") -> Series:
    """Fast decrease then converged: flat at a low loss for the second half."""
    return series(name, _noisy(_decay(n, start, end, 0.08), noise, seed), stride)


def step_lr(n: int = 3000, seed: int = 0, drops: tuple[float, ...] = (0.5, 0.75), noise: float = 0.12,
            stride: int = 10, name: str = "loss") -> Series:
    """Loss that plateaus, then falls sharply at each LR step (x0.1) and plateaus again."""
    t = np.arange(n) / n
    base = _decay(n, 2.3, 0.9, 0.1)
    for k, d in enumerate(drops):
        target = 0.9 * 0.45 ** (k + 1)
        after = t >= d
        base = np.where(after, np.minimum(base, target + (base - target) * np.exp(-(t - d) / 0.01)), base)
    return series(name, _noisy(base, noise, seed), stride)


def cosine(n: int = 3000, seed: int = 0, noise: float = 0.12, stride: int = 10, name: str = "loss") -> Series:
    """Cosine-annealed run: slow middle, extra decrease as the LR reaches 0 at the end."""
    t = np.arange(n) / n
    lr = 0.5 * (1 + np.cos(np.pi * t))
    progress = np.cumsum(lr) / n  # integral of the lr: how much "training" happened
    base = 0.15 + 2.2 * np.exp(-progress / 0.12) + 0.1 * (1 - t)
    return series(name, _noisy(base, noise * (0.3 + 0.7 * lr), seed), stride)


def warmup(n: int = 2000, seed: int = 0, rise: float = 0.3, warm: float = 0.04, noise: float = 0.1,
           stride: int = 10, name: str = "loss") -> Series:
    """LR warmup: loss rises by `rise` (relative) during the first `warm` of the run, then decays."""
    t = np.arange(n) / n
    base = _decay(n, 2.5, 0.3, 0.25)
    bump = 1 + rise * np.sin(np.pi * np.clip(t / warm, 0, 1)) * (t < warm)
    return series(name, _noisy(base * bump, noise, seed), stride)


def early_stopped(n: int = 25, seed: int = 0, noise: float = 0.02, name: str = "loss") -> Series:
    """Epoch-level training loss of a run stopped by early stopping: still decreasing at the end."""
    return series(name, _noisy(_decay(n, 1.2, 0.2, 0.4), noise, seed))


def short(n: int = 4, seed: int = 0, name: str = "loss") -> Series:
    """A 3-5 epoch run: too short to judge any trend."""
    return series(name, _noisy(_decay(max(n, 1), 0.7, 0.3, 0.5), 0.02, seed))


# -- unhealthy ---------------------------------------------------------------------------------


def flat(n: int = 1000, seed: int = 0, level: float = 2.3026, noise: float = 0.02, stride: int = 10,
         name: str = "loss") -> Series:
    """No learning at all: noise around a constant (default ln 10, chance for 10 classes)."""
    return series(name, _noisy(np.full(n, level), noise, seed), stride)


def diverging(n: int = 1000, seed: int = 0, turn: float = 0.3, growth: float = 4.0, noise: float = 0.08,
              stride: int = 10, name: str = "loss") -> Series:
    """Decreases until `turn` of the run, then rises steadily (growth = end/min ratio)."""
    t = np.arange(n) / n
    base = _decay(n, 2.3, 0.4, 0.08)
    m = base[int(turn * n)]
    up = np.where(t > turn, m * growth ** ((t - turn) / (1 - turn)), base)
    return series(name, _noisy(np.where(t > turn, up, base), noise, seed), stride)


def exploding(n: int = 60, seed: int = 0, name: str = "loss") -> Series:
    """Epoch-level loss that explodes by orders of magnitude with wild swings (like a PINN blow-up)."""
    r = _rng(seed)
    logv = np.log(2.0) + 0.25 * np.arange(n) + r.normal(0.0, 1.0, n)
    return series(name, np.exp(logv))


def oscillating(n: int = 1500, seed: int = 0, level: float = 1.0, amplitude: float = 0.6, period: float = 60,
                noise: float = 0.05, stride: int = 10, name: str = "loss") -> Series:
    """Large swings (amplitude ~ level) around a level that does not go down."""
    r = _rng(seed)
    t = np.arange(n)
    phase = r.uniform(0, 2 * np.pi)
    base = level * (1 + amplitude * np.sin(2 * np.pi * t / period + phase) * (0.6 + 0.4 * r.random(n)))
    return series(name, _noisy(base, noise, seed + 1), stride)


def spiky(n: int = 2000, seed: int = 0, count: int = 4, height: float = 8.0, stride: int = 10,
          name: str = "loss") -> Series:
    """A healthy decreasing curve with `count` isolated one-point spikes of `height` x the level."""
    s = healthy(n, seed, stride=stride, noise=0.08, name=name)
    v = s.values.copy()
    idx = _rng(seed + 7).choice(np.arange(n // 10, n - 5), size=count, replace=False)
    v[idx] *= height
    return Series(name, s.steps, v)


def slow(n: int = 50, seed: int = 0, start: float = 2.3, end: float = 2.0, noise: float = 0.004,
         stride: int = 1, name: str = "loss") -> Series:
    """Decreases steadily in a straight line, far from converged (a 13% drop, still falling)."""
    base = np.linspace(start, end, n)
    return series(name, _noisy(base, noise, seed), stride)


def chance_accuracy(n: int = 30, seed: int = 0, classes: int = 10, noise: float = 0.01,
                    name: str = "accuracy") -> Series:
    """Accuracy hovering at 1/classes."""
    r = _rng(seed)
    return series(name, np.clip(1 / classes + r.normal(0, noise, n), 0, 1))


def rising_accuracy(n: int = 30, seed: int = 0, start: float = 0.5, end: float = 0.9,
                    name: str = "accuracy") -> Series:
    """Accuracy climbing from `start` to `end`."""
    r = _rng(seed)
    base = end - (end - start) * np.exp(-np.arange(n) / (0.3 * n))
    return series(name, np.clip(base + r.normal(0, 0.005, n), 0, 1))


# -- validation companions ---------------------------------------------------------------------


def val_following(train: Series, every: int = 1, gap: float = 1.05, seed: int = 0, noise: float = 0.02,
                  name: str = "val_loss") -> Series:
    """A validation loss that tracks the (smoothed) training loss, logged every `every` points."""
    idx = np.arange(every - 1, len(train), every)
    from curvelint.stats import smooth

    base = smooth(train.values)[idx] * gap
    return Series(name, train.steps[idx], _noisy(base, noise, seed))


def val_overfit(n: int = 40, seed: int = 0, best_at: float = 0.3, rise: float = 1.6, noise: float = 0.02,
                name: str = "val_loss") -> Series:
    """Epoch-level validation loss: min at `best_at` of the run, then rises to `rise` x the min."""
    t = np.arange(n) / n
    down = _decay(n, 1.0, 0.35, 0.1)
    m = down[int(best_at * n)]
    base = np.where(t > best_at, m * rise ** ((t - best_at) / (1 - best_at)), down)
    return series(name, _noisy(base, noise, seed))


# -- runs and contexts -------------------------------------------------------------------------


def run_of(*series_: Series, hparams: dict[str, Any] | None = None, labels: dict[str, int] | None = None,
           name: str = "synthetic") -> Run:
    run = Run(name=name, path=f"{name}.json", format="synthetic", series={s.name: s for s in series_},
              hparams=dict(hparams or {}))
    if labels is not None:
        run.labels = LabelStats("synthetic", dict(labels))
    return run


def context_of(run: Run, rule: type[Rule] | None = None, **options: Any) -> Context:
    ctx = Context(run, assign_roles(list(run.series)))
    return ctx.for_rule(rule, options) if rule is not None else ctx


def results(rule: type[Rule], run: Run, cache: dict | None = None, **options: Any) -> list:
    """All results (findings and abstentions) of one rule on one run."""
    ctx = Context(run, assign_roles(list(run.series)), cache=cache).for_rule(rule, options)
    return list(rule().check(ctx))


def findings(rule: type[Rule], run: Run, **options: Any) -> list:
    from curvelint.model import Finding

    return [r for r in results(rule, run, **options) if isinstance(r, Finding)]


HEALTHY: dict[str, Callable[..., Series]] = {
    "healthy": healthy, "plateau": plateau, "step_lr": step_lr, "cosine": cosine, "warmup": warmup,
    "early_stopped": early_stopped, "short": short,
}
UNHEALTHY: dict[str, Callable[..., Series]] = {
    "flat": flat, "diverging": diverging, "exploding": exploding, "oscillating": oscillating,
    "spiky": spiky, "slow": slow,
}
