"""Small helpers shared by every primitive: robust medians, scales, ratios, windows."""

from __future__ import annotations

import math
from dataclasses import asdict
from typing import Any

import numpy as np

# -- small helpers -----------------------------------------------------------------------------


def median(values: np.ndarray) -> float:
    """np.median of the values, as a float: the same number without numpy's generic-axis
    overhead (~3x faster on the short series that dominate small trees). NaN if any is NaN."""
    v = np.asarray(values, dtype=np.float64).ravel()
    n = v.size
    if n < 2:
        return 0.0 + float(v[0]) if n else math.nan
    if np.isnan(v).any():
        return math.nan
    k = n // 2
    p = np.partition(v, k)  # one kth: numpy's multi-kth partition is several times slower
    if n % 2:
        return 0.0 + float(p[k])  # numpy's mean of the middle value(s): a sum from +0.0
    return (0.0 + float(p[:k].max()) + float(p[k])) / 2


def percentiles(values: np.ndarray, *qs: float) -> list[float]:
    """np.percentile(values, q) (method "linear") for each q in 0..100, as floats: the same
    numbers (numpy's index and interpolation arithmetic) at a fraction of the cost."""
    v = np.asarray(values, dtype=np.float64).ravel()
    n = v.size
    if n == 0:
        return [math.nan] * len(qs)
    points = []
    for q in qs:
        virtual = (n - 1) * (q / 100)
        lo = -1 if virtual >= n - 1 else math.floor(virtual)  # numpy: past the end -> the last value
        points.append((virtual, lo, -1 if lo == -1 else lo + 1))
    p = np.sort(v)  # faster than a partition on several kth
    if p[-1] != p[-1]:
        return [math.nan] * len(qs)
    out = []
    for virtual, lo, hi in points:
        a, b, t = float(p[lo]), float(p[hi]), virtual - lo
        d = b - a
        out.append(b - d * (1 - t) if t >= 0.5 else a + d * t)
    return out


def as_dict(result: Any) -> dict[str, Any]:
    """A result dataclass as a plain dict (for finding evidence)."""
    return asdict(result)


def can_log(values: np.ndarray) -> bool:
    """True when every value is > 0, so ratios and log-differences are meaningful."""
    return len(values) > 0 and bool(np.all(values > 0))


def to_log(values: np.ndarray) -> tuple[np.ndarray, bool]:
    """log(values) when all positive, else the values unchanged; the flag says which."""
    v = np.asarray(values, dtype=np.float64)
    return (np.log(v), True) if can_log(v) else (v, False)


def mad(values: np.ndarray) -> float:
    """Median absolute deviation scaled to estimate the standard deviation of normal data."""
    v = np.asarray(values, dtype=np.float64)
    if len(v) == 0:
        return 0.0
    return 1.4826 * median(np.abs(v - median(v)))


def iqr_scale(values: np.ndarray) -> float:
    """Interquartile range / 1.349: the standard deviation for normal data, robust to up to 25%
    outliers, and (unlike the MAD) stable on two-level data such as an up/down zigzag."""
    v = np.asarray(values, dtype=np.float64)
    if len(v) == 0:
        return 0.0
    q25, q75 = percentiles(v, 25, 75)
    return (q75 - q25) / 1.349


def rel_change(before: float, after: float, scale: float | None = None) -> float:
    """(after - before) / |scale| (scale defaults to |before|); inf/0 safe."""
    s = abs(before if scale is None else scale)
    d = after - before
    if s == 0:
        return 0.0 if d == 0 else math.copysign(math.inf, d)
    return float(d / s)


def ratio(a: float, b: float) -> float:
    """a / b, with inf for b == 0 (a != 0) and 1.0 for 0/0."""
    if b == 0:
        return 1.0 if a == 0 else math.copysign(math.inf, a)
    return float(a / b)


# -- windows -----------------------------------------------------------------------------------


def tail(n: int, fraction: float = 0.25, min_points: int = 3, last: int | None = None) -> slice:
    """Index slice of the last `last` points, else of the last `fraction` of `n` (>= min_points)."""
    k = last if last is not None else int(math.ceil(n * fraction))
    k = max(min(n, max(k, min_points)), 0)
    return slice(n - k, n)


def head(n: int, fraction: float = 0.25, min_points: int = 3, first: int | None = None) -> slice:
    """Index slice of the first `first` points, else of the first `fraction` of `n` (>= min_points)."""
    k = first if first is not None else int(math.ceil(n * fraction))
    k = max(min(n, max(k, min_points)), 0)
    return slice(0, k)


def after_step(steps: np.ndarray, step: float) -> slice:
    """Index slice of the points with steps >= `step` (steps assumed non-decreasing)."""
    return slice(int(np.searchsorted(steps, step, side="left")), len(steps))
