"""CL112 validation-not-improving."""

from __future__ import annotations

import numpy as np

from curvelint import stats
from curvelint.model import Severity
from curvelint.rule import Context, Option, Rule

from ._validation import (Curve, curve, end_level, fmt, improvement, metric_top, rel_noise, smooth_curve, span,
                          start_level, trend_p)
from .overfitting import overfit_verdict

PAIRS = (("val_loss", ("train_loss",)), ("val_metric", ("train_metric", "train_loss")))


class ValidationNotImproving(Rule):
    """Training improves, but the validation metric is flat from the very start.

    Symptom: the training loss (or metric) improves significantly (Mann-Kendall
    p < `alpha`, by at least `min_train_improvement`), while the validation loss or
    metric never gets better than its start (mean of the first two points) by more than
    `max_val_improvement` or
    `noise_k` noise scales
    (relative for losses; for accuracy-like metrics bounded by 1 or 100, as a share of
    the headroom left) and shows no significant improving trend. Whatever the model
    learns does not transfer to the validation data at all.

    Not flagged: validation that improves and then rises (overfitting, CL110, on that
    series; a validation accuracy flat beside it only when that loss never improved by more
    than `max_flat` first, i.e. stuck at chance next to a rising validation loss:
    memorisation without any generalisation; one that fell first did generalise, and an
    accuracy already high from the first evaluation has little left to gain);
    validation that is already (near) perfect from the start (validation-suspicious,
    CL113). Short runs (3 to `min_points` - 1 evaluations) are judged with an exact order
    test on the training side and the fixed `max_val_improvement` margin, and reported
    as info only: a few evaluations cannot tell a flat curve from a noisy one.

    Usual causes: validation data preprocessed differently from training (missing
    normalisation or a different tokenizer/vocabulary, other image size or channel
    order, augmentation applied to validation), labels misaligned or shuffled
    separately from the inputs, a different label mapping, a validation split from
    another distribution, evaluating a stale copy of the model, or pure memorisation
    (too little data, random labels).

    Fixes: build one preprocessing function and use it for both splits; check a few
    validation samples and labels by eye; evaluate the model you train.

    Keras::

        norm = keras.layers.Normalization(); norm.adapt(x_train)   # inside the model:
        model = keras.Sequential([norm, ...])                      # same for val and test
        train_ds = train_ds.map(preprocess); val_ds = val_ds.map(preprocess)

    PyTorch::

        tf = T.Compose([T.ToTensor(), T.Normalize(mean, std)])   # no random augmentation here
        val_set = Dataset(val_files, transform=tf)               # same mean/std as training
        model.eval()
        with torch.no_grad():
            val_loss = sum(loss_fn(model(x), y).item() for x, y in val_loader) / len(val_loader)
    """

    code = "CL112"
    name = "validation-not-improving"
    since = "0.1.0"
    severity = Severity.WARNING
    summary = "training improves but the validation metric is flat from the start"
    hint = ("check that validation gets exactly the training preprocessing (normalisation, tokenizer, image size, "
            "label mapping) and that inputs and labels stay aligned; then regularise or add data")
    options = {
        "min_points": Option(5, "fewest validation points to judge at full severity"),
        "min_short_points": Option(3, "fewest validation points to judge at all (fewer than min_points: info)"),
        "alpha": Option(0.05, "significance level of the Mann-Kendall trend tests"),
        "min_train_improvement": Option(0.2, "training must improve at least this much (relative, or share of "
                                               "headroom for bounded metrics)"),
        "max_val_improvement": Option(0.03, "validation counts as flat if its best is at most this much better "
                                            "than its first value"),
        "noise_k": Option(3.0, "an improvement within this many noise scales of the first value is no improvement"),
        "max_flat": Option(0.1, "... but an improvement above this is real, however noisy the curve"),
        "near_perfect": Option(0.01, "skip validation metrics starting within this fraction of their optimum"),
    }

    def check(self, ctx: Context):
        o = ctx.options
        verdict = overfit_verdict(ctx)
        overfit = verdict.metric if verdict.kind == "rising" else None
        perfect = self._perfect_metric(ctx)
        if perfect:
            yield ctx.abstain(f"{perfect}: (near) perfect from the start, see CL113 validation-suspicious", perfect)
            return
        reasons = []
        for vrole, troles in PAIRS:
            name = ctx.name_of(vrole)
            if name is None:
                continue
            if name == overfit:
                reasons.append(f"{overfit}: reported by CL110 overfitting")
                carried = self._loss_improved_first(ctx, name)
                if carried:
                    reasons.append(carried)
                    break  # the validation loss learned before it rose: the learning carried over
                continue  # its rise is the story; a flat validation *metric* may still be reported
            val, reason = curve(ctx, vrole, o["min_short_points"])
            train = next((t for t in (curve(ctx, r)[0] for r in troles) if t is not None), None)
            if val is None or train is None:
                reasons.append(reason or f"{name}: no training series to compare with")
                continue
            finding = self._judge(ctx, val, train)
            if finding is not None:
                yield finding
                return  # one finding per run: the loss and the metric tell the same story
        if reasons:
            yield ctx.abstain("; ".join(reasons))
        elif not any(ctx.name_of(r) for r, _ in PAIRS):
            yield ctx.abstain("no validation series in this run")

    def _loss_improved_first(self, ctx: Context, name: str) -> str | None:
        """Why a flat validation metric is no story: the validation loss CL110 reported first fell by more
        than `max_flat` from its start to its best (the model did generalise, then overfit)."""
        val, _ = curve(ctx, "val_loss", ctx.options["min_short_points"])
        if val is None:
            return None
        v0, best, _, gained = _start_and_best(ctx, val)
        if gained <= ctx.options["max_flat"]:
            return None  # memorisation without any generalisation: a flat metric beside it is still the story
        return (f"{name} improved {gained:.0%} ({fmt(val.real(v0))} -> {fmt(val.real(best))}) before it rose: "
                "what the model learned did carry over")

    def _perfect_metric(self, ctx: Context) -> str | None:
        """The validation metric's name if it starts within `near_perfect` of its optimum:
        a flat validation loss then means "nothing left to improve", not "no generalisation"."""
        vs = ctx.curve("val_metric")
        if vs is None or len(vs) < 2 or ctx.direction(vs.name) != "max":
            return None
        top = metric_top(Curve(vs, "max"))
        first = float(np.mean(vs.values[:2]))
        return vs.name if top is not None and first >= top * (1 - ctx.options["near_perfect"]) else None

    def _judge(self, ctx: Context, val, train):
        o = ctx.options
        short = len(val.y) < o["min_points"]
        t0, t1 = start_level(train.y), end_level(train.y)
        t_impr = improvement(train, t0, t1)
        if t_impr < o["min_train_improvement"]:
            return None  # (the cheap checks first: the trend tests cost more than the rest)
        v0, v_best, i, v_impr = _start_and_best(ctx, val)
        noise = rel_noise(val)
        # a few evaluations say nothing of their noise: only the fixed margin applies (and info only)
        flat = o["max_val_improvement"] if short else max(o["max_val_improvement"],
                                                          min(o["noise_k"] * noise, o["max_flat"]))
        if v_impr > flat:
            return None
        # a short run's few training points: the exact one-sided order test (4 falling values: p = 1/24)
        ttr = None if short else stats.trend(train.steps, train.y)
        t_p = trend_p(train.y, "down", train.steps) if ttr is None else ttr.p_value
        t_down = t_p < o["alpha"] if ttr is None else ttr.significant(o["alpha"], "down")
        if not t_down:
            return None
        vtr = stats.trend(val.steps, val.y)
        if vtr.significant(o["alpha"], "down"):
            return None
        k = len(val.y)
        first = ", ".join(f"{fmt(float(val.values[j]))} at step {int(val.steps[j])}" for j in range(min(2, k)))
        msg = (f"{train.name} improved {t_impr:.0%} ({fmt(train.real(t0))} -> {fmt(train.real(t1))}, "
               f"{'one-sided trend' if short else 'Mann-Kendall'} p={t_p:.2g}) but {val.name} stayed flat from the "
               f"start over {span(val.steps)}: start level {fmt(val.real(v0))} ({first}), best level "
               f"{fmt(val.real(v_best))} at step {int(val.steps[i])} ({v_impr:.1%} better), last "
               f"{fmt(float(val.values[-1]))} at step {int(val.steps[-1])}, trend p={vtr.p_value:.2g}: what the model "
               f"learns does not carry over to the validation data")
        if short:
            msg += f" (only {k} evaluations: too few to tell a flat curve from noise, watch the next ones)"
        return ctx.finding(
            msg, metric=val.name, step=int(val.steps[0]), severity=Severity.INFO if short else None,
            evidence={"train_metric": train.name, "train_start": train.real(t0), "train_end": train.real(t1),
                      "train_improvement": t_impr, "train_p_value": t_p, "val_first": val.real(v0),
                      "val_best": val.real(v_best), "val_best_step": int(val.steps[i]),
                      "val_improvement": v_impr, "val_noise": noise, "val_p_value": vtr.p_value,
                      "val_slope": vtr.slope if val.direction == "min" else -vtr.slope,
                      "window": [int(val.steps[0]), int(val.steps[-1])]})


def _start_and_best(ctx: Context, val: Curve) -> tuple[float, float, int, float]:
    """(start, best, index of the best, improvement) of a validation curve: the start is the mean of
    its first two points (one noisy first value is no baseline), the best the smoothed optimum."""
    v0 = float(np.mean(val.y[:2]))
    smoothed = smooth_curve(ctx, val, 0.1)
    i = int(smoothed.argmin())
    return v0, float(smoothed[i]), i, improvement(val, v0, float(smoothed[i]))
