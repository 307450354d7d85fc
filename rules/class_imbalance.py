"""CL301 class-imbalance."""

from __future__ import annotations

from curvelint.model import Severity
from curvelint.rule import Context, Option, Rule


class ClassImbalance(Rule):
    """The training labels are dominated by one or a few classes.

    Symptom: a high accuracy from the first epoch that hardly improves, a model that
    predicts the majority class for everything (recall 1.0 on one class, 0 on the
    others). The label counts (a ``--data`` sample with labels, or a logged label
    histogram) show a minority class below ``min_share`` of the samples (with k > 2
    classes the threshold scales with the balanced share: ``min_share * 2 / k``, so
    with 10 classes a class below 2% counts).

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
    summary = "a minority class is a small share of the labels: accuracy is misleading"
    hint = ("use class weights or resampling, and monitor F1, balanced accuracy or PR-AUC rather than accuracy")
    options = {
        "min_share": Option(0.10, "smallest acceptable share of a class for 2 classes; scaled by 2/k for k classes"),
        "min_samples": Option(20, "fewest labels needed to judge the distribution"),
    }

    def check(self, ctx: Context):
        labels = ctx.run.labels
        if labels is None or not labels.counts:
            yield ctx.abstain("no label counts (pass --data with labels, or log a label histogram)")
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
