"""curvelint.registry: rule plugins found through entry points, and the selection of rules."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from conftest import FIXTURES, curvelint_command, write_dist

from curvelint import registry

PLUGIN = '''
from curvelint.model import Severity
from curvelint.rule import Rule


class LossAboveTen(Rule):
    """Training loss ends above ten."""

    code = "X100"
    name = "loss-above-ten"
    severity = Severity.WARNING
    summary = "training loss ends above ten"

    def check(self, ctx):
        return []


RULES = [LossAboveTen]
'''



def test_a_third_party_plugin_is_listed_documented_and_run(tmp_path: Path) -> None:
    """What a plugin author does: a module and an installed distribution naming it."""
    (tmp_path / "loss_above_ten.py").write_text(PLUGIN)
    write_dist(tmp_path, "loss_above_ten-0.1.dist-info", "[curvelint.rules]\nten = loss_above_ten:RULES\n")
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    run = lambda *args: subprocess.run([*curvelint_command(), *args], capture_output=True, text=True, env=env)
    listed = run("rules")
    assert listed.returncode == 0 and "X100" in listed.stdout and "CL100" in listed.stdout
    assert "Training loss ends above ten." in run("rule", "X100").stdout
    linted = run(str(FIXTURES / "demo"), "--select", "X100", "--format", "json")
    assert linted.returncode == 0, linted.stderr
    assert json.loads(linted.stdout)["findings"] == []


def test_linting_imports_neither_importlib_metadata_nor_the_crc32c_package() -> None:
    """Start-up footprint: both cost ~3 MB of RSS and ~50 ms (see registry, readers.tfrecord). An older
    crc32c is one extension module, with no package __init__ to leave out (curvelint._crc32c imports it)."""
    package = importlib.util.find_spec("crc32c").submodule_search_locations is not None
    names = ("importlib.metadata", "argparse") + (("crc32c",) if package else ())
    code = textwrap.dedent(f"""
        import sys
        from curvelint.engine import lint
        report = lint([{str(FIXTURES / "demo")!r}])
        assert report.runs and not report.errors
        print(sorted(m for m in {names!r} if m in sys.modules))
        """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


# -- selection: one place for the command line, the configuration and the engine ---------------------

def test_a_selector_is_a_code_a_prefix_a_name_or_all() -> None:
    rule = registry.find_rule("CL101")
    assert all(registry.matches(rule, s) for s in ("CL101", "cl101", "CL1", "CL", " CL10 ", rule.name, "ALL", "all"))
    assert not any(registry.matches(rule, s) for s in ("CL102", "CL2", rule.name + "-x", "XCL1"))


def test_selection_of_one_layer_ignore_wins_and_extend_adds() -> None:
    codes = [r.code for r in registry.load_rules()]
    assert registry.selected_codes(None) == codes
    cl1 = [c for c in codes if c.startswith("CL1")]
    assert registry.selected_codes(["CL1"], ignore=["CL101"]) == [c for c in cl1 if c != "CL101"]
    assert registry.selected_codes(["CL101"], extend=["CL102"], ignore=["CL102"]) == ["CL101"]
    assert registry.selected_codes(["CL101"], extend=["CL102"]) == ["CL101", "CL102"]
    assert registry.unknown_selectors(["CL1", "XYZ9", registry.find_rule("CL101").name]) == ["XYZ9"]


def test_severity_overrides_a_code_beats_a_prefix_beats_a_shorter_prefix() -> None:
    by_code = registry.overrides_by_code({"CL101": "info", "CL": "error", "CL1": "warning"})
    assert by_code["CL101"] == "info" and by_code["CL102"] == "warning"
    assert all(v == "error" for c, v in by_code.items() if not c.startswith("CL1"))
