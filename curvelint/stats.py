"""Statistical primitives shared by the curve rules.

Pure functions on 1-D numpy arrays (``steps`` as the x axis, ``values`` as y) that
return small frozen dataclasses, so a rule can copy the numbers straight into a
finding's evidence (``dataclasses.asdict``). Every function stays near-linear in the
number of points: per-step logs with 100,000+ points are binned (medians of equal-count
bins) before any quadratic estimator such as Mann-Kendall or Theil-Sen. Thresholds in
the rules are relative (ratios, fractions of a level), never absolute loss values.

No lint imports scipy's packages (scipy.stats ~0.6 s, scipy.ndimage ~0.3 s of start-up): the
test p-values (Mann-Kendall, Brown-Forsythe, Mann-Whitney) are computed here, rolling medians
of short series with numpy, and those of long series with scipy's compiled 1-D median filter
loaded on its own (`rolling_median`). Only the unused `ema` and odd inputs (NaN in a window
wider than twice the series, an old scipy) import scipy.signal / scipy.ndimage.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import math
import os
import sys
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any, Callable, Iterable

import numpy as np

MAX_TREND_POINTS = 500  # bins used by trend(): Mann-Kendall/Theil-Sen cost O(bins^2)
_NUMPY_MEDIAN_CELLS = 1 << 16  # rolling medians up to n * window cells are taken with numpy
_PAD_MODES = {"nearest": 0, "mirror": 3}  # scipy.ndimage modes rolling_median pads itself: their C codes
_RANK_FILTER_MODULE = "scipy.ndimage._rank_filter_1d"
_MK_BLOCK = 256  # Mann-Kendall rows compared per numpy operation


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


# -- binning and smoothing ---------------------------------------------------------------------


def bin_medians(x: np.ndarray, y: np.ndarray, max_bins: int = MAX_TREND_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """Medians of x and y over at most `max_bins` equal-count consecutive bins (O(n log(n/bins)))."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    n = len(y)
    if n <= max_bins:
        return x, y
    edges = np.linspace(0, n, max_bins + 1).astype(np.int64)
    size = int(np.diff(edges).max())
    # pad each bin to `size` with NaN and take nanmedian row-wise: vectorised and linear
    idx = edges[:-1, None] + np.arange(size)[None, :]
    valid = idx < edges[1:, None]
    idx = np.minimum(idx, n - 1)
    xb = np.where(valid, x[idx], np.nan)
    yb = np.where(valid, y[idx], np.nan)
    return np.nanmedian(xb, axis=1), np.nanmedian(yb, axis=1)


def rolling_median(values: np.ndarray, window: int, mode: str = "nearest") -> np.ndarray:
    """Centered rolling median; edges repeat the nearest value (mode "nearest") or mirror the
    series (mode "mirror", better for noise scales). The values of
    ``scipy.ndimage.median_filter(values, window | 1, mode=mode)``: short series (and windows
    wider than twice the series) with numpy windows, long ones with scipy's compiled 1-D
    filter (O(n log w)), loaded without the rest of scipy.ndimage."""
    v = np.asarray(values, dtype=np.float64)
    w = max(1, int(window)) | 1  # odd
    if w <= 1 or len(v) < 3:
        return v.copy()
    n, h = len(v), w // 2
    if mode in _PAD_MODES and (n * w <= _NUMPY_MEDIAN_CELLS or h >= n) and np.isfinite(v).all():
        return _window_medians(v, h, mode)
    rank_filter = _compiled_rank_filter() if mode in _PAD_MODES and h < n else None
    if rank_filter is None:  # NaN/inf and a window >= 2n + 1, other modes, an old scipy
        from scipy.ndimage import median_filter

        return median_filter(v, size=w, mode=mode)
    x = np.ascontiguousarray(v)
    out = np.empty_like(x)
    rank_filter(x, h, w, out, _PAD_MODES[mode], 0.0, 0)  # what median_filter runs for 1-D input
    return out


