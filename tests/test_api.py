"""The Python API: `curvelint.lint` and `curvelint.check` give what the command line gives."""

from __future__ import annotations

import dataclasses
import json
import subprocess

import numpy as np
import pytest
from conftest import FIXTURES, curvelint_command

import curvelint

DEMO = FIXTURES / "demo"


def test_finding_to_dict_equals_the_json_format_on_the_demo():
    out = subprocess.run([*curvelint_command(), str(DEMO), "--format", "json", "--isolated"],
                         capture_output=True, text=True, check=False)
    assert out.returncode == 1, out.stderr
    printed = json.loads(out.stdout)["findings"]
    report = curvelint.lint(str(DEMO), config={})
    assert isinstance(report, curvelint.Report)
    assert all(dataclasses.is_dataclass(f) and isinstance(f, curvelint.Finding) for f in report.findings)
    assert [json.loads(json.dumps(f.to_dict())) for f in report.findings] == printed
    assert len(printed) >= 3


def test_check_on_an_in_memory_history_equals_lint_of_the_same_history_file():
    path = DEMO / "overfitting_history.json"
    history = json.loads(path.read_text())
    from_disk = curvelint.lint([path], config={}).findings
    in_memory = curvelint.check(history)
    assert [(f.rule, f.metric, f.step, f.message, f.evidence) for f in in_memory] == \
           [(f.rule, f.metric, f.step, f.message, f.evidence) for f in from_disk]
    assert {f.run for f in in_memory} == {"in-memory"}


def test_check_accepts_steps_and_values_roles_hparams_and_a_config_table():
    steps = np.arange(0, 3000, 100)
    loss = np.linspace(2.0, 0.2, len(steps))
    loss[20:] = np.nan
    found = curvelint.check({"objective": (steps, loss)}, roles={"train_loss": "objective"})
    assert [(f.rule, f.metric, f.step) for f in found] == [("CL100", "objective", 2000)]
    assert curvelint.check({"loss": (steps, loss)}, config={"ignore": ["CL100"]}) == []
    lr = curvelint.check({"loss": list(np.linspace(2, 1.9, 30))}, hparams={"learning_rate": 50.0, "optimizer": "Adam"})
    assert "CL121" in {f.rule for f in lr}


def test_check_rejects_mismatched_steps_and_bad_roles():
    with pytest.raises(ValueError, match="3 steps but 2 values"):
        curvelint.check({"loss": ([0, 1, 2], [1.0, 0.5])})
    with pytest.raises(curvelint.ConfigError):
        curvelint.check({"loss": [1.0, 0.5]}, roles={"no_such_role": "loss"})


def test_importing_curvelint_does_not_import_the_engine():
    code = "import sys, curvelint; assert 'numpy' not in sys.modules and 'curvelint.engine' not in sys.modules"
    subprocess.run([__import__("sys").executable, "-c", code], check=True)
