"""CL402 reference-worse-end."""

from __future__ import annotations

import numpy as np

from curvelint.model import Severity
from curvelint.rule import Context, Option, Rule

from ._reference import bands, described, fmt


class ReferenceWorseEnd(Rule):
    """The run ends worse than its reference runs on a shared metric: a regression.

    Symptom: over the last ``end_fraction`` of the aligned points (at least 3), the run's
    smoothed curve stays outside the reference band on the worse side (above it for a
    loss, below it for an accuracy). The band spans the reference runs' smoothed curves
    (several seeds: their lowest to highest), widened by the reference tolerance (10% of
    the level by default) and their own noise, so one reference still has a band. Runs
    are aligned by step when their step ranges overlap, else by fraction of training (the
    message says so). Compared metrics: ``[tool.curvelint.reference] metrics``, by default
    the validation and the training loss.

    Why it matters: this is the question a CI gate asks: is tonight's run worse than the
    one we trust? A changed learning rate, a smaller model, shuffled labels or a data
    pipeline change show up here even when the run looks healthy on its own.

    Fixes: diff the run's configuration and code against the reference's; rerun the
    reference's configuration to tell a real regression from seed noise; give more
    reference seeds (repeat ``--reference``) for a band that covers seed-to-seed spread.

    Configuration::

        [tool.curvelint.reference]
        path = ["runs/baseline-seed0", "runs/baseline-seed1"]
        metrics = ["val_loss"]
        tolerance = 0.1
    """

    code = "CL402"
    name = "reference-worse-end"
    severity = Severity.WARNING
    summary = "the run ends worse than its reference runs' band on a shared metric (a regression)"
    hint = "diff the run's configuration and code against the reference's; more reference seeds widen the band"
    options = {
        "end_fraction": Option(0.1, "share of the aligned points (the end) that must all be outside the band"),
    }

    def check(self, ctx: Context):
        found, why = bands(ctx)
        if not found:
            yield ctx.abstain(why)
            return
        for b in found:
            n = len(b.x)
            k = max(3, int(np.ceil(ctx.options["end_fraction"] * n)))
            w = b.worse()
            if n < 3 or not np.all(w[-k:] > 0):
                continue
            first = n - k
            while first > 0 and w[first - 1] > 0:
                first -= 1
            side = "above" if b.direction == "min" else "below"
            end = float(np.median(b.run[-k:]))
            edge = float(np.median((b.hi if b.direction == "min" else b.lo)[-k:]))
            beyond = b.excess(float(np.median(w[-k:])))
            since = ("it was outside the band from the start" if first == 0 else
                     f"it left the band at {b.at(first)} and stayed out for the last {(n - first) / n:.0%} of the "
                     f"compared points")
            yield ctx.finding(
                f"{b.metric} ends at level {fmt(end)}, {side} the reference band "
                f"{fmt(float(np.median(b.lo[-k:])))}..{fmt(float(np.median(b.hi[-k:])))} (the references end at "
                f"level {fmt(b.ref_final)}) by {beyond}; {since} ({described(b)})",
                metric=b.metric, step=int(b.run_steps[first]),
                evidence={"end_level": end, "band_edge": edge, "left_band_step": int(b.run_steps[first]),
                          "out_share": (n - first) / n, "references": b.references, "axis": b.axis,
                          "reference_final": b.ref_final, "note": b.note})