def _window_medians(v: np.ndarray, h: int, mode: str) -> np.ndarray:
    """Medians of the 2h+1 windows around each value of a finite series, padded as scipy.ndimage
    pads (O(n * h)). The median of an odd window is one of its elements: the same values as
    scipy's filter, except at h == n in mode "mirror", where scipy reads past the array (here:
    the series reflected again, as scipy itself does for every h > n)."""
    if h >= len(v):
        padded = np.pad(v, h, mode="reflect" if mode == "mirror" else "edge")
    elif mode == "mirror":  # d c b | a b c d | c b a
        padded = np.concatenate((v[h:0:-1], v, v[-2:-h - 2:-1]))
    else:  # a a a | a b c d | d d d
        padded = np.concatenate((np.full(h, v[0]), v, np.full(h, v[-1])))
    w, step = 2 * h + 1, padded.strides[0]
    # as_strided: sliding_window_view costs 3x more, which short series (small trees) notice
    windows = np.lib.stride_tricks.as_strided(padded, (len(v), w), (step, step), writeable=False)
    rows = max(1, _NUMPY_MEDIAN_CELLS // w)  # bounded temporaries for wide windows
    if len(v) <= rows:
        return np.partition(windows, h, axis=1)[:, h]
    out = np.empty(len(v))
    for lo in range(0, len(v), rows):
        out[lo:lo + rows] = np.partition(windows[lo:lo + rows], h, axis=1)[:, h]
    return out


@lru_cache(maxsize=1)
def _compiled_rank_filter() -> Callable[..., None] | None:
    """scipy's compiled 1-D rank filter (``scipy.ndimage._rank_filter_1d.rank_filter`` in recent
    scipy versions), loaded from its file on its own: importing scipy.ndimage costs ~0.3 s, more than
    the filter itself on a 100k-point series. None when this scipy has no such module or it does
    not give the expected medians on a probe; callers then use ``median_filter``."""
    try:
        module = sys.modules.get(_RANK_FILTER_MODULE)
        if module is None:
            scipy_spec = importlib.util.find_spec("scipy")  # finds the package without importing it
            roots = (scipy_spec.submodule_search_locations or []) if scipy_spec else []
            paths = [os.path.join(root, "ndimage", "_rank_filter_1d" + suffix)
                     for root in roots for suffix in importlib.machinery.EXTENSION_SUFFIXES]
            path = next((p for p in paths if os.path.isfile(p)), None)
            if path is None:
                return None
            loader = importlib.machinery.ExtensionFileLoader(_RANK_FILTER_MODULE, path)
            module = importlib.util.module_from_spec(importlib.util.spec_from_loader(_RANK_FILTER_MODULE, loader))
            loader.exec_module(module)
            sys.modules.pop(_RANK_FILTER_MODULE, None)  # a later scipy.ndimage import loads it as usual
        rank_filter = module.rank_filter
        probe = np.array([5.0, 1.0, 4.0, 2.0, 3.0, 0.0, 6.0, -1.0, 2.5])
        for mode, code in _PAD_MODES.items():  # a private API: check its signature and results
            out = np.empty_like(probe)
            rank_filter(probe, 2, 5, out, code, 0.0, 0)
            if not np.array_equal(out, _window_medians(probe, 2, mode)):
                return None
        return rank_filter
    except Exception:  # noqa: BLE001 - any failure means: use the public median_filter
        return None


def ema(values: np.ndarray, alpha: float) -> np.ndarray:
    """Exponential moving average (TensorBoard-style, debiased start); linear time via lfilter."""
    v = np.asarray(values, dtype=np.float64)
    if len(v) == 0 or alpha >= 1:
        return v.copy()
    from scipy.signal import lfilter

    num = lfilter([alpha], [1, alpha - 1], v)
    den = lfilter([alpha], [1, alpha - 1], np.ones_like(v))
    return num / den


def auto_window(n: int, fraction: float = 0.02, max_window: int = 201) -> int:
    """A default odd smoothing window: ~2% of the points, at least 1, at most `max_window`."""
    return int(min(max_window, max(1, round(n * fraction)))) | 1


def smooth(values: np.ndarray, window: int | None = None, mode: str = "mirror") -> np.ndarray:
    """Robust smoothing of noisy per-step logging: rolling median (window: auto_window(n)).

    Edges mirror the series, so a single extreme first/last value does not fill the window.
    """
    v = np.asarray(values, dtype=np.float64)
    return rolling_median(v, auto_window(len(v)) if window is None else window, mode)


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
        s = float(np.sign(_pairwise(y)).sum())
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


def _pairwise(v: np.ndarray) -> np.ndarray:
    """v[j] - v[i] for every pair i < j, in the order of np.triu_indices(len(v), 1)."""
    n = len(v)
    if n > MAX_TREND_POINTS:
        i, j = np.triu_indices(n, k=1)
        return v[j] - v[i]
    # a full difference matrix and one gather of its upper triangle beat two gathers
    return (v[None, :] - v[:, None]).ravel()[_upper(n)]


@lru_cache(maxsize=16)
def _upper(n: int) -> np.ndarray:
    """Flat indices of the strict upper triangle of an n x n matrix (row-major)."""
    idx = np.flatnonzero(np.triu(np.ones((n, n), dtype=bool), k=1))
    idx.flags.writeable = False
    return idx


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
        _, p, tau = _mk_test(float(np.sign(dy).sum()), yb)
        slope = _sen(_pairwise(xb), dy)
    else:
        _, p, tau = mann_kendall(yb)
        slope = sen_slope(xb, yb) if len(xb) > 1 else 0.0
    return Trend(slope=slope, p_value=p, tau=tau, n=n, bins=len(yb), start=float(x[0]), stop=float(x[-1]),
                 change=slope * float(x[-1] - x[0]), level=median(y))


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
