"""CL103 chance-level."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Iterator

import numpy as np

from curvelint import stats
from curvelint.model import Series, Severity
from curvelint.rule import Context, Option, Rule

from . import _loss as L

CLASS_KEYS = ("num_classes", "n_classes", "nb_classes", "number_of_classes", "num_class", "n_class",
              "classes", "num_labels", "n_labels", "nc")
NAME_KEYS = ("class_names", "classes", "id2label", "label_names")
COUNT_KEYS = ("class_counts", "label_counts", "class_distribution", "label_distribution", "class_frequencies",
              "class_frequency", "class_priors", "label_priors", "samples_per_class")
SPLITS = (("training", "train_loss", "train_metric"), ("validation", "val_loss", "val_metric"))
EXACT_POINTS = 4  # a loss equal to a chance level to 4 significant digits this many times running is clear
MAX_EXACT_INFERRED = 20  # ln C of larger C are too close together for a 4-digit match to name C alone


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


def _counts(value: Any) -> list[float] | None:
    """Class counts or shares from a list, a {class: count} mapping or a '[3, 1]' string."""
    if isinstance(value, str):
        value = [v for v in re.split(r"[\s,;\[\]()]+", value) if v]
    items = list(value.values()) if isinstance(value, dict) else value
    if not isinstance(items, (list, tuple)) or len(items) < 2:
        return None
    try:
        counts = [float(v) for v in items]
    except (TypeError, ValueError):
        return None
    ok = all(math.isfinite(c) and c >= 0 for c in counts) and sum(counts) > 0
    return counts if ok else None


def classes_from_hparams(hparams: dict[str, Any]) -> Classes | None:
    """Class counts (class_counts, label_distribution, ...: C and the priors), else C from a
    num_classes-like key (nested or flattened 'a/b/num_classes'), else a class-name list."""
    found: list[tuple[int, int, str, tuple[float, ...] | None]] = []
    for key, value in _walk(hparams):
        leaf = re.split(r"[/.]", str(key))[-1].lower()
        if leaf in COUNT_KEYS and (counts := _counts(value)):
            shares = tuple(c / sum(counts) for c in counts if c > 0)
            if len(shares) >= 2:
                found.append((0, len(shares), key, shares))
        elif leaf in CLASS_KEYS and isinstance(value, (int, float, str)) and not isinstance(value, bool):
            try:
                c = int(float(value))
            except ValueError:
                continue
            if c >= 2 and c == float(value):
                found.append((1, c, key, None))
        elif leaf in NAME_KEYS and isinstance(value, (list, tuple, dict)) and len(value) >= 2:
            found.append((2, len(value), key, None))
    if not found:
        return None
    rank, c, key, priors = sorted(found, key=lambda f: f[:3])[0]
    return Classes(c, priors, f"hparams {key}" + ("" if priors else f"={c}"))


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
    """Accuracy at the target (within max(0.02, tol * target)) or below it, and never clearly
    above (90th percentile within 3 widths: small validation sets make accuracy noisy)."""
    width = max(0.02, tol * target)
    return lv.median <= target + width and lv.high <= target + 3 * width


def sig4(x: float) -> str:
    return f"{x:.4g}"


# -- which series are accuracies -----------------------------------------------------------------


def is_accuracy(ctx: Context, name: str) -> bool:
    """A plain accuracy: 'acc' in the name, higher is better; not balanced or top-k accuracy,
    whose chance level is not 1/C or the majority rate."""
    low = name.lower()
    return ("acc" in low and ctx.direction(name) == "max" and "balanced" not in low
            and not re.search(r"top[-_]?(?:[2-9]|\d\d)", low))


def as_fraction(s: Series) -> Series | None:
    """The finite values of an accuracy as 0..1 (percent rescaled), or None if not an accuracy range."""
    v = s.values[np.isfinite(s.values)]
    if not len(v):
        return None
    steps = s.steps[np.isfinite(s.values)]
    if v.max() > 1.0 and v.max() <= 100.0 and v.min() >= 0:
        v = v / 100.0
    return Series(s.name, steps, v) if 0 <= v.min() and v.max() <= 1.0 else None


def accuracy_series(ctx: Context, role: str, min_points: int) -> Series | None:
    """The role's metric if it is an accuracy (0..1, or percent rescaled to 0..1) and not constant."""
    name = ctx.name_of(role)
    if not name or not is_accuracy(ctx, name):
        return None
    s, _ = ctx.usable(name, min_points=min_points)
    return as_fraction(s) if s is not None else None


