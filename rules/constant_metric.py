"""CL101 constant-metric."""

from __future__ import annotations

import numpy as np

from curvelint.model import Severity
from curvelint.rule import Context, Option, Rule

from ._chance import pinned_accuracy


class ConstantMetric(Rule):
    """A loss or metric has exactly the same value at every logged point.

    Symptom: e.g. a validation loss identical to the last digit every epoch, or a
    training loss that never changes.

    Why it matters: real training never produces bit-identical values; the model is
    not being updated (frozen weights, ``requires_grad=False``, learning rate 0, an
    optimizer built before the model was replaced, every ReLU of a layer dead so the
    output is a constant bias) or the evaluation is not looking
    at the model (a cached prediction, the wrong model object, a metric computed on
    a constant).

    Many series stuck at the same value over the same steps (40 per-entity
    ``eval_f1_PER``, ``eval_f1_LOC``, ... all exactly 0) are one finding that counts
    them and names the first few. Per-class or per-entity metrics stuck at their worst
    value (0) while other series move are a warning: those classes are never
    predicted correctly (rare classes collapsed into a frequent one, or absent from the
    evaluation data), not a frozen model.

    Not flagged: learning-rate and other hyperparameter series; a metric pinned at
    its optimum (accuracy 1.0, a loss of exactly 0, e.g. a class loss on a one-class
    dataset) while other series move; an accuracy pinned at one value between 0 and
    1 while the loss moves: the model is updated but always predicts one class, which
    chance-level (CL103) reports (this rule defers to it on such series, whether or
    not CL103 is selected); a loss held at the framework's clip value (every answer
    saturated), which saturated-outputs (CL115) reports.

    Fixes: check that the optimizer holds the model's parameters
    (PyTorch ``optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)`` after the
    model is final; ``any(p.requires_grad for p in model.parameters())``; Keras
    ``model.trainable = True`` before ``compile``), that ``optimizer.step()`` is
    called, and that validation runs on the current model.
    """

    code = "CL101"
    name = "constant-metric"
    since = "0.1.0"
    severity = Severity.ERROR
    defers_to = ("CL115",)
    summary = "a loss or metric is exactly constant: the model or the evaluation is not updating"
    hint = "check that the optimizer updates the model's parameters and that evaluation uses the current model"
    options = {
        "min_points": Option(3, "fewest points for a series to be judged"),
        "max_names": Option(5, "series named in a finding that groups several stuck at the same value"),
    }

    def check(self, ctx: Context):
        moving: list[str] | None = None  # series that do change (only needed for a value at its optimum)
        groups: dict[tuple[float, int, int, int], list[str]] = {}
        for name, s in sorted(ctx.run.series.items()):
            role = ctx.roles.role_of(name)
            direction = ctx.direction(name)
            if role in ("lr",) or (role is None and direction is None):
                continue  # hyperparameters and unknown series may well be constant
            finite = np.isfinite(s.values)
            values = s.values[finite]
            if len(values) < ctx.options["min_points"] or not np.all(values == values[0]):
                continue
            if ctx.reported(None, name) or (role in _LOSS_OF and ctx.reported(None, ctx.name_of(_LOSS_OF[role]) or "")):
                continue  # held at the clip value (or that loss's accuracy): saturated-outputs (CL115) names the cause
            value = float(values[0])
            if _at_optimum(value, direction) or pinned_accuracy(ctx, name, ctx.options["min_points"]):
                if moving is None:
                    moving = [n for n, s in ctx.run.series.items() if len(s) > 1 and _spread(s.values) > 0]
                if any(m != name for m in moving):
                    continue  # at its optimum, or a one-class predictor (CL103), while the model trains
            steps = s.steps[finite]
            groups.setdefault((value, len(values), int(steps[0]), int(steps[-1])), []).append(name)
        for (value, points, first, last), names in groups.items():
            yield self._finding(ctx, names, value, points, first, last)

    @staticmethod
    def _finding(ctx: Context, names: list[str], value: float, points: int, first: int, last: int):
        evidence = {"value": value, "points": points, "first_step": first, "last_step": last}
        if len(names) == 1:
            return ctx.finding(f"exactly {value:.6g} at all {points} points (steps {first}..{last})",
                               metric=names[0], step=first, evidence=evidence)
        k = int(ctx.options["max_names"])
        listed = ", ".join(names[:k]) + (f", ... ({len(names) - k} more)" if len(names) > k else "")
        worst = value == 0.0 and all(ctx.direction(n) == "max" for n in names)
        others_move = any(n not in names and len(s) > 1 and _spread(s.values) > 0 for n, s in ctx.run.series.items())
        message = f"{len(names)} series are exactly {value:.6g} at all {points} points (steps {first}..{last}): {listed}"
        if worst and others_move:
            message += (": these metrics sit at their worst value while other series move, so those classes or "
                        "entities are never predicted correctly (collapsed into frequent ones, or absent from the "
                        "evaluation data)")
            return ctx.finding(message, metric=names[0], step=first, severity=min(ctx.rule_severity, Severity.WARNING),
                               evidence={**evidence, "series": names, "count": len(names)},
                               hint="check that every class occurs in the training and evaluation data, reweight "
                                    "rare classes, and look at the per-class confusion matrix")
        return ctx.finding(message, metric=names[0], step=first, evidence={**evidence, "series": names,
                                                                          "count": len(names)})


_LOSS_OF = {"train_metric": "train_loss", "val_metric": "val_loss"}


def _spread(values: np.ndarray) -> float:
    finite = values[np.isfinite(values)]
    return float(finite.max() - finite.min()) if len(finite) else 0.0


def _at_optimum(value: float, direction: str | None) -> bool:
    return (direction == "min" and value == 0.0) or (direction == "max" and value in (1.0, 100.0))
