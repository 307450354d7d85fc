"""Rule stability (stable / preview) and aliases: an old code or name still selects its rule, with a
deprecation note, and `curvelint rule` shows both."""

from __future__ import annotations

import json
import os
import re
import subprocess
import textwrap
from pathlib import Path

import pytest

from conftest import FIXTURES, curvelint_command
from curvelint import registry
from curvelint.model import Report
from curvelint.reporters import Options, render
from curvelint.model import Severity
from curvelint.rule import PREVIEW, Rule


class Renamed(Rule):
    code, name, severity, summary = "X201", "loss-stalls", Severity.WARNING, "the loss stalls"
    aliases = ("X101", "flat-loss")
    since = "0.3.0"


class Fresh(Rule):
    code, name, severity, summary = "X202", "loss-wobbles", Severity.INFO, "the loss wobbles"
    stability = PREVIEW


RULES = (Renamed, Fresh)


@pytest.fixture
def rules(monkeypatch: pytest.MonkeyPatch) -> tuple[type[Rule], ...]:
    monkeypatch.setattr(registry, "load_rules", lambda: RULES)
    return RULES


def test_an_old_code_or_name_finds_and_selects_its_rule(rules):
    for key in ("X101", "x101", "flat-loss", "X201", "loss-stalls"):
        assert registry.find_rule(key) is Renamed and registry.matches(Renamed, key)
    assert not registry.matches(Renamed, "X1")  # an old code is matched whole, never as a prefix
    assert registry.unknown_selectors(["X101", "flat-loss", "nope"]) == ["nope"]
    assert registry.renamed(["X101", "X201", "flat-loss"]) == [("X101", Renamed), ("flat-loss", Renamed)]
    assert registry.selected_codes(["X101"]) == ["X201"]
    assert registry.selected_codes(None, ignore=["flat-loss"]) == []


def test_a_preview_rule_is_on_only_when_named_exactly(rules):
    assert registry.selected_codes(None) == ["X201"]
    assert registry.selected_codes(["ALL"]) == ["X201"] and registry.selected_codes(["X2"]) == ["X201"]
    assert registry.selected_codes(["X202"]) == ["X202"]
    assert registry.selected_codes(None, extend=["loss-wobbles"]) == ["X201", "X202"]


def test_bad_declarations_are_registry_errors():
    class Bad(Rule):
        code, name, severity, summary = "X203", "bad", Severity.INFO, "x"
        stability = "beta"

    with pytest.raises(registry.RegistryError, match="stability 'beta'"):
        registry._validate(Bad)
    with pytest.raises(registry.RegistryError, match="alias 'X101' is already X201's"):
        registry._check_aliases((Renamed, type("Clash", (Fresh,), {"aliases": ("X101",)})))
    with pytest.raises(registry.RegistryError, match="neither a code"):
        registry._check_aliases((type("Odd", (Fresh,), {"aliases": ("Not A Name",)}),))


def test_builtin_rules_are_stable_and_their_aliases_clash_with_nothing():
    rules = registry.load_rules()
    assert {r.stability for r in rules if r.code.startswith("CL")} == {"stable"}


def test_every_builtin_rule_records_its_since_version_and_the_listing_and_sarif_show_it():
    """0.1.0: the package's only version so far (no rule was added after a release, none renamed)."""
    builtin = [r for r in registry.load_rules() if r.code.startswith("CL")]
    assert {r.since for r in builtin} == {"0.1.0"} and not any(r.aliases for r in builtin)
    listing = subprocess.run([*curvelint_command(), "rules"], capture_output=True, text=True, timeout=60).stdout
    for r in builtin:
        assert re.search(rf"^{r.code}\s+{r.name}\s+{r.severity}\s+{re.escape(r.since)}\s", listing, re.M)
    doc = subprocess.run([*curvelint_command(), "rule", "CL110"], capture_output=True, text=True, timeout=60).stdout
    assert doc.splitlines()[1] == "stable · since 0.1.0"
    sarif = json.loads(render(Report(runs=[], findings=[]), "sarif", Options()))
    rules = sarif["runs"][0]["tool"]["driver"]["rules"]
    assert {r["properties"].get("since") for r in rules if r["id"].startswith("CL")} == {"0.1.0"}
    # no helpUri (the project has no hosted docs, see reporters/sarif.py): the help is the whole documentation
    assert all(r["help"]["text"] and r["help"]["markdown"] and "helpUri" not in r for r in rules)


PLUGIN = '''
from curvelint.model import Severity
from curvelint.rule import PREVIEW, Rule


class Always(Rule):
    """Reports every run."""

    code, name, severity, summary = "X301", "always-there", Severity.WARNING, "reports every run"
    aliases = ("X300", "ever-there")
    since = "1.2.0"

    def check(self, ctx):
        yield ctx.finding("always")


class Preview(Always):
    """Reports every run, in preview."""

    code, name, summary, aliases, since = "X302", "always-preview", "reports every run (preview)", (), ""
    stability = PREVIEW


RULES = [Always, Preview]
'''


def test_end_to_end_through_a_plugin(tmp_path: Path):
    (tmp_path / "always_plugin.py").write_text(PLUGIN)
    info = tmp_path / "always_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: always_plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(textwrap.dedent("[curvelint.rules]\nalways = always_plugin:RULES\n"))
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([*curvelint_command(), *args], capture_output=True, text=True, env=env, cwd=tmp_path)

    doc = run("rule", "X300")
    assert doc.returncode == 0 and doc.stdout.startswith("X301 always-there (warning)\n")
    assert "stable · since 1.2.0 · old names: X300, ever-there (deprecated; they still select it)" in doc.stdout
    assert "'X300' is an old name of X301 always-there" in doc.stderr
    assert "[preview] reports every run (preview)" in run("rules").stdout
    assert "preview (selected only by its exact code or name)" in run("rule", "X302").stdout

    def codes(*args: str) -> list[str]:
        out = run(str(FIXTURES / "demo" / "nan_loss"), "--isolated", "--format", "json", *args)
        return sorted({f["rule"] for f in json.loads(out.stdout)["findings"] if f["rule"].startswith("X")})

    assert codes() == ["X301"]  # the preview rule is off by default ...
    assert codes("--select", "X3") == ["X301"]  # ... and by prefix
    assert codes("--select", "X302") == ["X302"]  # on when named
    selected = run(str(FIXTURES / "demo" / "nan_loss"), "--isolated", "--select", "ever-there")
    assert "warning: 'ever-there' is an old name of X301 always-there, deprecated: select X301" in selected.stderr
    assert "X301" in selected.stdout
    sarif = json.loads(run(str(FIXTURES / "demo" / "nan_loss"), "--isolated", "--format", "sarif").stdout)
    rule = next(r for r in sarif["runs"][0]["tool"]["driver"]["rules"] if r["id"] == "X301")
    assert rule["deprecatedIds"] == ["X300"] and rule["deprecatedNames"] == ["ever-there"]
