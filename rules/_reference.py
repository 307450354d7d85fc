"""What the reference rules (CL400-CL402) share: the band of each compared metric, computed once."""

from __future__ import annotations

from curvelint.reference import Band, band
from curvelint.roles import ROLE_NAMES, assign_roles
from curvelint.rule import Context

NO_REFERENCE = "no reference run (--reference PATH or [tool.curvelint.reference] path)"


def bands(ctx: Context) -> tuple[list[Band], str]:
    """The reference band of every compared metric the run and its references share, and why
    there are none when the list is empty."""
    return ctx.memo(("reference.bands",), lambda: _bands(ctx))


def _bands(ctx: Context) -> tuple[list[Band], str]:
    ref = ctx.run.references
    if ref is None or not ref.runs:
        return [], NO_REFERENCE
    out, missing = [], []
    for metric in ref.metrics:
        name = ctx.name_of(metric)
        run_s = ctx.curve(name) if name else None
        if not name or run_s is None:
            missing.append(metric)
            continue
        refs = []
        for r in ref.runs:
            rname = name if name in r.series else getattr(assign_roles(list(r.series)), metric, None) \
                if metric in ROLE_NAMES else None
            if rname and rname in r.series:
                refs.append(r.series[rname])
        if not refs:
            missing.append(metric)
            continue
        direction = ctx.direction(name) or ("min" if metric.endswith("loss") else "max")
        b = band(name, run_s, refs, direction, ref.tolerance, ref.align, points=ref.points)
        if b is not None:
            out.append(b)
    if not out:
        return [], (f"no metric of {', '.join(ref.metrics)} that the run and its "
                    f"{len(ref.runs)} reference run(s) share with 3+ aligned points")
    return out, ""


def described(b: Band) -> str:
    """'2 references, aligned by step' and the alignment note."""
    what = f"{b.references} reference run{'s' if b.references > 1 else ''}, aligned by {b.axis}"
    return what + (f"; {b.note}" if b.note else "")


def fmt(x: float) -> str:
    return f"{x:.4g}"
