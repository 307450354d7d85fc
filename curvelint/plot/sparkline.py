"""One-line pictures of a curve for Markdown: ``▁▂▃▅▇[█▆▅]``, the judged window in brackets.

A series of at most `width` points gets one character per point; a longer one one per step bin,
showing the bin's value farthest from the previous character's (so a one-step spike or dip still
shows; a bin without points repeats the previous character). ``×`` is a non-finite point (or a bin
with only non-finite points).
"""

from __future__ import annotations

import numpy as np

from curvelint.plot import scale
from curvelint.plot.curves import Curve

BARS = "▁▂▃▄▅▆▇█"


def _bars(frac: np.ndarray) -> list[str]:
    return [BARS[int(round(v * (len(BARS) - 1)))] for v in frac.tolist()]


def _per_point(c: Curve, axis: scale.Axis | None, window: tuple[int, int] | None) -> str:
    d = c.data
    steps = np.concatenate([d.steps, d.mark_steps])
    order = np.argsort(steps, kind="stable")
    good = len(d.steps)
    cells = _bars(np.clip(axis.frac(d.values), 0, 1)) if axis is not None else ["·"] * good
    cells = [(cells + ["×"] * len(d.mark_steps))[i] for i in order.tolist()]
    steps = steps[order]
    if window is None:
        return "".join(cells)
    inside = np.flatnonzero((steps >= window[0]) & (steps <= window[1]))
    if not len(inside):
        return "".join(cells)
    a, b = int(inside[0]), int(inside[-1])
    return "".join(cells[:a]) + "[" + "".join(cells[a:b + 1]) + "]" + "".join(cells[b + 1:])


def _per_bin(c: Curve, axis: scale.Axis | None, lo: int, hi: int, width: int) -> list[str]:
    d = c.data
    span = hi - lo + 1

    def col(steps: np.ndarray) -> np.ndarray:
        return np.clip(((np.asarray(steps, dtype=np.float64) - lo) * width / span).astype(int), 0, width - 1)

    out: list[str | None] = [None] * width
    bad = set(col(d.mark_steps).tolist())
    frac = np.clip(axis.frac(d.values), 0, 1) if axis is not None else np.empty(0)
    cols = col(d.steps)
    prev = None
    for k in range(width):
        here = frac[cols == k] if len(frac) else frac
        if len(here):
            pick = here.max() if prev is None or abs(here.max() - prev) >= abs(here.min() - prev) else here.min()
            out[k], prev = _bars(np.array([pick]))[0], pick
        elif k in bad:
            out[k] = "×"
    last, filled = "·", []
    for cell in out:  # bins without points repeat the previous character
        last = cell if cell is not None else last
        filled.append(last)
    return filled


def sparkline(c: Curve, width: int = 32, window: tuple[int, int] | None = None, log: bool = False) -> str:
    """`c` in at most `width` characters (plus the brackets of `window`, if given, within the series)."""
    ends = [e for e in (c.first_step, c.last_step) if e is not None]
    if not ends:
        return ""
    values = [c.data.values]
    axis = scale.value_axis(values, log and scale.wants_log(values, True), pad=0.0)
    if len(c.data.steps) + len(c.data.mark_steps) <= width:
        return _per_point(c, axis, window)
    lo, hi = min(ends), max(ends)
    cells = _per_bin(c, axis, lo, hi, width)
    if window is None or window[1] < lo or window[0] > hi:
        return "".join(cells)
    span = hi - lo + 1
    a = min(int((max(window[0], lo) - lo) * width / span), width - 1)
    b = min(int((min(window[1], hi) - lo) * width / span), width - 1)
    return "".join(cells[:a]) + "[" + "".join(cells[a:b + 1]) + "]" + "".join(cells[b + 1:])
