"""CL106 loss-spikes."""

from __future__ import annotations

from curvelint import stats
from curvelint.model import Severity
from curvelint.rule import Context, Option, Rule

from . import _loss as L


class LossSpikes(Rule):
    """Isolated large upward jumps in the training loss.

    Symptom: single points (or a few consecutive points) far above the local level of
    the training loss, after which it returns to where it was. A point counts when its
    residual from a rolling median (in log space for positive losses) is more than ``z``
    robust standard deviations (MAD) above the typical residual AND the value is at
    least ``min_jump`` times above the local level (1.0 = double). Per-step batch noise
    sets the MAD, so a noisy log needs a larger jump; a lasting level change moves the
    rolling median and is not a spike. A spike must also be large at the run's scale: at
    least ``min_scale_share`` of the way from the run's lowest value back to its start (a
    "32x spike" of a loss at 0.001 that started near 1 is harmless). Spikes just before a
    dead plateau are reported beside loss-not-decreasing or stopped-changing: the spike is
    often the cause. Fewer than ``min_count`` spikes (one bad batch the run recovered from)
    are info, and so are spikes all within the first ``early_share`` of the run's steps when
    the loss then ends below their local level (an early transient that did not recur).

    Usual causes: exploding gradients on a few batches (recurrent nets, attention
    logits, PINN residual terms, no normalization), a learning rate at the edge of
    stability, Adam's epsilon too small, bad or outlier samples in some batches,
    mixed-precision overflow.

    Fixes: clip gradients; lower the learning rate or use warmup; raise Adam's
    epsilon (1e-7 -> 1e-6..1e-4); find and clean the batches at the spike steps.

    Keras::

        opt = keras.optimizers.Adam(learning_rate=1e-3, clipnorm=1.0, epsilon=1e-6)

    PyTorch::

        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
        optimizer.step()
        # with AMP: scaler.unscale_(optimizer) before clip_grad_norm_
    """

    code = "CL106"
    name = "loss-spikes"
    since = "0.1.0"
    severity = Severity.WARNING
    defers_to = ("CL103", "CL104", "CL105")
    summary = "isolated large jumps in the training loss (exploding gradients; clip gradients)"
    hint = ("clip gradients (Keras clipnorm=1.0, PyTorch torch.nn.utils.clip_grad_norm_(params, 1.0)), "
            "lower the learning rate or add warmup, and inspect the batches at the spike steps")
    options = {
        "min_points": Option(12, "fewest finite points to look for spikes"),
        "z": Option(8.0, "robust z-score above which a point is an outlier"),
        "min_jump": Option(1.0, "smallest excess over the local level (1.0 = twice the level)"),
        "max_listed": Option(5, "spikes listed in the evidence"),
        "early_share": Option(0.1, "spikes all within this first share of the run's steps, after which the loss "
                                   "ends below their local level, are an early transient that did not recur: info"),
        "min_count": Option(2, "fewer spikes than this are reported at info: one bad batch the run recovered "
                               "from is no instability"),
        "min_scale_share": Option(0.25, "smallest spike height, as a share of the run's range from its start "
                                        "to its lowest value (a 32x jump of a loss at 0.001 that started at 1 "
                                        "is noise at the run's scale)"),
    }

    def check(self, ctx: Context):
        s = yield from L.judged_train_loss(ctx)
        if s is None:
            return
        z, jump = ctx.options["z"], ctx.options["min_jump"]
        found = ctx.memo(("stats.spikes", s.name, z, jump),
                         lambda: stats.spikes(s.steps, s.values, z=z, min_jump=jump))
        sh = L.shape(ctx, s)
        span = max(sh.start, sh.first) - float(s.values.min())
        found = [p for p in found if span <= 0 or p.value - p.baseline >= ctx.options["min_scale_share"] * span]
        if not found:
            return
        ranked = sorted(found, key=lambda p: -p.jump)
        top = ranked[0]
        size = f"{top.jump:.3g}x" if top.baseline > 0 and s.values.min() > 0 else f"+{top.jump:.3g} over"
        more = ""
        if len(found) > 1:
            more = "; others at steps " + ", ".join(str(p.step) for p in ranked[1:ctx.options["max_listed"]])
            more += " ..." if len(found) > ctx.options["max_listed"] else ""
        early = self._early_transient(ctx, s, found, sh.end)
        yield ctx.finding(
            f"{len(found)} isolated spike{'s' if len(found) > 1 else ''} in the training loss over "
            f"{L.window(s)}: largest {top.value:.4g} at step {top.step} ({size} the local level "
            f"{top.baseline:.4g}, robust z={top.z:.1f}){more}{early}",
            metric=s.name, step=top.step,
            severity=Severity.INFO if len(found) < ctx.options["min_count"] or early else None,
            evidence={"count": len(found), "points": len(s), "first_step": s.steps[0], "last_step": s.steps[-1],
                      "spikes": [stats.as_dict(p) for p in ranked[:ctx.options["max_listed"]]]})

    @staticmethod
    def _early_transient(ctx: Context, s, found: list, end: float) -> str:
        """Why the spikes are info though there are several: all in the run's first `early_share` of steps,
        with the loss ending below the lowest local level around them ('' when not)."""
        first, last = float(s.steps[0]), float(s.steps[-1])
        cut = first + ctx.options["early_share"] * (last - first)
        floor = min(p.baseline for p in found)
        if last <= first or any(p.step > cut for p in found) or not end < floor:
            return ""
        return (f"; all in the first {ctx.options['early_share']:.0%} of the run, which ends at {end:.4g}, below their "
                f"local level ({floor:.4g}): an early transient, not recurring (a warmup would avoid it)")
