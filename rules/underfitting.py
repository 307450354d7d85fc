"""CL114 underfitting."""

from __future__ import annotations

import math

import numpy as np

from curvelint import stats
from curvelint.model import Finding, Severity
from curvelint.rule import Context, Option, Rule

from . import _loss as L
from ._chance import classes_of
from ._loss import claimed
from ._validation import curve, end_level, fmt, improvement, metric_top, span, start_level


class Underfitting(Rule):
    """Training and validation both converge to a high loss with a small gap.

    Symptom: over the last `tail_fraction` of the run neither the training nor the
    validation loss improves any more (no significant Mann-Kendall trend, or a fitted
    change below `plateau_change`), the training loss ended at `min_loss_ratio` or
    more of its starting level (it learned little), and validation sits within
    `max_gap` of training: the model cannot even fit its training data. When an
    accuracy-like metric is logged it must agree (it closed less than
    `max_headroom_closed` of the gap to its optimum and ended below `good_metric` of it);
    without an accuracy role, every bounded higher-is-better series counts (``pixel_acc``,
    ``iou``).

    A tail still moving significantly counts as converging when its fitted change is
    below ``slowing_change`` and its slope at most ``slowing`` of the run's mean slope (the
    curve flattens; a straight slow decline is slow-convergence, CL107).

    Not flagged: runs still improving (slow, not stuck) or getting worse at the end; a
    training loss another curve rule already explains (not decreasing, chance level,
    diverging, oscillating: CL102-CL105 claim it first; saturated, confidently wrong
    outputs: CL115); a small
    loss change that comes with a large accuracy/IoU gain (bounded losses such as
    dice); a gap (that is overfitting territory).

    Still falling, at info: both losses fall together (gap within `max_gap`, validation
    judged from ``slow_min_evals`` evaluations), the training loss fell by at least
    ``slow_min_drop`` of its start, its second half lowered it by at most ``slowing`` of what
    its first half did (the curve levels off, unlike CL107's straight line), both end at
    ``slow_high_share`` or more of the loss of a model that learned nothing (ln C when the run
    names its C classes, else the first training loss, at least ln 2), and the bounded metrics
    confirm it (the accuracy closed less than `max_headroom_closed` of its headroom, and no
    bounded metric, such as an AUC, ends at `good_metric` of its optimum). A model this small gains little
    from more epochs. CL107 (slow convergence) yields to this finding.

    Without a validation loss, a training loss that fell by less than half
    (``train_only_ratio``) and then stayed flat over the last half of the run is reported at
    info: it learned little and stopped (reinforcement-learning runs, with a return logged,
    excepted).

    "Start" is never below ln 2 when the run logs an accuracy: a classifier that learned nothing
    scores at least that, so a log whose first value is lower began after the fast first drop.

    Limits: "high" is judged against the run's own start, so a pretrained model
    fine-tuned close to its floor (an LLM going 1.8 -> 1.4 and settling) can look
    like this; raise `min_loss_ratio` (e.g. 0.85) or ignore the rule for such paths.

    Usual causes: a model too small or too constrained (too much dropout/weight decay,
    frozen backbone), weak or badly scaled features, a learning rate so low that
    training stalls, too few epochs with an aggressive schedule, label noise.

    Fixes: more capacity, less regularisation, better features/normalisation, a tuned
    learning rate, longer training.

    Keras::

        model = keras.Sequential([keras.layers.Dense(512, activation="relu"),
                                  keras.layers.BatchNormalization(),
                                  keras.layers.Dense(512, activation="relu"), ...])
        base_model.trainable = True   # unfreeze the backbone (fine-tune with a lower lr)
        keras.layers.Dropout(0.1)     # instead of 0.5

    PyTorch::

        model = nn.Sequential(nn.Linear(d, 512), nn.LayerNorm(512), nn.ReLU(),
                              nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, k))
        for p in backbone.parameters(): p.requires_grad = True
        optimizer = torch.optim.AdamW(model.parameters(), lr=3e-4, weight_decay=1e-4)
    """

    code = "CL114"
    name = "underfitting"
    since = "0.1.0"
    severity = Severity.WARNING
    defers_to = ("CL102", "CL103", "CL104", "CL105", "CL115")
    summary = "training and validation both converge to a high loss with a small gap"
    hint = ("increase capacity (wider/deeper model, unfreeze layers), reduce regularisation, improve/normalise "
            "the features, tune the learning rate, train longer")
    options = {
        "min_points": Option(8, "fewest validation points to judge"),
        "alpha": Option(0.05, "significance level of the Mann-Kendall trend tests"),
        "tail_fraction": Option(0.3, "share of the run (by steps) that must be converged"),
        "min_tail_points": Option(6, "fewest points in that tail (of each curve) to call it converged"),
        "plateau_change": Option(0.02, "a tail whose fitted change is below this fraction of its level is converged"),
        "slowing_change": Option(0.05, "... and one below this fraction whose slope is at most `slowing` of the run's "
                                       "mean slope is converging (a slowing tail, not a slow run)"),
        "slowing": Option(0.5, "tail slope / mean slope at or below which a tail is slowing down"),
        "max_tail_spread": Option(0.25, "converged also means settled: 10-90% spread of the smoothed tail, "
                                        "relative to its median, at most this"),
        "min_loss_ratio": Option(0.6, "learned little: end/start ratio of the training (and validation) loss"),
        "train_only_ratio": Option(0.5, "no validation loss: end/start ratio of a training loss that learned little"),
        "max_gap": Option(0.15, "small gap: |val - train| at the end relative to the training level"),
        "max_headroom_closed": Option(0.5, "a bounded metric that closed more of its headroom shows learning"),
        "good_metric": Option(0.9, "a bounded metric ending above this fraction of its optimum is not underfit"),
        "slow_min_evals": Option(3, "still falling: fewest validation points to judge"),
        "slow_high_share": Option(0.5, "still falling: both losses end at or above this share of the loss of a "
                                       "model that learned nothing (ln C, else the first training loss)"),
        "slow_min_drop": Option(0.2, "still falling: the training loss fell by at least this share of its start "
                                     "(less is a learning rate too low, CL107/CL121)"),
    }

    def check(self, ctx: Context):
        found = list(self._converged_high(ctx))
        if any(isinstance(f, Finding) for f in found):
            yield from found
            return
        slow = self._slow_high(ctx)
        yield from [slow] if slow is not None else found

    def _converged_high(self, ctx: Context):
        o = ctx.options
        val, reason = curve(ctx, "val_loss", o["min_points"])
        train, treason = curve(ctx, "train_loss", o["min_points"])
        if train is not None and val is None and ctx.name_of("val_loss") is None:
            yield from self._train_only(ctx, train)
            return
        if val is None or train is None:
            yield ctx.abstain(reason or treason)
            return
        code = claimed(ctx, train.name) or claimed(ctx, val.name)
        if code:  # not decreasing / chance level / diverging / oscillating / saturated: a stronger symptom
            yield ctx.abstain(f"{train.name}: reported by {code}", train.name)
            return
        if not (stats.can_log(val.values) and stats.can_log(train.values)):
            yield ctx.abstain(f"{val.name}/{train.name}: losses <= 0, ratios are meaningless", val.name)
            return
        t0, t1 = start_level(train.y), end_level(train.y)
        v0, v1 = start_level(val.y), end_level(val.y)
        floor = _classifier_floor(ctx)  # a log that starts after the fast first drop: judge against ln 2
        if t1 / max(t0, floor) < o["min_loss_ratio"] or v1 / max(v0, floor) < o["min_loss_ratio"]:
            return  # learned a good deal
        start = float(val.steps[0] + (1 - o["tail_fraction"]) * (val.steps[-1] - val.steps[0]))
        tails = {c.name: stats.trend(c.after(start).steps, c.after(start).y) for c in (train, val)}
        for c in (train, val):
            tr = tails[c.name]
            moving = tr.p_value < o["alpha"] and abs(tr.relative_change) >= o["plateau_change"]
            if moving and abs(tr.relative_change) < o["slowing_change"] and _slowing(c, tr.slope, o["slowing"]):
                moving = False  # still creeping, but slowing down: converging
            if tr.n < o["min_tail_points"] or moving:
                return  # still improving or getting worse (or too few points to say it converged)
            level = stats.smooth(c.after(start).values)
            if (np.percentile(level, 90) - np.percentile(level, 10)) / np.median(level) > o["max_tail_spread"]:
                return  # swinging, not settled (oscillation is another rule's symptom)
        gap = abs(v1 - t1) / t1
        if gap > o["max_gap"]:
            return
        metric_note = self._metrics_learned(ctx)
        if metric_note is None:
            return
        yield ctx.finding(
            f"{train.name} and {val.name} both converged high: {train.name} {fmt(t0)} -> {fmt(t1)} "
            f"(end/start {t1 / t0:.2f}), {val.name} {fmt(v0)} -> {fmt(v1)} (end/start {v1 / v0:.2f}), gap "
            f"{gap:.1%} of the training level; no improvement over the last {o['tail_fraction']:.0%} "
            f"({span(val.after(start).steps)}: train p={tails[train.name].p_value:.2g}, val "
            f"p={tails[val.name].p_value:.2g}){metric_note}",
            metric=train.name, step=int(start),
            evidence={"train_start": t0, "train_end": t1, "train_ratio": t1 / t0, "val_metric": val.name,
                      "val_start": v0, "val_end": v1, "val_ratio": v1 / v0, "gap": gap,
                      "tail_start": int(start), "train_tail_p_value": tails[train.name].p_value,
                      "val_tail_p_value": tails[val.name].p_value,
                      "train_tail_change": tails[train.name].relative_change,
                      "val_tail_change": tails[val.name].relative_change})

    def _slow_high(self, ctx: Context) -> Finding | None:
        """Both losses still fall together, slowing down, at a high level (info): see the class doc."""
        o = ctx.options
        train, _ = curve(ctx, "train_loss", o["min_points"])
        val, _ = curve(ctx, "val_loss", o["slow_min_evals"])
        if train is None or val is None or claimed(ctx, train.name) or claimed(ctx, val.name) or L.rl_return(ctx):
            return None
        if not (stats.can_log(val.values) and stats.can_log(train.values)):
            return None
        ref, ref_what = _uninformed_loss(ctx, train)
        t0, t1 = start_level(train.y), end_level(train.y)
        v1 = end_level(val.y) if len(val.y) >= 10 else float(val.values[-1])
        drops = _half_drops(train)
        if ref <= 0 or min(t1, v1) < o["slow_high_share"] * ref or abs(v1 - t1) / t1 > o["max_gap"]:
            return None  # low enough, or a gap (overfitting territory)
        if (t0 - t1) / t0 < o["slow_min_drop"] or drops[0] <= 0 or drops[1] > o["slowing"] * drops[0]:
            return None  # barely moved (a learning rate too low) or not slowing down (CL107's straight line)
        note = self._metrics_learned(ctx)
        if not note or _some_metric_good(ctx, o["good_metric"]):
            return None  # no bounded metric to confirm, or one shows real learning
        return ctx.finding(
            f"{train.name} and {val.name} fall together but level off high: {train.name} level {fmt(t0)} -> "
            f"{fmt(t1)}, {t1 / ref:.0%} of {ref_what}; {val.name} {fmt(v1)} at step {int(val.steps[-1])} (gap "
            f"{abs(v1 - t1) / t1:.1%} of the training level); the second half of the run lowered the training level "
            f"by {fmt(drops[1])}, {drops[1] / drops[0]:.0%} of the first half's {fmt(drops[0])}; {_as_levels(note)}. "
            "The model fits its training data no better than it generalises, and more epochs at this rate gain "
            "little: too little capacity is the usual cause (or features that carry too little signal)",
            metric=train.name, step=int(train.steps[len(train.steps) // 2]), severity=Severity.INFO,
            evidence={"train_start": t0, "train_end": t1, "val_metric": val.name, "val_end": v1,
                      "uninformed_loss": ref, "uninformed_from": ref_what, "gap": abs(v1 - t1) / t1,
                      "first_half_drop": drops[0], "second_half_drop": drops[1], "val_points": len(val.y)})

    def _train_only(self, ctx: Context, train):
        """No validation loss: a training loss that fell by less than `max_train_only_drop` and
        then stayed flat for the last half of the run is reported at info."""
        o = ctx.options
        if claimed(ctx, train.name) or not stats.can_log(train.values) or L.rl_return(ctx):
            return
        y, x = train.values, train.steps
        half = len(y) // 2
        tr = stats.trend(x[half:], y[half:])
        t0, t1 = float(max(y[0], start_level(y))), end_level(y)
        if t1 / t0 < o["train_only_ratio"] or abs(tr.relative_change) >= o["plateau_change"]:
            return  # learned a good deal, or still moving
        level = stats.smooth(y[half:])
        if (np.percentile(level, 90) - np.percentile(level, 10)) / np.median(level) > o["max_tail_spread"]:
            return
        if L.accuracy_evidence(ctx) or self._metrics_learned(ctx) is None:
            return
        yield ctx.finding(
            f"{train.name} converged high, with no validation loss to compare: {fmt(y[0])} at step {x[0]} -> "
            f"{fmt(y[-1])} at step {x[-1]} (end level {fmt(t1)}, {t1 / t0:.0%} of the start), flat over the last "
            f"half (steps {x[half]}..{x[-1]}: fitted change {tr.relative_change:+.1%}, p={tr.p_value:.2g}): it "
            "learned little and stopped; log a validation loss to tell too little capacity from the data's floor",
            metric=train.name, step=int(x[half]), severity=Severity.INFO,
            evidence={"train_first": y[0], "train_start": t0, "train_end": t1, "train_ratio": t1 / t0,
                      "tail_start": int(x[half]), "tail_change": tr.relative_change, "tail_p_value": tr.p_value})

    def _metrics_learned(self, ctx: Context) -> str | None:
        """None if a bounded accuracy-like metric shows real learning, else a note for the message."""
        o = ctx.options
        notes = []
        roles = [r for r in ("val_metric", "train_metric") if ctx.name_of(r)]
        if not roles:  # no accuracy role: any bounded metric (pixel accuracy, IoU) the run logs
            roles = sorted(n for n in ctx.run.series if ctx.direction(n) == "max" and ctx.roles.role_of(n) is None)
        for role in roles:
            m, _ = curve(ctx, role)
            top = metric_top(m) if m is not None else None
            if m is None or top is None:
                continue
            a, b = start_level(m.y), end_level(m.y)
            closed = improvement(m, a, b)
            if closed >= o["max_headroom_closed"] or m.real(b) >= o["good_metric"] * top:
                return None
            notes.append(f"{m.name} {fmt(m.real(a))} -> {fmt(m.real(b))}")
        return f"; {', '.join(notes)}" if notes else ""


def _slowing(c, tail_slope: float, share: float) -> bool:
    """The tail's slope is at most `share` of the run's mean slope (both per step)."""
    span = float(c.steps[-1] - c.steps[0])
    mean = (float(end_level(c.y)) - float(start_level(c.y))) / span if span > 0 else 0.0
    return mean != 0 and tail_slope / mean <= share


def _uninformed_loss(ctx: Context, train) -> tuple[float, str]:
    """The loss of a model that learned nothing: ln C when the run names its C classes, else the
    training loss's first logged value."""
    classes = classes_of(ctx)
    if classes is not None and classes.count >= 2:
        return math.log(classes.count), f"ln({classes.count}) = {math.log(classes.count):.4g} ({classes.source})"
    first = float(max(train.values[0], start_level(train.y)))
    if first < _classifier_floor(ctx):
        return math.log(2), "ln(2) = 0.6931, the least a classifier that learned nothing scores"
    return first, f"the first logged loss ({fmt(float(train.values[0]))} at step {int(train.steps[0])})"


def _classifier_floor(ctx: Context) -> float:
    """ln 2 for a run that logs an accuracy (a classifier that knows nothing scores at least that, so a
    log starting below it started after the fast first drop), else 0."""
    return math.log(2) if ctx.name_of("val_metric") or ctx.name_of("train_metric") else 0.0


def _some_metric_good(ctx: Context, good: float) -> bool:
    """Some bounded higher-is-better series of the run (accuracy, AUC, IoU, ...) ends at `good`
    of its optimum or above."""
    for name in ctx.run.series:
        if ctx.direction(name) != "max":
            continue
        m, _ = curve(ctx, name)
        if m is None:
            continue
        top = metric_top(m)
        if top is not None and m.real(end_level(m.y)) >= good * top:
            return True
    return False


def _half_drops(c) -> tuple[float, float]:
    """How much the curve fell over the first and the second half of its steps (levels: start,
    middle tenth, end)."""
    mid_step = (float(c.steps[0]) + float(c.steps[-1])) / 2
    k = max(1, len(c.y) // 20)
    i = int(np.searchsorted(c.steps, mid_step))
    mid = float(np.median(c.y[max(0, i - k):i + k + 1]))
    return start_level(c.y) - mid, mid - end_level(c.y)


def _as_levels(note: str) -> str:
    """'; acc 0.1 -> 0.3, val_acc 0.1 -> 0.3' (from `_metrics_learned`) as 'acc level 0.1 -> 0.3, ...'."""
    items = [item.rsplit(" ", 3) for item in note.lstrip("; ").split(", ")]
    return ", ".join(f"{name} level {a} -> {b}" if arrow == "->" else " ".join((name, a, arrow, b))
                     for name, a, arrow, b in items)
