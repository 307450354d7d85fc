"""CL110 overfitting (and the overfitting verdict CL111, CL112 and CL120 defer to)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from curvelint import stats
from curvelint.model import Severity
from curvelint.rule import Context, Option, Rule

from ._validation import (Curve, best_near_smoothed, fmt, improvement, smooth_curve, span, start_level,
                          validation_pair)


@dataclass(frozen=True)
class Verdict:
    """CL110's judgement of one validation curve: kind is "rising" (warning), "gap" (info) or ""."""

    kind: str
    metric: str | None = None
    step: int | None = None
    message: str = ""
    evidence: dict[str, Any] = field(default_factory=dict)
    reason: str = ""  # why there is no verdict (abstention), when kind == ""


def overfit_verdict(ctx: Context) -> Verdict:
    """The overfitting verdict for the run's validation curve, computed once per run.

    CL110 computes it with its own options; a rule running without CL110 gets the defaults.
    """
    opts = ctx.options if ctx.rule is Overfitting else {k: o.default for k, o in Overfitting.options.items()}
    return ctx.memo(("CL110-verdict",), lambda: _judge(ctx, opts))


def _judge(ctx: Context, o: dict[str, Any]) -> Verdict:
    val, train, reason = validation_pair(ctx, o["min_points"])
    if val is None:
        return Verdict("", reason=reason)
    if train is None:
        return Verdict("", metric=val.name, reason=f"{val.name}: no training series to compare with")
    return _rising(ctx, val, train, o) or _gap(ctx, val, train, o) or Verdict("", metric=val.name)


def _rising(ctx: Context, val: Curve, train: Curve, o: dict[str, Any]) -> Verdict | None:
    """Validation rises significantly after its (smoothed) best while training keeps improving."""
    n = len(val.y)
    b, raw = best_near_smoothed(ctx, val, o["smooth_fraction"])  # b: smoothed level, raw: the point to report
    if n - b.index < o["min_after"]:
        return None
    after = val.after(max(b.step, raw.step))  # mirror-edged smoothing can put b before the raw best
    tr = stats.trend(after.steps, after.y)
    if not tr.significant(o["alpha"], "up"):
        return None
    end = stats.level(after.y, "end", 0.25, min_points=2)
    rise = end - b.value
    noise = stats.noise_scale(val.y)
    rel = stats.rel_change(b.value, end, b.value)
    if rel < o["min_rise"] or rise < o["noise_k"] * noise:
        return None
    t_after = train.after(b.step)
    if len(t_after.y) < 3:
        return None
    ttr = stats.trend(t_after.steps, t_after.y)
    if not ttr.significant(o["alpha"], "down"):
        return None  # both getting worse is divergence, not overfitting
    t0, t1 = stats.level(t_after.y, "start", 0.1), stats.level(t_after.y, "end", 0.1)
    wasted = int(val.steps[-1] - b.step)
    slope = tr.slope if val.direction == "min" else -tr.slope
    msg = (f"{val.name} {'rose' if val.direction == 'min' else 'fell'} {rel:.0%} after its best "
           f"{fmt(val.real(raw.value))} at step {raw.step} (smoothed level {fmt(val.real(b.value))}): "
           f"{fmt(val.real(end))} at the end, Sen slope {slope:+.3g}/step, Mann-Kendall p={tr.p_value:.2g} over "
           f"{span(after.steps)} ({len(after.y)} evaluations), while {train.name} kept improving "
           f"{fmt(train.real(t0))} -> {fmt(train.real(t1))} (p={ttr.p_value:.2g}); the last {wasted} steps made "
           f"the model worse on held-out data")
    evidence = {"best_step": raw.step, "best_value": val.real(raw.value), "best_level": val.real(b.value),
                "end_value": val.real(end),
                "relative_rise": rel, "slope": slope,
                "p_value": tr.p_value, "tau": tr.tau, "evaluations_after_best": len(after.y) - 1,
                "window": [int(after.steps[0]), int(after.steps[-1])], "noise": noise,
                "train_metric": train.name, "train_start": train.real(t0), "train_end": train.real(t1),
                "train_p_value": ttr.p_value, "steps_after_best": wasted}
    return Verdict("rising", val.name, raw.step, msg, evidence)


