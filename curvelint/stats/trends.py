"""Trend tests: Mann-Kendall and Theil-Sen on binned series (near-linear in the points)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .basic import median, median_of_numbers, rel_change
from .smoothing import MAX_TREND_POINTS, bin_medians

_MK_BLOCK = 256  # Mann-Kendall rows compared per numpy operation


# -- trend -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Trend:
    """Monotonic trend of a window: Sen's slope and a two-sided Mann-Kendall p-value.

    slope: value units per step; change: slope * (stop - start), the fitted change over
    the window; level: median value; tau: Kendall's tau (-1..1); n: points used
    (before binning); bins: points after binning; start/stop: first/last step.
    """

    slope: float
    p_value: float
    tau: float
    n: int
    bins: int
    start: float
    stop: float
    change: float
    level: float

    @property
    def relative_change(self) -> float:
        """Fitted change over the window relative to the window's median level."""
        return rel_change(0.0, self.change, self.level) if self.level else 0.0

    def significant(self, alpha: float = 0.05, direction: str = "down") -> bool:
        """True if the trend is significant at `alpha` and goes `down` (or `up`)."""
        ok = self.p_value < alpha
        return ok and (self.slope < 0 or self.tau < 0 if direction == "down" else self.slope > 0 or self.tau > 0)


def mann_kendall(y: np.ndarray, max_points: int = 2000) -> tuple[float, float, float]:
    """(S, two-sided p-value, tau) of the Mann-Kendall test on y in order.

    Normal approximation with tie and continuity corrections. O(n^2): longer inputs are
    first reduced to `max_points` bin medians (trend() bins to MAX_TREND_POINTS anyway).
    """
    y = np.asarray(y, dtype=np.float64)
    if len(y) > max_points:
        y = bin_medians(np.arange(len(y)), y, max_points)[1]
    n = len(y)
    if n < 3:
        return 0.0, 1.0, 0.0
    if n <= MAX_TREND_POINTS:
        dy = _pairwise(y)
        s = _sign_sum(dy) if np.isfinite(y).all() else float(np.sign(dy).sum())
    else:
        s = 0.0
        for lo in range(0, n - 1, _MK_BLOCK):  # blocks of rows keep memory O(n * block)
            rows = y[lo:lo + _MK_BLOCK]
            # signs[r, c] = sign(y[lo + 1 + c] - y[lo + r]); pairs i < j are c >= r
            s += float(np.triu(np.sign(y[None, lo + 1:] - rows[:, None])).sum())
    return _mk_test(s, y)


def _mk_test(s: float, y: np.ndarray) -> tuple[float, float, float]:
    """(S, p, tau) from the Mann-Kendall statistic S of y (tie-corrected variance)."""
    n = len(y)
    srt = np.sort(y)
    if srt[-1] == srt[-1] and not (srt[1:] == srt[:-1]).any():
        tie_term = 0.0  # no ties (and no NaN): the common case, without np.unique's overhead
    else:
        _, counts = np.unique(srt, return_counts=True)
        ties = counts[counts > 1].astype(np.float64)
        tie_term = float((ties * (ties - 1) * (2 * ties + 5)).sum())
    var = (n * (n - 1) * (2 * n + 5) - tie_term) / 18.0
    if var <= 0:
        return s, 1.0, 0.0
    z = (s - math.copysign(1.0, s)) / math.sqrt(var) if s != 0 else 0.0
    p = math.erfc(abs(z) / math.sqrt(2.0))
    tau = s / (n * (n - 1) / 2.0)
    return s, float(p), float(tau)


