"""CL103 chance-level."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Iterator

import numpy as np

from curvelint import stats
from curvelint.model import Series, Severity
from curvelint.rule import Context, Option, Rule

from . import _loss as L

CLASS_KEYS = ("num_classes", "n_classes", "nb_classes", "number_of_classes", "num_class", "n_class",
              "classes", "num_labels", "n_labels", "nc")
NAME_KEYS = ("class_names", "classes", "id2label", "label_names")


@dataclass(frozen=True)
class Classes:
    """The number of classes, the label priors when known, and where they came from."""

    count: int
    priors: tuple[float, ...] | None
    source: str

    @property
    def loss_levels(self) -> dict[str, float]:
        """Cross-entropy of predicting the priors: ln C (uniform), H(priors) when known."""
        levels = {f"ln({self.count})": math.log(self.count)}
        if self.priors:
            p = np.asarray(self.priors)
            p = p[p > 0]
            levels["label-prior entropy"] = float(-(p * np.log(p)).sum())
        return levels

    @property
    def accuracy_levels(self) -> dict[str, float]:
        """Accuracy of guessing: 1/C, and the majority-class rate when the priors are known."""
        levels = {f"1/{self.count}": 1.0 / self.count}
        if self.priors:
            levels["majority-class rate"] = max(self.priors)
        return levels


def _walk(d: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(d, dict):
        for k, v in d.items():
            key = f"{prefix}{k}"
            yield key, v
            yield from _walk(v, key + "/")


def classes_from_hparams(hparams: dict[str, Any]) -> Classes | None:
    """C from a num_classes-like key (nested or flattened 'a/b/num_classes'), or a class-name list."""
    found: list[tuple[int, str]] = []
    for key, value in _walk(hparams):
        leaf = re.split(r"[/.]", str(key))[-1].lower()
        if leaf in CLASS_KEYS and isinstance(value, (int, float, str)) and not isinstance(value, bool):
            try:
                c = int(float(value))
            except ValueError:
                continue
            if c >= 2 and c == float(value):
                found.append((0, c, key))
        elif leaf in NAME_KEYS and isinstance(value, (list, tuple, dict)) and len(value) >= 2:
            found.append((1, len(value), key))
    if not found:
        return None
    _, c, key = sorted(found)[0]
    return Classes(c, None, f"hparams {key}={c}")


def classes_of(ctx: Context) -> Classes | None:
    """Labels (class counts) first, then hparams; None when the run says nothing."""
    labels = ctx.run.labels
    if labels is not None and len([v for v in labels.counts.values() if v > 0]) >= 2:
        counts = np.asarray([v for v in labels.counts.values() if v > 0], dtype=float)
        return Classes(len(counts), tuple(counts / counts.sum()), f"label counts ({labels.source})")
    return classes_from_hparams(ctx.run.hparams)


@dataclass(frozen=True)
class Level:
    """Where a series sits in its last part: median, 10th/90th percentiles, window, and the
    Mann-Kendall trend there (a series still moving is learning, not stuck at chance)."""

    median: float
    low: float
    high: float
    first_step: int
    last_step: int
    trend: stats.Trend

    def moving(self, alpha: float, direction: str, min_change: float = 0.02) -> bool:
        """A significant trend that also changes the level by `min_change` (relative) or more."""
        return self.trend.significant(alpha, direction) and abs(self.trend.relative_change) >= min_change


def late_level(s: Series, fraction: float) -> Level:
    k = max(3, int(math.ceil(len(s) * fraction)))
    v = s.values[-k:]
    p10, p90 = stats.percentiles(v, 10, 90)
    return Level(stats.median(v), p10, p90,
                 int(s.steps[-k]), int(s.steps[-1]), stats.trend(s.steps[-k:], v))


def near_loss(lv: Level, target: float, tol: float) -> bool:
    """The loss sits within `tol` (relative) of the target and never dips clearly below it."""
    return abs(lv.median - target) <= tol * target and lv.low >= target * (1 - 2 * tol)


def near_accuracy(lv: Level, target: float, tol: float) -> bool:
    """Accuracy within max(0.02, tol * target) of the target and not clearly above it
    (90th percentile within 3 widths: small validation sets make accuracy noisy)."""
    width = max(0.02, tol * target)
    return abs(lv.median - target) <= width and lv.high <= target + 3 * width


def accuracy_series(ctx: Context, role: str, min_points: int) -> Series | None:
    """The role's metric if it is an accuracy (0..1, or percent rescaled to 0..1)."""
    name = ctx.name_of(role)
    if not name or "acc" not in name.lower() or ctx.direction(name) != "max":
        return None
    s, _ = ctx.usable(name, min_points=min_points)
    if s is None:
        return None
    if s.values.max() > 1.0 and s.values.max() <= 100.0 and s.values.min() >= 0:
        s = Series(s.name, s.steps, s.values / 100.0)
    return s if 0 <= s.values.min() and s.values.max() <= 1.0 else None


