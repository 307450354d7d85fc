"""CL107 slow-convergence."""

from __future__ import annotations

from curvelint.model import Severity
from curvelint.rule import Context, Option, Rule

from . import _loss as L


class SlowConvergence(Rule):
    """The training loss decreases, but so slowly that the run ends far from converged.

    Symptom: the loss goes down at an almost constant rate from the first to the last
    step, like a straight line, instead of the usual fast-then-flattening curve. Judged
    by four conditions: the whole run trends down significantly (Mann-Kendall); the
    last third still does (``alpha``); the last third's Sen slope is at least
    ``min_linearity`` times the run's mean slope (no deceleration: a healthy curve
    slows down by then); and carrying on at that rate for as long again would lower the
    loss by at least ``min_remaining`` of its final level, i.e. the run stops far from
    where it is heading. A run whose loss already fell by more than ``max_drop`` of its
    starting level made real progress and is not reported (train longer if it still
    improves). Converged runs, runs with LR drops, warmup and short
    (< ``min_points``) runs are not reported, nor a loss CL114 (underfitting) explains:
    training and validation falling together, levelling off at a high level.

    Usual causes: learning rate too low (the most common), heavy regularization or a
    tiny batch-size-adjusted learning rate, poorly scaled inputs making the problem
    ill-conditioned, a vanishing-gradient architecture (deep sigmoid/tanh stacks
    without normalization or residual connections), or simply far too few epochs.

    Fixes: raise the learning rate 3-10x (run an LR range test), use Adam instead of
    plain SGD, standardize the inputs, add BatchNorm/LayerNorm or residual connections,
    and train for more epochs.

    Keras::

        model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3), loss=...)
        norm = keras.layers.Normalization(); norm.adapt(x_train)  # first layer

    PyTorch::

        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
        scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=1e-2, total_steps=steps)
        x = (x - x.mean(0)) / x.std(0)  # standardize inputs with training statistics
    """

    code = "CL107"
    name = "slow-convergence"
    since = "0.1.0"
    severity = Severity.WARNING
    defers_to = ("CL102", "CL103", "CL104", "CL105", "CL114")
    summary = "training loss decreases so slowly that the run ends far from converged (learning rate too low)"
    hint = "raise the learning rate 3-10x (LR range test), standardize the inputs, or train for more epochs"
    options = {
        "min_points": Option(10, "fewest finite points to judge the rate of decrease"),
        "alpha": Option(0.01, "significance level of the downward trends"),
        "tail": Option(1 / 3, "fraction of the run that forms the final window"),
        "min_linearity": Option(0.5, "final-window slope / mean slope at or above which the decrease has not slowed"),
        "min_remaining": Option(0.05, "projected further decrease, as a fraction of the final level, "
                                     "that counts as far from converged"),
        "max_drop": Option(0.5, "runs whose loss fell by more than this fraction of its start made real progress "
                                "and are not reported"),
    }

    def check(self, ctx: Context):
        s = yield from L.judged_train_loss(ctx)
        if s is None:
            return
        o = ctx.options
        n = len(s)
        whole = L.trend(ctx, s)
        if not (whole.p_value < o["alpha"] and whole.slope < 0):
            return
        sh = L.shape(ctx, s)
        span = float(s.steps[-1] - s.steps[0])
        mean_slope = (sh.end - sh.start) / span if span > 0 else 0.0
        drop = (sh.start - sh.end) / sh.scale
        if mean_slope >= 0 or drop > o["max_drop"]:
            return  # (checked before the late-window trend test: it costs more)
        lo = n - max(5, int(round(n * o["tail"])))
        late = L.trend(ctx, s, lo, n)
        if not (late.p_value < o["alpha"] and late.slope < 0):
            return  # flattened out: converged (possibly at a high loss)
        linearity = late.slope / mean_slope
        remaining = -late.slope * span / max(abs(sh.end), 1e-12 * sh.scale)
        if linearity < o["min_linearity"] or remaining < o["min_remaining"]:
            return
        yield ctx.finding(
            f"training loss still falls at a steady rate at the end: {s.values[0]:.4g} at step {s.steps[0]} -> "
            f"{s.values[-1]:.4g} at step {s.steps[-1]} (levels {sh.start:.4g} -> {sh.end:.4g}) over "
            f"{L.window(s)}; over {L.window(s, lo)} Sen slope {late.slope:.3g}/step "
            f"({L.fmt_p(late.p_value)}) = {linearity:.2f}x the run's mean slope (no slowing down); at that "
            f"rate another run of the same length would lower it by {remaining:.0%}",
            metric=s.name, step=s.steps[lo],
            evidence={"start": sh.start, "end": sh.end, "first_step": s.steps[0], "last_step": s.steps[-1],
                      "late_first_step": s.steps[lo], "late_slope": late.slope, "late_p_value": late.p_value,
                      "mean_slope": mean_slope, "linearity": linearity, "projected_drop": remaining, "drop": drop,
                      "trend_p_value": whole.p_value})
