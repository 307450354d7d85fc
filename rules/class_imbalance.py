"""CL301 class-imbalance."""

from __future__ import annotations

import re

import numpy as np

from curvelint.model import Severity
from curvelint.rule import Context, Option, Rule

from ._chance import as_fraction, is_accuracy

# mean per-class recall under its usual names (sklearn's balanced_accuracy_score, torchmetrics'
# MulticlassAccuracy(average="macro"), a macro-averaged recall)
BALANCED = re.compile(r"balanced[_ -]?acc(uracy)?|bal[_-]acc(uracy)?|macro[_-]?(recall|acc(uracy)?)|"
                      r"(recall|acc(uracy)?)[_-]?macro|mean[_-]?(per[_-]?)?class[_-]?acc(uracy)?", re.IGNORECASE)
_ACC = re.compile(r"acc(uracy)?", re.IGNORECASE)


class ClassImbalance(Rule):
    """The training labels are dominated by one or a few classes.

    Symptom: a high accuracy from the first epoch that hardly improves, a model that
    predicts the majority class for everything (recall 1.0 on one class, 0 on the
    others). The label counts (a ``--data`` sample with labels, or a logged label
    histogram) show a minority class below ``min_share`` of the samples (with k > 2
    classes the threshold scales with the balanced share: ``min_share * 2 / k``, so
    with 10 classes a class below 2% counts).

    Or, from the curves: a run that logs a balanced accuracy (mean per-class recall:
    ``balanced_accuracy``, ``val/bal_acc``, ``recall_macro``, torchmetrics' macro accuracy)
    beside the plain accuracy of the same split. On equally large classes the two are
    equal, and with unequal ones they stay close while every class is recalled alike. When
    the balanced error, 1 - balanced accuracy, is at least ``error_ratio`` times the plain
    error at the last evaluations (median of the last ``last_points``), and at least
    ``min_gap`` of accuracy apart, the errors sit on the rarer classes: the model neglects
    a minority that the plain accuracy hides (0.97 accuracy can be 0.5 balanced).

    Fixes: weight the loss by class, resample, and judge the model with a metric that
    a majority-class predictor cannot game (balanced accuracy, F1, precision/recall,
    AUC-PR) instead of accuracy.
    Keras: ``model.fit(x, y, class_weight={0: 1.0, 1: 19.0})``;
    ``metrics=[keras.metrics.AUC(curve="PR"), keras.metrics.Recall()]``.
    PyTorch: ``nn.CrossEntropyLoss(weight=torch.tensor([1.0, 19.0]))`` or
    ``nn.BCEWithLogitsLoss(pos_weight=torch.tensor(19.0))``;
    ``torch.utils.data.WeightedRandomSampler`` to rebalance batches.
    """

    code = "CL301"
    name = "class-imbalance"
    since = "0.1.0"
    severity = Severity.WARNING
    summary = ("a minority class is a small share of the labels, or a logged balanced accuracy sits far below the "
               "accuracy: accuracy is misleading")
    hint = ("use class weights or resampling, and monitor F1, balanced accuracy or PR-AUC rather than accuracy")
    options = {
        "min_share": Option(0.10, "smallest acceptable share of a class for 2 classes; scaled by 2/k for k classes"),
        "min_samples": Option(20, "fewest labels needed to judge the distribution"),
        "error_ratio": Option(2.0, "balanced error / plain error at or above which the errors sit on rare classes"),
        "min_gap": Option(0.02, "... and accuracy - balanced accuracy at least this"),
        "last_points": Option(3, "evaluations at the end whose median is judged"),
    }

    def check(self, ctx: Context):
        from_metrics = list(self._from_metrics(ctx))
        yield from from_metrics
        labels = ctx.run.labels
        if labels is None or not labels.counts:
            if not from_metrics:
                yield ctx.abstain("no label counts (pass --data with labels, or log a label histogram) and no "
                                  "balanced accuracy beside an accuracy")
            return
        counts = {k: int(v) for k, v in labels.counts.items()}
        total = sum(counts.values())
        k = sum(1 for v in counts.values() if v > 0)
        if total < int(ctx.options["min_samples"]):
            yield ctx.abstain(f"only {total} labels (< {ctx.options['min_samples']})")
            return
        if k < 2:
            yield ctx.abstain(f"a single class in {total} labels ({next(iter(counts))!r})")
            return
        threshold = float(ctx.options["min_share"]) * 2 / k
        minority = min((c for c in counts if counts[c] > 0), key=lambda c: counts[c])
        majority = max(counts, key=lambda c: counts[c])
        share = counts[minority] / total
        if share >= threshold:
            yield ctx.abstain(f"smallest class {minority!r} is {share:.1%} of {total} labels (>= {threshold:.1%})")
            return
        rare = sorted((c for c in counts if 0 < counts[c] / total < threshold), key=lambda c: counts[c])
        message = (f"class {minority!r} is only {share:.1%} of {total} labels "
                   f"(majority {majority!r} {counts[majority] / total:.1%}; {len(rare)} of {k} classes below "
                   f"{threshold:.1%})")
        acc = [name for role in ("val_metric", "train_metric") if (name := ctx.name_of(role))
               and "acc" in name.lower()]
        if acc:
            message += (f"; this run monitors {acc[0]}, which a majority-class model scores "
                        f"{counts[majority] / total:.0%} on")
        evidence = {"counts": counts, "total": total, "minority": minority, "minority_share": share,
                    "threshold": threshold, "source": labels.source}
        yield ctx.finding(message, metric=None, evidence=evidence)

    def _from_metrics(self, ctx: Context):
        """A balanced accuracy far below the plain accuracy of the same split (see the class doc)."""
        o = ctx.options
        for bal_name, acc_name in _pairs(ctx):
            bal, acc = as_fraction(ctx.run.series[bal_name]), as_fraction(ctx.run.series[acc_name])
            if bal is None or acc is None:
                continue
            steps, bi, ai = np.intersect1d(bal.steps, acc.steps, return_indices=True)
            if not len(steps):
                continue
            k = min(int(o["last_points"]), len(steps))
            b, a = float(np.median(bal.values[bi][-k:])), float(np.median(acc.values[ai][-k:]))
            if a >= 1.0 or a - b < o["min_gap"] or (1 - b) < o["error_ratio"] * (1 - a):
                continue
            at = f"step {int(steps[-1])}" if k == 1 else f"the last {k} evaluations (steps {int(steps[-k])}..{int(steps[-1])})"
            yield ctx.finding(
                f"{bal_name} {b:.4g} against {acc_name} {a:.4g} at {at}: the balanced error (1 - mean per-class "
                f"recall) is {(1 - b) / (1 - a):.1f}x the plain error ({1 - b:.3g} against {1 - a:.3g}), so the "
                f"mistakes sit on the rarer classes: the model neglects a minority class that {acc_name} hides",
                metric=bal_name, step=int(steps[-k]),
                evidence={"balanced_metric": bal_name, "accuracy_metric": acc_name, "balanced": b, "accuracy": a,
                          "error_ratio": (1 - b) / (1 - a), "points": k})


def _pairs(ctx: Context) -> list[tuple[str, str]]:
    """(balanced accuracy, plain accuracy of the same split) by name: 'val/balanced_accuracy' and
    'val/accuracy', 'eval_bal_acc' and 'eval_acc'."""
    plain = {_ACC.sub("", n).strip("_/-. ").lower(): n for n in ctx.run.series
             if is_accuracy(ctx, n) and not BALANCED.search(n)}
    out = []
    for name in sorted(ctx.run.series):
        if BALANCED.search(name):
            key = BALANCED.sub("", name).strip("_/-. ").lower()
            if key in plain:
                out.append((name, plain[key]))
    return out
