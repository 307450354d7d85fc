"""Series too long for the memory budget, reduced by buckets of consecutive points.

A series of points numbered 0, 1, 2, ... in log order is cut into buckets of ``2**level``
consecutive points (bucket = number >> level); each bucket keeps its first point, its lowest
and its highest finite value (the first of equal ones) and its first non-finite point, in log
order: at most four points per bucket, every one a real logged point (step, value, wall time).
So spikes, dips, NaN/inf and the start of the curve survive; levels and trends are those of
the curve (the first points form a stride sample); the noise between the extremes is thinned.

The selection composes: reducing points already reduced at a lower level (or a part of a
series, then the rest) selects the same points as reducing the whole series at once
(`select` on any superset of a level's selection that holds only real points of the series
gives the same result). So a reader can reduce as it reads, in any parts, and the result
depends only on the series and the final level. A reader keeps the series' last point too.
"""

from __future__ import annotations

import numpy as np

CHUNK = 1 << 20  # points selected at a time (bounded temporaries; buckets are never split)


def select(number: np.ndarray, values: np.ndarray, level: int) -> np.ndarray:
    """Mask of the points kept at `level`: `number` is each point's position in the whole series
    (increasing), `values` its value. Linear: buckets are runs of consecutive points."""
    keep = np.zeros(len(number), dtype=bool)
    a = 0
    while a < len(number):
        b = _chunk_end(number, a, level)
        _select(number[a:b], values[a:b], level, keep[a:b])
        a = b
    return keep


def _chunk_end(number: np.ndarray, a: int, level: int) -> int:
    """Where the chunk from `a` ends: at the start of the bucket `CHUNK` points on (or at its end)."""
    if a + CHUNK >= len(number):
        return len(number)
    bucket = int(number[a + CHUNK]) >> level
    b = int(np.searchsorted(number, bucket << level))
    return b if b > a else int(np.searchsorted(number, (bucket + 1) << level))


def _select(number: np.ndarray, values: np.ndarray, level: int, keep: np.ndarray) -> None:
    """`select` on one run of whole buckets, into `keep`."""
    if not len(number):
        return
    bucket = number >> level
    starts = np.flatnonzero(np.r_[True, bucket[1:] != bucket[:-1]])
    keep[starts] = True  # the first point of each bucket
    sizes = np.diff(np.r_[starts, len(number)])
    finite = np.isfinite(values)
    for reduce, fill in ((np.minimum, np.inf), (np.maximum, -np.inf)):  # lowest and highest finite value
        key = values if finite.all() else np.where(finite, values, fill)
        extreme = np.repeat(reduce.reduceat(key, starts), sizes)
        _keep_first(keep, np.flatnonzero((key == extreme) & finite), bucket)
    if not finite.all():  # the first non-finite point of each bucket
        _keep_first(keep, np.flatnonzero(~finite), bucket)


def _keep_first(keep: np.ndarray, where: np.ndarray, bucket: np.ndarray) -> None:
    """Set `keep` at the first of the positions `where` (increasing) in each bucket."""
    if len(where):
        b = bucket[where]
        keep[where[np.r_[True, b[1:] != b[:-1]]]] = True
