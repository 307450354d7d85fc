"""A rule that raises: the lint goes on, the crash is named on stderr and the exit status is 2."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from conftest import FIXTURES, curvelint_command, write_dist

PACK = '''
from curvelint.model import Severity
from curvelint.rule import Rule


class Boom(Rule):
    """Raises on every run (a buggy third-party rule)."""

    code = "XB900"
    name = "boom"
    severity = Severity.WARNING
    summary = "always raises"

    def check(self, ctx):
        raise ZeroDivisionError("division by zero in the pack")
        yield


RULES = [Boom]
'''


def _lint_with_boom(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    (tmp_path / "boom_rules.py").write_text(PACK)
    write_dist(tmp_path, "boom_rules-1.0.dist-info", "[curvelint.rules]\nboom = boom_rules:RULES\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(tmp_path), os.environ.get("PYTHONPATH")]))}
    return subprocess.run([*curvelint_command(), "--isolated", "-j1", *args, str(FIXTURES / "demo")],
                          capture_output=True, text=True, env=env, timeout=120)


def test_a_crashing_rule_is_named_and_exits_2_while_the_others_report(tmp_path: Path) -> None:
    done = _lint_with_boom(tmp_path, "--format", "json")
    assert done.returncode == 2, done.stderr
    crashes = [line for line in done.stderr.splitlines() if "rule XB900 failed" in line]
    assert crashes and all("ZeroDivisionError: division by zero in the pack" in line for line in crashes)
    assert "Traceback" not in done.stderr
    assert '"rule": "CL' in done.stdout  # the built-in rules' findings are still there


def test_exit_zero_does_not_hide_a_crash(tmp_path: Path) -> None:
    assert _lint_with_boom(tmp_path, "--exit-zero").returncode == 2
