"""CL104 diverging-loss."""

from __future__ import annotations

import math

from curvelint.model import Severity
from curvelint.rule import Context, Option, Rule

from . import _loss as L


class DivergingLoss(Rule):
    """The training loss trends upward, or ends far above its minimum.

    Symptom: after reaching its best value the training loss climbs back up (or it
    rises from the start), and the rise is a trend, not noise: the Mann-Kendall test
    on the part after the (smoothed) minimum is significantly upward, and the end level
    (median of the last 10%) has given back at least ``min_retained`` of the decrease
    achieved (measured in log space for positive losses, which may span orders of
    magnitude), or is at least ``min_ratio`` times the minimum. A training loss should
    not go up for long; a validation loss going up while the training loss falls is
    overfitting, judged by the validation rules instead. A brief rise during LR warmup
    is not a divergence (the minimum comes later).

    Usual causes: learning rate too high (or a schedule that raises it, a warm restart
    that is too hot); exploding gradients (deep/recurrent nets, no normalization);
    numerically unstable loss (log of a softmax computed by hand, mixed precision
    without loss scaling); data that changes distribution during the run.

    Fixes: lower the learning rate 3-10x, or add a decay schedule; clip gradients;
    use a numerically stable loss (``from_logits=True`` / ``CrossEntropyLoss`` on raw
    logits); add normalization layers.

    Keras::

        opt = keras.optimizers.Adam(learning_rate=3e-4, clipnorm=1.0)
        model.compile(optimizer=opt, loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        callbacks = [keras.callbacks.ReduceLROnPlateau(monitor="loss", factor=0.3, patience=2)]

    PyTorch::

        optimizer = torch.optim.AdamW(model.parameters(), lr=3e-4)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
        optimizer.step()
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)
    """

    code = "CL104"
    name = "diverging-loss"
    severity = Severity.ERROR
    summary = "training loss trends upward or ends far above its minimum (learning rate too high, exploding gradients)"
    hint = ("lower the learning rate (3-10x) and clip gradients (Keras clipnorm=1.0, PyTorch "
            "torch.nn.utils.clip_grad_norm_(params, 1.0)); check the loss for numerical instability")
    options = {
        "min_points": Option(6, "fewest finite points to judge the trend"),
        "alpha": Option(0.01, "significance level of the upward trend after the minimum"),
        "min_retained": Option(0.3, "share of the achieved decrease given back at the end that counts as diverging"),
        "min_ratio": Option(1.5, "end/minimum ratio that counts as diverging (positive losses, with at "
                                 "least 10% of the decrease given back)"),
        "min_rise": Option(0.1, "smallest rise above the minimum, relative to it, worth reporting"),
        "min_tail": Option(4, "fewest points after the minimum to judge a rise"),
        "min_tail_fraction": Option(0.05, "smallest share of the run after the minimum to judge a rise"),
    }

    def check(self, ctx: Context):
        s, why = L.train_loss(ctx)
        if s is None:
            yield ctx.abstain(why, ctx.name_of("train_loss"))
            return
        o = ctx.options
        sh = L.shape(ctx, s)
        n, i = len(s), sh.best_index
        if n - i < max(o["min_tail"], o["min_tail_fraction"] * n):
            return  # ends at (or next to) its best
        top = max(sh.first, sh.start)
        rise = sh.end - sh.best
        retained = _retained(top, sh.best, sh.end)
        ratio = sh.end / sh.best if sh.best > 0 else math.inf
        rise_rel = rise / (abs(sh.best) if sh.best > 0 else sh.scale)
        far = retained >= o["min_retained"] or (ratio >= o["min_ratio"] and retained >= 0.1)
        if rise_rel < o["min_rise"] or not far:
            return  # (checked before the trend test: it costs more)
        after = L.trend(ctx, s, i, n)
        if not (after.p_value < o["alpha"] and after.slope > 0):
            return
        L.claim(ctx, s.name)
        ratio_txt = f"{ratio:.3g}x the minimum, " if math.isfinite(ratio) else ""
        gave = "it never decreased" if not math.isfinite(retained) else f"{retained:.0%} of the decrease given back"
        yield ctx.finding(
            f"training loss rises after its minimum {sh.best:.4g} at step {sh.best_step} and ends at "
            f"{sh.end:.4g} ({ratio_txt}{gave}); trend over {L.window(s, i)}: Sen slope "
            f"{after.slope:.3g}/step, Mann-Kendall {L.fmt_p(after.p_value)}, tau={after.tau:.2f}",
            metric=s.name, step=sh.best_step,
            evidence={"start": sh.start, "first": sh.first, "best": sh.best, "best_step": sh.best_step,
                      "end": sh.end, "last_step": s.steps[-1], "end_over_best": ratio, "retained": retained,
                      "slope_after_best": after.slope, "p_value": after.p_value, "tau": after.tau,
                      "points_after_best": n - i})


def _retained(top: float, best: float, end: float) -> float:
    """Share of the decrease top -> best given back at the end; in log space for positive losses
    (a loss spanning orders of magnitude), inf when the loss never went below its start."""
    if top <= best:
        return math.inf
    if best > 0:
        return math.log(end / best) / math.log(top / best)
    return (end - best) / (top - best)
