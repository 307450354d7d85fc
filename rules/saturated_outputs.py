"""CL115 saturated-outputs."""

from __future__ import annotations

import math

import numpy as np

from curvelint.model import Series, Severity
from curvelint.rule import Context, Option, Rule

from ._chance import SPLITS, as_fraction, is_accuracy

# the loss one wrong example costs when the predicted probability is clipped, per framework
CLIPS = {"Keras's epsilon 1e-7": -math.log(1e-7), "PyTorch BCELoss's log clamp at -100": 100.0}


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

    Why it matters: at a clipped probability the gradient is zero, so the model stops
    learning (the loss is often exactly constant) or only lurches between saturated
    states; the accuracy is usually one class's share.

    Usual causes: inputs that were not scaled (raw 0-255 pixels, features in the
    thousands) give huge pre-activations from the first batch; a learning rate so high
    that one step blew the weights up; a final layer without a bounded activation
    feeding probabilities to the loss.

    Fixes: scale the inputs (and check one batch's statistics); lower the learning rate
    10x or add a warmup; give the loss logits (``from_logits=True``,
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
    summary = "the loss equals (1 - accuracy) x the framework's clip value: outputs saturated at 0 or 1"
    hint = "scale the inputs, lower the learning rate, and give the loss logits (from_logits=True)"
    options = {
        "tolerance": Option(0.03, "relative distance of loss / (1 - accuracy) to the clip value"),
        "min_share": Option(0.6, "share of the paired evaluations that must match"),
        "min_points": Option(2, "fewest paired evaluations"),
        "min_loss": Option(1.0, "smallest loss judged (a wrong answer costs 16 or 100)"),
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
                f"pre-activations: unscaled inputs, or a learning rate that blew the weights up)",
                metric=loss.name, step=int(steps[keep][0]),
                evidence={"split": split, "loss_metric": loss.name, "accuracy_metric": acc.name, "clip": clip,
                          "clip_loss": k, "matching": int(hit.sum()), "paired": len(hit),
                          "median_ratio": float(np.median(ratio)), "last_loss": float(lv[last]),
                          "last_accuracy": float(av[last])})
        return None
