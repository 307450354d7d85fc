""".ci/matrix's oldest leg tests the lower bounds pyproject.toml states (issue 15): .ci/oldest.txt pins each
dependency at its bound, and the leg's Python is requires-python's bound."""

from __future__ import annotations

import re
import sys

from conftest import REPO
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

PROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def pins() -> dict[str, Version]:
    """``name == version`` lines of .ci/oldest.txt, by normalized name."""
    out = {}
    for line in (REPO / ".ci" / "oldest.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, version = line.split("==")
            out[canonicalize_name(name)] = Version(version.strip())
    return out


def test_each_dependency_is_pinned_at_its_lower_bound() -> None:
    pinned = pins()
    for text in PROJECT["dependencies"]:
        req = Requirement(text)
        bounds = [Version(s.version) for s in req.specifier if s.operator == ">="]
        assert len(bounds) == 1, f"{text}: one lower bound (>=) for .ci/oldest.txt to pin"
        assert pinned.get(canonicalize_name(req.name)) == bounds[0], f".ci/oldest.txt: {req.name}=={bounds[0]} (pyproject.toml: {text})"


def test_the_oldest_leg_runs_the_oldest_supported_python() -> None:
    oldest = re.search(r"^OLDEST_PYTHON=(\S+)", (REPO / ".ci" / "matrix").read_text(encoding="utf-8"), re.MULTILINE)
    assert oldest and PROJECT["requires-python"] == f">={oldest.group(1)}"
