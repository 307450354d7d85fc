"""Comparisons and p-values without scipy.stats (its import alone costs ~0.6 s of start-up):
spread (Brown-Forsythe), shift (Mann-Whitney), residuals and autocorrelation."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable

import numpy as np

from .basic import iqr_scale, mad, median, ratio, rel_change
from .smoothing import auto_window, smooth

# -- variance comparison -----------------------------------------------------------------------


@dataclass(frozen=True)
class SpreadComparison:
    """Spread of a late window against an early one.

    ratio: robust scale (IQR / 1.349) of late / early; p_value: Brown-Forsythe (Levene with
    median centring) test of equal variances, two-sided; n_early/n_late: sizes.
    """

    ratio: float
    p_value: float
    early_scale: float
    late_scale: float
    n_early: int
    n_late: int


def compare_spread(early: np.ndarray, late: np.ndarray, max_points: int = 20000) -> SpreadComparison:
    """Brown-Forsythe test and robust-scale ratio of two samples (e.g. residuals of early vs late windows).

    Samples longer than `max_points` are subsampled evenly (the test is linear anyway;
    this only bounds the cost on huge logs).
    """
    a = _thin(np.asarray(early, dtype=np.float64), max_points)
    b = _thin(np.asarray(late, dtype=np.float64), max_points)
    sa, sb = iqr_scale(a), iqr_scale(b)
    if sa == 0:
        sa = float(np.std(a))
    if sb == 0:
        sb = float(np.std(b))
    p = 1.0
    if len(a) >= 3 and len(b) >= 3 and (np.ptp(a) > 0 or np.ptp(b) > 0):
        p = brown_forsythe(a, b)
    return SpreadComparison(ratio=ratio(sb, sa), p_value=p, early_scale=sa, late_scale=sb,
                            n_early=len(a), n_late=len(b))


@dataclass(frozen=True)
class Shift:
    """Whether sample `a` sits above sample `b`: one-sided Mann-Whitney U p-value, medians,
    and the relative drop (median(a) - median(b)) / |median(a)|."""

    p_value: float
    a_level: float
    b_level: float
    drop: float
    n_a: int
    n_b: int


def shift_down(a: np.ndarray, b: np.ndarray, max_points: int = 5000) -> Shift:
    """Test that `b` is lower than `a` (e.g. best window vs first window of a loss)."""
    a = _thin(np.asarray(a, dtype=np.float64), max_points)
    b = _thin(np.asarray(b, dtype=np.float64), max_points)
    la = median(a)
    lb = median(b)
    p = 1.0
    if len(a) >= 1 and len(b) >= 1 and (np.ptp(np.concatenate([a, b])) > 0):
        p = mann_whitney_greater(a, b)
    return Shift(p_value=p, a_level=la, b_level=lb, drop=-rel_change(la, lb) if la else 0.0,
                 n_a=len(a), n_b=len(b))


# -- p-values without scipy.stats (its import alone costs ~0.6 s of start-up) ---------------------


def norm_sf(z: float) -> float:
    """P(Z > z) for a standard normal Z."""
    return 0.5 * math.erfc(z / math.sqrt(2.0))


def betainc(a: float, b: float, x: float) -> float:
    """Regularised incomplete beta function I_x(a, b) (continued fraction, modified Lentz)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    if x > (a + 1.0) / (a + b + 2.0):  # the fraction converges fast on this side
        return 1.0 - betainc(b, a, 1.0 - x)
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    tiny, eps = 1e-300, 1e-16
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    f = d
    for m in range(1, 100_000):
        for num in (m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
                    -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))):
            d = 1.0 + num * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + num / c
            c = c if abs(c) > tiny else tiny
            f *= c * d
        if abs(c * d - 1.0) < eps:
            break
    return math.exp(log_front) * f / a


def f_sf(f: float, dfn: float, dfd: float) -> float:
    """P(F > f) for an F(dfn, dfd) variable."""
    if f != f:
        return math.nan
    if f <= 0:
        return 1.0
    if math.isinf(f):
        return 0.0
    return betainc(dfd / 2.0, dfn / 2.0, dfd / (dfd + dfn * f))


