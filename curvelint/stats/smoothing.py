"""Binning and smoothing: bin medians for quadratic estimators, rolling medians, EMA."""

from __future__ import annotations

import numpy as np

from ._scipy_rank import PAD_MODES, compiled_rank_filter

MAX_TREND_POINTS = 500  # bins used by trend(): Mann-Kendall/Theil-Sen cost O(bins^2)
_NUMPY_MEDIAN_CELLS = 1 << 16  # rolling medians up to n * window cells are taken with numpy


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
    ``scipy.ndimage.median_filter(values, window | 1, mode=mode)``: with scipy's compiled 1-D
    filter (O(n log w)), loaded without the rest of scipy.ndimage; with numpy windows for windows
    wider than twice the series, or where that filter cannot be loaded (short finite series).
    (A window of tied +0.0 and -0.0 may give either zero, as either path picks one.)"""
    v = np.asarray(values, dtype=np.float64)
    w = max(1, int(window)) | 1  # odd
    if w <= 1 or len(v) < 3:
        return v.copy()
    n, h = len(v), w // 2
    # the compiled filter whenever it can (4-12x numpy's windows on 200 points: short runs call this
    # ~10 times each); numpy's windows for a half-width >= n (scipy reads past the array at h == n)
    rank_filter = compiled_rank_filter() if mode in PAD_MODES and h < n else None
    if rank_filter is None and mode in PAD_MODES and (n * w <= _NUMPY_MEDIAN_CELLS or h >= n) \
            and np.isfinite(v).all():
        return _window_medians(v, h, mode)
    if rank_filter is None:  # NaN/inf and a window >= 2n + 1, other modes, an old scipy
        from scipy.ndimage import median_filter

        return median_filter(v, size=w, mode=mode)
    x = np.ascontiguousarray(v)
    out = np.empty_like(x)
    rank_filter(x, h, w, out, PAD_MODES[mode], 0.0, 0)  # what median_filter runs for 1-D input
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
