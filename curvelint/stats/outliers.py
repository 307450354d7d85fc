"""Spikes and jumps: isolated outliers above a rolling level, a blow-up at the end, a lasting rise."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .basic import can_log, mad, median, percentiles, ratio, to_log
from .smoothing import auto_window, rolling_median

# -- spikes ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Spike:
    """One isolated upward jump: index, step, value, the local baseline, value/baseline
    (or value - baseline for series that can be <= 0) and the robust z-score."""

    index: int
    step: int
    value: float
    baseline: float
    jump: float
    z: float


def spikes(steps: np.ndarray, values: np.ndarray, z: float = 8.0, window: int | None = None,
           min_jump: float = 0.5, up: bool = True) -> list[Spike]:
    """Isolated jumps away from the local level, robust to noise and to level shifts.

    The local level is a rolling median (window: ``max(7, auto_window(n))``); residuals
    are taken in log space when all values are > 0 (else raw), scaled by the larger of
    their global MAD and a rolling MAD over 5 windows (floored at 1% of the level, so
    smooth curves need a real jump). A point is a
    spike when its robust z-score exceeds `z` AND its relative excess over the level is
    at least `min_jump` (log space: value/baseline >= 1 + min_jump; raw: excess >=
    min_jump * the 5-95 percentile range of the series). A sustained shift moves the rolling median, so it is not a
    spike. `up=False` looks for downward jumps instead. Consecutive spike points are
    merged into their largest one. Linear in n (times the window).
    """
    x = np.asarray(steps)
    v = np.asarray(values, dtype=np.float64)
    n = len(v)
    if n < 5:
        return []
    w = window if window is not None else max(7, auto_window(n))
    lv, logged = to_log(v)
    base = rolling_median(lv, w)
    r = lv - base
    if not up:
        r = -r
    floor = 0.01 if logged else 0.01 * max(median(np.abs(v)), 1e-12)
    centred = r - median(r)
    # noise level: the larger of the global MAD and a rolling MAD over 5 level windows, so a
    # burst of heavy noise (e.g. a fast, noisy descent) does not read as a train of spikes
    local = 1.4826 * rolling_median(np.abs(centred), 5 * w, mode="mirror")
    scale = np.maximum(np.maximum(local, mad(r)), floor)
    zs = centred / scale
    if logged:
        big = r >= math.log1p(min_jump)
    else:  # no meaningful "level" for series that reach <= 0: compare with their robust range
        p5, p95 = percentiles(v, 5, 95)
        spread = p95 - p5
        big = r >= min_jump * max(spread, floor)
    hit = np.flatnonzero((zs > z) & big)
    out: list[Spike] = []
    for group in np.split(hit, np.flatnonzero(np.diff(hit) > 1) + 1) if len(hit) else []:
        i = int(group[np.argmax(zs[group])])
        b = float(np.exp(base[i])) if logged else float(base[i])
        jump = ratio(v[i], b) if logged else float(v[i] - b)
        out.append(Spike(index=i, step=int(x[i]), value=float(v[i]), baseline=b, jump=jump, z=float(zs[i])))
    return out


def robust_z(values: np.ndarray) -> np.ndarray:
    """(values - median) / MAD (MAD floored at a tiny epsilon)."""
    v = np.asarray(values, dtype=np.float64)
    return (v - median(v)) / max(mad(v), 1e-12)


def log_diff_z(values: np.ndarray) -> np.ndarray:
    """Robust z-scores of first differences (of logs when all values are > 0); length n - 1."""
    lv, _ = to_log(np.asarray(values, dtype=np.float64))
    return robust_z(np.diff(lv)) if len(lv) > 1 else np.zeros(0)



def terminal_jump(values: np.ndarray, window: int = 7) -> float:
    """Last value / median of the `window` values before it (positive series; 1.0 when undefined).

    `spikes` cannot see a jump at the very end (the edge-padded rolling median follows it);
    this is the blow-up right before a series stops or turns NaN.
    """
    v = np.asarray(values, dtype=np.float64)
    if len(v) < 3:
        return 1.0
    before = median(v[-1 - window:-1])
    return ratio(float(v[-1]), before) if before > 0 else 1.0


@dataclass(frozen=True)
class Jump:
    """A lasting rise of a positive series: everything from `after` on stays at least `ratio`
    times above the lowest value before it (`best_index`); `floor_index` is where the raised
    part comes lowest."""

    best_index: int
    after: int
    floor_index: int
    ratio: float
    best: float  # the (smoothed) levels compared
    floor: float


def lasting_jump(values: np.ndarray, min_after: int, min_ratio: float, window: int = 1) -> Jump | None:
    """The first lasting rise of a positive series by at least `min_ratio`, or None.

    For every split j the lowest (rolling-median, edges kept: an early minimum survives)
    level from j on is compared with the lowest level before j; the first split with at least
    `min_after` points after it and a ratio >= `min_ratio` is the jump. A curve that falls,
    blows up and settles above its best, steps up and stays, or blows up in its first logs
    and never comes back has one; a curve that later returns to its best has none. O(n)
    after the smoothing.
    """
    v = np.asarray(values, dtype=np.float64)
    n = len(v)
    if n < min_after + 1 or not can_log(v):
        return None
    sm = rolling_median(v, window, mode="nearest") if window > 1 else v
    before = np.minimum.accumulate(sm)
    after = np.minimum.accumulate(sm[::-1])[::-1]
    j = np.arange(1, n - min_after + 1)
    r = after[j] / before[j - 1]
    hits = np.flatnonzero(r >= min_ratio)
    if not len(hits):
        return None
    split = int(j[hits[0]])
    best_index = int(np.argmin(sm[:split]))
    floor_index = split + int(np.argmin(sm[split:]))
    return Jump(best_index=best_index, after=split, floor_index=floor_index, ratio=float(r[hits[0]]),
                best=float(sm[best_index]), floor=float(sm[floor_index]))