# -- one-class predictors --------------------------------------------------------------------------


@dataclass(frozen=True)
class Pinned:
    """An accuracy exactly constant (or for all but one in ten or more evaluations) while a loss
    moves: the predicted labels do not change."""

    name: str
    value: float
    points: int  # evaluations at `value`
    total: int  # finite evaluations
    first_step: int
    last_step: int
    moving: tuple[tuple[str, float, float], ...]  # (loss, first, last) of the losses that move
    others: tuple[tuple[int, float], ...] = ()  # (step, value) of the evaluations off `value`


def _partner(ctx: Context, acc_name: str, words: tuple[str, ...]) -> str | None:
    for word in words:
        for pattern in (r"accuracy", r"acc"):
            cand = re.sub(pattern, word, acc_name, count=1, flags=re.IGNORECASE)
            if cand != acc_name and cand in ctx.run.series:
                return cand
    return None


def _moves(s: Series) -> tuple[str, float, float] | None:
    v = s.values[np.isfinite(s.values)]
    return (s.name, float(v[0]), float(v[-1])) if len(v) >= 2 and v.max() > v.min() else None


def moving_losses(ctx: Context, acc_name: str) -> tuple[tuple[str, float, float], ...]:
    """The losses that show the model updating while `acc_name` stands still: its own loss
    ('val_acc' -> 'val_loss', 'cls_val_accuracy' -> 'cls_val_loss') when the run logs one (if
    that one is constant too, nothing moves: the model is frozen), else the run's loss roles,
    else any loss. At most two, as (name, first value, last value)."""
    own = _partner(ctx, acc_name, ("loss",))
    if own is not None:
        moved = _moves(ctx.run.series[own])
        return (moved,) if moved else ()
    roles = [ctx.name_of(r) for r in ("val_loss", "train_loss")]
    others = sorted(n for n in ctx.run.series if "loss" in n.lower() and ctx.direction(n) == "min")
    found = [m for n in dict.fromkeys(n for n in roles + others if n) if (m := _moves(ctx.run.series[n]))]
    return tuple(found[:2])


def pinned_accuracy(ctx: Context, name: str, min_points: int = 3) -> Pinned | None:
    """`name` is an accuracy with the same value (strictly between 0 and 1) at every one of at
    least `min_points` finite points, or at all but one in ten, while a loss of the run moves.
    constant-metric (CL101) leaves the exactly constant ones to chance-level (CL103): the
    model does update, its predicted labels do not."""
    def compute() -> Pinned | None:
        s = ctx.run.series.get(name)
        if s is None or not is_accuracy(ctx, name):
            return None
        f = as_fraction(s)
        if f is None or len(f) < min_points:
            return None
        values, counts = np.unique(f.values, return_counts=True)
        value = float(values[np.argmax(counts)])
        off = f.values != value
        if int(off.sum()) > len(f) // 10 or not 0.0 < value < 1.0:
            return None
        moving = moving_losses(ctx, name)
        if not moving:
            return None
        others = tuple((int(t), float(v)) for t, v in zip(f.steps[off], f.values[off]))
        return Pinned(name, value, int((~off).sum()), len(f), int(f.steps[0]), int(f.steps[-1]), moving, others)

    return ctx.memo(("chance.pinned", name, min_points), compute)


@dataclass(frozen=True)
class AllPositive:
    """Evaluations at which recall = 1 and precision = accuracy (< 1): with no false negatives,
    precision = accuracy forces TN * FP = 0, and FP = 0 would make the accuracy 1, so there is
    no true negative: every example was predicted positive, and the accuracy there is exactly
    the positive share of the evaluation set."""

    accuracy: str
    precision: str
    recall: str
    steps: tuple[int, ...]
    share: float


