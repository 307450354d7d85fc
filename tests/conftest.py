"""Shared test paths: the repository, its fixtures, and the read-only ../shared material."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "fixtures"
SHARED = REPO.parent / "shared"
REALWORLD = SHARED / "realworld"


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
