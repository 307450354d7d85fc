"""Configuration: what to lint and how (selection, rule options, metric roles, paths).

`Config` is the single object the engine reads. `load_config` finds and parses
``[tool.curvelint]`` in pyproject.toml, ``curvelint.toml`` or ``.curvelint.toml``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class ConfigError(Exception):
    """A configuration problem; the message names the file and key."""


@dataclass
class Config:
    select: list[str] | None = None  # None: every registered rule
    extend_select: list[str] = field(default_factory=list)
    ignore: list[str] = field(default_factory=list)
    rule_options: dict[str, dict[str, Any]] = field(default_factory=dict)  # rule name -> options
    severity: dict[str, str] = field(default_factory=dict)  # code or name -> severity override
    metrics: dict[str, Any] = field(default_factory=dict)  # role -> series name(s); "directions" table
    per_path_ignores: dict[str, list[str]] = field(default_factory=dict)  # glob -> selectors
    fail_on: str = "error"
    format: str = "text"
    exclude: list[str] = field(default_factory=list)
    source: str | None = None  # the file this came from, for messages


def load_config(paths: list[str], config_file: str | None = None, isolated: bool = False) -> Config:
    """The configuration for linting `paths` (defaults only, until config files are supported)."""
    return Config()


def local_suppressions(run_path: str) -> tuple[list[str], str]:
    """Selectors a run folder suppresses for itself (``.curvelint.toml`` beside its logs), and why."""
    return [], ""
