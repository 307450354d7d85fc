"""Small helpers shared by every primitive: robust medians, scales, ratios, windows."""

from __future__ import annotations

import math
from dataclasses import asdict
from functools import lru_cache
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
    if n <= _SORT_MAX:  # windows of a few values (levels, short runs): numpy's call overheads dominate
        s = sorted(v.tolist())
        k = n // 2
        return 0.0 + s[k] if n % 2 else (0.0 + s[k - 1] + s[k]) / 2
    return median_of_numbers(v)


_SORT_MAX = 48  # up to here a Python sort of the values beats a numpy partition


def median_of_numbers(v: np.ndarray) -> float:
    """`median` of a 1-D float64 array of at least 2 values, none NaN (the caller knows: no check).

    Long arrays (Theil-Sen's ~20k pairwise slopes of a 200-point series) are first narrowed to
    the values between two order statistics of a fixed sample that bracket the median (`_bracket`):
    counting and copying them is ~3x cheaper than partitioning everything, and the middle values
    found among them are the same numbers (else, a bracket that missed, the whole array)."""
    n = v.size
    k = n // 2
    found = _bracket(v, k, n % 2 == 0) if n >= _BRACKET_MIN else None
    # one kth: numpy's multi-kth partition is several times slower
    if found is None:  # what np.partition does, without its wrapper's overhead (~1.5 us a call)
        middle = v.copy()
        middle.partition(k)
    else:
        middle, k = found
    if n % 2:
        return 0.0 + float(middle[k])  # numpy's mean of the middle value(s): a sum from +0.0
    return (0.0 + float(middle[:k].max()) + float(middle[k])) / 2


_BRACKET_MIN = 4096  # shorter arrays: one partition is about as fast as the bracket's passes
_SAMPLE = 1024  # sample size that places the bracket
_MARGIN = 50  # sample ranks either side of the median's: ~3 standard deviations of its rank


def _bracket(v: np.ndarray, k: int, even: bool) -> tuple[np.ndarray, int] | None:
    """(w, j): the values of `v` within a bracket around its median, partitioned at j so that w[j]
    is v's k-th smallest (and max(w[:j]) its (k-1)-th when `even`); None if the bracket missed them."""
    sample = np.sort(v[_sample_positions(v.size)])
    rank = k * _SAMPLE // v.size
    lo, hi = sample[max(0, rank - _MARGIN)], sample[min(_SAMPLE - 1, rank + _MARGIN)]
    at_least = v >= lo
    j = k - (v.size - int(np.count_nonzero(at_least)))  # k minus the values below the bracket
    inside = v[at_least & (v <= hi)]
    if j < (1 if even else 0) or j >= inside.size:
        return None
    inside.partition(j)  # a copy already: in place
    return inside, j


@lru_cache(maxsize=64)
def _sample_positions(n: int) -> np.ndarray:
    """`_SAMPLE` positions spread over 0..n-1: one per stratum, jittered by a multiplicative hash
    (no stride that lines up with a pattern in the data); fixed for each n, so results are too."""
    strata = np.arange(_SAMPLE, dtype=np.int64)
    positions = strata * n // _SAMPLE + (strata * 40503 + n) % (n // _SAMPLE)  # strata of >= n // _SAMPLE
    positions.flags.writeable = False
    return positions


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
