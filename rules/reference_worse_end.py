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
    the training loss and the validation accuracy.

    With a single reference run, an accuracy-like metric that ends below the band while no
    compared loss ends above its own is reported at info: one run cannot show how far seeds
    of the same configuration spread (seeds that also reshuffle the data split end 0.1-0.3
    apart in accuracy on small tasks), and the loss, the smoother measure, does not confirm it.

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
    since = "0.1.0"
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
        worse = [(b, k) for b in found if (k := _worse_end(b, ctx.options["end_fraction"])) is not None]
        loss_confirms = any(b.direction == "min" for b, _ in worse)
        for b, k in worse:
            n = len(b.x)
            w = b.worse()
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
            alone = b.references == 1 and b.direction == "max" and not loss_confirms
            caveat = ("; with one reference run an accuracy alone may be seed-to-seed spread and no loss confirms "
                      "it: give a second reference seed (--reference twice) for a verdict" if alone else "")
            yield ctx.finding(
                f"{b.metric} ends at level {fmt(end)}, {side} the reference band "
                f"{fmt(float(np.median(b.lo[-k:])))}..{fmt(float(np.median(b.hi[-k:])))} (the references end at "
                f"level {fmt(b.ref_final)}) by {beyond}; {since} ({described(b)}){caveat}",
                metric=b.metric, step=int(b.run_steps[first]), severity=Severity.INFO if alone else None,
                evidence={"end_level": end, "band_edge": edge, "left_band_step": int(b.run_steps[first]),
                          "out_share": (n - first) / n, "references": b.references, "axis": b.axis,
                          "reference_final": b.ref_final, "note": b.note})


def _worse_end(b, end_fraction: float) -> int | None:
    """How many end points (at least 3, `end_fraction` of the aligned ones) are all on the worse
    side of the band, or None when they are not."""
    n = len(b.x)
    k = max(3, int(np.ceil(end_fraction * n)))
    return k if n >= 3 and bool(np.all(b.worse()[-k:] > 0)) else None
