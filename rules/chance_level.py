"""CL103 chance-level."""

from __future__ import annotations

import math
from typing import Any

from curvelint.model import Series, Severity
from curvelint.rule import Context, Option, Rule

from . import _loss as L
from ._chance import (EXACT_POINTS, MAX_EXACT_INFERRED, SPLITS, Classes, Pinned, Signal, accuracy_series, accuracy_signal,
                      all_positive, as_fraction, classes_of, inferred_classes, is_accuracy, listed, loss_signal,
                      pinned_accuracy, split_entropy)

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
      EVERY logged value must sit at chance (a validation loss may also sit up to three
      tolerances above it: a model memorising noise ends worse than guessing); a loss and
      an accuracy that agree give a warning, one series alone an info. A loss equal to a chance level to 4 significant
      digits at each of its last 4 points (2.303 = ln 10, four times) is an error.
    - an accuracy pinned at exactly one value p (strictly between 0 and 1) at 3 or more
      evaluations while a loss moves: the model is updated but its predicted labels
      never change, i.e. it predicts one class for everything (the accuracy is that
      class's share, usually the majority). No one-class predictor scores a loss below
      the entropy of a p / 1-p split, so a loss under ``one_class_floor`` of it means a
      confident model that is right on all but a few examples (a small validation set),
      not reported; three evaluations (a converged model on a small validation set repeats
      its accuracy that often) count only with the loss not below that entropy (by more than
      twice ``loss_tolerance``), two only when the loss ends at it (within twice
      ``loss_tolerance``): info, a warning when the training loss settled there too.
      constant-metric (CL101) leaves these series to this rule. Error when the value is
      the known majority rate or 1/C, else warning.
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
    ``max_inferred_classes``). A logged accuracy of the same split that is not at chance
    overrules a loss at ln C (a model right on most examples and very wrong on a few
    averages that loss too). A long loss that never decreased at all is reported
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
    since = "0.1.0"
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
        "one_class_floor": Option(0.5, "a pinned accuracy p is a one-class predictor only while its loss stays above "
                                       "this share of the entropy of a p / 1-p split (no one-class model scores less)"),
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
            if name not in done and (pin := pinned_accuracy(ctx, name, min_points=2)) is not None:
                groups.setdefault((pin.value, pin.first_step, pin.last_step, pin.others), []).append(pin)
        for pins in groups.values():  # val_acc and a best-so-far max_val_acc pinned alike: one finding
            found = self._pinned(ctx, pins, known)
            if found is not None:
                done.update(p.name for p in pins)
                yield found
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
            f"evaluation set, the majority-class rate is {majority:.4g}); {name} is {listed(acc)}")
        if beat:
            message += f": it beat that rate by {last - majority:.3g} at the end (an early one-class phase)"
        else:
            message += (f": the last evaluation is within {margin:g} of the majority-class rate, "
                        f"no better than always answering one class")
        return ctx.finding(
            message, metric=name, step=ap.steps[0], severity=Severity.INFO if beat else min(ctx.rule_severity, Severity.WARNING),
            evidence={"accuracy_metric": name, "precision_metric": ap.precision, "recall_metric": ap.recall,
                      "all_positive_steps": list(ap.steps), "positive_share": ap.share, "majority_rate": majority,
                      "last_accuracy": last, "accuracy_values": acc.values, "steps": acc.steps},
            hint="reweight the classes (class_weight / a weighted loss) or resample, check that both classes reach "
                 "the model with their labels, and report F1 or balanced accuracy beside accuracy")

    # -- an accuracy that never changes while the loss does --------------------------------------------

    def _pinned(self, ctx: Context, pins: list[Pinned], known: Classes | None):
        pin = pins[0]
        floor = split_entropy(pin.value)
        own_loss = pin.moving[0][2]  # the accuracy's own loss when the run logs one
        if own_loss < ctx.options["one_class_floor"] * floor:
            return None  # below what any one-class predictor reaches: a confident, mostly right model
        near = ctx.options["loss_tolerance"] * 2
        if pin.total < 3 and abs(own_loss / floor - 1) > near:
            return None  # two equal evaluations alone are no evidence; with the loss at that split's entropy they are
        if pin.total < EXACT_POINTS and own_loss < (1 - near) * floor:
            return None  # three, with a loss below any one-class model's: a converged model on a small set
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
        severity = ctx.rule_severity if match else min(ctx.rule_severity, Severity.WARNING)
        if pin.total < 3:
            message += (f"; {pin.moving[0][0]} ends at {own_loss:.4g}, the entropy of a {max(pin.value, 1 - pin.value):.1%}"
                        f" / {min(pin.value, 1 - pin.value):.1%} split ({floor:.4g}): exactly what predicting that "
                        f"share for every example scores")
            severity = self._two_point_severity(ctx, pin, floor)
        return ctx.finding(
            message, metric=pin.name, step=pin.first_step,
            severity=severity,
            evidence={"accuracy_metric": pin.name, "pinned": [p.name for p in pins], "value": pin.value,
                      "points": pin.points, "evaluations": pin.total, "first_step": pin.first_step, "last_step": pin.last_step,
                      "moving_losses": [n for n, _, _ in pin.moving],
                      "chance_kind": match[0] if match else None, "classes_from": match[2] if match else None},
            hint="reweight or resample the classes, lower the learning rate, check that the labels vary and match "
                 "the inputs, and make sure the loss receives raw logits")

    @staticmethod
    def _two_point_severity(ctx: Context, pin: Pinned, floor: float) -> Severity:
        """Two evaluations: a warning when the training loss has settled at that entropy too."""
        train = ctx.curve("train_loss")
        end = float(train.values[-1]) if train is not None and len(train) else math.nan
        if abs(end / floor - 1) <= ctx.options["loss_tolerance"] * 2:
            return min(ctx.rule_severity, Severity.WARNING)
        return Severity.INFO

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
            if s is None or len(s) < 2:
                continue
            cls = inferred_classes(s, o, known)
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
        if acc is not None and acs is None:
            return None  # an accuracy well above chance: a loss at ln C is a few confident, wrong answers
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
        return ctx.finding(message, metric=lead.metric, step=lead.first_step, evidence=evidence, severity=severity)

    @staticmethod
    def _severity(ctx: Context, signals: list[Signal], c_known: bool) -> Severity:
        kinds = [s.kind for s in signals]
        if "exact" in kinds and (c_known or len(signals) == 2):
            return ctx.rule_severity  # a loss pinned at ln C to 4 digits with C known or the accuracy agreeing
        if all(k == "late" for k in kinds):
            return ctx.rule_severity
        if len(signals) == 2:
            return min(ctx.rule_severity, Severity.WARNING)
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