class ChanceLevel(Rule):
    """A classifier's loss or accuracy stays at chance level: it predicts the priors only.

    Symptom: the cross-entropy stays near ln(C) (uniform guessing over C classes) or
    near the entropy of the label priors, or the accuracy stays at 1/C or at the
    majority-class rate, over the last ``late`` fraction of the run (median within
    ``loss_tolerance`` / ``accuracy_tolerance``, never clearly better, and without a
    significant trend towards better there that moves it by 2% or more). C comes from
    the run's label counts (a data sample), else from a hyperparameter
    (num_classes, n_classes, nc, num_labels, class_names, ...). Without either, C is
    inferred only when BOTH the loss sits at ln(C) and the accuracy at 1/C (within 30%,
    relative) for the same C (2..``max_inferred_classes``). A loss that never decreased
    at all is reported once, by loss-not-decreasing (CL102); its accuracy still counts.

    Usual causes: labels shuffled or misaligned with the inputs; random or corrupted
    inputs; strong class imbalance with an unweighted loss (the model learns "always the
    majority class"); a dead network (all-zero ReLU activations, a final activation
    that saturates, a learning rate so high that the weights collapsed); a softmax
    applied twice (``from_logits`` mismatch).

    Fixes: check a few (input, label) pairs by eye; overfit a single small batch;
    reweight or resample imbalanced classes; lower the learning rate; make the loss
    receive raw logits.

    Keras::

        model.compile(loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), ...)
        weights = sklearn.utils.class_weight.compute_class_weight("balanced", classes=classes, y=y)
        model.fit(x, y, class_weight=dict(enumerate(weights)))

    PyTorch::

        criterion = torch.nn.CrossEntropyLoss(weight=class_weights)  # takes raw logits
        sampler = torch.utils.data.WeightedRandomSampler(sample_weights, len(sample_weights))
        x, y = next(iter(loader)); print(y[:20])  # labels look right and vary?
    """

    code = "CL103"
    name = "chance-level"
    severity = Severity.ERROR
    defers_to = ("CL102",)
    summary = "classification loss or accuracy stays at chance level: the model predicts priors only"
    hint = ("check that labels match the inputs, overfit one small batch, reweight imbalanced classes, "
            "and make sure the loss receives raw logits")
    options = {
        "min_points": Option(6, "fewest finite points of a series to judge it"),
        "late": Option(0.5, "fraction of the run (its end) that must sit at chance"),
        "loss_tolerance": Option(0.05, "relative distance of the loss to ln(C)/prior entropy"),
        "accuracy_tolerance": Option(0.1, "distance of the accuracy to 1/C or the majority rate, relative "
                                          "(at least 0.02 absolute)"),
        "alpha": Option(0.01, "a loss falling / accuracy rising significantly (Mann-Kendall) in the late "
                              "window is learning, not at chance"),
        "max_inferred_classes": Option(100, "largest C inferred from loss ~ ln(C) and accuracy ~ 1/C together "
                                             "(accuracy within 30% of 1/C, relative)"),
    }

    def check(self, ctx: Context):
        o = ctx.options
        known = classes_of(ctx)
        judged = False
        for split, loss_role, acc_role in (("training", "train_loss", "train_metric"),
                                           ("validation", "val_loss", "val_metric")):
            loss, _ = ctx.usable(loss_role, min_points=o["min_points"])
            acc = accuracy_series(ctx, acc_role, o["min_points"])
            if loss is None and acc is None:
                continue
            judged = True
            # a loss that never decreased is reported once, by CL102; its level still counts as
            # evidence for an accuracy at chance
            stalled = loss is not None and bool(L.claimed(ctx, loss.name, "CL102"))
            found = self._judge(ctx, split, loss, acc, known, stalled)
            if found is not None:
                yield found
        if not judged:
            yield ctx.abstain(f"no loss or accuracy series with at least {o['min_points']} finite points")

    def _judge(self, ctx: Context, split: str, loss: Series | None, acc: Series | None,
               known: Classes | None, stalled: bool):
        o = ctx.options
        if not known and (loss is None or acc is None):
            return None  # C can only be inferred from a loss and an accuracy together
        ll = late_level(loss, o["late"]) if loss is not None else None
        al = late_level(acc, o["late"]) if acc is not None else None
        if ll is not None and ll.moving(o["alpha"], "down"):
            ll = None  # still decreasing: learning, whatever its level
        if al is not None and al.moving(o["alpha"], "up"):
            al = None
        if known:
            candidates = [known]
        elif ll is not None and al is not None:  # best-fitting small C first
            cs = range(2, int(o["max_inferred_classes"]) + 1)
            # ln C pins C down better than a noisy accuracy: weigh each misfit by its tolerance
            c = min(cs, key=lambda c: abs(ll.median / math.log(c) - 1) / o["loss_tolerance"]
                    + abs(al.median * c - 1) / (3 * o["accuracy_tolerance"]))
            if abs(al.median * c - 1) > o["accuracy_tolerance"] * 3:
                return None  # inferred C must fit the accuracy in relative terms too (1% vs 1/100)
            candidates = [Classes(c, None, f"inferred: loss ~ ln({c}) and accuracy ~ 1/{c}")]
        else:
            return None
        for cls in candidates:
            loss_hit = next(((k, t) for k, t in cls.loss_levels.items()
                             if ll is not None and near_loss(ll, t, o["loss_tolerance"])), None)
            acc_hit = next(((k, t) for k, t in cls.accuracy_levels.items()
                            if al is not None and near_accuracy(al, t, o["accuracy_tolerance"])), None)
            if known is None and not (loss_hit and acc_hit):
                continue
            if not (loss_hit or acc_hit) or (stalled and not acc_hit):
                continue
            parts, evidence = [], {"classes": cls.count, "classes_from": cls.source, "split": split}
            if loss_hit and loss is not None and ll is not None:
                if not stalled:
                    L.claim(ctx, loss.name)
                parts.append(f"{split} loss {loss.name!r} median {ll.median:.4g} (10th pct {ll.low:.4g}) "
                             f"~ {loss_hit[0]} = {loss_hit[1]:.4g}")
                evidence.update(loss_metric=loss.name, loss_median=ll.median, loss_p10=ll.low,
                                loss_chance=loss_hit[1], loss_chance_kind=loss_hit[0])
            if acc_hit and acc is not None and al is not None:
                parts.append(f"{split} accuracy {acc.name!r} median {al.median:.4g} (90th pct {al.high:.4g}) "
                             f"~ {acc_hit[0]} = {acc_hit[1]:.4g}")
                evidence.update(accuracy_metric=acc.name, accuracy_median=al.median, accuracy_p90=al.high,
                                accuracy_chance=acc_hit[1], accuracy_chance_kind=acc_hit[0])
            on_loss = bool(loss_hit) and not stalled
            lv = ll if on_loss else al
            assert lv is not None
            evidence.update(first_step=lv.first_step, last_step=lv.last_step)
            metric = loss.name if on_loss and loss is not None else (acc.name if acc is not None else None)
            return ctx.finding(
                f"{'; '.join(parts)} over steps {lv.first_step}..{lv.last_step} (last {o['late']:.0%} of the "
                f"run): chance level for {cls.count} classes ({cls.source})",
                metric=metric, step=lv.first_step, evidence=evidence)
        return None
