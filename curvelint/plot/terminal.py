"""A finding's plot for the terminal: its curves in braille, the judged window, labelled key points.

What `draw` returns for CL110 (the primary series in braille, others as ``·`` without colour)::

          ⣿ val_loss  · loss
     0.843 ┤                                       ⢀⠤⠔⠒⠊⠉⠉⠒⠒⠒⠤⠤⠤⢄⡠⠤⠒⠒⠊
           │                        ⣀⡠⠤⠤⠒⠒⠒⠉⠉⠁
     0.426 ┤⠑⠤⢄⣀⣀⣀⡀⠀⠀⠀⠀⠀⠀1⠤⠤⠔⠒⠉⠉
     0.008 ┤ ·  ·  ·  ·  ·  ·  ·  ·  ·  ·  ·  ·  ·  ·  ·  ·  ·
           └───────────────━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━
            0              9                                         29
           ━ judged steps 9..29   1 best 0.3754 @ 9

The text is at most `width` columns wide; names from the log go through `printable`.
"""

from __future__ import annotations

from typing import Callable

import click
import numpy as np

from curvelint.model import Finding
from curvelint.plot import scale
from curvelint.plot.braille import Canvas, char
from curvelint.plot.curves import Curve, RunCurves
from curvelint.plot.downsample import KINDS
from curvelint.plot.focus import Focus, focus
from curvelint.reporters.escape import printable

COLORS = ("magenta", "cyan", "green")
LR_COLOR = "blue"
ROWS, LR_ROWS = 6, 2
Style = Callable[..., str]


def _plain(text: str, **_: object) -> str:
    return text


def _x_range(fo: Focus) -> tuple[int, int] | None:
    ends = [e for c in (*fo.series, *([fo.lr] if fo.lr else [])) for e in (c.first_step, c.last_step)
            if e is not None]
    if fo.window:
        ends += list(fo.window)
    return (min(ends), max(ends)) if ends else None


