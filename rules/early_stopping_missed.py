"""CL111 early-stopping-missed."""

from __future__ import annotations

from curvelint import stats
from curvelint.model import Severity
from curvelint.rule import Context, Option, Rule

from ._stall import STALL_OPTIONS, long_stall
from ._validation import constant_lr, fmt


class EarlyStoppingMissed(Rule):
    """The best validation epoch is far before the end of the run: the rest was wasted.

    Symptom: from some evaluation on, no later one beats the (smoothed) validation
    loss or metric by more than `min_delta` (relative) or `noise_k` noise scales, and
    that stretch lasts at least `patience` evaluations and `min_wasted_fraction` of
    the run's steps, with no downward creep either: neither a significant fall worth the
    margin nor a fall by more than one noise scale (both the fitted change over the
    stretch and its last 3 evaluations below the level where it began). The final weights are
    no better, often slightly worse, than the ones at the best step. The defaults sit
    above the usual EarlyStopping patience, so runs that did stop early stay quiet.

    Complementary rules: when the validation curve clearly *rises* after its best
    (or the generalisation gap widens), overfitting (CL110) reports it instead; when
    the plateau happens at a constant logged learning rate, plateau-without-lr-decay
    (CL120) reports it. This rule is the info-level "wasted epochs" note otherwise.

    Fixes: stop when validation stops improving and keep the best weights.

    Keras::

        keras.callbacks.EarlyStopping(monitor="val_loss", patience=5, min_delta=1e-4,
                                      restore_best_weights=True)

    PyTorch (plain loop)::

        if val_loss < best - 1e-4:
            best, bad = val_loss, 0
            torch.save(model.state_dict(), "best.pt")
        elif (bad := bad + 1) > patience:
            model.load_state_dict(torch.load("best.pt")); break

    Lightning: ``EarlyStopping(monitor="val_loss", patience=5)`` with
    ``ModelCheckpoint(monitor="val_loss", save_top_k=1)``; HF Trainer:
    ``EarlyStoppingCallback(early_stopping_patience=3)`` with ``load_best_model_at_end=True``.
    """

    code = "CL111"
    name = "early-stopping-missed"
    since = "0.1.0"
    severity = Severity.INFO
    defers_to = ("CL102", "CL103", "CL104", "CL105", "CL106", "CL107", "CL109")
    summary = "the best validation epoch is far before the end: the epochs after it were wasted"
    hint = ("use EarlyStopping(monitor='val_loss', patience=5, restore_best_weights=True) "
            "(HF: EarlyStoppingCallback + load_best_model_at_end=True) and keep the best checkpoint")
    options = {
        **STALL_OPTIONS,
        "min_wasted_fraction": Option(0.25, "smallest share of the run's steps after the last improvement"),
    }

    def check(self, ctx: Context):
        o = ctx.options
        s = long_stall(ctx, o, o["min_wasted_fraction"])
        if s.plateau is None:
            if s.reason:
                yield ctx.abstain(s.reason, s.metric)
            return
        p = s.plateau
        val = p.curve
        st = p.stall
        lr, _ = constant_lr(ctx, st.step, float(val.steps[-1]), o["lr_tolerance"])
        if lr is not None:
            yield ctx.abstain(f"{val.name}: plateau at a constant learning rate, reported by CL120", val.name)
            return
        best, end = val.real(p.best.value), val.real(p.end)
        worse = stats.rel_change(p.best.value, p.end, p.best.value)
        wasted = int(val.steps[-1] - st.step)
        last = len(val.values) - 1
        yield ctx.finding(
            f"{val.name} stopped improving at step {st.step} (level {fmt(val.real(st.value))}): none of the "
            f"{st.since} evaluations after it ({wasted} steps, {st.fraction:.0%} of the run, up to step "
            f"{int(val.steps[-1])}) beat it by more than {fmt(p.margin)} ({o['min_delta']:.1%} or {o['noise_k']:g}x "
            f"the noise), nor does the curve still fall by more than its noise; best {fmt(best)} at step "
            f"{p.best.step}, last {fmt(float(val.values[last]))} at step {int(val.steps[last])} (end level "
            f"{fmt(end)}, {worse:+.1%} vs the best)",
            metric=val.name, step=st.step,
            evidence={"last_improvement_step": st.step, "evaluations_since": st.since,
                      "wasted_steps": wasted, "wasted_fraction": st.fraction, "best_step": p.best.step,
                      "best_value": best, "end_value": end, "relative_to_best": worse,
                      "min_delta": o["min_delta"], "margin": p.margin, "last_step": int(val.steps[-1])})