def all_positive(ctx: Context, acc_name: str) -> AllPositive | None:
    """The evaluations of a binary classifier that predicted the positive class for everything."""
    p_name = _partner(ctx, acc_name, ("precision", "prec"))
    r_name = _partner(ctx, acc_name, ("recall", "rec"))
    if p_name is None or r_name is None:
        return None
    by_step = [{int(t): float(v) for t, v in zip(s.steps, s.values) if np.isfinite(v)}
               for s in (ctx.run.series[n] for n in (acc_name, p_name, r_name))]
    common = sorted(set(by_step[0]).intersection(*by_step[1:]))
    if not common:
        return None
    a, p, r = (np.asarray([d[t] for t in common]) for d in by_step)
    if a.max() > 1.0:  # percent
        a, p, r = a / 100.0, p / 100.0, r / 100.0
    hit = (np.abs(r - 1.0) <= 1e-9) & (np.abs(p - a) <= 1e-6) & (a < 1.0) & (a > 0.0)
    if not hit.any():
        return None
    steps = tuple(int(s) for s, h in zip(common, hit) if h)
    return AllPositive(acc_name, p_name, r_name, steps, float(a[hit][0]))


# -- evidence of a series at a chance level ------------------------------------------------------------


@dataclass(frozen=True)
class Signal:
    """One series at a chance level: 'late' (median of the last part of a long series), 'every'
    (every logged value of a short series) or 'exact' (a loss equal to the level to 4 digits)."""

    kind: str
    metric: str
    text: str
    first_step: int
    last_step: int
    evidence: dict[str, Any] = field(default_factory=dict)


def _listed(s: Series, k: int = 5) -> str:
    vals = ", ".join(sig4(v) for v in s.values[:k]) + (", ..." if len(s) > k else "")
    steps = ", ".join(str(int(t)) for t in s.steps[:k]) + (", ..." if len(s) > k else "")
    return f"{vals} at steps {steps}"


def loss_signal(s: Series, levels: dict[str, float], o: dict[str, Any], split: str,
                stalled: bool = False) -> Signal | None:
    """The loss at (the nearest of) `levels`: late median for long series, every value for short ones."""
    tol = o["loss_tolerance"]
    if len(s) >= o["min_points"]:
        lv = late_level(s, o["late"])
        if lv.moving(o["alpha"], "down"):
            return None  # still decreasing: learning, whatever its level
        hits = [(k, t) for k, t in levels.items() if near_loss(lv, t, tol)]
        if not hits:
            return None
        kind, target = min(hits, key=lambda h: abs(lv.median / h[1] - 1))
        return Signal("late", s.name, f"{split} loss {s.name!r} median {lv.median:.4g} (10th pct {lv.low:.4g}) "
                      f"~ {kind} = {target:.4g}", lv.first_step, lv.last_step,
                      dict(loss_metric=s.name, loss_median=lv.median, loss_p10=lv.low, loss_chance=target,
                           loss_chance_kind=kind, stalled=stalled))
    v = s.values
    for kind, target in sorted(levels.items(), key=lambda h: abs(stats.median(v) / h[1] - 1)):
        tail = v[-EXACT_POINTS:]
        if len(v) >= EXACT_POINTS and all(sig4(x) == sig4(target) for x in tail):
            return Signal("exact", s.name, f"{split} loss {s.name!r} is {sig4(tail[-1])} = {kind} "
                          f"({target:.6g}) to 4 significant digits at each of its last {len(tail)} points "
                          f"(steps {int(s.steps[-len(tail)])}..{int(s.steps[-1])})",
                          int(s.steps[-len(tail)]), int(s.steps[-1]),
                          dict(loss_metric=s.name, loss_values=tail, loss_chance=target, loss_chance_kind=kind))
        if np.all(np.abs(v / target - 1) <= tol):
            worst = float(np.max(np.abs(v / target - 1)))
            return Signal("every", s.name, f"{split} loss {s.name!r} {_listed(s)} (every point within "
                          f"{worst:.1%} of {kind} = {target:.4g})", int(s.steps[0]), int(s.steps[-1]),
                          dict(loss_metric=s.name, loss_values=v, loss_chance=target, loss_chance_kind=kind))
    return None


