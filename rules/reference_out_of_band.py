"""CL400 reference-out-of-band."""

from __future__ import annotations

from curvelint.model import Severity
from curvelint.reference import out_of_band
from curvelint.rule import Context, Option, Rule

from ._reference import bands, described, fmt


class ReferenceOutOfBand(Rule):
    """The run leaves its reference runs' band for a stretch on a shared metric, then returns.

    Symptom: a stretch of at least ``min_share`` of the aligned points (and 3 points)
    where the run's smoothed curve is outside the reference band on the worse side, after
    the first ``skip_start`` of training (seeds differ most while the loss falls steeply)
    and before the end (a run that ends outside the band is reference-worse-end, CL402,
    which this rule defers to). The band is that of CL402: the reference runs' smoothed
    curves widened by the tolerance and their noise.

    Info by default: seeds of one configuration converge at different speeds, so a run
    that returns to the band by the end is a remark (on realbench's seed pairs, 4% of them
    leave a single reference's band for a while); the verdict is whether it ends worse.

    Why it matters: an excursion the references never made is an instability (a spike, a
    stall, a schedule change) that the end of the run hides; in a CI gate it is the early
    sign of a regression.

    Fixes: look at the steps named; diff the configuration (learning rate, warmup,
    batch size, data order) against the reference's.
    """

    code = "CL400"
    name = "reference-out-of-band"
    since = "0.1.0"
    severity = Severity.INFO
    defers_to = ("CL402",)
    summary = "the run leaves its reference runs' band for a stretch on a shared metric"
    hint = "look at the steps named and diff the configuration against the reference's"
    options = {
        "min_share": Option(0.1, "shortest stretch outside the band, as a share of the aligned points"),
        "skip_start": Option(0.1, "share of the aligned points at the start that is not judged"),
    }

    def check(self, ctx: Context):
        found, why = bands(ctx)
        if not found:
            yield ctx.abstain(why)
            return
        for b in found:
            if ctx.reported(None, b.metric):
                continue  # it ends worse: CL402 tells the story
            start = int(ctx.options["skip_start"] * len(b.x))
            stretches = [s for s in out_of_band(b, min_share=ctx.options["min_share"]) if s.first >= start]
            if not stretches:
                continue
            s = max(stretches, key=lambda t: t.last - t.first)
            side = "above" if b.direction == "min" else "below"
            yield ctx.finding(
                f"{b.metric} left the reference band at {b.at(s.first)} and came back at {b.at(s.last)} "
                f"({(s.last - s.first + 1) / len(b.x):.0%} of the compared points): up to {b.excess(s.excess)} {side} it "
                f"at {b.at(s.peak)} (level {fmt(float(b.run[s.peak]))}, band {fmt(float(b.lo[s.peak]))}.."
                f"{fmt(float(b.hi[s.peak]))}; {described(b)})",
                metric=b.metric, step=int(b.run_steps[s.first]),
                evidence={"first_step": int(b.run_steps[s.first]), "last_step": int(b.run_steps[s.last]),
                          "peak_step": int(b.run_steps[s.peak]), "excess": s.excess, "stretches": len(stretches),
                          "references": b.references, "axis": b.axis, "note": b.note})