def brown_forsythe(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sided p-value of the Brown-Forsythe test of equal variances (Levene's test on the
    absolute deviations from each sample's median, as ``scipy.stats.levene(center="median")``);
    1.0 when undefined."""
    za, zb = np.abs(a - median(a)), np.abs(b - median(b))
    na, nb = len(za), len(zb)
    ma, mb = float(za.mean()), float(zb.mean())
    m = (float(za.sum()) + float(zb.sum())) / (na + nb)
    between = (na + nb - 2) * (na * (ma - m) ** 2 + nb * (mb - m) ** 2)
    within = float(((za - ma) ** 2).sum() + ((zb - mb) ** 2).sum())
    if within == 0:
        return 0.0 if between > 0 else 1.0
    return f_sf(between / within, 1, na + nb - 2)


def mann_whitney_greater(a: np.ndarray, b: np.ndarray) -> float:
    """One-sided Mann-Whitney U p-value that `a` tends to be greater than `b`.

    Like ``scipy.stats.mannwhitneyu(a, b, alternative="greater")``: the exact null
    distribution when a sample has <= 8 points and there are no ties, else the normal
    approximation with tie and continuity corrections.
    """
    n1, n2 = len(a), len(b)
    both = np.concatenate([a, b])
    order = np.argsort(both, kind="mergesort")
    sorted_ = both[order]
    first = np.flatnonzero(np.r_[True, sorted_[1:] != sorted_[:-1]])
    counts = np.diff(np.r_[first, len(both)])
    ranks = np.empty(len(both))
    ranks[order] = np.repeat(first + (counts + 1) / 2.0, counts)  # average ranks, 1-based
    u = float(ranks[:n1].sum()) - n1 * (n1 + 1) / 2.0
    if (n1 <= 8 or n2 <= 8) and counts.max() == 1:
        return min(1.0, _mwu_exact_sf(int(round(u)), n1, n2))
    n = n1 + n2
    ties = counts.astype(np.float64)
    sd = math.sqrt(n1 * n2 / 12.0 * ((n + 1) - float((ties ** 3 - ties).sum()) / (n * (n - 1))))
    if sd == 0:
        return 1.0
    return min(1.0, max(0.0, norm_sf((u - n1 * n2 / 2.0 - 0.5) / sd)))


@lru_cache(maxsize=64)
def _mwu_counts(n1: int, n2: int) -> tuple[int, ...]:
    """Number of orderings giving U = 0..n1*n2: the coefficients of the Gaussian binomial
    [n1 + n2 choose n1]_q = prod_i (1 - q^(n2 + i)) / (1 - q^i), in exact integers."""
    m, k = min(n1, n2), max(n1, n2)
    size = m * k + 1
    poly = np.zeros(size, dtype=object)  # Python ints: the counts outgrow 64 bits
    poly[0] = 1
    for i in range(1, m + 1):
        step = k + i
        if step < size:  # times (1 - q^(k + i))
            poly[step:] = poly[step:] - poly[:-step]
        # divided by (1 - q^i): a running sum over every i-th coefficient
        padded = np.zeros(-(-size // i) * i, dtype=object)
        padded[:size] = poly
        poly = np.cumsum(padded.reshape(-1, i), axis=0).reshape(-1)[:size]
    return tuple(int(c) for c in poly)


def _mwu_exact_sf(u: int, n1: int, n2: int) -> float:
    """P(U >= u) under the null hypothesis (no ties)."""
    counts = _mwu_counts(n1, n2)
    if u <= 0:
        return 1.0
    if u >= len(counts):
        return 0.0
    return sum(counts[u:]) / sum(counts)


def _thin(v: np.ndarray, max_points: int) -> np.ndarray:
    if len(v) <= max_points:
        return v
    return v[np.linspace(0, len(v) - 1, max_points).astype(np.int64)]


def residuals(values: np.ndarray, window: int | None = None) -> np.ndarray:
    """Values minus their rolling median: the noise/oscillation around the local level."""
    v = np.asarray(values, dtype=np.float64)
    return v - smooth(v, window if window is not None else max(5, auto_window(len(v))))


def autocorr(values: np.ndarray, lag: int = 1, clip: float | None = 3.0) -> float:
    """Lag-`lag` autocorrelation; values are first clipped at median +- clip * MAD so that a
    few spikes do not dominate (None: no clipping). 0.0 when undefined."""
    return autocorrs(values, (lag,), clip)[0]


def autocorrs(values: np.ndarray, lags: Iterable[int], clip: float | None = 3.0) -> list[float]:
    """`autocorr` at each lag, clipping and centring the values once."""
    v = np.asarray(values, dtype=np.float64)
    out, den = [], None
    for lag in lags:
        if len(v) <= lag + 2:
            out.append(0.0)
            continue
        if den is None:
            if clip is not None:
                m, d = median(v), mad(v)
                if d > 0:
                    v = np.clip(v, m - clip * d, m + clip * d)
            v = v - v.mean()
            den = float(np.dot(v, v))
        out.append(float(np.dot(v[:-lag], v[lag:]) / den) if den > 0 else 0.0)
    return out