class _Frame:
    """The step axis shared by every row of one plot."""

    def __init__(self, lo: int, hi: int, cols: int) -> None:
        self.axis = scale.Axis(lo, hi if hi > lo else lo + 1)
        self.cols = cols

    def px(self, steps: np.ndarray) -> np.ndarray:
        return self.axis.frac(steps) * (2 * self.cols - 1)

    def col(self, step: int) -> int:
        return int(np.clip(self.px(np.array([step]))[0] // 2, 0, self.cols - 1))


Cell = tuple[str, dict]  # a character and its click.style keywords


def _cells(canvas: Canvas, glyphs: list[Callable[[int], str]], styles: list[dict]) -> list[list[Cell]]:
    """Each canvas cell as a character: its owner layer's glyph, with that layer's style."""
    owner, bits = canvas.cells()
    blank: Cell = (" ", {})
    return [[blank if owner[r, c] < 0 else (glyphs[owner[r, c]](bits[r, c]), styles[owner[r, c]])
             for c in range(canvas.cols)] for r in range(canvas.rows)]


def _join(cells: list[Cell], style: Style) -> str:
    """A row of cells as text, one style sequence per run of equally styled cells."""
    out, i = [], 0
    while i < len(cells):
        j = i
        while j < len(cells) and cells[j][1] == cells[i][1]:
            j += 1
        text = "".join(c for c, _ in cells[i:j])
        out.append(style(text, **cells[i][1]) if cells[i][1] else text)
        i = j
    return "".join(out).rstrip()


def _draw_curves(curves: list[Curve], axis: scale.Axis, frame: _Frame, rows: int) -> Canvas:
    canvas = Canvas(frame.cols, rows)
    for c in curves:
        layer = canvas.layer()
        d = c.data
        ok = np.isfinite(axis.frac(d.values))
        if ok.any():
            y = (1 - axis.frac(d.values[ok])) * (canvas.height - 1)
            canvas.polyline(layer, frame.px(d.steps[ok]), y)
    return canvas


def _labels(axis: scale.Axis | None, rows: int, values: list[np.ndarray], prefix: str = "") -> list[str]:
    """Value labels: the largest value on the first row, the smallest on the last, and the value at
    the middle row's centre between them."""
    out = [""] * rows
    shown = [v[np.isfinite(axis.frac(v))] for v in values] if axis is not None else []
    shown = [v for v in shown if len(v)]
    if not shown or axis is None:  # (no values shown without an axis)
        return out
    out[0] = prefix + scale.number(max(float(v.max()) for v in shown), 3)
    out[-1] = prefix + scale.number(min(float(v.min()) for v in shown), 3)
    if rows > 2:
        frac = 1 - ((rows // 2) * 4 + 1.5) / (rows * 4 - 1)
        a, b = (np.log10(axis.lo), np.log10(axis.hi)) if axis.log else (axis.lo, axis.hi)
        mid = a + frac * (b - a)
        out[rows // 2] = prefix + scale.number(10 ** mid if axis.log else mid, 3)
    return out


def _place(width: int, items: list[tuple[int, str]]) -> str:
    """Labels at columns, each left out when it would overlap the previous one."""
    line = [" "] * width
    end = -1
    for col, text in sorted(items):
        col = min(max(col - len(text) // 2, 0), width - len(text))
        if col > end and col + len(text) <= width:
            line[col:col + len(text)] = text
            end = col + len(text)
    return "".join(line).rstrip()


def _wrap(parts: list[str], width: int, indent: str) -> list[str]:
    """Parts joined by three spaces, in lines of at most `width` visible columns."""
    lines, cur = [], ""
    for p in parts:
        if cur and len(indent) + len(click.unstyle(cur)) + 3 + len(click.unstyle(p)) > width:
            lines.append(indent + cur)
            cur = p
        else:
            cur = f"{cur}   {p}" if cur else p
    return lines + ([indent + cur] if cur else [])


def _fit(name: str, room: int) -> str:
    name = printable(name)
    return name if len(name) <= room else name[:max(room - 1, 1)] + "…"


def draw(f: Finding, curves: RunCurves, width: int = 80, color: bool = False, indent: int = 10) -> list[str]:
    """The plot lines of finding `f` (none when it names no series of `curves`)."""
    fo = focus(f, curves)
    span = _x_range(fo) if fo else None
    if fo is None or span is None:
        return []
    style: Style = click.style if color else _plain
    values = [c.data.values for c in fo.series]
    axis = scale.value_axis(values, scale.wants_log(values, fo.log_rule))
    lr_axis = None
    if fo.lr is not None:
        lr_vals = [fo.lr.data.values]
        lr_axis = scale.value_axis(lr_vals, scale.wants_log(lr_vals, False, span=10))
    labels = _labels(axis, ROWS, values)
    lr_labels = _labels(lr_axis, LR_ROWS, [fo.lr.data.values], "lr ") if fo.lr is not None else []
    kinds = "/".join(sorted({KINDS[k] for c in fo.series for k in c.data.mark_kinds}))
    lw = max(len(s) for s in [*labels, *lr_labels, kinds])
    pad = " " * indent
    cols = width - indent - lw - 2
    frame = _Frame(*span, cols)
    styles = [{"fg": c} for c in COLORS[:len(fo.series)]] if color else [{} for _ in fo.series]
    glyphs = [char] + [char if color else (lambda bits: "·")] * (len(fo.series) - 1)

    lead = ("━━ " if color else "⣿ ", "━━ " if color else "· ")
    legend = [style(lead[0] + _fit(fo.primary.name, 30), bold=True, **styles[0])]
    legend += [style(lead[1] + _fit(c.name, 24), **styles[i + 1]) for i, c in enumerate(fo.series[1:])]
    if fo.lr is not None:
        legend.append(style(lead[0] + _fit(fo.lr.name, 16) + " (below)", **({"fg": LR_COLOR} if color else {})))
    if axis is not None and axis.log:
        legend.append("log scale")
    out = [pad + "   ".join(legend)]

    marked = [(int(s), i) for i, c in enumerate(fo.series) for s in c.data.mark_steps]
    bad_row: list[Cell] = [(" ", {})] * cols
    for s, i in sorted(marked, key=lambda m: -m[1]):  # the primary's marks drawn last: they win
        bad_row[frame.col(s)] = ("×" if i == 0 or color else "·", {**styles[i], **({"bold": True} if i == 0 else {})})
    marks = {int(s) for c in fo.series for s in c.data.mark_steps}

    canvas = _draw_curves(list(fo.series), axis, frame, ROWS) if axis else Canvas(cols, ROWS)
    rows = _cells(canvas, glyphs, styles)
    notes = []
    marker = {"bold": True, "reverse": True} if color else {}
    for i, p in enumerate(fo.points, 1):
        v = p.value if p.value is not None else fo.primary.value_at(p.step)
        notes.append(f"{i} {p.label}" + (f" {scale.number(v)} at" if v is not None else "") + f" step {p.step}")
        if v is not None and axis is not None and np.isfinite(axis.frac([v])[0]):
            r = int(np.clip((1 - axis.frac([v])[0]) * (ROWS - 1) + 0.5, 0, ROWS - 1))
            rows[r][frame.col(p.step)] = (str(i), marker)
        elif p.step in marks:
            bad_row[frame.col(p.step)] = (str(i), marker)
    if marked:
        out.append(f"{pad}{kinds:>{lw}} ┤" + _join(bad_row, style))
    for r, label in enumerate(labels):
        out.append(f"{pad}{label:>{lw}} {'┤' if label else '│'}" + _join(rows[r], style))

    if fo.lr is not None and lr_axis is not None:
        lr_canvas = _draw_curves([fo.lr], lr_axis, frame, LR_ROWS)
        lr_rows = _cells(lr_canvas, [char], [{"fg": LR_COLOR} if color else {}])
        for label, row in zip(lr_labels, lr_rows):
            out.append(f"{pad}{label:>{lw}} {'┤' if label else '│'}" + _join(row, style))

    ticks = [(frame.col(span[0]), scale.step_label(span[0])), (frame.col(span[1]), scale.step_label(span[1]))]
    a, b = (frame.col(fo.window[0]), frame.col(fo.window[1])) if fo.window else (cols, cols - 1)
    judged = style("━" * (b - a + 1), fg="yellow" if color else None, bold=True) if fo.window else ""
    out.append(f"{pad}{' ' * lw} └" + "─" * a + judged + "─" * (cols - b - 1))
    if fo.window:
        ticks += [(a, scale.step_label(fo.window[0])), (b, scale.step_label(fo.window[1]))]
        notes.insert(0, style("━", fg="yellow" if color else None, bold=True)
                     + f" judged steps {fo.window[0]}..{fo.window[1]}")
    out.append(f"{pad}{' ' * (lw + 2)}" + _place(cols, ticks))
    out.extend(_wrap(notes, width, pad + " " * (lw + 2)))
    return out
