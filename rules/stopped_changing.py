"""CL109 stopped-changing."""

from __future__ import annotations

import numpy as np

from curvelint.model import Series, Severity
from curvelint.rule import Context, Option, Rule

LOSS_ROLES = ("train_loss", "val_loss")
METRIC_ROLES = ("val_metric", "train_metric")


class StoppedChanging(Rule):
    """A loss that moved early on is bit-identical for the rest of the run; or a metric collapsed to 0.

    Symptom: after changing for a while, a loss repeats the same value (to ``rel_tol``,
    about six significant digits) at its last ``min_points`` or more logged points, covering at
    least ``min_fraction`` of its points: e.g. a validation loss 0.315, 0.227, 0.2226, then
    0.2220810 at every later epoch. Or a higher-is-better metric (mAP, accuracy, F1) that was
    above 0 sits at exactly 0 for the rest of the run. A per-step training loss keeps its
    batch-to-batch noise when the weights freeze, so the evidence usually comes from the
    validation loss or an epoch-level training loss.

    Why it matters: evaluation of a model that is still learning never repeats itself to six
    digits; the weights stopped changing. Usual causes: the learning rate reached 0 (a
    scheduler stepped per batch instead of per epoch, a warm-up/decay bug, ``min_lr`` too
    small with ReduceLROnPlateau); every ReLU died (a blow-up just before, see
    diverging-loss CL104 and loss-spikes CL106: a jump up first means the run diverged,
    then saturated); NaN/inf gradients skipped at every step (AMP loss scale stuck);
    layers frozen after a warm-up phase; the optimizer no longer holds the live parameters
    (a model rebuilt or moved after the optimizer was created); evaluation reading a cached
    prediction. A metric stuck at 0 means the model predicts nothing useful any more (no
    boxes above the confidence threshold, one class only).

    Not flagged: a loss pinned at exactly 0 (a perfect fit: see validation-suspicious
    CL113) and series constant from the start (constant-metric CL101); accuracy-like
    metrics that repeat a value (a small validation set gives the same k/N every epoch).

    Fixes: log the learning rate and the gradient norm at every step and check they are not
    0 or non-finite; PyTorch: call ``scheduler.step()`` once per epoch for epoch schedules,
    assert ``any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())``
    after ``backward()``; Keras: check ``model.optimizer.learning_rate`` and
    ``ReduceLROnPlateau(min_lr=...)``; lower the learning rate and add gradient clipping
    when a spike came first.
    """

    code = "CL109"
    name = "stopped-changing"
    since = "0.1.0"
    severity = Severity.WARNING
    summary = "a loss that moved is bit-identical for the rest of the run, or a metric collapsed to 0"
    hint = ("the weights stopped changing: check the learning rate (not 0), the gradients (finite, non-zero) "
            "and that the optimizer holds the model's live parameters")
    options = {
        "min_points": Option(4, "fewest identical points at the end"),
        "min_fraction": Option(0.25, "smallest share of the series' points the identical stretch must cover"),
        "rel_tol": Option(1e-6, "largest relative spread of the stretch that counts as identical"),
        "min_change": Option(1e-3, "smallest relative spread before the stretch: the series did move"),
    }

    def check(self, ctx: Context):
        judged = False
        for role in LOSS_ROLES + METRIC_ROLES:
            s = ctx.series(role)
            if s is None:
                continue
            judged = True
            finite = _finite(s)
            found = self._loss(ctx, finite) if role in LOSS_ROLES else self._metric(ctx, finite)
            if found is not None:
                yield found
        if not judged:
            yield ctx.abstain("no loss or metric series with a role in this run")

    def _loss(self, ctx: Context, s: Series):
        o = ctx.options
        i = frozen_since(s.values, o["rel_tol"])
        if i is None or not self._long_enough(ctx, s, i):
            return None
        v, x = s.values, s.steps
        level = float(v[-1])
        if level == 0.0:
            return None  # a perfect fit, not a frozen model (CL113 judges it)
        before = v[:i]
        if np.ptp(before) < o["min_change"] * abs(level):
            return None  # constant (to the tolerance) from the start: constant-metric's case
        k = int(np.argmin(before))
        after_jump = level > 1.5 * float(before[k]) and level > 0
        story = (f"; it had reached {before[k]:.4g} at step {x[k]}: it diverged, then saturated"
                 if after_jump else "")
        return ctx.finding(
            f"{s.name} is {level:.7g} at every one of its last {len(v) - i} points (steps {x[i]}..{x[-1]}, "
            f"{_spread(v[i:], level)}) after moving from {v[0]:.4g} at step {x[0]}{story}"
            f"{_lr_note(ctx, int(x[i]))}: the model stopped changing",
            metric=s.name, step=x[i],
            evidence={"value": level, "since_step": x[i], "points": len(v) - i, "of_points": len(v),
                      "first": v[0], "first_step": x[0], "best_before": before[k], "best_before_step": x[k],
                      "diverged_first": after_jump})

    def _metric(self, ctx: Context, s: Series):
        if ctx.direction(s.name) != "max":
            return None
        v, x = s.values, s.steps
        i = frozen_since(v, 0.0)
        if i is None or v[-1] != 0.0 or not self._long_enough(ctx, s, i) or not (v[:i] > 0).any():
            return None
        k = int(np.argmax(v[:i]))
        return ctx.finding(
            f"{s.name} is exactly 0 at its last {len(v) - i} points (steps {x[i]}..{x[-1]}) after reaching "
            f"{v[k]:.4g} at step {x[k]}{_lr_note(ctx, int(x[i]))}: the model stopped producing anything useful",
            metric=s.name, step=x[i],
            evidence={"value": 0.0, "since_step": x[i], "points": len(v) - i, "of_points": len(v),
                      "best_before": v[k], "best_before_step": x[k]})

    def _long_enough(self, ctx: Context, s: Series, i: int) -> bool:
        tail = len(s) - i
        return tail >= ctx.options["min_points"] and tail >= ctx.options["min_fraction"] * len(s) and i > 0


def frozen_since(values: np.ndarray, rel_tol: float) -> int | None:
    """The first index from which every value equals the last one within `rel_tol` (relative), or None."""
    v = np.asarray(values, dtype=np.float64)
    if len(v) < 2:
        return None
    last = v[-1]
    off = np.abs(v - last) > rel_tol * abs(last)
    bad = np.flatnonzero(off)
    i = int(bad[-1]) + 1 if len(bad) else 0
    return i if i < len(v) - 1 else None


def _finite(s: Series) -> Series:
    ok = np.isfinite(s.values)
    return s if ok.all() else Series(s.name, s.steps[ok], s.values[ok])


def _spread(tail: np.ndarray, level: float) -> str:
    spread = float(np.ptp(tail))
    return "bit-identical" if spread == 0 else f"spread {spread:.2g}, {spread / abs(level):.1g} of the value"


def _lr_note(ctx: Context, since: int) -> str:
    """What the logged learning rate was over the stretch, when it is logged."""
    lr = ctx.series("lr")
    if lr is None or not len(lr):
        return ""
    tail = lr.values[lr.steps >= since]
    if not len(tail):
        return ""
    if np.all(tail == 0):
        return "; the logged learning rate is 0 over that stretch"
    return f"; the logged learning rate there is {np.min(tail):.3g}..{np.max(tail):.3g}"
