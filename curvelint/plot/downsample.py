"""Downsampling for drawing that keeps extremes: the minimum and maximum of every pixel bin.

A plot is a few hundred pixels wide, a series may hold millions of points. Averaging, or taking
every k-th point, hides a one-step spike; the minimum and maximum of each bin (the inner two points
of M4) are exactly the vertical extent the full series paints in that pixel column, so a spike in
a million points is still drawn. They are kept in step order, with the series' first and last
points, so connecting them draws the curve. Non-finite values cannot be drawn on a line: they come
back as marks, one per bin and kind (nan, +inf, -inf).

Series with at most ``2 * bins`` finite points are returned whole (nothing to reduce).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

KINDS = ("nan", "+inf", "-inf")  # mark_kinds holds indices into this tuple


@dataclass(frozen=True)
class Downsampled:
    """The points to draw of one series, and its non-finite points as marks."""

    steps: np.ndarray  # int64, finite points kept, in step order
    values: np.ndarray  # float64
    mark_steps: np.ndarray  # int64, one non-finite point per bin and kind, in step order
    mark_kinds: np.ndarray  # uint8 indices into KINDS
    points: int  # points of the full series
    non_finite: int  # non-finite points of the full series

    @property
    def reduced(self) -> bool:
        """True when points were dropped (the curve is a min/max envelope, not every point)."""
        return len(self.steps) < self.points - self.non_finite


def _bin_of(steps: np.ndarray, lo: int, hi: int, bins: int) -> np.ndarray:
    """Bin index (0 .. bins-1) of each step in [lo, hi]; float arithmetic cannot overflow int64."""
    span = float(hi) - float(lo) + 1.0
    b = ((steps.astype(np.float64) - float(lo)) * (bins / span)).astype(np.int64)
    return np.clip(b, 0, bins - 1, out=b)


def _first_in_segment(hits: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """The first of the sorted indices `hits` in each segment beginning at one of `starts`."""
    seg = np.searchsorted(starts, hits, side="right")
    keep = np.empty(len(hits), dtype=bool)
    keep[:1] = True
    np.not_equal(seg[1:], seg[:-1], out=keep[1:])
    return hits[keep]


def _extremes(steps: np.ndarray, values: np.ndarray, lo: int, hi: int, bins: int) -> np.ndarray:
    """Sorted indices of each bin's first minimum and first maximum, plus the first and last point.

    Steps are sorted, so each bin is one contiguous segment, found by binary search of its edges.
    """
    span = float(hi) - float(lo) + 1.0
    edges = np.ceil(float(lo) + np.arange(1, bins) * (span / bins)).astype(np.int64)
    starts = np.unique(np.concatenate([[0], np.searchsorted(steps, edges, side="left")]))
    starts = starts[starts < len(values)]
    counts = np.diff(np.append(starts, len(values)))
    lows = np.flatnonzero(values == np.repeat(np.minimum.reduceat(values, starts), counts))
    highs = np.flatnonzero(values == np.repeat(np.maximum.reduceat(values, starts), counts))
    return np.unique(np.concatenate([_first_in_segment(lows, starts), _first_in_segment(highs, starts),
                                     [0, len(values) - 1]]))


def _marks(steps: np.ndarray, values: np.ndarray, lo: int, hi: int, bins: int) -> tuple[np.ndarray, np.ndarray]:
    """One (step, kind) per bin and kind of non-finite value, in step order."""
    kinds = np.where(np.isnan(values), 0, np.where(values > 0, 1, 2)).astype(np.uint8)
    key = _bin_of(steps, lo, hi, bins) * len(KINDS) + kinds
    _, first = np.unique(key, return_index=True)
    first.sort()
    return steps[first], kinds[first]


def minmax(steps: np.ndarray, values: np.ndarray, bins: int, lo: int | None = None,
           hi: int | None = None) -> Downsampled:
    """The min and max of each of `bins` equal step bins over [lo, hi] (default: the series' range).

    Points outside [lo, hi] fall in the first or last bin. Unsorted steps are sorted first.
    """
    if bins < 1:
        raise ValueError(f"bins must be >= 1, got {bins}")
    steps = np.asarray(steps, dtype=np.int64)
    values = np.asarray(values, dtype=np.float64)
    n = len(values)
    empty_i, empty_k = np.empty(0, np.int64), np.empty(0, np.uint8)
    if n == 0:
        return Downsampled(empty_i, np.empty(0), empty_i, empty_k, 0, 0)
    if n > 1 and bool(np.any(steps[1:] < steps[:-1])):
        order = np.argsort(steps, kind="stable")
        steps, values = steps[order], values[order]
    lo = int(steps[0]) if lo is None else lo
    hi = int(steps[-1]) if hi is None else hi
    finite = np.isfinite(values)
    bad = n - int(np.count_nonzero(finite))
    marks = _marks(steps[~finite], values[~finite], lo, hi, bins) if bad else (empty_i, empty_k)
    fs, fv = (steps, values) if not bad else (steps[finite], values[finite])
    if len(fv) > 2 * bins:
        keep = _extremes(fs, fv, lo, hi, bins)
        fs, fv = fs[keep], fv[keep]
    else:
        fs, fv = fs.copy(), fv.copy()
    return Downsampled(fs, fv, marks[0], marks[1], n, bad)
