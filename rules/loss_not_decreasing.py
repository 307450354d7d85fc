"""CL102 loss-not-decreasing."""

from __future__ import annotations


import numpy as np

from curvelint import stats
from curvelint.model import Severity
from curvelint.rule import Context, Option, Rule

from . import _loss as L


class LossNotDecreasing(Rule):
    """The training loss never significantly decreased: training stalled from the start.

    Symptom: the training loss hovers around its first value for the whole run. Any of
    three tests counts as a decrease: a Mann-Kendall trend over the whole run that is
    significantly downward with a fitted (Sen's slope) decrease of at least ``min_drop``
    of the starting level; the best stretch of the curve sitting significantly
    (one-sided Mann-Whitney) and at least ``min_drop`` below the first points; or a
    first point far above all the rest (a drop from epoch 0 to 1, then flat). A small
    but significant steady decrease (e.g. a Dice-style loss bounded near 1 that falls
    1.00 -> 0.91) is a decrease, and so is an accuracy that rises significantly (by 0.05
    or more) or sits at 0.9 or above (a resumed, already-trained model logs a flat loss).
    A run of 3 to ``min_points - 1`` points is too short for the tests; it is reported
    when its loss did not move at all (its whole range within ``short_flat`` of its level).
    A loss that only rises is left to
    diverging-loss (CL104), one that swings widely to oscillating-loss (CL105), one held
    at the framework's clip value to saturated-outputs (CL115).

    Usual causes: learning rate far too low (or 0 after a scheduler bug); the optimizer
    does not hold the model's parameters; frozen layers; dead ReLUs or saturated
    sigmoids/tanh (vanishing gradients); labels shuffled independently of the inputs or
    a broken data pipeline; a loss computed on detached tensors.

    Fixes: try a learning-rate range test and start from a standard value (Adam 1e-4 to
    3e-3, SGD with momentum 0.01 to 0.1); normalize the inputs; overfit one small batch
    first (the loss must go to ~0, otherwise the model/loss/data wiring is broken).

    Keras::

        model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3), loss=...)
        x = keras.layers.Normalization()  # adapt() on the training data first
        model.fit(x_train[:64], y_train[:64], epochs=200)  # must reach ~0 loss

    PyTorch::

        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)  # after the model is final
        assert any(p.requires_grad for p in model.parameters())
        loss.backward(); optimizer.step(); optimizer.zero_grad()
        # gradient check: [p.grad.norm() for p in model.parameters() if p.grad is not None]
    """

    code = "CL102"
    name = "loss-not-decreasing"
    since = "0.1.0"
    severity = Severity.ERROR
    defers_to = ("CL104", "CL115")
    summary = "training loss never significantly decreased: training stalled from the start"
    hint = ("check the learning rate (Adam ~1e-3), that the optimizer updates the model, and that inputs "
            "and labels are correct: a single small batch must be overfittable")
    options = {
        "min_points": Option(6, "fewest finite points to judge the trend"),
        "alpha": Option(0.01, "significance level of the trend and shift tests"),
        "min_drop": Option(0.05, "smallest decrease, as a fraction of the starting level, that counts"),
        "short_run": Option(12, "below this many points, a best value 3 x min_drop under the start is "
                                "taken as a decrease (the tests lack power)"),
        "first_z": Option(6.0, "robust z-score above the rest at which a first point alone shows a drop"),
        "short_flat": Option(1e-3, "3 to min_points-1 points: a loss whose whole range is within this share of "
                                   "its level did not move at all (e.g. 2.303, 2.304, 2.303, 2.303)"),
        "max_swing": Option(0.2, "larger slow swings (log units) mean an unstable, not a stalled, loss: "
                                 "left to oscillating-loss (CL105)"),
    }

    def check(self, ctx: Context):
        s, why = L.train_loss(ctx)
        if s is None:
            short, _ = ctx.usable("train_loss", min_points=3)
            found = self._short_flat(ctx, short) if short is not None else None
            yield found or ctx.abstain(why, ctx.name_of("train_loss"))
            return
        if L.claimed(ctx, s.name):
            return  # a blow-up (CL104) or saturated outputs (CL115) are the cause; "did not decrease" is the symptom
        alpha, min_drop = ctx.options["alpha"], ctx.options["min_drop"]
        tr = L.trend(ctx, s)
        sh = L.shape(ctx, s)
        fitted = tr.change / sh.scale
        if tr.p_value < alpha and tr.slope < 0 and -fitted >= min_drop:
            return  # a significant decrease over the run
        n = len(s)
        half = max(3, sh.k_start // 2 + 1)  # >= 7 points: enough for a rank test at 1%
        lo, hi = max(0, sh.best_index - half), min(n, sh.best_index + half + 1)
        if lo < sh.k_start:  # best stretch overlaps the start: no decrease to see
            lo = min(sh.k_start, n - 1)
            hi = max(hi, lo + 1)
        shift = ctx.memo(("stats.shift_down", s.name, sh.k_start, lo, hi),
                         lambda: stats.shift_down(s.values[:sh.k_start], s.values[lo:hi]))
        best_drop = -sh.rel(sh.start, shift.b_level)
        if shift.p_value < alpha and best_drop >= min_drop:
            return  # it did go down, then possibly came back up (diverging-loss judges that)
        rest = s.values[1:]
        first_z = (sh.first - stats.median(rest)) / max(stats.mad(rest), 1e-12 * sh.scale)
        if first_z >= ctx.options["first_z"] and -sh.rel(sh.first, sh.best) >= min_drop:
            return  # one big drop right after the first point (e.g. epoch 0 -> 1), then flat
        if n < ctx.options["short_run"] and -sh.rel(sh.start, sh.best) >= 3 * min_drop:
            return  # too few points for the tests, but clearly lower at its best: no verdict
        if tr.p_value < alpha and tr.slope > 0 and fitted >= min_drop:
            return  # rising from the start: diverging-loss (CL104)
        if L.accuracy_evidence(ctx, alpha=alpha):
            return  # the accuracy shows learning (or a trained model): a flat loss is not a stall
        sw = L.swing(ctx, s)
        erratic = sw.late >= ctx.options["max_swing"]
        if erratic and sw.structured():
            return  # swinging, not stalled: oscillating-loss (CL105)
        note = (f"; it jumps around erratically ({L.swing_size(sw.late, sw.logged)} "
                "between points): a learning rate far too HIGH gives this too") if erratic else ""
        yield ctx.finding(
            f"training loss did not decrease over {L.window(s)} ({n} points): {s.values[0]:.4g} at step "
            f"{s.steps[0]} -> {s.values[-1]:.4g} at step {s.steps[-1]} (levels: start {sh.start:.4g}, best "
            f"{sh.best:.4g} near step {sh.best_step}, end {sh.end:.4g}); trend {L.pct(fitted)} "
            f"(Sen slope {tr.slope:.3g}/step, Mann-Kendall {L.fmt_p(tr.p_value)}); best stretch "
            f"{L.pct(-best_drop)} against the first points (Mann-Whitney {L.fmt_p(shift.p_value)}); "
            f"a decrease counts when one of them is at least {min_drop:.0%} with p < {alpha:g}{note}",
            metric=s.name, step=s.steps[0],
            evidence={"first_step": s.steps[0], "last_step": s.steps[-1], "points": n,
                      "start": sh.start, "best": sh.best, "best_step": sh.best_step, "end": sh.end,
                      "slope": tr.slope, "p_value": tr.p_value, "relative_change": fitted,
                      "best_drop": best_drop, "shift_p_value": shift.p_value, "min_drop": min_drop,
                      "swing": sw.late, "erratic": erratic})


    def _short_flat(self, ctx: Context, s):
        """A run too short for the tests whose loss did not move at all (to ~3 significant digits)."""
        if L.claimed(ctx, s.name) or L.accuracy_evidence(ctx, min_points=3) or L.rl_return(ctx):
            return None
        v = s.values
        level = float(np.median(np.abs(v)))
        spread = float(np.ptp(v))
        if level == 0 or spread > ctx.options["short_flat"] * level:
            return None
        values = ", ".join(f"{x:.5g}" for x in v[:6])
        return ctx.finding(
            f"training loss did not move over its {len(v)} points (steps {s.steps[0]}..{s.steps[-1]}): {values}: "
            f"its whole range {spread:.2g} is {spread / level:.1g} of its level; too few points for a trend "
            "test, but a loss that learns changes by more than that in one epoch",
            metric=s.name, step=s.steps[0],
            evidence={"points": len(v), "spread": spread, "level": level, "first_step": s.steps[0],
                      "last_step": s.steps[-1]})
