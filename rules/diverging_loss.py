"""CL104 diverging-loss."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from curvelint import stats
from curvelint.model import Finding, Severity
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

    A blow-up is often a step or a hump rather than a trend: the loss falls, blows up and
    settles above its best, or steps up and stays, or blows up in its first logs and never
    returns to its first value. That is reported too: a *lasting jump*, where every level
    after some step stays at least ``min_jump`` times above the best level before it
    (rolling medians that keep the first points, so an early minimum is not smoothed away),
    for at least ``min_jump_tail`` of the run, giving back at least ``min_given_back`` of the
    decrease made before it (a 0.001 -> 0.005 wobble after 0.6 -> 0.001 is noise at the
    run's scale; the same share applies to a rising trend). An *early blow-up* that only
    partly recovers is one too, at warning: within the first ``early_fraction`` of the run the
    loss peaks at ``blowup_factor`` times its first value or more, and from the peak on its
    3-point median never gets back below that first value (the run ends no better than where it
    started before the blow-up; SGD at lr 20 on an LSTM with clipping jumps 4-6x and then falls far
    below its start). Runs of fewer than ``short_run`` points get a warning instead of an
    error. In a reinforcement-learning run (a return or reward series is logged) losses are
    no measure of progress: a rise or a lasting jump is info there. A blow-up is the cause of a loss
    that "did not decrease", so loss-not-decreasing (CL102) yields such a series to this rule.

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
    since = "0.1.0"
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
        "min_jump": Option(1.5, "a lasting jump: everything after it stays this many times above the best "
                                "value before it (positive losses)"),
        "short_run": Option(6, "below this many points a lasting jump is a warning, not an error"),
        "min_jump_tail": Option(0.1, "smallest share of the run after a lasting jump"),
        "noise_k": Option(4.0, "a lasting jump must exceed this many point-to-point noise scales (log units)"),
        "min_given_back": Option(0.05, "a lasting jump must give back this share of the decrease made before "
                                       "it (linear: 0.001 -> 0.005 after 0.6 -> 0.001 is noise at the run's scale)"),
        "blowup_factor": Option(10.0, "an early blow-up: the loss peaks at this many times its first value in the "
                                      "first `early_fraction` of the run ..."),
        "early_fraction": Option(0.25, "... and never gets back below that first value (warning)"),
    }

    def check(self, ctx: Context):
        s, why = ctx.usable("train_loss", min_points=4)
        if s is None:
            yield ctx.abstain(why, ctx.name_of("train_loss"))
            return
        trend = self._trend(ctx, s) if len(s) >= ctx.options["min_points"] else None
        found = trend or self._jump(ctx, s) or self._early_blowup(ctx, s)
        if found is not None:
            rl = L.rl_return(ctx)
            if rl:  # a critic loss rises as the policy finds larger returns
                found = replace(found, severity=Severity.INFO,
                                message=f"{found.message}; an RL run ({rl}): its losses are no measure of progress")
            yield found

    def _trend(self, ctx: Context, s) -> Finding | None:
        """A significant upward trend after the minimum, ending far above it."""
        o = ctx.options
        sh = L.shape(ctx, s)
        n, i = len(s), sh.best_index
        if n - i < max(o["min_tail"], o["min_tail_fraction"] * n):
            return None  # ends at (or next to) its best
        top = max(sh.first, sh.start)
        rise = sh.end - sh.best
        retained = _retained(top, sh.best, sh.end)
        ratio = sh.end / sh.best if sh.best > 0 else math.inf
        rise_rel = rise / (abs(sh.best) if sh.best > 0 else sh.scale)
        far = retained >= o["min_retained"] or (ratio >= o["min_ratio"] and retained >= 0.1)
        linear = (sh.end - sh.best) / (top - sh.best) if top > sh.best else math.inf
        if rise_rel < o["min_rise"] or not far or linear < o["min_given_back"]:
            return None  # (checked before the trend test: it costs more)
        after = L.trend(ctx, s, i, n)
        if not (after.p_value < o["alpha"] and after.slope > 0):
            return None
        ratio_txt = f"{ratio:.3g}x the minimum, " if math.isfinite(ratio) else ""
        gave = "it never decreased" if not math.isfinite(retained) else f"{retained:.0%} of the decrease given back"
        return ctx.finding(
            f"training loss rises after its minimum (level {sh.best:.4g} near step {sh.best_step}) to "
            f"{s.values[-1]:.4g} at step {s.steps[-1]} (end level {sh.end:.4g}, {ratio_txt}{gave}); "
            f"trend over {L.window(s, i)}: Sen slope "
            f"{after.slope:.3g}/step, Mann-Kendall {L.fmt_p(after.p_value)}, tau={after.tau:.2f}",
            metric=s.name, step=sh.best_step,
            evidence={"start": sh.start, "first": sh.first, "best": sh.best, "best_step": sh.best_step,
                      "end": sh.end, "last_step": s.steps[-1], "end_over_best": ratio, "retained": retained,
                      "slope_after_best": after.slope, "p_value": after.p_value, "tau": after.tau,
                      "points_after_best": n - i})


    def _jump(self, ctx: Context, s) -> Finding | None:
        """A lasting jump up: the loss blows up and never comes back to its best (`stats.lasting_jump`)."""
        o = ctx.options
        n = len(s)
        window = stats.auto_window(n, 0.02) if n >= 50 else 1
        min_after = max(min(o["min_tail"], n - 1), math.ceil(o["min_jump_tail"] * n))
        jump = ctx.memo(("stats.lasting_jump", s.name, window, o["min_jump"]),
                        lambda: stats.lasting_jump(s.values, min_after, o["min_jump"], window))
        if jump is None:
            return None
        noise = ctx.memo(("diverging.log_noise", s.name, window), lambda: stats.noise_scale(np.log(
            stats.rolling_median(s.values, window, mode="nearest") if window > 1 else s.values)))
        if math.log(jump.ratio) < o["noise_k"] * noise:
            return None  # the best before it was a noise dip
        v, x = s.values, s.steps
        b, f, a = jump.best_index, jump.floor_index, jump.after
        top = stats.rolling_median(v[:b + 1], window, mode="nearest").max() if window > 1 else v[:b + 1].max()
        given_back = (jump.floor - jump.best) / (top - jump.best) if top > jump.best else math.inf
        if given_back < o["min_given_back"]:
            return None
        if window > 1:
            seen = (f"its best level (rolling median of {window}) {jump.best:.4g} near step {x[b]}", f"its lowest "
                    f"level afterwards {jump.floor:.4g} near step {x[f]}")
        else:
            seen = f"{v[b]:.4g} at step {x[b]}", f"its lowest value afterwards {v[f]:.4g} at step {x[f]}"
        first = "" if b == 0 else f" (first value {v[0]:.4g} at step {x[0]})"
        return ctx.finding(
            f"training loss blew up after {seen[0]}{first}: from step {x[a]} on it never came back; {seen[1]} "
            f"is {jump.ratio:.3g}x that best; last value {v[-1]:.4g} at step {x[-1]} ({n - a} of {n} points "
            "after the jump)",
            metric=s.name, step=x[a], severity=Severity.WARNING if n < o["short_run"] else None,
            evidence={"best": jump.best, "best_step": x[b], "jump_step": x[a], "floor": jump.floor, "floor_step": x[f],
                      "ratio": jump.ratio, "last": v[-1], "last_step": x[-1], "points_after": n - a,
                      "points": n, "smoothing_window": window, "given_back": given_back})


    def _early_blowup(self, ctx: Context, s) -> Finding | None:
        """The loss blew up in the first part of the run and never got back below its first value."""
        o = ctx.options
        v, x = s.values, s.steps
        if len(v) < o["min_points"] or not stats.can_log(v):
            return None
        early = x <= x[0] + o["early_fraction"] * (x[-1] - x[0])
        p = int(np.argmax(np.where(early, v, -np.inf)))
        first = float(v[0])
        if p == 0 or v[p] < o["blowup_factor"] * first or len(v) - p < o["min_tail"]:
            return None
        level = stats.rolling_median(v[p:], 3, mode="nearest")
        f = p + int(np.argmin(level))
        if level[f - p] < first:
            return None  # it came back below where it started: a rough start, not a divergence
        end = stats.level(v, "end", 0.1)
        return ctx.finding(
            f"training loss blew up in its first logs: from {first:.4g} at step {x[0]} to {v[p]:.4g} at step {x[p]} "
            f"({v[p] / first:.3g}x), and never got back below its first value: its lowest level afterwards "
            f"(3-point median) {level[f - p]:.4g} near step {x[f]}, end level {end:.4g} "
            f"({end / first:.3g}x the first value); last value {v[-1]:.4g} at step {x[-1]}",
            metric=s.name, step=int(x[p]), severity=Severity.WARNING,
            evidence={"kind": "early_blowup", "first": first, "first_step": int(x[0]), "peak": float(v[p]),
                      "peak_step": int(x[p]), "factor": float(v[p] / first), "floor": float(level[f - p]),
                      "floor_step": int(x[f]), "end": end, "end_over_first": end / first})


def _retained(top: float, best: float, end: float) -> float:
    """Share of the decrease top -> best given back at the end; in log space for positive losses
    (a loss spanning orders of magnitude), inf when the loss never went below its start."""
    if top <= best:
        return math.inf
    if best > 0:
        return math.log(end / best) / math.log(top / best)
    return (end - best) / (top - best)
