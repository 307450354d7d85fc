"""CL131 exploding-gradients."""

from __future__ import annotations

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
      level, with a robust z-score above `z`, after the first `early_fraction` of the run;
    * a final blow-up: the last finite value is `spike_factor` or more times the median
      of the points before it (typically right before the series turns NaN);
    * early blow-up (info only): a peak `spike_factor` or more above the level of the
      rest of the run within its first `early_fraction`, after which the norm settled.
      Large gradients at the very start (random head, huge initial loss) that recover
      are common; they still suggest warmup and clipping.

    NaN/inf gradient norms themselves are reported by non-finite-values (CL100); this
    rule judges the finite part before them.

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
        start, end = stats.level(v, "start", 0.1), stats.level(v, "end", 0.1)
        tr = stats.trend(steps, np.log(v))
        if end / start >= o["growth_ratio"] and tr.significant(o["alpha"], "up"):
            return ctx.finding(
                f"{s.name} grew {end / start:.3g}x, from {start:.3g} to {end:.3g} (log-slope {tr.slope:.3g}/step, "
                f"Mann-Kendall p={tr.p_value:.2g} over steps {first}..{last})",
                metric=s.name, step=last,
                evidence={"kind": "growth", "start": start, "end": end, "factor": end / start,
                          "p_value": tr.p_value, "log_slope": tr.slope, "window": [first, last]})
        jump = stats.terminal_jump(v)
        if jump >= o["spike_factor"]:
            before = float(v[-2])
            return ctx.finding(
                f"{s.name} jumped to {v[-1]:.3g} at step {last}, its last finite value, {jump:.3g}x the median of the "
                f"points before it (previous value {before:.3g}): the gradients blew up as the run ended",
                metric=s.name, step=last,
                evidence={"kind": "terminal", "value": float(v[-1]), "factor": jump, "previous": before,
                          "step": last, "finite_points": int(len(s)), "logged_points":
                          int(len(ctx.run.series[s.name])) if s.name in ctx.run.series else int(len(s))})
        early_end = first + o["early_fraction"] * (last - first)
        sp = [p for p in stats.spikes(steps, v, z=o["z"], min_jump=o["spike_factor"] - 1) if p.step > early_end]
        if sp:
            top = sorted(sp, key=lambda p: -p.jump)[:3]
            listed = ", ".join(f"{p.value:.3g} at step {p.step} ({p.jump:.3g}x its level {p.baseline:.3g})"
                               for p in top)
            return ctx.finding(
                f"{s.name} spiked {len(sp)} time(s) to {o['spike_factor']:.0f}x or more its local level: {listed}",
                metric=s.name, step=top[0].step,
                evidence={"kind": "spikes", "count": len(sp), "factor": top[0].jump,
                          "spikes": [{"step": p.step, "value": p.value, "baseline": p.baseline, "jump": p.jump,
                                      "z": p.z} for p in top]})
        early = steps <= early_end
        rest = v[~early]
        if early.any() and len(rest) >= 3:
            i = int(np.argmax(np.where(early, v, -np.inf)))
            base = float(np.median(rest))
            if v[i] / base >= o["spike_factor"]:
                return ctx.finding(
                    f"{s.name} blew up early: {v[i]:.3g} at step {int(steps[i])}, {v[i] / base:.3g}x the median "
                    f"{base:.3g} of the rest of the run (steps {int(steps[~early][0])}..{last}), then settled",
                    metric=s.name, step=int(steps[i]), severity=Severity.INFO,
                    evidence={"kind": "early", "peak": float(v[i]), "peak_step": int(steps[i]), "baseline": base,
                              "factor": float(v[i] / base), "early_until": early_end},
                    hint="add LR warmup and gradient clipping (max_grad_norm=1.0 / clipnorm=1.0) to tame the start")
        return None
