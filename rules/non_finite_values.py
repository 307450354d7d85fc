"""CL100 non-finite-values."""

from __future__ import annotations

import numpy as np

from curvelint.model import Severity
from curvelint.rule import Context, Rule


class NonFiniteValues(Rule):
    """A series contains NaN or infinite values.

    Symptom: the loss (or a metric) becomes ``nan``/``inf`` at some step and usually
    stays there; every later value is garbage, so the other curve rules only look at
    the finite part before it.

    Usual causes: learning rate too high, exploding gradients, ``log(0)`` or division
    by zero in a custom loss or metric, mixed-precision overflow, bad input values
    (NaN in the data).

    Fixes: lower the learning rate; clip gradients
    (Keras ``optimizer = keras.optimizers.Adam(1e-3, clipnorm=1.0)``; PyTorch
    ``torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)`` before ``optimizer.step()``);
    add an epsilon to logs and divisions; check the inputs with ``np.isfinite(x).all()``;
    in Keras, ``keras.callbacks.TerminateOnNaN()`` stops a run at the first NaN.
    A metric that is NaN from its first value while the loss is fine is usually a
    bug in the metric itself (reported one severity lower).
    """

    code = "CL100"
    name = "non-finite-values"
    severity = Severity.ERROR
    summary = "NaN or infinite values in a series"
    hint = "lower the learning rate, clip gradients, and check the loss/metric code and inputs for log(0) or NaN"

    def check(self, ctx: Context):
        for name, s in sorted(ctx.run.series.items()):
            bad = ~np.isfinite(s.values)
            if not bad.any():
                continue
            first = int(np.argmax(bad))
            n_bad = int(bad.sum())
            kinds = sorted({"nan" if np.isnan(v) else ("+inf" if v > 0 else "-inf") for v in s.values[bad][:1000]})
            evidence = {"first_step": s.steps[first], "non_finite": n_bad, "points": len(s), "kinds": kinds}
            if first > 0:
                evidence.update(last_finite_step=s.steps[first - 1], last_finite_value=s.values[first - 1])
                seen = f"last finite value {s.values[first - 1]:.4g} at step {s.steps[first - 1]}"
            else:
                seen = "from its first value"
            role = ctx.roles.role_of(name)
            severity = None
            if role is None and first == 0:
                severity = _lower(ctx.severity)  # an always-NaN auxiliary metric is a metric bug
            yield ctx.finding(
                f"{'/'.join(kinds)} at step {s.steps[first]} ({n_bad} of {len(s)} values non-finite; {seen})",
                metric=name, step=s.steps[first], evidence=evidence, severity=severity)


def _lower(severity: Severity | None) -> Severity:
    return Severity(max(Severity.INFO, (severity or Severity.ERROR) - 1))