def accuracy_signal(s: Series, levels: dict[str, float], o: dict[str, Any], split: str,
                    relative: bool = False) -> Signal | None:
    """The accuracy at or below (the highest of) `levels`. `relative`: C was inferred, so the
    accuracy must also sit within 3 tolerances of 1/C in relative terms (1% is not 1/100 + 0.02)."""
    tol = o["accuracy_tolerance"]

    def width(t: float) -> float:
        return tol * t * 3 if relative else max(0.02, tol * t)

    ordered = sorted(levels.items(), key=lambda h: -h[1])
    if len(s) >= o["min_points"]:
        lv = late_level(s, o["late"])
        if lv.moving(o["alpha"], "up"):
            return None
        for kind, target in ordered:
            if near_accuracy(lv, target, tol) and (not relative or lv.median <= target + width(target)):
                rel = "~" if lv.median >= target - width(target) else "below"
                return Signal("late", s.name, f"{split} accuracy {s.name!r} median {lv.median:.4g} "
                              f"(90th pct {lv.high:.4g}) {rel} {kind} = {target:.4g}", lv.first_step, lv.last_step,
                              dict(accuracy_metric=s.name, accuracy_median=lv.median, accuracy_p90=lv.high,
                                   accuracy_chance=target, accuracy_chance_kind=kind))
        return None
    for kind, target in ordered:
        if s.values.max() <= target + width(target):
            rel = "at or below" if s.values.max() >= target - width(target) else "below"
            return Signal("every", s.name, f"{split} accuracy {s.name!r} {_listed(s)} ({rel} {kind} = "
                          f"{target:.4g} at every point)", int(s.steps[0]), int(s.steps[-1]),
                          dict(accuracy_metric=s.name, accuracy_values=s.values, accuracy_chance=target,
                               accuracy_chance_kind=kind))
    return None


def inferred_classes(loss: Series, o: dict[str, Any], known: Classes | None) -> Classes | None:
    """C from the loss level, when no C is known or the known C is larger (hparams often give the
    size of the output layer, e.g. num_classes=200 for CIFAR-10's 10 labels)."""
    c = infer_classes(loss, o)
    if c is None or (known is not None and c >= known.count):
        return None
    also = f"; {known.source} is more than the labels use" if known else ""
    return Classes(c, None, f"inferred: the loss level ~ ln({c}){also}")


def infer_classes(loss: Series, o: dict[str, Any]) -> int | None:
    """C with ln C nearest the loss level (late median, or median of a short series)."""
    v = loss.values[-max(3, int(math.ceil(len(loss) * o["late"]))):] if len(loss) >= o["min_points"] else loss.values
    level = stats.median(v)
    if not 0 < level < math.log(int(o["max_inferred_classes"]) + 0.5):
        return None
    c = int(round(math.exp(level)))
    return c if c >= 2 else None


