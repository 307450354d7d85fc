"""CL401 reference-slower."""

from __future__ import annotations

import numpy as np

from curvelint.model import Severity
from curvelint.rule import Context, Option, Rule

from ._reference import bands, described, fmt


class ReferenceSlower(Rule):
    """The run reaches its reference runs' final level much later on a shared metric.

    Symptom: the level the references' median curve reaches after ``share`` (90%) of its
    way from its start to its end level is reached by the run's smoothed curve
    ``min_ratio`` times later (and at least ``min_gap`` of training later), or not at all
    while the run still ends inside the band. (The end level itself is reached on the flat
    part of a curve, where a tiny difference moves the crossing far: 90% of the way is
    where the references still fall steeply.) A run that ends outside the band is reference-worse-end (CL402),
    which this rule defers to.

    Info by default: how fast a curve falls differs between seeds of one configuration far
    more than where it ends (on realbench's seed pairs, a 1.5x later crossing is common);
    raise it in ``[tool.curvelint.severity]`` when the references are several seeds.

    Why it matters: the same result for more compute; a learning rate, warmup or batch
    size change slowed training, and a shorter budget would now end worse.

    Fixes: diff the optimizer settings and schedule against the reference's; check the
    data loader's throughput is not what changed (steps are the axis here, not time).
    """

    code = "CL401"
    name = "reference-slower"
    since = "0.1.0"
    severity = Severity.INFO
    defers_to = ("CL402",)
    summary = "the run reaches its reference runs' final level much later on a shared metric"
    hint = "diff the optimizer settings and schedule against the reference's"
    options = {
        "min_ratio": Option(1.5, "how many times later than the references counts as slower"),
        "min_gap": Option(0.1, "... and at least this share of the aligned range later"),
        "share": Option(0.9, "the level judged: this share of the references' way from their start to their end"),
    }

    def check(self, ctx: Context):
        found, why = bands(ctx)
        if not found:
            yield ctx.abstain(why)
            return
        o = ctx.options
        for b in found:
            if ctx.reported(None, b.metric):
                continue
            start = float(b.center[0])
            target = start + o["share"] * (b.ref_final - start)  # on the steep part: a well-defined crossing
            reached = b.run <= target if b.direction == "min" else b.run >= target
            ref_reached = b.center <= target if b.direction == "min" else b.center >= target
            if not ref_reached.any():
                continue
            x0, span = float(b.x[0]), float(b.x[-1] - b.x[0]) or 1.0
            ref_at = float(b.x[int(np.argmax(ref_reached))])
            run_at = float(b.x[int(np.argmax(reached))]) if reached.any() else None
            late = run_at is None or ((run_at - x0) >= o["min_ratio"] * max(ref_at - x0, 1e-12)
                                      and (run_at - ref_at) / span >= o["min_gap"])
            if not late:
                continue
            i_ref = int(np.argmax(ref_reached))
            when = ("never reaches it" if run_at is None else
                    f"reaches it at {b.at(int(np.argmax(reached)))}, {(run_at - x0) / max(ref_at - x0, 1e-12):.1f}x later")
            yield ctx.finding(
                f"{b.metric}: the references reach {fmt(target)} ({o['share']:.0%} of their way from {fmt(start)} to "
                f"{fmt(b.ref_final)}) at {b.at(i_ref)}; the run {when} ({described(b)})",
                metric=b.metric, step=int(b.run_steps[int(np.argmax(reached))]) if run_at is not None else None,
                evidence={"target": target, "reference_at": ref_at, "run_at": run_at, "axis": b.axis,
                          "references": b.references, "note": b.note})
