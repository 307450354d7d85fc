"""CL131 exploding-gradients."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from curvelint import stats
from curvelint.model import Series, Severity
from curvelint.rule import Context, Option, Rule

from .vanishing_gradients import layer_series


class ExplodingGradients(Rule):
    """Logged gradient norms grow by orders of magnitude, or spike.

    Symptom, any of (on the global gradient norm, else on each per-layer norm):

    * growth: the median of the last 10% is `growth_ratio` or more times the median of
      the first 10%, with a significant upward Mann-Kendall trend of the log-norm;
    * spikes: isolated points `spike_factor` or more times their local (rolling-median)
      level, with a robust z-score above `z` (the norm's own noise: its MAD in log
      space), after the first `early_fraction` of the run;
    * a final blow-up: the last finite value is `spike_factor` or more times the median
      of the points before it (typically right before the series turns NaN);
    * early blow-up (info only): within the first `early_fraction`, the norm rose from its
      first value to a peak `spike_factor` or more above the median of the rest of the
      run, after which it settled. Large gradients at the very start (random head, huge
      initial loss) that recover are common; they still suggest warmup and clipping. A
      norm that is simply largest at its first value and falls with the loss is no blow-up.

    A spike or final jump must also end above the norm's starting level (median of the
    first 10%): a memorised model's norm of 1e-13 jumping to 1e-9 is still vanishing.

    Sizes are relative to the run's own scale (local level, robust spread, median), never
    an absolute norm. What makes it an error is harm to the training loss, checked at
    each event: the loss turning NaN/inf, jumping right after a spike (one of the next 3
    loss points 1.5x or more and 4 robust standard deviations of its point-to-point noise
    above its level before), or rising for good (significant upward trend, end level 1.3x
    its best):

    * growth or a final blow-up: **error** when the loss reacts (or, for a final blow-up,
      the norm itself turns NaN for good), else a **warning**;
    * spikes: **error** when the loss turns non-finite or rises for good, a **warning**
      when it only jumps and recovers (or no training loss is logged), **info** when the
      loss never reacts: clipping or the optimizer absorbed the updates.

    NaN/inf gradient norms themselves are reported by non-finite-values (CL100); this
    rule judges the finite values (isolated overflow steps dropped, cut where the norm
    turns NaN for good).

    Usual causes: a learning rate too high (or no warmup), no gradient clipping in
    RNNs/transformers, unnormalised inputs or targets, a loss that can blow up
    (log of ~0, division), fp16 overflow, bad batches.

    Fixes: clip gradients, lower the learning rate or add warmup, normalise inputs.

    Keras::

        optimizer = keras.optimizers.Adam(learning_rate=1e-4, clipnorm=1.0)   # or global_clipnorm=1.0
        schedule = keras.optimizers.schedules.CosineDecay(0.0, steps, warmup_target=1e-3, warmup_steps=1000)

    PyTorch::

        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
        optimizer.step()
        # HF Trainer: max_grad_norm=1.0, warmup_ratio=0.03; Lightning: Trainer(gradient_clip_val=1.0)
    """

    code = "CL131"
    name = "exploding-gradients"
    since = "0.1.0"
    severity = Severity.ERROR
    summary = "logged gradient norms grow by orders of magnitude or spike"
    hint = ("clip gradients (clipnorm=1.0 / clip_grad_norm_(params, 1.0)), lower the learning rate or add "
            "warmup, and normalise inputs/targets")
    options = {
        "min_points": Option(5, "fewest gradient-norm points to judge"),
        "alpha": Option(0.05, "significance level of the Mann-Kendall trend test"),
        "growth_ratio": Option(100.0, "end/start ratio of the norm at or above which it exploded"),
        "spike_factor": Option(50.0, "a spike is at least this many times its local level"),
        "z": Option(8.0, "robust z-score a spike must exceed"),
        "early_fraction": Option(0.25, "share of the run (by steps) treated as the start"),
    }

    def check(self, ctx: Context):
        o = ctx.options
        glob = ctx.curve("grad_norm")
        cands = [glob] if glob is not None and len(glob) >= o["min_points"] else \
            [s for s in layer_series(ctx) if len(s) >= o["min_points"]]
        if not cands:
            yield ctx.abstain(f"{ctx.name_of('grad_norm')}: fewer than {o['min_points']} finite points"
                              if ctx.name_of("grad_norm") else "no gradient-norm series logged")
            return
        results = [f for f in (self._judge(ctx, s) for s in cands) if f is not None]
        if glob is None and results:  # per-layer: the worst layer says it
            results = [max(results, key=lambda f: (f.severity, f.evidence.get("factor", 0)))]
        yield from results

    def _judge(self, ctx: Context, s: Series):
        o = ctx.options
        keep = s.values > 0
        steps, v = s.steps[keep], s.values[keep]
        if len(v) < o["min_points"]:
            return None
        first, last = int(steps[0]), int(steps[-1])
        sev = ctx.rule_severity
        start, end = stats.level(v, "start", 0.1), stats.level(v, "end", 0.1)
        tr = stats.trend(steps, np.log(v)) if end / start >= o["growth_ratio"] else None  # the ratio first: cheap
        if tr is not None and tr.significant(o["alpha"], "up"):
            grew_from = int(steps[min(len(steps) - 1, int(np.argmax(v >= 10 * start)))])
            r = loss_reaction(ctx, [grew_from])
            return ctx.finding(
                f"{s.name} grew {end / start:.3g}x, from {start:.3g} to {end:.3g} (log-slope {tr.slope:.3g}/step, "
                f"Mann-Kendall p={tr.p_value:.2g} over steps {first}..{last}){r.clause}",
                metric=s.name, step=last, severity=sev if r.harmful else _lower(sev),
                evidence={"kind": "growth", "start": start, "end": end, "factor": end / start,
                          "p_value": tr.p_value, "log_slope": tr.slope, "window": [first, last], **r.evidence})
        jump = stats.terminal_jump(v)
        if jump >= o["spike_factor"] and v[-1] > start:  # below where it started: a converged model's tiny norm
            before = float(v[-2])
            r = loss_reaction(ctx, [last])
            broke = r.harmful or ctx.non_finite_from(s.name) is not None
            return ctx.finding(
                f"{s.name} jumped to {v[-1]:.3g} at step {last}, its last finite value, {jump:.3g}x the median of the "
                f"points before it (previous value {before:.3g}): the gradients blew up as the run ended{r.clause}",
                metric=s.name, step=last, severity=sev if broke else _lower(sev),
                evidence={"kind": "terminal", "value": float(v[-1]), "factor": jump, "previous": before,
                          "step": last, "finite_points": int(len(s)), "logged_points":
                          int(len(ctx.run.series[s.name])) if s.name in ctx.run.series else int(len(s)),
                          **r.evidence})
        early_end = first + o["early_fraction"] * (last - first)
        sp = [p for p in stats.spikes(steps, v, z=o["z"], min_jump=o["spike_factor"] - 1)
              if p.step > early_end and p.value > start]
        if sp:
            top = sorted(sp, key=lambda p: -p.jump)[:3]
            listed = ", ".join(f"{p.value:.3g} at step {p.step} ({p.jump:.3g}x its level {p.baseline:.3g})"
                               for p in top)
            r = loss_reaction(ctx, [p.step for p in sp])
            severity = sev if r.harmful else Severity.INFO if r.reacted is False else _lower(sev)
            return ctx.finding(
                f"{s.name} spiked {len(sp)} time(s) to {o['spike_factor']:.0f}x or more its local level "
                f"(median {stats.median(v):.3g} over the run): {listed}{r.clause}",
                metric=s.name, step=top[0].step, severity=severity,
                hint=None if r.reacted is not False else (
                    "nothing urgent: the updates were absorbed (gradient clipping, or a robust optimizer); keep "
                    "clipping on, and check the batches at those steps if the spikes grow"),
                evidence={"kind": "spikes", "count": len(sp), "factor": top[0].jump, "median": stats.median(v),
                          "spikes": [{"step": p.step, "value": p.value, "baseline": p.baseline, "jump": p.jump,
                                      "z": p.z} for p in top], **r.evidence})
        early = steps <= early_end
        rest = v[~early]
        if early.any() and len(rest) >= 3:
            i = int(np.argmax(np.where(early, v, -np.inf)))
            base = float(np.median(rest))
            if i > 0 and v[i] > v[0] and v[i] / base >= o["spike_factor"]:  # it rose to a peak, then settled
                return ctx.finding(
                    f"{s.name} blew up early: from {v[0]:.3g} at step {first} to {v[i]:.3g} at step {int(steps[i])}, "
                    f"{v[i] / base:.3g}x the median {base:.3g} of the rest of the run (steps "
                    f"{int(steps[~early][0])}..{last}), then settled",
                    metric=s.name, step=int(steps[i]), severity=Severity.INFO,
                    evidence={"kind": "early", "peak": float(v[i]), "peak_step": int(steps[i]), "baseline": base,
                              "factor": float(v[i] / base), "early_until": early_end},
                    hint="add LR warmup and gradient clipping (max_grad_norm=1.0 / clipnorm=1.0) to tame the start")
        return None


def _lower(severity: Severity) -> Severity:
    return Severity(max(Severity.INFO, severity - 1))


@dataclass(frozen=True)
class Reaction:
    """What the training loss did around gradient-norm events: `reacted` is None when there is no
    training loss to tell; `harmful` when it turned non-finite or rose for good (not only spiked)."""

    reacted: bool | None
    harmful: bool
    clause: str  # "; the loss ...", quoting logged values
    evidence: dict[str, Any]


NO_LOSS = Reaction(None, False, "; no training loss is logged to tell whether the updates did harm",
                   {"loss_reaction": "unknown"})


def loss_reaction(ctx: Context, events: list[int], after: int = 3) -> Reaction:
    """Did the training loss react to gradient-norm events at `events` (steps)?

    It did when it turned non-finite at or after the first event, when one of the `after`
    loss points logged at or after an event jumps above the loss's level before it (median of
    up to 10 points) by more than 4 robust standard deviations of its point-to-point noise and
    at least 1.5x, or when it rose for good (`_rise`). Ratios are taken on the log loss
    when it is positive, else on the values against their 5-95% range.
    """
    raw = ctx.series("train_loss")
    if raw is None:
        return NO_LOSS
    name = raw.name
    turn = ctx.non_finite_from("train_loss")
    if turn is not None and turn >= events[0]:
        return Reaction(True, True, f"; {name} turned non-finite at step {turn}",
                        {"loss_reaction": "non-finite", "loss_non_finite_step": turn})
    bad = raw.steps[~np.isfinite(raw.values)]
    hit = [int(b) for b in bad if any(e <= b for e in events) and _within(raw.steps, events, int(b), after)]
    if hit:
        return Reaction(True, False, f"; {name} was non-finite at step {hit[0]} right after it",
                        {"loss_reaction": "non-finite", "loss_non_finite_step": hit[0]})
    loss = ctx.curve("train_loss")
    if loss is None or len(loss) < 4:
        return NO_LOSS
    rise = _rise(loss)
    if rise is not None:
        return Reaction(True, True, rise[0], {"loss_reaction": "rise", **rise[1]})
    jumps = [j for j in (_jump(loss, e, after) for e in events) if j is not None]
    if jumps:
        step, value, level, factor = max(jumps, key=lambda j: j[3])
        return Reaction(True, False, f"; {name} jumped with it: {value:.4g} at step {step}, {factor:.3g}x its "
                        f"level {level:.4g} before", {"loss_reaction": "spike", "loss_jump_step": step,
                                                      "loss_jump_value": value, "loss_jump_factor": factor})
    lo, hi = int(np.searchsorted(loss.steps, events[0])), len(loss) - 1
    span = f"{loss.values[max(lo - 1, 0)]:.4g} at step {loss.steps[max(lo - 1, 0)]} -> {loss.values[hi]:.4g} " \
           f"at step {loss.steps[hi]}"
    return Reaction(False, False, f"; {name} never reacted ({span}, no jump after any of them): the updates were "
                    "absorbed", {"loss_reaction": "none"})


def _within(steps: np.ndarray, events: list[int], step: int, after: int) -> bool:
    """`step` is among the first `after` loss steps at or after some event."""
    for e in events:
        i = int(np.searchsorted(steps, e))
        if step in steps[i:i + after]:
            return True
    return False


def _noise(y: np.ndarray) -> float:
    """Robust standard deviation of point-to-point changes (MAD of first differences / sqrt 2)."""
    return stats.mad(np.diff(y)) / np.sqrt(2.0) if len(y) > 2 else 0.0


def _jump(loss: Series, event: int, after: int) -> tuple[int, float, float, float] | None:
    """(step, value, level before, factor) of a loss jump right after `event`, or None."""
    i = int(np.searchsorted(loss.steps, event))
    window = loss.values[i:i + after]
    if not len(window):
        return None
    before = loss.values[max(0, i - 10):i]
    if len(before) < 2:
        before = loss.values[i + after:i + after + 10]
        if len(before) < 2:
            return None
    k = i + int(np.argmax(window))
    level = stats.median(before)
    y, logged = stats.to_log(loss.values)
    if logged:
        factor = float(loss.values[k] / level)
        big = np.log(factor) >= max(np.log(1.5), 4 * _noise(y))
    else:
        p5, p95 = stats.percentiles(loss.values, 5, 95)
        factor = float(loss.values[k] / level) if level > 0 else float("inf")
        big = loss.values[k] - level >= max(4 * _noise(y), 0.5 * (p95 - p5))
    return (int(loss.steps[k]), float(loss.values[k]), level, factor) if big else None


def _rise(loss: Series) -> tuple[str, dict[str, Any]] | None:
    """The loss rose for good: from its best level (rolling median over ~5% of the points) to
    the end, a significant upward trend and an end level 1.3x or more above that best."""
    sm = stats.smooth(loss.values, max(5, stats.auto_window(len(loss), 0.05)))
    i = int(np.argmin(sm))
    tail = loss.slice(i)
    if len(tail) < 4 or sm[i] <= 0:
        return None
    best, end = float(sm[i]), stats.level(tail.values, "end", 0.1)
    if end / best < 1.3:
        return None  # (checked before the trend test: it costs more)
    tr = stats.trend(tail.steps, tail.values)
    if not tr.significant(0.05, "up"):
        return None
    return (f"; {loss.name} rose from its best level {best:.4g} at step {int(loss.steps[i])} to {end:.4g} at the "
            f"end (Mann-Kendall p={tr.p_value:.2g})",
            {"loss_best": best, "loss_best_step": int(loss.steps[i]), "loss_end": end, "loss_p_value": tr.p_value})
