"""CL110 overfitting (and the overfitting verdict CL111, CL112 and CL120 defer to)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from curvelint import stats
from curvelint.model import Severity
from curvelint.rule import Context, Option, Rule

from ._validation import (Curve, below_p, best_near_smoothed, fmt, improvement, order_chance, quote, smooth_curve,
                          span, start_level, trend_p, validation_pair)


@dataclass(frozen=True)
class Verdict:
    """CL110's judgement of one validation curve: kind is "rising" (validation got worse after its
    best; `severity` says how sure and how much it matters), "gap" (info) or ""."""

    kind: str
    metric: str | None = None
    step: int | None = None
    message: str = ""
    evidence: dict[str, Any] = field(default_factory=dict)
    reason: str = ""  # why there is no verdict (abstention), when kind == ""
    severity: Severity = Severity.INFO


def overfit_verdict(ctx: Context) -> Verdict:
    """The overfitting verdict for the run's validation curve, computed once per run.

    CL110 computes it with its own options; a rule running without CL110 gets the defaults.
    """
    opts = ctx.options if ctx.rule is Overfitting else {k: o.default for k, o in Overfitting.options.items()}
    return ctx.memo(("CL110-verdict",), lambda: _judge(ctx, opts))


def _judge(ctx: Context, o: dict[str, Any]) -> Verdict:
    val, train, reason = validation_pair(ctx, o["min_short_points"])
    if val is None:
        return Verdict("", reason=reason)
    short = len(val.y) < o["min_points"]
    rise = _rise(ctx, val, o)
    if rise is not None:
        if train is None:
            return _unpaired(val, rise)
        verdict = _rising(val, train, rise, o)
        if verdict is not None:
            return verdict
    if short:
        return Verdict("", metric=val.name, reason=f"{val.name}: {len(val.y)} finite points, need at least "
                                                  f"{o['min_points']} (or a clear rise after the best)")
    if train is None:
        return Verdict("", metric=val.name, reason=f"{val.name}: no training series to compare with")
    return _gap(ctx, val, train, o) or Verdict("", metric=val.name)


@dataclass(frozen=True)
class Rise:
    """Evidence that a validation curve got worse after its best (oriented: lower is better).

    kind: "trend" (Mann-Kendall over the evaluations from the best on), "rising" (every
    evaluation after the best above the one before: exact chance `p_value` of that order),
    or "step" (every evaluation after the best, or every one of the last quarter after it,
    far above it: prediction t-test); `exact`
    False for an order too short to be significant (reported at info).
    """

    best: stats.Extremum  # raw best (oriented)
    level: float  # smoothed level at the best (oriented)
    after: Curve  # the evaluations from the best on (the best first)
    end: float  # end level (oriented)
    relative: float  # (end - level) / |level|
    noise: float
    kind: str
    p_value: float
    said: str  # the evidence, in words
    significant: bool = True

    @property
    def later(self) -> int:
        return len(self.after.y) - 1


def _rise(ctx: Context, val: Curve, o: dict[str, Any]) -> Rise | None:
    """A rise after the (smoothed) best: by at least `min_rise` of it and `noise_k` noise scales,
    shown by a trend, by every evaluation rising, or by every evaluation standing far above it."""
    # b: smoothed level, raw: the point to report
    b, raw = best_near_smoothed(ctx, val, o["smooth_fraction"], o["min_rise"])
    if len(val.y) - b.index < o["min_after"]:
        return None
    after = val.after(max(b.step, raw.step))  # mirror-edged smoothing can put b before the raw best
    if len(after.y) < o["min_after"]:
        return None
    end = stats.level(after.y, "end", 0.25, min_points=2)
    noise = stats.noise_scale(val.y)
    rel = stats.rel_change(b.value, end, b.value)
    if rel < o["min_rise"] or end - b.value < o["noise_k"] * noise:
        return None
    common: dict[str, Any] = dict(best=stats.Extremum(raw.index, raw.step, raw.value), level=b.value, after=after, end=end,
                  relative=rel, noise=noise)
    ys, later = after.y, len(after.y) - 1
    first = raw.index == 0  # the whole curve is after its best: no post-hoc choice of where to start
    if np.all(np.diff(ys) > 0):
        k = later + 1 if first else later  # the order of the points after a chosen minimum is what is tested
        p = 1 / math.factorial(k)
        said = (f"it rose at every one of the {later} evaluations after it (up to {quote(after, later)}); "
                f"{'an order' if k > 1 else 'a rise'} that {k} values without a trend take by chance "
                f"{order_chance(k)} of the time")
        return Rise(kind="rising", p_value=p, said=said, significant=p < o["alpha"], **common)
    tr = stats.trend(after.steps, ys)
    if tr.significant(o["alpha"], "up"):
        slope = tr.slope if val.direction == "min" else -tr.slope
        said = (f"Sen slope {slope:+.3g}/step, Mann-Kendall p={tr.p_value:.2g} over {span(after.steps)} "
                f"({len(ys)} evaluations)")
        return Rise(kind="trend", p_value=tr.p_value, said=said, **common)
    if later >= 3:  # a step up that stays: the best is no evaluation of the model that came after it
        return _step(val, after, raw, noise, o, common)
    return None


def _step(val: Curve, after: Curve, raw, noise: float, o: dict[str, Any], common: dict[str, Any]) -> Rise | None:
    """Every evaluation after the best far above it, or (a rise, then a plateau) every one of the
    last quarter after it: prediction t-test against the best, corrected for picking the lowest."""
    ys, later = after.y, len(after.y) - 1
    late = max(3, later // 4)
    for first, words in ((1, f"all {later} evaluations after it"), (later + 1 - late, f"the last {late} evaluations")):
        tail = ys[first:]
        if len(tail) < 3:
            continue
        p = min(1.0, len(val.y) * below_p(raw.value, tail))  # any of the n could have been the lowest
        if p < o["alpha"] and tail.min() - raw.value >= o["noise_k"] * max(noise, float(np.std(tail, ddof=1))):
            lo, hi = int(np.argmin(tail)) + first, int(np.argmax(tail)) + first
            said = (f"{words} are far above it ({fmt(after.real(ys[lo]))} at step {int(after.steps[lo])} .. "
                    f"{fmt(after.real(ys[hi]))} at step {int(after.steps[hi])}; prediction t-test p={p:.2g}, "
                    f"corrected for picking the lowest of {len(val.y)})")
            return Rise(kind="step", p_value=p, said=said, **common)
    return None


def _train_improving(train: Curve, alpha: float, min_drop: float) -> tuple[bool, float]:
    """(training kept improving over these points, one-sided trend p): a significant fall (exact
    for up to 12 points), or, on 2-3 points too few for any test, a fall by `min_drop` of its
    first value at every step."""
    p = trend_p(train.y, "down", train.steps)
    if p < alpha:
        return True, p
    y = train.y
    falls = len(y) >= 2 and bool(np.all(np.diff(y) < 0)) and improvement(train, float(y[0]), float(y[-1])) >= min_drop
    return falls, p


def _unpaired(val: Curve, rise: Rise) -> Verdict:
    """A rise on a run with no training curve: reported as info (overfitting or instability)."""
    msg = (f"{_rose(val, rise)}; no training loss logged to tell overfitting (training still improving) from "
           f"instability (training getting worse too): log the training loss beside it")
    return Verdict("rising", val.name, rise.best.step, msg, _evidence(val, rise), severity=Severity.INFO)


def _rose(val: Curve, r: Rise) -> str:
    last = len(r.after.y) - 1
    return (f"{val.name} {'rose' if val.direction == 'min' else 'fell'} {r.relative:.0%} after its best "
            f"{fmt(val.real(r.best.value))} at step {r.best.step} (level {fmt(val.real(r.level))}) to "
            f"{quote(r.after, last)} (end level {fmt(val.real(r.end))}): {r.said}")


def _evidence(val: Curve, r: Rise) -> dict[str, Any]:
    return {"best_step": r.best.step, "best_value": val.real(r.best.value), "best_level": val.real(r.level),
            "end_value": val.real(r.end), "last_value": float(r.after.values[-1]), "last_step": int(r.after.steps[-1]),
            "relative_rise": r.relative, "evidence": r.kind, "p_value": r.p_value,
            "evaluations_after_best": r.later, "window": [int(r.after.steps[0]), int(r.after.steps[-1])],
            "noise": r.noise, "steps_after_best": int(val.steps[-1] - r.best.step)}


def _rising(val: Curve, train: Curve, r: Rise, o: dict[str, Any]) -> Verdict | None:
    """Validation got worse after its best while training kept improving: a warning, or info when
    the evidence is too short to be sure, the rise is small next to what the run gained, or it is
    what EarlyStopping's patience window looks like."""
    t_after = train.after(r.best.step)
    if len(t_after.y) < 2:
        return None
    improving, tp = _train_improving(t_after, o["alpha"], o["min_train_drop_short"])
    if not improving:
        return None  # both getting worse is divergence, not overfitting
    t0, t1 = stats.level(t_after.y, "start", 0.1, min_points=1), stats.level(t_after.y, "end", 0.1, min_points=1)
    start = start_level(val.y)
    gained = start - r.best.value
    given_back = (r.end - r.best.value) / gained if gained > 0 else math.inf
    give = min(given_back, 99.0)  # as a percentage in words
    why = ""
    if not r.significant:
        why = f"only {len(val.y)} evaluations: too few to be sure, watch the next ones"
    elif given_back < o["min_given_back"]:
        why = (f"small next to what the run gained ({fmt(val.real(start))} -> {fmt(val.real(r.best.value))}: the "
               f"rise gives back {give:.0%} of it)")
    elif r.best.index > 0 and r.later <= o["patience_window"] and given_back < o["patience_given_back"]:
        why = (f"the rise spans only the last {r.later} evaluations and gives back {give:.0%} of what the run gained "
               f"({fmt(val.real(start))} -> {fmt(val.real(r.best.value))}): what EarlyStopping's patience window looks "
               f"like (with restore_best_weights the best model is kept)")
    wasted = int(val.steps[-1] - r.best.step)
    msg = (f"{_rose(val, r)}; meanwhile {train.name} kept improving {fmt(train.real(t0))} -> {fmt(train.real(t1))} "
           f"(one-sided trend p={tp:.2g})")
    msg += f"; {why}" if why else f": the last {wasted} steps made the model worse on held-out data"
    evidence = {**_evidence(val, r), "given_back": given_back, "train_metric": train.name,
                "train_start": train.real(t0), "train_end": train.real(t1), "train_p_value": tp}
    return Verdict("rising", val.name, r.best.step, msg, evidence,
                   severity=Severity.INFO if why else Severity.WARNING)


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

    Symptom: the validation loss (or metric) gets worse after its best (located on a
    rolling median, reported as the logged point there), by at least `min_rise` of the
    best and `noise_k` noise scales at the end, while the training loss still falls over
    the same steps. The model memorises the training set. A rise is shown by any of:

    * a significant Mann-Kendall trend over the evaluations from the best on;
    * every evaluation after the best higher than the one before: k values take one
      given order by chance 1/k! of the time (exact, no approximation), so 4 rising
      evaluations after a best reached earlier are p = 1/24, and 5 evaluations rising
      from the first are p = 1/120; 3 evaluations (p = 1/6) are reported as info;
    * a step that stays: every evaluation after the best far above it (prediction
      t-test of the best against the later evaluations, corrected for picking the
      lowest of all): a fine-tune whose first evaluation is its best (forgetting); or
      every one of the last quarter of them far above it (a rise, then a plateau: the
      model memorised within a few epochs and validation stays up).

    Short curves (`min_short_points` to `min_points` - 1 evaluations) are judged only by
    such a clear rise. Reported as info instead of a warning: a rise giving back less than
    `min_given_back` of what validation gained from its start to its best (2.0 -> 0.30 ->
    0.33 is no story); a rise over the last `patience_window` evaluations of a run that
    improved first, giving back less than `patience_given_back` (what EarlyStopping's
    patience window looks like: with ``restore_best_weights`` nothing was lost); a run
    without a training loss (overfitting cannot be told from instability). A milder form,
    where validation only stalls over the second half while the training loss keeps
    falling and the gap widens significantly, is reported as info.

    Not flagged: a validation loss that plateaus while training converges too; both
    rising (divergence, see the curve rules); a noisy plateau whose minimum is just
    a low outlier.

    Usual causes: too many epochs, a model too large for the data, no regularisation,
    too little (or too little varied) training data; training labels that are noise
    (random or mislabelled: the model memorises them and validation only gets worse).

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
    since = "0.1.0"
    severity = Severity.WARNING
    summary = "validation loss rises significantly after its minimum while training loss keeps falling"
    hint = ("stop at the best epoch (EarlyStopping(monitor='val_loss', patience=5, restore_best_weights=True)), "
            "and regularise: dropout, weight decay/L2, data augmentation, more data or a smaller model")
    options = {
        "min_points": Option(5, "fewest validation points for the full check (fewer: only a clear rise is reported)"),
        "min_short_points": Option(3, "fewest validation points to judge at all"),
        "min_after": Option(3, "fewest validation points from the best one to the end"),
        "alpha": Option(0.05, "significance level of the trend tests (exact on up to 12 points)"),
        "min_rise": Option(0.05, "smallest rise of the end level above the best, relative to the best"),
        "noise_k": Option(2.0, "the rise must also exceed this many noise scales (MAD of the residuals)"),
        "smooth_fraction": Option(0.1, "rolling-median window, as a fraction of the points, to locate the best"),
        "gap_min_points": Option(10, "fewest validation points for the mild (widening gap) check"),
        "min_gap_growth": Option(0.15, "mild check: gap growth over the second half, relative to the val level"),
        "min_train_drop": Option(0.1, "mild check: relative improvement of training over the second half"),
        "min_val_improvement": Option(0.03, "mild check: validation must first have improved this much "
                                      "(relative, or share of headroom); else CL112 reports it"),
        "min_given_back": Option(0.1, "a rise giving back less than this share of what validation gained from its "
                                      "start to its best is info only"),
        "patience_window": Option(10, "a rise over at most this many last evaluations, after validation improved, "
                                      "may be EarlyStopping's patience window ..."),
        "patience_given_back": Option(0.5, "... and is info only unless it gives back this share of the gain"),
        "min_train_drop_short": Option(0.3, "on 2-3 training points (too few for a test), training counts as "
                                            "improving when it falls at every one by this much in all"),
    }

    def check(self, ctx: Context):
        v = overfit_verdict(ctx)
        if v.kind == "rising":
            yield ctx.finding(v.message, metric=v.metric, step=v.step, evidence=v.evidence,
                              severity=None if v.severity >= Severity.WARNING else Severity.INFO)
        elif v.kind == "gap":
            yield ctx.finding(v.message, metric=v.metric, step=v.step, evidence=v.evidence,
                              severity=Severity.INFO)
        elif v.reason:
            yield ctx.abstain(v.reason, v.metric)
