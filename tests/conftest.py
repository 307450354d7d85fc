"""Shared test paths: the repository, its fixtures, and the read-only ../shared material."""

from __future__ import annotations

import json
import shutil
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "fixtures"
# the labelled benchmark: each labelled run is one run curvelint finds there
REALBENCH_RUNS = len(json.loads((FIXTURES / "realbench" / "labels.json").read_text(encoding="utf-8")))
SHARED = REPO.parent / "shared"
REALWORLD = SHARED / "realworld"


def write_dist(root: Path, folder: str, entry_points: str) -> None:
    """An installed distribution's metadata folder (``name-1.0.dist-info``) declaring `entry_points`:
    what a plugin pack on ``sys.path``/``PYTHONPATH`` looks like to curvelint's entry-point scan."""
    info = root / folder
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {folder.split('-')[0]}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(textwrap.dedent(entry_points))


@pytest.fixture
def realworld() -> Path:
    if not REALWORLD.is_dir():
        pytest.skip("../shared/realworld is not present")
    return REALWORLD


def curvelint_command() -> list[str]:
    """The installed console script (end-to-end tests run what users run)."""
    script = Path(sys.executable).with_name("curvelint")
    if script.exists():
        return [str(script)]
    found = shutil.which("curvelint")
    return [found] if found else [sys.executable, "-m", "curvelint"]
