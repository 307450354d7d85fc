"""Axes shared by every picture: a value or step range mapped to [0, 1], ticks, number labels."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable

import numpy as np


@dataclass(frozen=True)
class Axis:
    """A linear or base-10 logarithmic map of [lo, hi] onto [0, 1] (lo, hi in data units)."""

    lo: float
    hi: float
    log: bool = False

    def _t(self, v):
        return np.log10(v) if self.log else v

    def frac(self, values) -> np.ndarray:
        """Position of each value in [0, 1] (outside for values beyond the range)."""
        a, b = self._t(self.lo), self._t(self.hi)
        with np.errstate(divide="ignore", invalid="ignore"):
            return (self._t(np.asarray(values, dtype=np.float64)) - a) / (b - a)

    def ticks(self, count: int = 4, integer: bool = False) -> list[float]:
        """Round values inside the range: powers of ten on a log axis, 1-2-5 steps otherwise
        (whole numbers only with `integer`, e.g. training steps: 0 and 1, not 0, 0.2, ... 1)."""
        if self.log:
            a, b = math.ceil(math.log10(self.lo) - 1e-9), math.floor(math.log10(self.hi) + 1e-9)
            every = max(1, math.ceil((b - a + 1) / count))
            return [10.0 ** e for e in range(a, b + 1, every)] or [self.lo, self.hi]
        raw = (self.hi - self.lo) / max(count, 1)
        mag = 10.0 ** math.floor(math.log10(raw)) if raw > 0 else 1.0
        step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)
        if integer:
            step = max(step, 1.0)
        start = math.ceil(self.lo / step - 1e-9) * step
        return [start + i * step for i in range(int((self.hi - start) / step + 1e-9) + 1)]


def value_axis(arrays: Iterable[np.ndarray], log: bool = False, pad: float = 0.04) -> Axis | None:
    """An axis over the finite values of `arrays` (positive ones only on a log axis), padded a little.

    None when there is no value to show.
    """
    parts = [a[np.isfinite(a) & (a > 0)] if log else a[np.isfinite(a)] for a in arrays]
    parts = [p for p in parts if len(p)]
    if not parts:
        return None
    lo, hi = min(float(p.min()) for p in parts), max(float(p.max()) for p in parts)
    if log:
        a, b = math.log10(lo), math.log10(hi)
        a, b = (a - 0.5, b + 0.5) if a == b else (a - pad * (b - a), b + pad * (b - a))
        return Axis(10.0 ** a, 10.0 ** b, True)
    if lo == hi:
        half = abs(lo) * 0.05 or 1.0
        return Axis(lo - half, hi + half)
    return Axis(lo - pad * (hi - lo), hi + pad * (hi - lo))


def wants_log(arrays: Iterable[np.ndarray], rule_in_log_space: bool, span: float = 1e3) -> bool:
    """Log scale when every finite value is positive and the rule works in log space, or the values
    span `span`-fold or more (a linear axis would flatten all but the largest)."""
    finite = [a[np.isfinite(a)] for a in arrays]
    finite = [a for a in finite if len(a)]
    if not finite or any(float(a.min()) <= 0 for a in finite):
        return False
    lo, hi = min(float(a.min()) for a in finite), max(float(a.max()) for a in finite)
    return rule_in_log_space or hi / lo >= span


def number(v: float, digits: int = 4) -> str:
    """A compact label: ``0.3754``, ``9.1e+04``, ``1e-05``; integers without a decimal point."""
    if not math.isfinite(v):
        return "nan" if math.isnan(v) else ("+inf" if v > 0 else "-inf")
    if v == int(v) and abs(v) < 10 ** digits:
        return str(int(v))
    return f"{v:.{digits}g}"


def step_label(step: int) -> str:
    """A step for an axis: ``950``, ``12k``, ``1.5M`` (exact below 10,000)."""
    a = abs(step)
    if a < 10_000:
        return str(step)
    for div, unit in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if a >= div:
            return f"{step / div:.3g}{unit}"
    return str(step)
