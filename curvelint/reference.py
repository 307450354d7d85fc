"""Compare a run with reference runs: alignment, the reference band, and where a curve leaves it.

A *reference* is a run the team trusts (``--reference runs/baseline``, or several seeds of it).
For a shared metric, each reference's curve is smoothed and put on the run's axis: the same
steps when the runs' step ranges overlap, else the fraction of training. Several references
span a band (their lowest and highest smoothed values at each point); the band is widened by a
margin (a share of the references' starting loss, or accuracy points) and by their own noise,
so one reference still has a band.

Pure functions on `Series`; the rules (CL400-CL402) turn the comparison into findings and the
engine attaches the reference runs (`Run.references`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Callable

import numpy as np

from curvelint import stats
from curvelint.config_values import did_you_mean
from curvelint.fileio import is_remote
from curvelint.model import ReferenceSet, Series

ALIGNS = ("auto", "step", "fraction")
MIN_OVERLAP = 0.5  # share of the run's step range the references must cover to compare by step


def settings_from_table(table: dict, where: Callable[..., str], base: str,
                        error: type[Exception] = ValueError) -> tuple[ReferenceSet, tuple[str, ...]]:
    """Validate the ``reference`` table: the settings and the reference paths (relative to the
    configuration file's folder `base`); raises `error` with a message naming the key."""
    known = ("path", "paths", "metrics", "tolerance", "align")
    for key in table:
        if key.replace("_", "-") not in known:
            raise error(f"{where('reference', key)}: unknown key{did_you_mean(key, known)}; "
                        f"valid keys: {', '.join(known)}")
    raw = table.get("paths", table.get("path", []))
    paths = [raw] if isinstance(raw, str) else raw
    if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
        raise error(f"{where('reference', 'path')}: a path or a list of paths")
    metrics = table.get("metrics", list(ReferenceSet.metrics))
    if isinstance(metrics, str):
        metrics = [metrics]
    if not isinstance(metrics, list) or not metrics or not all(isinstance(m, str) for m in metrics):
        raise error(f"{where('reference', 'metrics')}: a list of roles or series names")
    tolerance = table.get("tolerance", ReferenceSet.tolerance)
    if isinstance(tolerance, bool) or not isinstance(tolerance, (int, float)) or not 0 <= tolerance < 10:
        raise error(f"{where('reference', 'tolerance')}: a number from 0 (exact) upwards, e.g. 0.1")
    align = table.get("align", "auto")
    if align not in ALIGNS:
        raise error(f"{where('reference', 'align')}: one of {', '.join(ALIGNS)}")
    settings = ReferenceSet((), tuple(metrics), float(tolerance), align)
    return settings, tuple(p if os.path.isabs(p) or is_remote(p) else os.path.join(base, p) for p in paths)


@dataclass(frozen=True)
class Band:
    """The references' band for one metric on the run's axis (`x`: steps or fraction 0..1)."""

    metric: str
    direction: str  # "min": lower is better
    axis: str  # "step" or "fraction"
    x: np.ndarray
    run: np.ndarray  # the run's smoothed curve on x
    center: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    references: int
    run_steps: np.ndarray  # the run's logged steps at x
    ref_final: float  # the references' end level (their median)
    note: str = ""
    unit: float = 1.0  # what excesses are quoted in: the references' starting level (losses), 1 or 100
    unit_name: str = ""

    def worse(self) -> np.ndarray:
        """How far the run is beyond the band on the worse side (> 0: out of band), in `unit`s."""
        return ((self.run - self.hi) if self.direction == "min" else (self.lo - self.run)) / self.unit

    def excess(self, value: float) -> str:
        """`value` from `worse()` in words: '35% of the references' starting level' or '0.042'."""
        if self.unit_name.startswith("of "):
            return f"{value * self.unit:.3g} ({value:.0%} {self.unit_name}, {self.unit:.4g})"
        return f"{value * self.unit:.3g}{' ' + self.unit_name if self.unit_name else ''}"

    def at(self, i: int) -> str:
        """Where point i is, in the run's own steps (and the fraction when aligned by fraction)."""
        step = int(self.run_steps[i])
        return f"step {step}" if self.axis == "step" else f"step {step} ({self.x[i]:.0%} of training)"


def _finite(s: Series) -> tuple[np.ndarray, np.ndarray]:
    keep = np.isfinite(s.values)
    return s.steps[keep].astype(np.float64), s.values[keep]


def choose_axis(run: Series, refs: list[Series], align: str = "auto") -> tuple[str, str]:
    """("step" or "fraction", a note when the step ranges did not allow comparing by step)."""
    if align in ("step", "fraction"):
        return align, ""
    rx, _ = _finite(run)
    lo, hi = rx[0], rx[-1]
    for ref in refs:
        fx, _ = _finite(ref)
        overlap = min(hi, fx[-1]) - max(lo, fx[0])
        if hi <= lo or overlap < MIN_OVERLAP * (hi - lo):
            return "fraction", (f"the steps do not overlap enough (run {int(lo)}..{int(hi)}, reference "
                                f"{int(fx[0])}..{int(fx[-1])}): compared by fraction of training")
    return "step", ""


def band(metric: str, run: Series, refs: list[Series], direction: str, tolerance: float, align: str = "auto",
         noise_k: float = 3.0, points: float = 0.1) -> Band | None:
    """The band of `refs` around which `run` is judged, or None when fewer than 3 points align.

    The band spans the references' smoothed curves (lowest to highest at each point), widened by
    a margin and their noise. A loss's margin is `tolerance` times the references' starting level
    (seeds of one small run end far apart in ratio, 0.05 vs 0.15, yet both near 0 at the scale
    the run started from); an accuracy-like metric's margin is `points` (of 1, or of 100 for a
    percentage)."""
    axis, note = choose_axis(run, refs, align)
    rx, rv = _finite(run)
    if len(rv) < 3:
        return None
    x = (rx - rx[0]) / (rx[-1] - rx[0]) if axis == "fraction" else rx
    keep = np.ones(len(x), bool)
    curves, finals, starts, noise, top = [], [], [], 0.0, 0.0
    for ref in refs:
        fx, fv = _finite(ref)
        if len(fv) < 3:
            return None
        fxa = (fx - fx[0]) / (fx[-1] - fx[0]) if axis == "fraction" else fx
        smooth = stats.smooth(fv)
        keep &= (x >= fxa[0]) & (x <= fxa[-1])
        curves.append(np.interp(x, fxa, smooth))
        finals.append(stats.level(smooth, "end", 0.1))
        starts.append(stats.level(smooth, "start", 0.1))
        noise = max(noise, stats.noise_scale(fv) / max(1.0, np.sqrt(stats.auto_window(len(fv)))))
        top = max(top, float(np.max(np.abs(fv))))
    if int(keep.sum()) < 3:
        return None
    stack = np.vstack(curves)[:, keep]
    center = np.median(stack, axis=0)
    if direction == "min":
        unit, unit_name = abs(float(np.median(starts))), "of the references' starting level"
        margin = tolerance * unit
    else:
        unit, unit_name = (100.0 if top > 1.5 else 1.0), "points" if top > 1.5 else ""
        margin = points * unit
    lo, hi = stack.min(axis=0) - margin - noise_k * noise, stack.max(axis=0) + margin + noise_k * noise
    if direction == "min" and all((_finite(s)[1] >= 0).all() for s in refs):
        lo = np.maximum(lo, 0.0)  # a loss that cannot go below 0
    elif direction == "max" and top <= unit:
        hi = np.minimum(hi, unit)  # an accuracy cannot pass 1 (or 100)
    xs = x[keep]
    final = float(np.median(finals))
    return Band(metric, direction, axis, xs, stats.smooth(rv)[keep], center, lo, hi, len(refs), rx[keep],
                final, note, unit=max(unit, 1e-12), unit_name=unit_name)


@dataclass(frozen=True)
class Stretch:
    """A run of consecutive points out of the band (worse side)."""

    first: int
    last: int
    peak: int  # index of the largest excess
    excess: float  # largest relative excess beyond the band


def out_of_band(b: Band, min_points: int = 3, min_share: float = 0.1) -> list[Stretch]:
    """Stretches of at least `min_points` and `min_share` of the aligned points beyond the band."""
    w = b.worse()
    out, n = [], len(w)
    need = max(min_points, int(np.ceil(min_share * n)))
    i = 0
    while i < n:
        if w[i] <= 0:
            i += 1
            continue
        j = i
        while j + 1 < n and w[j + 1] > 0:
            j += 1
        if j - i + 1 >= need:
            peak = i + int(np.argmax(w[i:j + 1]))
            out.append(Stretch(i, j, peak, float(w[peak])))
        i = j + 1
    return out
