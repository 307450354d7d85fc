"""CL120 plateau-without-lr-decay."""

from __future__ import annotations

from curvelint import stats
from curvelint.model import Severity
from curvelint.rule import Context, Option, Rule

from ._stall import STALL_OPTIONS, long_stall
from ._validation import constant_lr, fmt


class PlateauWithoutLrDecay(Rule):
    """Validation plateaus for many epochs while the logged learning rate stays constant.

    Symptom: the (smoothed) validation loss or metric has not improved by more than
    `min_delta` (relative) or `noise_k` noise scales for at least `patience`
    evaluations and `min_fraction` of the run (the same stall as CL111), and the
    learning-rate series logged over that stretch is constant. A smaller
    step size often lets the optimiser settle into the basin it is bouncing around
    in; a schedule would have tried that.

    Not flagged: runs without a logged learning rate (early-stopping-missed, CL111,
    covers their wasted epochs); plateaus during which the rate was decayed (the
    schedule did its job); validation that rises (overfitting, CL110: a lower rate
    does not fix that).

    Fixes: decay the learning rate on plateau, or use a schedule.

    Keras::

        keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.2, patience=3, min_lr=1e-6)
        # or: keras.optimizers.schedules.CosineDecay(1e-3, decay_steps=total_steps)

    PyTorch::

        sched = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode="min", factor=0.2, patience=3)
        ...
        sched.step(val_loss)          # once per epoch, after validation
        # or CosineAnnealingLR(optimizer, T_max=epochs) / OneCycleLR(...)

    HF Trainer: ``lr_scheduler_type="cosine"`` (or ``"reduce_lr_on_plateau"``).
    """

    code = "CL120"
    name = "plateau-without-lr-decay"
    since = "0.1.0"
    severity = Severity.INFO
    defers_to = ("CL102", "CL103", "CL104", "CL105", "CL106", "CL107", "CL109")
    summary = "validation plateaus for many epochs while the logged learning rate stays constant"
    hint = ("decay the learning rate on plateau: keras.callbacks.ReduceLROnPlateau(factor=0.2, patience=3) / "
            "torch.optim.lr_scheduler.ReduceLROnPlateau, or a cosine schedule; then stop early")
    options = {
        **STALL_OPTIONS,
        "min_fraction": Option(0.25, "smallest share of the run's steps spent on the plateau"),
    }

    def check(self, ctx: Context):
        o = ctx.options
        s = long_stall(ctx, o, o["min_fraction"], need_lr=True)
        if s.plateau is None:
            if s.reason:
                yield ctx.abstain(s.reason, s.metric)
            return
        p = s.plateau
        val = p.curve
        st = p.stall
        last = int(val.steps[-1])
        lr, why = constant_lr(ctx, st.step, last, o["lr_tolerance"])
        if lr is None:
            yield ctx.abstain(why, val.name)
            return
        lr_name = ctx.name_of("lr")
        end = val.real(p.end)
        yield ctx.finding(
            f"{val.name} has not improved by more than {fmt(p.margin)} ({o['min_delta']:.1%} or {o['noise_k']:g}x the "
            f"noise) for {st.since} evaluations "
            f"(steps {st.step}..{last}, {st.fraction:.0%} of the run, from level {fmt(val.real(st.value))}; best "
            f"{fmt(val.real(p.best.value))} at step {p.best.step}, last {fmt(float(val.values[-1]))} at step {last}, "
            f"end level {fmt(end)}) while {lr_name} stayed at {lr:.3g}",
            metric=val.name, step=st.step,
            evidence={"plateau_start": st.step, "plateau_end": last, "evaluations": st.since,
                      "fraction": st.fraction, "best_step": p.best.step, "best_value": val.real(p.best.value),
                      "end_value": end, "lr_metric": lr_name, "lr": lr, "min_delta": o["min_delta"], "margin": p.margin,
                      "relative_to_best": stats.rel_change(p.best.value, p.end, p.best.value)})
