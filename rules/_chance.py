"""What chance level is for a run: its classes and priors, late levels, pinned and all-positive
accuracies, and the loss/accuracy signals CL103 weighs (shared by CL101, CL103, CL108; not a rule module)."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Iterator

import numpy as np

from curvelint import stats
from curvelint.model import Series
from curvelint.rule import MAX_DEPTH, Context

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


def _walk(d: Any, prefix: str = "", depth: int = 0) -> Iterator[tuple[str, Any]]:
    """(key path, value) of every key of nested hparams, down to `MAX_DEPTH` levels (deeper ones are not looked at)."""
    if isinstance(d, dict) and depth < MAX_DEPTH:
        for k, v in d.items():
            key = f"{prefix}{k}"
            yield key, v
            yield from _walk(v, key + "/", depth + 1)


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
            except (ValueError, OverflowError):  # not a number, or an infinite one (num_classes: .inf)
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
    Mann-Kendall trend there (a series still moving is learning, not stuck at chance), computed
    only when asked (it costs more than everything else here)."""

    median: float
    low: float
    high: float
    first_step: int
    last_step: int
    steps: np.ndarray = field(repr=False, compare=False)
    values: np.ndarray = field(repr=False, compare=False)

    @cached_property
    def trend(self) -> stats.Trend:
        return stats.trend(self.steps, self.values)

    def moving(self, alpha: float, direction: str, min_change: float = 0.02) -> bool:
        """A significant trend that also changes the level by `min_change` (relative) or more."""
        return self.trend.significant(alpha, direction) and abs(self.trend.relative_change) >= min_change


def late_level(s: Series, fraction: float) -> Level:
    k = max(3, int(math.ceil(len(s) * fraction)))
    v = s.values[-k:]
    p10, p90 = stats.percentiles(v, 10, 90)
    return Level(stats.median(v), p10, p90, int(s.steps[-k]), int(s.steps[-1]), s.steps[-k:], v)


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


def split_entropy(p: float) -> float:
    """Entropy (nats) of a p / 1-p split: the least cross-entropy a model predicting one class for
    every example can score when that class is a share p of the data (any label prior with a
    class of share p has at least this entropy)."""
    q = min(max(p, 1e-12), 1 - 1e-12)
    return -(q * math.log(q) + (1 - q) * math.log(1 - q))


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


def listed(s: Series, k: int = 5) -> str:
    vals = ", ".join(sig4(v) for v in s.values[:k]) + (", ..." if len(s) > k else "")
    steps = ", ".join(str(int(t)) for t in s.steps[:k]) + (", ..." if len(s) > k else "")
    return f"{vals} at steps {steps}"


def loss_signal(s: Series, levels: dict[str, float], o: dict[str, Any], split: str,
                stalled: bool = False) -> Signal | None:
    """The loss at (the nearest of) `levels`: late median for long series, every value for short ones."""
    tol = o["loss_tolerance"]
    if len(s) >= o["min_points"]:
        lv = late_level(s, o["late"])
        hits = [(k, t) for k, t in levels.items() if near_loss(lv, t, tol)]
        if not hits or lv.moving(o["alpha"], "down"):
            return None  # not at chance, or still decreasing: learning, whatever its level
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
        above = 3 * tol if split == "validation" else tol  # a model memorising noise ends worse than chance
        if np.all((v / target - 1 >= -tol) & (v / target - 1 <= above)):
            worst = float(np.max(np.abs(v / target - 1)))
            return Signal("every", s.name, f"{split} loss {s.name!r} {listed(s)} (every point within "
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
        for kind, target in ordered:
            if near_accuracy(lv, target, tol) and (not relative or lv.median <= target + width(target)):
                if lv.moving(o["alpha"], "up"):
                    return None
                rel = "~" if lv.median >= target - width(target) else "below"
                return Signal("late", s.name, f"{split} accuracy {s.name!r} median {lv.median:.4g} "
                              f"(90th pct {lv.high:.4g}) {rel} {kind} = {target:.4g}", lv.first_step, lv.last_step,
                              dict(accuracy_metric=s.name, accuracy_median=lv.median, accuracy_p90=lv.high,
                                   accuracy_chance=target, accuracy_chance_kind=kind))
        return None
    for kind, target in ordered:
        if s.values.max() <= target + width(target):
            rel = "at or below" if s.values.max() >= target - width(target) else "below"
            return Signal("every", s.name, f"{split} accuracy {s.name!r} {listed(s)} ({rel} {kind} = "
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
