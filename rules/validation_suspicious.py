"""CL113 validation-suspicious."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from curvelint import stats
from curvelint.model import Severity
from curvelint.rule import Context, Option, Rule

from ._validation import Curve, curve, end_level, fmt, metric_top, span, start_level


class ValidationSuspicious(Rule):
    """Validation looks too good to be true: possible leakage of training data into validation.

    Two patterns:

    * Tracking: the training loss collapses by orders of magnitude (end/start <=
      `memorise_ratio` with the training accuracy within `memorise_accuracy` of
      perfect; without an accuracy-like metric, end/start <= `memorise_ratio_loss_only`,
      since a regression can legitimately fit both splits 100x better), yet the
      validation loss follows it point for point (median val/train ratio within
      `track_ratio` over the second half). Held-out data never tracks a memorising
      model that closely; the validation set probably contains training samples.
    * Perfect from the start: an accuracy-like validation metric is within
      `perfect_tol` of its optimum in the first evaluations while the training metric
      is still at least `train_gap` below it.

    Either pattern alone is info (easy tasks and a validation set easier than augmented
    training batches give the same shapes); both together, which corroborate each other,
    are a warning.

    Not flagged: a modest val-below-train gap (dropout and augmentation are active only
    in training, and the training loss is averaged over an epoch while the model
    improves). A metric pinned exactly at its optimum (accuracy 1.0 at every epoch)
    usually means a tiny or very easy validation set: it gets an info note only,
    unless the tracking pattern also points to leakage.

    Near zero from the start (info, when neither pattern above holds): the validation loss
    is already at most `near_zero_ratio` of the first training losses at its first
    evaluation (e.g. 2e-5 while training starts at 0.85), and the training loss reaches
    exactly 0 (every prediction certain and right). Even one or two evaluations show it.
    Easy tasks overlap with this shape, so it is a note to check the data, not a verdict.

    Usual causes: duplicates across splits (augmented copies, the same patient/user/
    video in both), a random split of time-series or grouped data, ``validation_data``
    drawn from the training arrays, data shuffled before ``validation_split``, or the
    validation loader pointing at the training folder.

    Fixes: split by group/time before any augmentation, de-duplicate, and check the
    overlap.

    Keras / scikit-learn::

        from sklearn.model_selection import GroupShuffleSplit
        tr, va = next(GroupShuffleSplit(test_size=0.2).split(x, y, groups=patient_ids))
        model.fit(x[tr], y[tr], validation_data=(x[va], y[va]))

    PyTorch::

        assert not set(train_ds.ids) & set(val_ds.ids), "train/val overlap"
        train_ds, val_ds = torch.utils.data.random_split(ds, [0.8, 0.2])   # before augmentation
        # time series: validate on a later period, never a random sample of it
    """

    code = "CL113"
    name = "validation-suspicious"
    since = "0.1.0"
    severity = Severity.WARNING
    summary = "validation looks too good to be true (tracks a memorising training curve, or perfect from the start)"
    hint = ("check for overlap between training and validation data (duplicates, augmented copies, the same "
            "group/time period in both); split by group or time before augmenting")
    options = {
        "min_points": Option(5, "fewest validation points for the tracking check"),
        "memorise_ratio": Option(0.01, "training counts as memorising when its end/start loss ratio is at most this"),
        "memorise_accuracy": Option(0.05, "... and the training accuracy, when logged, ends within this of perfect"),
        "memorise_ratio_loss_only": Option(1e-4, "the end/start ratio required when no accuracy-like metric is "
                                                 "logged (a regression can fit both splits 100x better)"),
        "track_ratio": Option(1.5, "validation tracks training when the median val/train ratio is within 1/x..x"),
        "perfect_tol": Option(0.01, "a metric within this fraction of its optimum counts as (near) perfect"),
        "train_gap": Option(0.05, "the training metric must be at least this fraction of the optimum below it"),
        "early_fraction": Option(0.2, "share of the first evaluations (at least 2) that must be near perfect"),
        "near_zero_ratio": Option(1e-3, "near zero from the start: the first validation loss at most this fraction "
                                        "of the first training losses (with a training loss reaching exactly 0)"),
    }

    def check(self, ctx: Context):
        tracking = self._tracking(ctx)
        perfect = self._perfect(ctx, leak=tracking is not None)
        found = [f for f in (tracking, perfect) if f is not None]
        if len(found) == 1:  # easy tasks overlap with either shape alone: a note, not a verdict
            found = [replace(found[0], severity=Severity.INFO)]
        if not found:  # the weakest pattern: only said when no stronger one is
            found = [f for f in (self._near_zero(ctx),) if f is not None]
        yield from found
        if not found and ctx.name_of("val_loss") is None and ctx.name_of("val_metric") is None:
            yield ctx.abstain("no validation series in this run")

    def _tracking(self, ctx: Context):
        o = ctx.options
        val, _ = curve(ctx, "val_loss", o["min_points"])
        train, _ = curve(ctx, "train_loss", o["min_points"])
        if val is None or train is None or not (stats.can_log(val.values) and stats.can_log(train.values)):
            return None
        t0, t1 = start_level(train.values), end_level(train.values)
        acc = self._accuracy_end(ctx)
        if acc is None:  # loss only: could be a regression fitting both splits well, ask for more
            if t1 / t0 > o["memorise_ratio_loss_only"]:
                return None
        elif t1 / t0 > o["memorise_ratio"] or acc < 1 - o["memorise_accuracy"]:
            return None
        half = val.after(float(val.steps[len(val.y) // 2]))
        t_at = stats.at_steps(train.steps, stats.smooth(train.values), half.steps)
        ok = np.isfinite(t_at) & (t_at > 0)
        if ok.sum() < 3:
            return None
        log_ratio = np.log(half.values[ok] / t_at[ok])
        med = float(np.median(log_ratio))
        if abs(med) > math.log(o["track_ratio"]):
            return None
        v0, v1 = start_level(val.values), end_level(val.values)
        return ctx.finding(
            f"{val.name} follows {train.name} point for point while training memorises: {train.name} fell "
            f"{t0 / t1:.3g}x ({fmt(t0)} -> {fmt(t1)}) and {val.name} fell with it ({fmt(v0)} -> {fmt(v1)}); median "
            f"val/train ratio {math.exp(med):.3g} over {span(half.steps)} ({int(ok.sum())} evaluations). Held-out "
            f"data does not track a memorising model: the validation set likely overlaps the training set",
            metric=val.name, step=int(half.steps[0]),
            evidence={"train_metric": train.name, "train_start": t0, "train_end": t1, "train_ratio": t1 / t0,
                      "val_start": v0, "val_end": v1, "median_val_train_ratio": math.exp(med),
                      "max_abs_log_ratio": float(np.abs(log_ratio).max()),
                      "window": [int(half.steps[0]), int(half.steps[-1])], "points": int(ok.sum())})

    def _near_zero(self, ctx: Context):
        """Validation loss near zero from its first evaluation, far below where training started,
        and a training loss that reaches exactly 0 (saturated: every prediction certain and right)."""
        o = ctx.options
        val, train = ctx.curve("val_loss"), ctx.curve("train_loss")
        if val is None or train is None or len(val) < 1 or len(train) < 3:
            return None
        tv = train.values
        if tv.min() < 0 or val.values.min() < 0:
            return None  # not a cross-entropy-like loss (negative log-likelihoods go below 0)
        t0 = start_level(tv)
        first = float(val.values[0])
        zero = np.flatnonzero(tv == 0)
        if t0 <= 0 or first > o["near_zero_ratio"] * t0 or not len(zero) or tv[0] == 0:
            return None  # exactly 0 from the start is a term that does not apply (one-class task)
        z = int(zero[0])
        later = ("" if len(val) == 1 else
                 f"; {fmt(float(val.values[-1]))} at step {int(val.steps[-1])}, the last of {len(val)}")
        zeros = (f"is exactly 0 from step {int(train.steps[z])} on" if np.all(tv[z:] == 0) else
                 f"reaches exactly 0 at step {int(train.steps[z])}")
        msg = (f"{val.name} is {fmt(first)} at its first evaluation (step {int(val.steps[0])}{later}): "
               f"{first / t0:.2g}x the level where {train.name} started ({fmt(float(tv[0]))} at step "
               f"{int(train.steps[0])}, level {fmt(t0)}), and {train.name} {zeros} ({len(zero)} of {len(tv)} values): "
               f"a model certain and right on every sample this early is what a label leaking into the inputs "
               f"(or the same samples in both splits) looks like; a trivially easy task looks the same, so check "
               f"the inputs and the split")
        return ctx.finding(msg, metric=val.name, step=int(val.steps[0]), severity=Severity.INFO,
                           evidence={"val_first": first, "val_first_step": int(val.steps[0]), "val_points": len(val),
                                     "train_metric": train.name, "train_start": t0, "ratio": first / t0,
                                     "train_zero_step": int(train.steps[z]), "train_zero_count": int(len(zero))})

    @staticmethod
    def _accuracy_end(ctx: Context) -> float | None:
        """End level of the training (else validation) accuracy as a fraction of its optimum."""
        for role in ("train_metric", "val_metric"):
            m, _ = curve(ctx, role)
            if m is None:
                continue
            top = metric_top(m)
            if top is not None:
                return end_level(m.values) / top
        return None

    def _perfect(self, ctx: Context, leak: bool):
        o = ctx.options
        vs = ctx.curve("val_metric")  # not ctx.usable: a metric pinned at 1.0 is constant by nature
        name = ctx.name_of("val_metric")
        if vs is None or len(vs) < 3 or ctx.direction(vs.name) != "max":
            return None
        val = Curve(vs, "max")
        top = metric_top(val)
        if top is None:
            return None
        k = max(2, math.ceil(o["early_fraction"] * len(vs)))
        early = vs.values[:k]
        if early.min() < top * (1 - o["perfect_tol"]):
            return None
        tm = ctx.curve("train_metric")
        if tm is None or len(tm) < 2:
            return None
        t_at = stats.at_steps(tm.steps, tm.values, vs.steps[:k])
        t_at = np.where(np.isfinite(t_at), t_at, np.interp(vs.steps[:k], tm.steps, tm.values))
        t_early = float(np.median(t_at))
        if t_early > top * (1 - o["train_gap"]):
            return None  # training is (near) perfect too: an easy task, not a leak
        pinned = bool(np.all(vs.values == top))
        what = (f"exactly {fmt(top)} at all {len(vs)} evaluations" if pinned else
                f"{fmt(early.min())}..{fmt(early.max())} in the first {k} evaluations")
        msg = (f"{name} is {what} ({span(vs.steps)}) while {tm.name} is only {fmt(t_early)} at those steps")
        if pinned and not leak:
            msg += ("; a metric pinned at its optimum usually means a tiny or very easy validation set "
                    "(too few samples to measure anything), rarely leakage")
            severity = Severity.INFO
        else:
            msg += "; validation better than a model that is still learning suggests training data in validation"
            severity = None
        return ctx.finding(msg, metric=name, step=int(vs.steps[0]), severity=severity,
                           evidence={"val_early_min": early.min(), "val_early_max": early.max(),
                                     "early_evaluations": k, "optimum": top, "pinned": pinned,
                                     "train_metric": tm.name, "train_early": t_early,
                                     "tracking_leak": leak})
