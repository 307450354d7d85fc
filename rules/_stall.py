"""The precondition shared by CL111 early-stopping-missed and CL120 plateau-without-lr-decay.

Not a rule: both report a validation curve that stopped improving long before the end;
both step aside when another rule tells a stronger story (overfitting, a training loss
that never learned or diverged, an accuracy at chance level) or when the curve never improved
at all (CL112).
"""

from __future__ import annotations

from dataclasses import dataclass

from curvelint.rule import Context, Option

from ._loss import claimed
from ._validation import Plateau, plateau, validation_pair
from .overfitting import overfit_verdict

STALL_OPTIONS = {  # the options both rules share (long_stall, constant_lr); each adds its own share of the run
    "min_points": Option(6, "fewest validation points to judge"),
    "patience": Option(10, "fewest evaluations without improvement to report (above the usual EarlyStopping "
                            "patience, so early-stopped runs stay quiet)"),
    "min_delta": Option(0.005, "an improvement must beat the best so far by this fraction of it"),
    "noise_k": Option(2.0, "... and by this many noise scales (robust first-difference noise)"),
    "alpha": Option(0.05, "a significant Mann-Kendall fall after the stall, larger than the margin, "
                          "means still improving"),
    "lr_tolerance": Option(0.01, "a learning rate varying by less than this (relative) counts as constant"),
}


@dataclass(frozen=True)
class Stalled:
    """A validation curve's plateau (`plateau.curve`), or why there is nothing to judge (`reason`;
    empty when the data is fine but the stall is too short or still creeping down)."""

    plateau: Plateau | None = None
    reason: str = ""
    metric: str | None = None


def long_stall(ctx: Context, o: dict, min_fraction: float, need_lr: bool = False) -> Stalled:
    """The validation plateau if it lasts `o["patience"]` evaluations and `min_fraction` of
    the run with no significant creep down (options: min_points, min_delta, noise_k, alpha)."""
    val, _, reason = validation_pair(ctx, o["min_points"])
    if val is None:
        return Stalled(reason=reason)
    if need_lr and ctx.name_of("lr") is None:
        return Stalled(reason="no learning-rate series logged", metric=val.name)
    if overfit_verdict(ctx).kind:
        return Stalled(reason=f"{val.name}: reported by CL110 overfitting", metric=val.name)
    names = (ctx.name_of("train_loss"), val.name, ctx.name_of("val_metric"), ctx.name_of("train_metric"))
    code = next((c for n in names if n and (c := claimed(ctx, n))), None)
    if code:  # not learning / diverging / at chance level is the story, not wasted epochs
        return Stalled(reason=f"training reported by {code}", metric=val.name)
    p = plateau(ctx, val, o["min_delta"], o["noise_k"])
    st = p.stall
    if st.index == 0:
        return Stalled(reason=f"{val.name}: never improved on its first value (see CL112)", metric=val.name)
    if st.since < o["patience"] or st.fraction < min_fraction or p.creeping(o["alpha"]):
        return Stalled()  # short stall, or still creeping down
    return Stalled(p)
