"""CL115 saturated-outputs."""

from __future__ import annotations

import math
import re

import numpy as np

from curvelint.model import Series, Severity
from curvelint.rule import Context, Option, Rule

from ._chance import SPLITS, as_fraction, is_accuracy

# the loss one wrong example costs when the predicted probability is clipped, per framework
CLIPS = {"Keras's epsilon 1e-7": -math.log(1e-7), "PyTorch BCELoss's log clamp at -100": 100.0}
# an "accuracy" that never reaches 2% is a regression's (exact float matches) or a model with
# thousands of classes at its start: the softer form does not judge it
MIN_ACCURACY = 0.02
# a loss that is not a cross-entropy: loss / (1 - accuracy) means nothing for it
REGRESSION = re.compile(r"mse|mae|rmse|huber|l1|l2|mean_squared|mean_absolute|regress", re.IGNORECASE)


class SaturatedOutputs(Rule):
    """The classifier's outputs are pinned at 0 or 1: every wrong answer costs the clip value.

    Symptom: a classification loss equal to (1 - accuracy) x K at most evaluations of the
    same split, where K is the loss of a probability clipped by the framework: -ln(1e-7)
    = 16.12 in Keras (its losses clip probabilities to [1e-7, 1 - 1e-7]), 100 in PyTorch's
    ``BCELoss`` (it clamps the log at -100). A wrong answer then costs exactly K and a
    right one nothing: the sigmoid or softmax outputs are saturated, certain of every
    answer. Judged where the accuracy is below 0.99, the loss is at least ``min_loss``,
    and loss / (1 - accuracy) is within ``tolerance`` of K at ``min_share`` of the paired
    evaluations (at least ``min_points``).

    A softer form, short of the clip: the model is wrong on most examples (accuracy below
    ``max_accuracy`` at every paired evaluation, at least ``min_wrong_points`` of them,
    the accuracy moving and reaching 2%) and yet each wrong answer costs at least
    ``wrong_cost`` nats, loss / (1 - accuracy), at every one of them, from the first on.
    It then gives the right class less than e^-6 = 1/400 of its probability where it
    errs. A model that merely guesses among C classes costs about ln C per answer, so
    this is saturation unless the model has more than about 400 classes (a word-level
    vocabulary can, so below ``warn_cost`` nats, e^10 = 22,000 classes, it is info).

    Why it matters: at a clipped probability the gradient is zero, so the model stops
    learning (the loss is often exactly constant) or only lurches between saturated
    states; the accuracy is usually one class's share.

    Usual causes: inputs that were not scaled (raw 0-255 pixels, features in the
    thousands) give huge pre-activations from the first batch; a learning rate so high
    that one step blew the weights up; exploding gradients (a recurrent network trained
    without gradient clipping) that did the same; a final layer without a bounded
    activation feeding probabilities to the loss.

    Fixes: scale the inputs (and check one batch's statistics); lower the learning rate
    10x or add a warmup; clip the gradient norm of a recurrent model (``clipnorm``,
    ``clip_grad_norm_``); give the loss logits (``from_logits=True``,
    ``BCEWithLogitsLoss``) so it never clips.

    Keras::

        norm = keras.layers.Normalization(); norm.adapt(x_train)   # or x_train / 255.0
        model.compile(optimizer=keras.optimizers.Adam(1e-3),
                      loss=keras.losses.BinaryCrossentropy(from_logits=True))

    PyTorch::

        criterion = torch.nn.BCEWithLogitsLoss()   # instead of Sigmoid + BCELoss
        x = (x - x.mean(0)) / x.std(0)
    """

    code = "CL115"
    name = "saturated-outputs"
    since = "0.1.0"
    severity = Severity.ERROR
    summary = ("the loss equals (1 - accuracy) x the framework's clip value, or a mostly wrong model pays 6+ nats "
               "per wrong answer: outputs saturated")
    hint = "scale the inputs, lower the learning rate, and give the loss logits (from_logits=True)"
    options = {
        "tolerance": Option(0.03, "relative distance of loss / (1 - accuracy) to the clip value"),
        "min_share": Option(0.6, "share of the paired evaluations that must match"),
        "min_points": Option(2, "fewest paired evaluations"),
        "min_loss": Option(1.0, "smallest loss judged (a wrong answer costs 16 or 100)"),
        "wrong_cost": Option(6.0, "least loss / (1 - accuracy), in nats, at every evaluation of a mostly wrong model"),
        "warn_cost": Option(10.0, "cost per wrong answer from which the softer form is a warning, not info"),
        "max_accuracy": Option(0.5, "highest accuracy of a mostly wrong model (softer form)"),
        "min_wrong_points": Option(3, "fewest paired evaluations for the softer form"),
    }

    def check(self, ctx: Context):
        judged = False
        for split, loss_role, acc_role in SPLITS:
            loss, acc = ctx.curve(loss_role), ctx.curve(acc_role)
            name = ctx.name_of(acc_role)
            if loss is None or acc is None or name is None or not is_accuracy(ctx, name):
                continue
            frac = as_fraction(acc)
            if frac is None:
                continue
            judged = True
            found = self._judge(ctx, split, loss, frac)
            if found is not None:
                yield found
        if not judged:
            yield ctx.abstain("no loss with an accuracy of the same split")

    def _judge(self, ctx: Context, split: str, loss: Series, acc: Series):
        o = ctx.options
        steps, li, ai = np.intersect1d(loss.steps, acc.steps, return_indices=True)
        lv, av = loss.values[li], acc.values[ai]
        keep = (av < 0.99) & (lv >= o["min_loss"])
        if int(keep.sum()) < o["min_points"]:
            return None
        ratio = lv[keep] / (1.0 - av[keep])
        for clip, k in CLIPS.items():
            hit = np.abs(ratio / k - 1) <= o["tolerance"]
            share = float(hit.mean())
            if share < o["min_share"]:
                continue
            last = int(np.flatnonzero(keep)[-1])
            return ctx.finding(
                f"{loss.name} = (1 - {acc.name}) x {k:.4g} at {int(hit.sum())} of {len(hit)} {split} evaluations "
                f"(steps {int(steps[keep][0])}..{int(steps[keep][-1])}; last {lv[last]:.4g} with {acc.name} "
                f"{av[last]:.4g}): every wrong answer costs exactly {k:.4g}, the loss of a probability clipped "
                f"at {clip}, and every right one nothing: the outputs are saturated at 0 or 1 (huge "
                f"pre-activations: unscaled inputs, or a learning rate or exploding gradients that blew the "
                f"weights up)",
                metric=loss.name, step=int(steps[keep][0]),
                evidence={"split": split, "loss_metric": loss.name, "accuracy_metric": acc.name, "clip": clip,
                          "clip_loss": k, "matching": int(hit.sum()), "paired": len(hit),
                          "median_ratio": float(np.median(ratio)), "last_loss": float(lv[last]),
                          "last_accuracy": float(av[last])})
        return self._confidently_wrong(ctx, split, loss.name, acc.name, steps, lv, av)

    def _confidently_wrong(self, ctx: Context, split: str, loss: str, acc: str, steps: np.ndarray,
                           lv: np.ndarray, av: np.ndarray):
        """The softer form: mostly wrong at every evaluation, each wrong answer costing >= wrong_cost nats."""
        o = ctx.options
        ok = np.isfinite(lv) & np.isfinite(av)
        steps, lv, av = steps[ok], lv[ok], av[ok]
        if (len(lv) < o["min_wrong_points"] or av.max() >= o["max_accuracy"] or av.max() <= av.min()
                or av.max() < MIN_ACCURACY or REGRESSION.search(loss)):
            return None
        cost = lv / (1.0 - av)
        least = float(cost.min())
        if least < o["wrong_cost"]:
            return None
        at = int(np.argmin(cost))
        classes = f"{math.exp(least):,.0f}" if least < 11.5 else f"{math.exp(least):.2g}"
        caveat = ("" if least >= o["warn_cost"] else
                  f" (unless it chooses among more than {classes} classes, as a word-level vocabulary can)")
        last = "" if at == len(lv) - 1 else f"; last {lv[-1]:.4g} with {av[-1]:.4g} at step {int(steps[-1])}"
        return ctx.finding(
            f"{loss} / (1 - {acc}) is at least {least:.3g} nats at all {len(lv)} {split} evaluations (steps "
            f"{int(steps[0])}..{int(steps[-1])}; lowest at step {int(steps[at])}: {loss} {lv[at]:.4g} with {acc} "
            f"{av[at]:.4g}{last}): wrong on most examples, the model gives the right class under 1/{classes} "
            f"of its probability where it errs{caveat}, while a model merely guessing among C classes pays about "
            f"ln C. Confidently wrong, saturated outputs: weights blown up by exploding gradients (a recurrent "
            f"network without gradient clipping) or a learning rate far too high, or unscaled inputs",
            metric=loss, step=int(steps[0]),
            severity=min(ctx.rule_severity, Severity.WARNING if least >= o["warn_cost"] else Severity.INFO),
            hint="clip the gradient norm (recurrent models), lower the learning rate 10x, scale the inputs",
            evidence={"split": split, "loss_metric": loss, "accuracy_metric": acc, "least_cost": least,
                      "least_cost_step": int(steps[at]), "paired": len(lv), "max_accuracy": float(av.max()),
                      "first_loss": float(lv[0]), "last_loss": float(lv[-1]), "last_accuracy": float(av[-1])})
