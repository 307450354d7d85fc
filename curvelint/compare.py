"""`curvelint compare A B`: two runs side by side on the metrics they share."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from curvelint import stats
from curvelint.model import Run, Series
from curvelint.roles import ROLE_NAMES, assign_roles


@dataclass(frozen=True)
class Summary:
    """One series in a few numbers: points, steps, first value, best (and its step), end level."""

    name: str
    points: int
    first_step: int
    last_step: int
    first: float
    best: float
    best_step: int
    end: float


def summarize(s: Series, direction: str) -> Summary | None:
    keep = np.isfinite(s.values)
    x, v = s.steps[keep], s.values[keep]
    if len(v) == 0:
        return None
    i = int(np.argmin(v) if direction == "min" else np.argmax(v))
    end = stats.level(stats.smooth(v), "end", 0.1) if len(v) >= 3 else float(v[-1])
    return Summary(s.name, len(v), int(x[0]), int(x[-1]), float(v[0]), float(v[i]), int(x[i]), float(end))


def shared(a: Run, b: Run) -> list[tuple[str, str, str, str | None]]:
    """(label: the series name(s), name in a, name in b, direction) for each role both runs have, then each series
    name they share that no role took."""
    ra, rb = assign_roles(list(a.series)), assign_roles(list(b.series))
    out: list[tuple[str, str, str, str | None]] = []
    used: set[str] = set()
    for role in ROLE_NAMES:
        na, nb = getattr(ra, role), getattr(rb, role)
        if na and nb:
            direction = "min" if role.endswith("loss") else ra.directions.get(na)
            out.append((na if na == nb else f"{na} / {nb}", na, nb, direction))  # the names the user logged
            used.update((na, nb))
    for name in sorted(set(a.series) & set(b.series) - used):
        d = ra.directions.get(name)
        if d:
            out.append((name, name, name, d))
    return out


def render(a: Run, b: Run) -> str:
    """A table: for each shared metric, both runs' first value, best (at step), end level, and
    how the end levels compare (B relative to A, '+' worse)."""
    rows = [("metric", "run", "points", "steps", "first", "best (step)", "end level", "B vs A")]
    for label, na, nb, direction in shared(a, b):
        sa, sb = summarize(a.series[na], direction or "min"), summarize(b.series[nb], direction or "min")
        if sa is None or sb is None:
            continue
        rel = "" if direction is None else _versus(sa.end, sb.end, direction)
        for tag, s, delta in (("A", sa, ""), ("B", sb, rel)):
            rows.append((label if tag == "A" else "", tag, str(s.points), f"{s.first_step}..{s.last_step}",
                         f"{s.first:.4g}", f"{s.best:.4g} ({s.best_step})", f"{s.end:.4g}", delta))
    if len(rows) == 1:
        return f"A {a.path} and B {b.path} share no metric"
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = [f"A: {a.path}", f"B: {b.path}", ""]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    lines += ["", "B vs A: B's end level relative to A's (+ is worse: a higher loss, a lower accuracy; "
                  "'x' beyond two-fold: how many times B's end is above or below A's)"]
    return "\n".join(lines)


def _versus(a: float, b: float, direction: str) -> str:
    """B's end against A's: '+12%' (+ is worse), or '+1445x' / '-3.2x' beyond two-fold (same sign only)."""
    worse = (b - a) if direction == "min" else (a - b)
    if not a:
        return f"{worse:+.3g}"
    ratio = b / a
    if ratio >= 2 or 0 < ratio <= 0.5:
        factor = ratio if ratio >= 2 else 1 / ratio
        size = f"{factor:.3g}" if factor < 1000 else f"{factor:,.0f}"
        return f"{'+' if worse > 0 else '-'}{size}x"
    return f"{'+' if worse > 0 else ''}{worse / abs(a):.0%}"
