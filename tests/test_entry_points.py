"""curvelint._entry_points: the plain sys.path scan gives what importlib.metadata (its fallback) gives."""

from __future__ import annotations

import os
import sys
import zipfile
from importlib import metadata
from pathlib import Path

import pytest

from conftest import write_dist
from curvelint import _entry_points
from curvelint._entry_points import EntryPoint, entry_points, metadata_entry_points



def _plain(eps) -> list[tuple[str, str]]:
    return sorted((ep.name, ep.value) for ep in eps)


@pytest.mark.parametrize("group", ["curvelint.rules", "console_scripts", "pytest11"])
def test_same_entry_points_as_importlib_metadata_here(group: str) -> None:
    assert _plain(entry_points(group)) == _plain(metadata.entry_points(group=group))


def test_first_distribution_on_the_path_wins_and_sections_are_parsed(tmp_path: Path, monkeypatch) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    write_dist(first, "My.Plugin-2.0.dist-info", """
        # a comment
        [console_scripts]
        tool = my_plugin.cli:main

        [curvelint.rules]
        mine = my_plugin.rules:RULES [extra]
        """)
    write_dist(second, "my_plugin-1.0.dist-info", "[curvelint.rules]\nold = my_plugin.old:RULES\n")
    write_dist(second, "other-1.0.egg-info", "[curvelint.rules]\nother=other:RULES\n")
    monkeypatch.setattr(sys, "path", [str(first), str(tmp_path / "missing"), str(second)])
    ours = entry_points("curvelint.rules")
    assert _plain(ours) == [("mine", "my_plugin.rules:RULES [extra]"), ("other", "other:RULES")]
    assert _plain(ours) == _plain(metadata.entry_points(group="curvelint.rules"))


def test_a_zip_on_the_path_is_left_to_importlib_metadata(tmp_path: Path, monkeypatch) -> None:
    archive = tmp_path / "plugins.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("zipped-1.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: zipped\nVersion: 1.0\n")
        zf.writestr("zipped-1.0.dist-info/entry_points.txt", "[curvelint.rules]\nzipped = zipped:RULES\n")
    monkeypatch.setattr(sys, "path", [str(archive)])
    assert _plain(entry_points("curvelint.rules")) == [("zipped", "zipped:RULES")]


def test_entry_point_load_follows_module_and_attributes() -> None:
    assert EntryPoint("x", "os.path:join").load() is os.path.join
    assert EntryPoint("x", "os.path").load() is os.path
    with pytest.raises(ValueError, match="malformed"):
        EntryPoint("x", "not a module").load()




def test_the_fallback_is_used_where_the_scan_could_miss_a_distribution(monkeypatch) -> None:
    monkeypatch.setattr(_entry_points, "plain_paths", lambda: False)
    assert _plain(entry_points("curvelint.rules")) == _plain(metadata.entry_points(group="curvelint.rules"))
    assert _plain(metadata_entry_points("console_scripts")) == _plain(metadata.entry_points(group="console_scripts"))
