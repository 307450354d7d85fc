"""A rule context made without a severity (``Context(run, roles, rule, options)``, the plugin API's
default `severity=None`) judges as one made by `Context.for_rule`: the rule's own severity.

Found by mypy: constant-metric (CL101) and chance-level (CL103) lowered `ctx.severity` with
``min(ctx.severity, Severity.WARNING)``, a TypeError (an internal-error abstention) when it was None.
"""

from __future__ import annotations

import math

import numpy as np

import curves as C
from curvelint.model import Abstention, Run, Series, Severity
from curvelint.roles import assign_roles
from curvelint.rule import Context, Rule, resolve_options, run_rule
from curvelint_rules.chance_level import ChanceLevel
from curvelint_rules.constant_metric import ConstantMetric


def epochs(name: str, values) -> Series:
    v = np.asarray(values, float)
    return Series(name, np.arange(len(v)), v)


def both(rule: type[Rule], run: Run) -> tuple[list, list]:
    """The results without a severity in the context, and with the rule's through `for_rule`."""
    roles = assign_roles(list(run.series))
    bare = Context(run, roles, rule, resolve_options(rule))
    assert bare.severity is None
    return list(run_rule(rule(), bare)), list(run_rule(rule(), Context(run, roles).for_rule(rule)))


def test_constant_metric_at_its_worst_while_others_move():
    steps = np.arange(1, 11)
    run = C.run_of(Series("eval_f1_PER", steps, np.zeros(10)), Series("eval_f1_LOC", steps, np.zeros(10)),
                   Series("train_loss", steps, np.linspace(2, 1, 10)))
    bare, full = both(ConstantMetric, run)
    assert bare == full and not any(isinstance(r, Abstention) and r.internal for r in bare)
    (f,) = bare
    assert f.severity == Severity.WARNING and "worst value" in f.message


def test_chance_level_pinned_accuracy_and_short_run_at_chance():
    rng = np.random.default_rng(0)
    share = 0.7
    loss = epochs("loss", 0.4 + 0.35 * np.exp(-np.arange(20) / 5) * np.exp(rng.normal(0, 0.01, 20)))
    pinned = C.run_of(loss, epochs("val_loss", loss.values * 1.02), epochs("val_accuracy", np.full(20, share)))
    short = C.run_of(epochs("loss", [math.log(7), 0.9 * math.log(7), 0.8 * math.log(7)]),
                     epochs("val_loss", math.log(7) * 0.975 * np.exp(rng.normal(0, 0.004, 3))),
                     epochs("val_accuracy", np.clip(0.55 / 7 + rng.normal(0, 0.003, 3), 0, 1)))
    for run in (pinned, short):
        bare, full = both(ChanceLevel, run)
        assert bare == full and not any(isinstance(r, Abstention) and r.internal for r in bare)
        assert any(getattr(r, "severity", None) == Severity.WARNING for r in bare)