def sen_slope(x: np.ndarray, y: np.ndarray, max_points: int = 1000) -> float:
    """Theil-Sen slope (median of pairwise slopes). O(n^2) memory and time: longer inputs are
    first reduced to `max_points` bin medians (exact Theil-Sen on 100k points is infeasible)."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if len(x) > max_points:
        x, y = bin_medians(x, y, max_points)
    return _sen(_pairwise(x), _pairwise(y))


def _sen(dx: np.ndarray, dy: np.ndarray) -> float:
    """Median of the pairwise slopes dy / dx over the pairs with dx != 0 (0.0 when none)."""
    ok = dx != 0
    if ok.all():
        return median(dy / dx)
    if not ok.any():
        return 0.0
    return median(dy[ok] / dx[ok])


def _sign_sum(d: np.ndarray) -> float:
    """np.sign(d).sum() for d without NaN: the positives less the negatives, counted."""
    return float(np.count_nonzero(d > 0) - np.count_nonzero(d < 0))


def _sen_finite(x: np.ndarray, dy: np.ndarray) -> float:
    """`_sen(_pairwise(x), dy)` for finite x: slopes have no NaN, and integer steps at a constant
    integer spacing h (epochs, logging intervals) have the differences h * (j - i), exactly."""
    h = _integer_spacing(x)
    if h is None:
        return _sen(_pairwise(x), dy)
    gaps = _gaps(len(x))
    return median_of_numbers(dy / gaps if h == 1.0 else dy / (h * gaps))


def _integer_spacing(x: np.ndarray) -> float | None:
    """The spacing h when x[k] = x[0] + k h with integers below 2^52 (x[j] - x[i] = h (j - i)
    exactly in float64), else None."""
    h = float(x[1] - x[0])
    if h < 1.0 or not h.is_integer() or not float(x[0]).is_integer() or abs(float(x[-1])) >= 2.0 ** 52 \
            or abs(float(x[0])) >= 2.0 ** 52:
        return None
    return h if bool((np.diff(x) == h).all()) else None


def _pairwise(v: np.ndarray) -> np.ndarray:
    """v[j] - v[i] for every pair i < j, in the order of np.triu_indices(len(v), 1)."""
    if len(v) > MAX_TREND_POINTS:
        i, j = np.triu_indices(len(v), k=1)
        return v[j] - v[i]
    i, j = _pairs(len(v))  # two gathers at cached indices beat a difference matrix and one gather
    return v.take(j) - v.take(i)


@lru_cache(maxsize=16)
def _pairs(n: int) -> tuple[np.ndarray, np.ndarray]:
    """np.triu_indices(n, 1) as int32 (half the index bytes to read), read-only."""
    i, j = (a.astype(np.int32) for a in np.triu_indices(n, k=1))
    out = (i, j)
    for a in out:
        a.flags.writeable = False
    return out


@lru_cache(maxsize=16)
def _gaps(n: int) -> np.ndarray:
    """j - i for the pairs i < j of `_pairwise`, as float64, read-only."""
    i, j = _pairs(n)
    gaps = (j - i).astype(np.float64)
    gaps.flags.writeable = False
    return gaps


def trend(steps: np.ndarray, values: np.ndarray, max_bins: int = MAX_TREND_POINTS) -> Trend:
    """Mann-Kendall trend test + Sen's slope, on medians of <= `max_bins` bins for long series.

    Binning keeps the cost bounded at 100k points and damps per-step noise and its
    short-range autocorrelation. Pass log-values for a slope in log units per step.
    """
    x = np.asarray(steps, dtype=np.float64)
    y = np.asarray(values, dtype=np.float64)
    n = len(y)
    if n == 0:
        return Trend(0.0, 1.0, 0.0, 0, 0, math.nan, math.nan, 0.0, math.nan)
    xb, yb = bin_medians(x, y, max_bins)
    if 3 <= len(yb) <= MAX_TREND_POINTS:  # one set of pairwise differences for both estimators
        dy = _pairwise(yb)
        if np.isfinite(yb).all() and np.isfinite(xb).all():
            _, p, tau = _mk_test(_sign_sum(dy), yb)
            slope = _sen_finite(xb, dy)
        else:  # NaN make S, p and tau NaN, as np.sign does
            _, p, tau = _mk_test(float(np.sign(dy).sum()), yb)
            slope = _sen(_pairwise(xb), dy)
    else:
        _, p, tau = mann_kendall(yb)
        slope = sen_slope(xb, yb) if len(xb) > 1 else 0.0
    return Trend(slope=slope, p_value=p, tau=tau, n=n, bins=len(yb), start=float(x[0]), stop=float(x[-1]),
                 change=slope * float(x[-1] - x[0]), level=median(y))
