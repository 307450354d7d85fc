"""Charts as inline SVG for the HTML report: a group of curves, shaded windows, markers, axes.

A curve is a ``<path class="ln">`` in integer units of 1/`Q` viewBox unit from the plot's
top-left corner (``M x y`` then relative ``l dx dy`` moves, thinned: repeated points and the
middle of horizontal runs dropped), so a series of a million points costs ~2 x `bins` short moves
of markup. The chart's ``data-*`` attributes give its axes, so a script can turn a vertex back into
a step and a value; series that were not reduced also carry their exact steps and values
(``data-s``, ``data-v``, one per vertex). Every text goes through `html_text`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from curvelint.plot import scale
from curvelint.plot.curves import Curve
from curvelint.plot.downsample import KINDS
from curvelint.reporters.escape import html_text as esc

WIDTH, HEIGHT = 640, 180
LEFT, RIGHT, TOP, BOTTOM = 58, 10, 12, 22
PW, PH = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
ROLE_COLORS = {"train_loss": "#1f77b4", "val_loss": "#ff7f0e", "train_metric": "#1f77b4",
               "val_metric": "#ff7f0e", "lr": "#2ca02c", "grad_norm": "#9467bd"}
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f")
EXACT_POINTS = 600  # series with at most this many points carry their exact values for hover
Q = 4  # path units per viewBox unit


@dataclass(frozen=True)
class Shade:
    """A finding's judged window: shaded, labelled with its rule code, linked to the finding."""

    start: int
    end: int
    label: str
    severity: str  # "error", "warning", "info"
    href: str
    title: str


@dataclass(frozen=True)
class Marker:
    """A labelled point (value None: on the top edge, e.g. a non-finite step)."""

    step: int
    value: float | None
    title: str


def color(curve: Curve, index: int) -> str:
    return ROLE_COLORS.get(curve.role or "", PALETTE[index % len(PALETTE)])


def _fmt(a: np.ndarray) -> list[str]:
    return [f"{v:.1f}".removesuffix(".0") for v in a.tolist()]


