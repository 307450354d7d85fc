"""curvelint.registry: rule plugins found through entry points, as importlib.metadata finds them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import zipfile
from importlib import metadata
from pathlib import Path

import pytest
from conftest import FIXTURES, curvelint_command

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


def _dist(root: Path, folder: str, entry_points: str) -> None:
    info = root / folder
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {folder.split('-')[0]}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(textwrap.dedent(entry_points))


def _plain(eps) -> list[tuple[str, str]]:
    return sorted((ep.name, ep.value) for ep in eps)


@pytest.mark.parametrize("group", ["curvelint.rules", "console_scripts", "pytest11"])
def test_same_entry_points_as_importlib_metadata_here(group: str) -> None:
    assert _plain(registry.entry_points(group)) == _plain(metadata.entry_points(group=group))


def test_first_distribution_on_the_path_wins_and_sections_are_parsed(tmp_path: Path, monkeypatch) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    _dist(first, "My.Plugin-2.0.dist-info", """
        # a comment
        [console_scripts]
        tool = my_plugin.cli:main

        [curvelint.rules]
        mine = my_plugin.rules:RULES [extra]
        """)
    _dist(second, "my_plugin-1.0.dist-info", "[curvelint.rules]\nold = my_plugin.old:RULES\n")
    _dist(second, "other-1.0.egg-info", "[curvelint.rules]\nother=other:RULES\n")
    monkeypatch.setattr(sys, "path", [str(first), str(tmp_path / "missing"), str(second)])
    ours = registry.entry_points("curvelint.rules")
    assert _plain(ours) == [("mine", "my_plugin.rules:RULES [extra]"), ("other", "other:RULES")]
    assert _plain(ours) == _plain(metadata.entry_points(group="curvelint.rules"))


def test_a_zip_on_the_path_is_left_to_importlib_metadata(tmp_path: Path, monkeypatch) -> None:
    archive = tmp_path / "plugins.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("zipped-1.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: zipped\nVersion: 1.0\n")
        zf.writestr("zipped-1.0.dist-info/entry_points.txt", "[curvelint.rules]\nzipped = zipped:RULES\n")
    monkeypatch.setattr(sys, "path", [str(archive)])
    assert _plain(registry.entry_points("curvelint.rules")) == [("zipped", "zipped:RULES")]


def test_entry_point_load_follows_module_and_attributes() -> None:
    assert registry.EntryPoint("x", "os.path:join").load() is os.path.join
    assert registry.EntryPoint("x", "os.path").load() is os.path
    with pytest.raises(ValueError, match="malformed"):
        registry.EntryPoint("x", "not a module").load()


def test_a_third_party_plugin_is_listed_documented_and_run(tmp_path: Path) -> None:
    """What a plugin author does: a module and an installed distribution naming it."""
    (tmp_path / "loss_above_ten.py").write_text(PLUGIN)
    _dist(tmp_path, "loss_above_ten-0.1.dist-info", "[curvelint.rules]\nten = loss_above_ten:RULES\n")
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    run = lambda *args: subprocess.run([*curvelint_command(), *args], capture_output=True, text=True, env=env)
    listed = run("rules")
    assert listed.returncode == 0 and "X100" in listed.stdout and "CL100" in listed.stdout
    assert "Training loss ends above ten." in run("rule", "X100").stdout
    linted = run(str(FIXTURES / "demo"), "--select", "X100", "--format", "json")
    assert linted.returncode == 0, linted.stderr
    assert json.loads(linted.stdout)["findings"] == []


def test_linting_imports_neither_importlib_metadata_nor_the_crc32c_package() -> None:
    """Start-up footprint: both cost ~3 MB of RSS and ~50 ms (see registry, readers.tfrecord)."""
    code = textwrap.dedent(f"""
        import sys
        from curvelint.engine import lint
        report = lint([{str(FIXTURES / "demo")!r}])
        assert report.runs and not report.errors
        print(sorted(m for m in ("importlib.metadata", "crc32c", "argparse") if m in sys.modules))
        """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
