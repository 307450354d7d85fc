"""CL101 constant-metric."""

from __future__ import annotations

import numpy as np

from curvelint.model import Severity
from curvelint.rule import Context, Option, Rule


class ConstantMetric(Rule):
    """A loss or metric has exactly the same value at every logged point.

    Symptom: e.g. a validation loss identical to the last digit every epoch, or a
    training loss that never changes.

    Why it matters: real training never produces bit-identical values; the model is
    not being updated (frozen weights, ``requires_grad=False``, learning rate 0, an
    optimizer built before the model was replaced) or the evaluation is not looking
    at the model (a cached prediction, the wrong model object, a metric computed on
    a constant).

    Not flagged: learning-rate and other hyperparameter series; a metric pinned at
    its optimum (accuracy 1.0, a loss of exactly 0, e.g. a class loss on a one-class
    dataset) while other series move.

    Fixes: check that the optimizer holds the model's parameters
    (PyTorch ``optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)`` after the
    model is final; ``any(p.requires_grad for p in model.parameters())``; Keras
    ``model.trainable = True`` before ``compile``), that ``optimizer.step()`` is
    called, and that validation runs on the current model.
    """

    code = "CL101"
    name = "constant-metric"
    severity = Severity.ERROR
    summary = "a loss or metric is exactly constant: the model or the evaluation is not updating"
    hint = "check that the optimizer updates the model's parameters and that evaluation uses the current model"
    options = {"min_points": Option(3, "fewest points for a series to be judged")}

    def check(self, ctx: Context):
        moving: list[str] | None = None  # series that do change (only needed for a value at its optimum)
        for name, s in sorted(ctx.run.series.items()):
            role = ctx.roles.role_of(name)
            direction = ctx.direction(name)
            if role in ("lr",) or (role is None and direction is None):
                continue  # hyperparameters and unknown series may well be constant
            values = s.values[np.isfinite(s.values)]
            if len(values) < ctx.options["min_points"] or not np.all(values == values[0]):
                continue
            value = float(values[0])
            if _at_optimum(value, direction):
                if moving is None:
                    moving = [n for n, s in ctx.run.series.items() if len(s) > 1 and _spread(s.values) > 0]
                if any(m != name for m in moving):
                    continue
            yield ctx.finding(
                f"exactly {value:.6g} at all {len(values)} points (steps {s.steps[0]}..{s.steps[-1]})",
                metric=name, step=s.steps[0],
                evidence={"value": value, "points": len(values), "first_step": s.steps[0], "last_step": s.steps[-1]})


def _spread(values: np.ndarray) -> float:
    finite = values[np.isfinite(values)]
    return float(finite.max() - finite.min()) if len(finite) else 0.0


def _at_optimum(value: float, direction: str | None) -> bool:
    return (direction == "min" and value == 0.0) or (direction == "max" and value in (1.0, 100.0))