class ChanceLevel(Rule):
    """A classifier's loss or accuracy stays at chance level: it predicts the priors only.

    Symptom, on the training and on the validation split:

    - the cross-entropy stays near ln(C) (uniform guessing over C classes) or near the
      entropy of the label priors (a model that learned only how often each class
      occurs), and/or the accuracy stays at or below 1/C or the majority-class rate
      (a model that always answers the most frequent class scores that class's share,
      not 1/C). Long series (``min_points`` or more): the median of the last ``late``
      fraction of the run (within ``loss_tolerance`` / ``accuracy_tolerance``, never
      clearly better, and without a significant trend towards better there that moves
      it by 2% or more); any one series at chance is an error. Short runs (2 to
      ``min_points - 1`` evaluations, the common case): no trend can be tested, so
      EVERY logged value must sit at chance; a loss and an accuracy that agree give a
      warning, one series alone an info. A loss equal to a chance level to 4 significant
      digits at each of its last 4 points (2.303 = ln 10, four times) is an error.
    - an accuracy pinned at exactly one value (strictly between 0 and 1) at 3 or more
      evaluations while a loss moves: the model is updated but its predicted labels
      never change, i.e. it predicts one class for everything (the accuracy is that
      class's share, usually the majority). constant-metric (CL101) leaves these series
      to this rule. Error when the value is the known majority rate or 1/C, else warning.
    - a binary classifier whose logged recall is 1.0 while its precision equals its
      accuracy (Hugging Face ``eval_recall`` / ``eval_precision`` / ``eval_accuracy``,
      Keras ``val_recall`` ...): that is exact, not a threshold: it predicted the
      positive class for every example, and the accuracy there is the positive share.
      Warning when the last accuracy is still within ``majority_margin`` of the
      majority rate so derived, info when the model later beat it.

    C comes from the run's label counts (a data sample, or a class_counts-like
    hyperparameter, which also give the priors), else from a hyperparameter
    (num_classes, n_classes, nc, num_labels, class_names, ...). Without either, C is
    inferred from the loss (e^loss ~ C, e.g. 1.892 -> 7) and then needs the accuracy to
    agree (at or below 1/C, within 30% relative, for the same split; C up to
    ``max_inferred_classes``). A long loss that never decreased at all is reported
    once, by loss-not-decreasing (CL102); its accuracy still counts.

    Usual causes: labels shuffled or misaligned with the inputs; random or corrupted
    inputs; strong class imbalance with an unweighted loss (the model learns "always the
    majority class"); a dead network (all-zero ReLU activations, a final activation
    that saturates, a learning rate so high that the weights collapsed); a softmax
    applied twice (``from_logits`` mismatch). Validation at chance while training
    learns: the validation data or its labels differ from training (preprocessing,
    label order, a different class-index mapping).

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
        "min_points": Option(6, "fewest finite points of a series to judge its late level (fewer, down to 2: "
                                "every point must sit at chance, at a lower severity)"),
        "late": Option(0.5, "fraction of the run (its end) that must sit at chance"),
        "loss_tolerance": Option(0.05, "relative distance of the loss to ln(C)/prior entropy"),
        "accuracy_tolerance": Option(0.1, "distance of the accuracy above 1/C or the majority rate, relative "
                                          "(at least 0.02 absolute)"),
        "alpha": Option(0.01, "a loss falling / accuracy rising significantly (Mann-Kendall) in the late "
                              "window is learning, not at chance"),
        "max_inferred_classes": Option(100, "largest C inferred from loss ~ ln(C) (with an accuracy at or below "
                                             "1/C, within 30% relative)"),
        "majority_margin": Option(0.02, "a binary classifier seen predicting only the positive class must beat "
                                        "the positive/negative share by more than this at its last evaluation"),
    }

    def check(self, ctx: Context):
        known = classes_of(ctx)
        done: set[str] = set()  # accuracy series already reported
        for name in sorted(ctx.run.series):
            found = self._all_positive(ctx, name)
            if found is not None:
                done.add(name)
                yield found
        groups: dict[tuple, list[Pinned]] = {}
        for name in sorted(ctx.run.series):
            if name not in done and (pin := pinned_accuracy(ctx, name)) is not None:
                groups.setdefault((pin.value, pin.first_step, pin.last_step, pin.others), []).append(pin)
        for pins in groups.values():  # val_acc and a best-so-far max_val_acc pinned alike: one finding
            done.update(p.name for p in pins)
            yield self._pinned(ctx, pins, known)
        judged = bool(done)
        for split, loss_role, acc_role in SPLITS:
            loss = self._loss(ctx, loss_role)
            acc_name = ctx.name_of(acc_role)
            acc = accuracy_series(ctx, acc_role, 2) if acc_name not in done else None
            if acc_name in done or (loss is None and acc is None):
                continue
            judged = True
            found = self._judge(ctx, split, loss, acc, known)
            if found is not None:
                yield found
        if not judged:
            yield ctx.abstain("no loss or accuracy series with at least 2 finite points")

    @staticmethod
    def _loss(ctx: Context, role: str) -> Series | None:
        s, _ = ctx.usable(role, min_points=2)
        return s

    # -- a binary classifier predicting positive for everything ----------------------------------------

    def _all_positive(self, ctx: Context, name: str):
        if not is_accuracy(ctx, name):
            return None
        ap = all_positive(ctx, name)
        if ap is None:
            return None
        acc = as_fraction(ctx.run.series[name])
        assert acc is not None
        majority = max(ap.share, 1 - ap.share)
        last = float(acc.values[-1])
        margin = ctx.options["majority_margin"]
        beat = last > majority + margin
        at = ", ".join(str(s) for s in ap.steps[:5]) + (", ..." if len(ap.steps) > 5 else "")
        side = "positive" if ap.share >= 0.5 else "positive (minority)"
        message = (
            f"{ap.recall} = 1 and {ap.precision} = {name} = {ap.share:.4g} at step{'s' if len(ap.steps) > 1 else ''} "
            f"{at}: with no false negatives, precision equal to accuracy means no true negatives either, so the "
            f"classifier predicted the {side} class for every example (positives are {ap.share:.1%} of the "
            f"evaluation set, the majority-class rate is {majority:.4g}); {name} is {_listed(acc)}")
        if beat:
            message += f": it beat that rate by {last - majority:.3g} at the end (an early one-class phase)"
        else:
            message += (f": the last evaluation is within {margin:g} of the majority-class rate, "
                        f"no better than always answering one class")
        return ctx.finding(
            message, metric=name, step=ap.steps[0], severity=Severity.INFO if beat else min(ctx.severity, Severity.WARNING),
            evidence={"accuracy_metric": name, "precision_metric": ap.precision, "recall_metric": ap.recall,
                      "all_positive_steps": list(ap.steps), "positive_share": ap.share, "majority_rate": majority,
                      "last_accuracy": last, "accuracy_values": acc.values, "steps": acc.steps},
            hint="reweight the classes (class_weight / a weighted loss) or resample, check that both classes reach "
                 "the model with their labels, and report F1 or balanced accuracy beside accuracy")

    # -- an accuracy that never changes while the loss does --------------------------------------------

    def _pinned(self, ctx: Context, pins: list[Pinned], known: Classes | None):
        pin, o = pins[0], ctx.options
        match = self._pinned_chance(ctx, pin, known)
        moving = "; ".join(f"{n} {a:.4g} -> {b:.4g}" for n, a, b in pin.moving)
        names = " and ".join(p.name for p in pins[:3]) + (f" and {len(pins) - 3} more" if len(pins) > 3 else "")
        at = (f"at all {pin.total} evaluations" if not pin.others else f"at {pin.points} of {pin.total} evaluations ("
              + ", ".join(f"{v:.4g} at step {t}" for t, v in pin.others) + ")")
        message = (f"{names} {'is' if len(pins) == 1 else 'are'} exactly {pin.value:.6g} {at} "
                   f"(steps {pin.first_step}..{pin.last_step}) while the loss moves ({moving}): the model "
                   f"is updated but its predicted labels {'never' if not pin.others else 'almost never'} change, "
                   f"i.e. it predicts one class for everything and "
                   f"scores that class's share of the data")
        if match:
            message += f" ({match[0]} = {match[1]:.4g}; {match[2]})"
        else:
            message += f" (that class is {pin.value:.1%} of the examples, usually the majority class)"
        return ctx.finding(
            message, metric=pin.name, step=pin.first_step,
            severity=ctx.severity if match else min(ctx.severity, Severity.WARNING),
            evidence={"accuracy_metric": pin.name, "pinned": [p.name for p in pins], "value": pin.value,
                      "points": pin.points, "evaluations": pin.total, "first_step": pin.first_step, "last_step": pin.last_step,
                      "moving_losses": [n for n, _, _ in pin.moving],
                      "chance_kind": match[0] if match else None, "classes_from": match[2] if match else None},
            hint="reweight or resample the classes, lower the learning rate, check that the labels vary and match "
                 "the inputs, and make sure the loss receives raw logits")

    @staticmethod
    def _pinned_chance(ctx: Context, pin: Pinned, known: Classes | None) -> tuple[str, float, str] | None:
        """(kind, level, source) when the pinned value is a known chance accuracy (1/C, the majority
        rate), or 1/C for the C a moving loss sits at (ln C): a uniform-output model."""
        def near(t: float) -> bool:
            return abs(pin.value - t) <= max(0.005, 0.02 * t)

        if known and (hit := next(((k, t) for k, t in known.accuracy_levels.items() if near(t)), None)):
            return hit[0], hit[1], known.source
        o = ctx.options
        for name, _, _ in pin.moving:
            s = ctx.curve(name)
            cls = inferred_classes(s, o, known) if s is not None and len(s) >= 2 else None
            if cls and near(1 / cls.count) and loss_signal(s, {f"ln({cls.count})": math.log(cls.count)}, o, ""):
                return f"1/{cls.count}", 1 / cls.count, f"{name} sits at ln({cls.count}): {cls.source}"
        return None

    # -- loss and accuracy levels --------------------------------------------------------------------

    def _judge(self, ctx: Context, split: str, loss: Series | None, acc: Series | None, known: Classes | None):
        o = ctx.options
        # a long loss that never decreased is reported once, by CL102; its level still counts as
        # evidence for an accuracy at chance
        stalled = loss is not None and bool(L.claimed(ctx, loss.name, "CL102"))
        candidates = [known] if known else []
        if loss is not None and (inferred := inferred_classes(loss, o, known)):
            candidates.append(inferred)
        for cls in candidates:
            found = self._judge_for(ctx, split, loss, acc, cls, cls is known, stalled)
            if found is not None:
                return found
        return None

    def _judge_for(self, ctx: Context, split: str, loss: Series | None, acc: Series | None, cls: Classes,
                   c_known: bool, stalled: bool):
        o = ctx.options
        ls = loss_signal(loss, cls.loss_levels, o, split, stalled) if loss is not None else None
        acs = accuracy_signal(acc, cls.accuracy_levels, o, split, relative=not c_known) if acc is not None else None
        if not c_known:
            exact_alone = ls is not None and ls.kind == "exact" and acc is None and cls.count <= MAX_EXACT_INFERRED
            if ls is None or (acs is None and not exact_alone):
                return None  # an inferred C needs the accuracy to agree (or a loss pinned at ln C to 4 digits)
        signals = [s for s in (ls, acs) if s is not None]
        if not signals or (stalled and acs is None):
            return None
        if stalled:
            assert acs is not None
            signals = [acs] + ([ls] if ls is not None else [])
        severity = self._severity(ctx, signals, c_known)
        lead = signals[0]
        short = any(s.kind != "late" for s in signals)
        evidence: dict[str, Any] = {"classes": cls.count, "classes_from": cls.source, "split": split,
                                    "signals": [s.kind for s in signals]}
        for s in signals:
            evidence.update(s.evidence)
        first = min(s.first_step for s in signals)
        last = max(s.last_step for s in signals)
        evidence.update(first_step=first, last_step=last)
        where = (f"over steps {first}..{last} (last {o['late']:.0%} of the run)" if not short else
                 f"({max(len(x) for x in (loss, acc) if x is not None)} evaluations: too few for a trend, "
                 f"so every logged value was checked)")
        message = f"{'; '.join(s.text for s in signals)} {where}: chance level for {cls.count} classes ({cls.source})"
        message += self._training_learns(ctx, split, cls)
        if loss is not None and lead.metric == loss.name:
            L.claim(ctx, loss.name)  # one symptom per series: later loss rules leave it alone
        return ctx.finding(message, metric=lead.metric, step=lead.first_step, evidence=evidence, severity=severity)

    @staticmethod
    def _severity(ctx: Context, signals: list[Signal], c_known: bool) -> Severity:
        kinds = [s.kind for s in signals]
        if "exact" in kinds and (c_known or len(signals) == 2):
            return ctx.severity  # a loss pinned at ln C to 4 digits with C known or the accuracy agreeing
        if all(k == "late" for k in kinds):
            return ctx.severity
        if len(signals) == 2:
            return min(ctx.severity, Severity.WARNING)
        return Severity.INFO

    @staticmethod
    def _training_learns(ctx: Context, split: str, cls: Classes) -> str:
        """On validation at chance: ', while training accuracy reached X' when it clearly did."""
        if split != "validation":
            return ""
        name = ctx.name_of("train_metric")
        s = ctx.series(name) if name and is_accuracy(ctx, name) else None
        f = as_fraction(s) if s is not None else None
        chance = max(cls.accuracy_levels.values())
        if f is None or f.values[-1] <= chance + max(0.05, 0.5 * chance):
            return ""
        return (f", while training accuracy {name!r} reached {f.values[-1]:.4g} at step {int(f.steps[-1])}: the "
                f"validation data or labels differ from training (preprocessing, label order, class-index mapping)")