def _thin(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Drop repeated points and the inner points of horizontal runs (integer coordinates)."""
    if len(x) < 3:
        return x, y
    keep = np.ones(len(x), dtype=bool)
    same_y = y[1:] == y[:-1]
    keep[1:] &= ~(same_y & (x[1:] == x[:-1]))
    keep[1:-1] &= ~(same_y[:-1] & same_y[1:])
    return x[keep], y[keep]


def _d(x: np.ndarray, y: np.ndarray) -> str:
    """Path data: the first vertex absolute, then relative moves (``l3-5 2 7``)."""
    dx, dy = np.diff(x).tolist(), np.diff(y).tolist()
    moves = "".join(f"{' ' if i and a >= 0 else ''}{a}{' ' if b >= 0 else ''}{b}" for i, (a, b) in enumerate(zip(dx, dy)))
    return f"M{x[0]} {y[0]}" + (f"l{moves}" if moves else "")


class Frame:
    """The step and value axes of one chart, in viewBox units."""

    def __init__(self, steps: scale.Axis, values: scale.Axis) -> None:
        self.steps, self.values = steps, values

    def x(self, s) -> np.ndarray:
        return LEFT + np.clip(self.steps.frac(s), 0, 1) * PW

    def y(self, v) -> np.ndarray:
        return TOP + (1 - np.clip(self.values.frac(v), -0.02, 1.02)) * PH


def _curve(c: Curve, frame: Frame, stroke: str) -> str:
    d = c.data
    ok = np.isfinite(frame.values.frac(d.values))
    if not ok.any():
        return ""
    x = np.rint((frame.x(d.steps[ok]) - LEFT) * Q).astype(np.int64)
    y = np.rint((frame.y(d.values[ok]) - TOP) * Q).astype(np.int64)
    exact = ""
    if not d.reduced and len(x) <= EXACT_POINTS:  # every point, each with its step and value
        exact = (f' data-s="{" ".join(str(s) for s in d.steps[ok].tolist())}"'
                 f' data-v="{" ".join(f"{v:.6g}" for v in d.values[ok].tolist())}"')
    else:
        x, y = _thin(x, y)
    if len(x) == 1:  # one point: a dot
        return (f'<circle class="pt" cx="{LEFT + x[0] / Q:g}" cy="{TOP + y[0] / Q:g}" r="2.5" fill="{stroke}" '
                f'data-name="{esc(c.name)}"{exact}/>')
    return (f'<path class="ln" transform="translate({LEFT} {TOP}) scale({1 / Q:g})" d="{_d(x, y)}" '
            f'stroke="{stroke}" data-name="{esc(c.name)}"{exact}/>')


def _value_axis(curves: Sequence[Curve], log_hint: bool) -> scale.Axis:
    values = [c.data.values for c in curves]
    axis = scale.value_axis(values, scale.wants_log(values, log_hint))
    return axis or scale.Axis(0.0, 1.0)


def _step_axis(curves: Sequence[Curve], shades: Sequence[Shade]) -> scale.Axis:
    ends = [e for c in curves for e in (c.first_step, c.last_step) if e is not None]
    ends += [e for s in shades for e in (s.start, s.end)]
    lo, hi = (min(ends), max(ends)) if ends else (0, 1)
    return scale.Axis(lo, hi if hi > lo else lo + 1)


def _axes(frame: Frame) -> list[str]:
    out = [f'<rect class="plot" x="{LEFT}" y="{TOP}" width="{PW}" height="{PH}"/>']
    for v in frame.values.ticks(4):
        y = _fmt(frame.y([v]))[0]
        out.append(f'<line class="grid" x1="{LEFT}" x2="{LEFT + PW}" y1="{y}" y2="{y}"/>'
                   f'<text class="yl" x="{LEFT - 4}" y="{y}">{esc(scale.number(v, 3))}</text>')
    for s in frame.steps.ticks(5, integer=True):
        x = _fmt(frame.x([s]))[0]
        out.append(f'<text class="xl" x="{x}" y="{HEIGHT - 6}">{esc(scale.step_label(int(s)))}</text>')
    return out


def _shades(shades: Sequence[Shade], frame: Frame) -> list[str]:
    out = []
    for i, s in enumerate(shades):
        x0, x1 = frame.x([s.start])[0], frame.x([s.end])[0]
        w = max(x1 - x0, 1.5)
        out.append(f'<a href="{esc(s.href)}"><rect class="win {esc(s.severity)}" x="{x0:.1f}" y="{TOP}" '
                   f'width="{w:.1f}" height="{PH}"><title>{esc(s.title)}</title></rect>'
                   f'<text class="wl" x="{x0 + 3:.1f}" y="{TOP + 10 + 10 * (i % 3)}">{esc(s.label)}</text></a>')
    return out


def _marks(curves: Sequence[Curve], frame: Frame) -> list[str]:
    out = []
    for c in curves:
        for s, k in zip(c.data.mark_steps.tolist(), c.data.mark_kinds.tolist()):
            x = frame.x([s])[0]
            out.append(f'<path class="nf" d="M{x - 3:.1f} {TOP - 9}l6 6m0 -6l-6 6">'
                       f'<title>{esc(c.name)}: {KINDS[k]} at step {s}</title></path>')
    return out


def _markers(markers: Sequence[Marker], frame: Frame) -> list[str]:
    out = []
    for m in markers:
        x = frame.x([m.step])[0]
        y = TOP - 6 if m.value is None or not np.isfinite(frame.values.frac([m.value])[0]) else frame.y([m.value])[0]
        out.append(f'<circle class="key" cx="{x:.1f}" cy="{y:.1f}" r="4"><title>{esc(m.title)}</title></circle>')
    return out


def chart(curves: Sequence[Curve], shades: Sequence[Shade] = (), markers: Sequence[Marker] = (),
          log_hint: bool = False, label: str = "") -> str:
    """One chart of `curves` (drawn in order) with `shades` under them and `markers` over them."""
    frame = Frame(_step_axis(curves, shades), _value_axis(curves, log_hint))
    va, sa = frame.values, frame.steps
    attrs = (f'data-x0="{sa.lo:.17g}" data-x1="{sa.hi:.17g}" data-y0="{va.lo:.17g}" data-y1="{va.hi:.17g}" '
             f'data-log="{int(va.log)}"')
    parts = [f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{esc(label)}" {attrs}>']
    parts += _axes(frame) + _shades(shades, frame)
    parts += [_curve(c, frame, color(c, i)) for i, c in enumerate(curves)]
    parts += _marks(curves, frame) + _markers(markers, frame)
    if va.log:
        parts.append(f'<text class="log" x="{LEFT + PW - 2}" y="{TOP + PH - 4}">log scale</text>')
    parts.append('<circle class="hover" r="4" cx="0" cy="0" visibility="hidden"/></svg>')
    return "".join(parts)
