"""Extremes and levels: the best point, start/end levels, progress, stalls, noise scale."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .basic import head, mad, median, rel_change, tail
from .smoothing import smooth

# -- extremes and levels -----------------------------------------------------------------------


@dataclass(frozen=True)
class Extremum:
    """Best point of a series: index, step, value (minimum for 'min', maximum for 'max')."""

    index: int
    step: int
    value: float


def best(steps: np.ndarray, values: np.ndarray, direction: str = "min") -> Extremum:
    """Location and value of the minimum (direction 'min') or maximum ('max'); first on ties."""
    v = np.asarray(values, dtype=np.float64)
    i = int(np.argmax(v) if direction == "max" else np.argmin(v))
    return Extremum(index=i, step=int(np.asarray(steps)[i]), value=float(v[i]))


def level(values: np.ndarray, where: str = "end", fraction: float = 0.1, min_points: int = 3,
          max_points: int | None = None) -> float:
    """Robust level (median) of the first ('start') or last ('end') `fraction` of a series.

    `max_points` caps the window (e.g. the last 3 epochs only).
    """
    v = np.asarray(values, dtype=np.float64)
    n = len(v)
    if n == 0:
        return math.nan
    sl = tail(n, fraction, min_points) if where == "end" else head(n, fraction, min_points)
    w = v[sl]
    if max_points is not None and len(w) > max_points:
        w = w[-max_points:] if where == "end" else w[:max_points]
    return median(w)


@dataclass(frozen=True)
class Progress:
    """How far a loss-like series got: start/end/min levels and the fractions that matter.

    drop: (start - end) / |start|, the relative decrease; retained: (end - min) /
    (start - min), the share of the achieved decrease given back at the end (0 when the
    run ends at its best, 1 when it ends back at its start).
    """

    start: float
    end: float
    minimum: float
    min_step: int
    drop: float
    retained: float


def progress(steps: np.ndarray, values: np.ndarray, fraction: float = 0.1, min_points: int = 3,
             smooth_window: int | None = None) -> Progress:
    """Start/end levels (medians of the first/last `fraction`) and the minimum of the smoothed curve."""
    v = np.asarray(values, dtype=np.float64)
    s = smooth(v, smooth_window)
    ex = best(steps, s, "min")
    start = level(v, "start", fraction, min_points)
    end = level(v, "end", fraction, min_points)
    span = start - ex.value
    return Progress(start=start, end=end, minimum=ex.value, min_step=ex.step,
                    drop=rel_change(end, start, start) if start else 0.0,
                    retained=(end - ex.value) / span if span > 0 else 0.0)


# -- alignment and stalls (used by the validation rules) -----------------------------------------


def at_steps(steps: np.ndarray, values: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Values of a series linearly interpolated at `targets` (NaN outside its step range).

    Aligns e.g. a per-step training loss with the steps of a per-epoch validation loss.
    """
    x = np.asarray(steps, dtype=np.float64)
    y = np.asarray(values, dtype=np.float64)
    t = np.asarray(targets, dtype=np.float64)
    if len(x) == 0:
        return np.full(len(t), np.nan)
    order = np.argsort(x, kind="stable")
    x, y = x[order], y[order]
    out = np.interp(t, x, y)
    out[(t < x[0]) | (t > x[-1])] = np.nan
    return out


@dataclass(frozen=True)
class Stall:
    """Where a lower-is-better series stopped making progress.

    index/step/value: the first point that nothing later beats by more than the margin
    (the run had "arrived" there); since: points after it; fraction: share of the step
    span after it (0 = still improving at the last point, 1 = no progress after the first).
    """

    index: int
    step: int
    value: float
    since: int
    fraction: float


def last_improvement(steps: np.ndarray, values: np.ndarray, min_delta: float = 0.0, min_abs: float = 0.0) -> Stall:
    """The first point that no later point improves on by more than max(min_delta * |value|, min_abs).

    Unlike a best-so-far scan (EarlyStopping), a noise dip late on a long plateau does not
    reset it when `min_abs` is set to a noise scale: the stall starts where the curve first
    came within the margin of everything that followed. O(n).
    """
    x = np.asarray(steps)
    v = np.asarray(values, dtype=np.float64)
    n = len(v)
    if n == 0:
        return Stall(0, 0, math.nan, 0, 0.0)
    later_min = np.append(np.minimum.accumulate(v[::-1])[::-1][1:], np.inf)
    margin = np.maximum(min_delta * np.abs(v), min_abs)
    i = int(np.argmax(v - later_min <= margin))  # the last point always qualifies
    span = float(x[-1] - x[0])
    frac = float(x[-1] - x[i]) / span if span > 0 else 0.0
    return Stall(index=i, step=int(x[i]), value=float(v[i]), since=n - 1 - i, fraction=frac)


def noise_scale(values: np.ndarray) -> float:
    """Robust point-to-point noise: MAD of the second differences / sqrt(6).

    Second differences cancel a locally linear trend, so a smooth but curved decay (a
    clean eval curve) reads as nearly noise-free, and unlike residuals around a short
    rolling median the estimate is not shrunk by monotone stretches. For white noise of
    scale s, the second differences have scale s * sqrt(6).
    """
    v = np.asarray(values, dtype=np.float64)
    return mad(np.diff(v, n=2)) / math.sqrt(6.0) if len(v) > 3 else 0.0