def _gap(ctx: Context, val: Curve, train: Curve, o: dict[str, Any]) -> Verdict | None:
    """Mild overfitting: validation stalls over the second half while training keeps improving,
    so the generalisation gap widens (reported as info)."""
    n = len(val.y)
    if n < o["gap_min_points"]:
        return None
    smoothed = smooth_curve(ctx, val, o["smooth_fraction"])
    if improvement(val, start_level(val.y), float(smoothed.min())) < o["min_val_improvement"]:
        return None  # never improved at all: validation-not-improving (CL112) says so
    half = val.after(float(val.steps[n // 2]))
    vtr = stats.trend(half.steps, half.y)
    if vtr.significant(o["alpha"], "down"):
        return None  # validation still improving
    t_at = stats.at_steps(train.steps, stats.smooth(train.y), half.steps)
    ok = np.isfinite(t_at)
    if ok.sum() < 5:
        return None
    steps, gap = half.steps[ok], half.y[ok] - t_at[ok]
    gtr = stats.trend(steps, gap)
    t_half = train.after(float(half.steps[0]))
    ttr = stats.trend(t_half.steps, t_half.y)
    level = abs(stats.level(half.y, "end", 0.25))
    growth = stats.rel_change(0.0, gtr.change, level) if level else 0.0
    t_drop = stats.rel_change(t_at[ok][-1], t_at[ok][0], t_at[ok][0])
    if not (gtr.significant(o["alpha"], "up") and ttr.significant(o["alpha"], "down")
            and growth >= o["min_gap_growth"] and t_drop >= o["min_train_drop"]):
        return None
    g0, g1 = stats.level(gap, "start", 0.25), stats.level(gap, "end", 0.25)
    msg = (f"{val.name} stalled over {span(half.steps)} (Mann-Kendall p={vtr.p_value:.2g}, level "
           f"{fmt(val.real(stats.level(half.y, 'end', 0.25)))}) while {train.name} kept improving by "
           f"{t_drop:.0%} (p={ttr.p_value:.2g}): the gap (how much worse validation is than training) "
           f"widened from {fmt(g0)} to {fmt(g1)} ({growth:.0%} of the validation level, p={gtr.p_value:.2g}); "
           f"mild overfitting")
    evidence = {"window": [int(half.steps[0]), int(half.steps[-1])], "val_p_value": vtr.p_value,
                "val_level": val.real(stats.level(half.y, "end", 0.25)), "train_metric": train.name,
                "train_relative_drop": t_drop, "train_p_value": ttr.p_value, "gap_start": g0, "gap_end": g1,
                "gap_growth": growth, "gap_p_value": gtr.p_value}
    return Verdict("gap", val.name, int(half.steps[0]), msg, evidence)


class Overfitting(Rule):
    """Validation loss rises after its minimum while the training loss keeps falling.

    Symptom: the validation loss reaches its best value, then climbs for the rest of
    the run (a significant Mann-Kendall trend after the smoothed minimum, by at least
    `min_rise` of the best value and more than the noise), while the training loss
    still falls over the same steps. The model memorises the training set. A milder
    form, where validation only stalls over the second half while the training loss
    keeps falling and the gap widens significantly, is reported as info.

    Not flagged: a validation loss that plateaus while training converges too; both
    rising (divergence, see the curve rules); a noisy plateau whose minimum is just
    a low outlier.

    Usual causes: too many epochs, a model too large for the data, no regularisation,
    too little (or too little varied) training data.

    Fixes: stop at the best epoch and keep its weights; regularise; add data or
    augmentation; shrink the model.

    Keras::

        model.add(keras.layers.Dropout(0.3))
        keras.layers.Dense(128, kernel_regularizer=keras.regularizers.l2(1e-4))
        cb = keras.callbacks.EarlyStopping(monitor="val_loss", patience=5, restore_best_weights=True)
        model.fit(x, y, validation_data=(xv, yv), callbacks=[cb])

    PyTorch::

        nn.Dropout(p=0.3)
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-2)
        if val_loss < best - 1e-4:
            best, bad = val_loss, 0
            torch.save(model.state_dict(), "best.pt")
        else:
            bad += 1   # stop when bad > patience; reload best.pt
        # Lightning: EarlyStopping(monitor="val_loss", patience=5) + ModelCheckpoint(monitor="val_loss")
    """

    code = "CL110"
    name = "overfitting"
    severity = Severity.WARNING
    summary = "validation loss rises significantly after its minimum while training loss keeps falling"
    hint = ("stop at the best epoch (EarlyStopping(monitor='val_loss', patience=5, restore_best_weights=True)), "
            "and regularise: dropout, weight decay/L2, data augmentation, more data or a smaller model")
    options = {
        "min_points": Option(5, "fewest validation points to judge"),
        "min_after": Option(3, "fewest validation points from the best one to the end"),
        "alpha": Option(0.05, "significance level of the Mann-Kendall trend tests"),
        "min_rise": Option(0.05, "smallest rise of the end level above the best, relative to the best"),
        "noise_k": Option(2.0, "the rise must also exceed this many noise scales (MAD of the residuals)"),
        "smooth_fraction": Option(0.1, "rolling-median window, as a fraction of the points, to locate the best"),
        "gap_min_points": Option(10, "fewest validation points for the mild (widening gap) check"),
        "min_gap_growth": Option(0.15, "mild check: gap growth over the second half, relative to the val level"),
        "min_train_drop": Option(0.1, "mild check: relative improvement of training over the second half"),
        "min_val_improvement": Option(0.03, "mild check: validation must first have improved this much "
                                      "(relative, or share of headroom); else CL112 reports it"),
    }

    def check(self, ctx: Context):
        v = overfit_verdict(ctx)
        if v.kind == "rising":
            yield ctx.finding(v.message, metric=v.metric, step=v.step, evidence=v.evidence)
        elif v.kind == "gap":
            yield ctx.finding(v.message, metric=v.metric, step=v.step, evidence=v.evidence,
                              severity=Severity.INFO)
        elif v.reason:
            yield ctx.abstain(v.reason, v.metric)
