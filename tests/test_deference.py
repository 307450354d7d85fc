"""Rule interplay is declared (`Rule.defers_to`) and applied by the engine, never implicit."""

from __future__ import annotations

import os

import pytest

from curvelint.config import Config
from curvelint.engine import Selected, check_run, lint, plan, select_rules
from curvelint.model import Severity
from curvelint.readers import read as read_source
from curvelint.registry import load_rules
from curvelint.rule import Context, Rule

import curves

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def codes(planned) -> list[str]:
    return [p.selected.rule.code for p in planned]


def test_every_declared_code_is_registered_and_there_is_no_cycle():
    registered = {r.code for r in load_rules()}
    for rule in load_rules():
        assert set(rule.defers_to) <= registered, rule.code
    order = codes(plan(select_rules(Config())))
    assert sorted(order) == sorted(registered)
    for rule in load_rules():
        for dep in rule.defers_to:
            assert order.index(dep) < order.index(rule.code), f"{rule.code} runs before {dep}"


def test_a_rule_deferred_to_runs_hidden_when_not_selected():
    diverging = next(r for r in load_rules() if r.code == "CL104")
    not_decreasing = next(r for r in load_rules() if r.code == "CL102")
    assert "CL104" in not_decreasing.defers_to
    planned = plan([Selected(not_decreasing, not_decreasing.severity, {})])
    assert codes(planned) == [*not_decreasing.defers_to, "CL102"]
    assert [p.shown for p in planned] == [False] * len(not_decreasing.defers_to) + [True]
    assert planned[0].selected.rule is diverging


class _A(Rule):
    code, name, severity, summary = "X901", "x-a", Severity.INFO, "a"
    defers_to = ("X902",)


class _B(Rule):
    code, name, severity, summary = "X902", "x-b", Severity.INFO, "b"
    defers_to = ("X901",)


def test_a_cycle_is_an_error(monkeypatch):
    import curvelint.engine as engine

    monkeypatch.setattr(engine, "load_rules", lambda: (_A, _B))
    with pytest.raises(ValueError, match="cycle"):
        plan([Selected(_A, _A.severity, {})])


def test_reading_an_undeclared_rule_is_refused():
    run = curves.run_of(curves.healthy(200))
    ctx = curves.context_of(run, _A)
    with pytest.raises(AssertionError, match="without declaring"):
        ctx.reported(("CL102",), "loss")


def _runs():
    """Runs with findings of several interacting rules: the demo, the train fixtures, a blow-up."""
    from curvelint.discovery import discover

    sources, _ = discover([os.path.join(ROOT, "fixtures", "demo"), os.path.join(ROOT, "fixtures", "train")], [])
    for source in sources:
        yield from read_source(source)
    yield curves.run_of(curves.diverging(400), name="diverging")
    yield curves.run_of(curves.flat(400), name="flat")


@pytest.mark.parametrize("ignored", ["CL102", "CL103", "CL104", "CL105", "CL106"])
def test_ignoring_a_rule_changes_no_other_rules_findings(ignored):
    everything = select_rules(Config())
    without = [s for s in everything if s.rule.code != ignored]
    for run in _runs():
        all_findings, _ = check_run(run, everything, Config())
        fewer, _ = check_run(run, without, Config())
        expected = [f for f in all_findings if f.rule != ignored]
        assert [f.to_dict() for f in fewer] == [f.to_dict() for f in expected], run.name


def test_lint_reports_no_finding_of_an_unselected_rule():
    report = lint([os.path.join(ROOT, "fixtures", "demo")], Config(select=["CL102"]))
    assert {f.rule for f in report.findings} <= {"CL102"}
    assert all(a.rule == "CL102" for a in report.abstentions)


def test_context_reported_reads_the_findings_so_far():
    run = curves.run_of(curves.diverging(400))
    ctx = Context(run, curves.assign_roles(list(run.series)))
    ctx.cache["findings"] = []
    not_decreasing = next(r for r in load_rules() if r.code == "CL102")
    c = ctx.for_rule(not_decreasing)
    assert c.reported(None, "loss") is None


def test_rule_documentation_shows_what_it_defers_to():
    from click.testing import CliRunner

    from curvelint.cli import main

    out = CliRunner().invoke(main, ["rule", "CL102"]).output
    assert "Defers to" in out and "CL104 diverging-loss" in out
