"""The typed Python API: lint logs on disk, or check a history held in memory.

    import curvelint

    report = curvelint.lint(["runs/"])                       # what `curvelint runs/` finds
    findings = curvelint.check({"loss": losses, "val_loss": (val_steps, val_losses)})

Findings are `curvelint.Finding` dataclasses; ``finding.to_dict()`` is exactly the object the
JSON format (``--format json``) prints for it. Documented in docs/api.md.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping, Sequence
from typing import Any, Union

import numpy as np

from curvelint.config import Config, ConfigError, load_config, parse_config
from curvelint.engine import Report, Selected, check_run, select_rules
from curvelint.engine import lint as _lint
from curvelint.model import Finding, Run, Series
from curvelint.readers._common import add_series

Values = Sequence[float]
SeriesLike = Union[Values, "tuple[Sequence[int], Values]", Series, np.ndarray]
ConfigLike = Union[Config, Mapping[str, Any], str, os.PathLike, None]


def lint(paths: str | os.PathLike | Sequence[str | os.PathLike], config: ConfigLike = None) -> Report:
    """Lint every training run found under `paths`, as the command line does.

    `config`: a `Config`, a ``[tool.curvelint]`` table as a dict, a configuration file's path,
    or None for the configuration files found from `paths` (as the CLI finds them).
    Raises `ConfigError` for an invalid configuration.
    """
    names = [os.fspath(paths)] if isinstance(paths, (str, os.PathLike)) else [os.fspath(p) for p in paths]
    if config is None:
        resolved = load_config(names)
    else:
        resolved = as_config(config)
    return _lint(names, resolved)


def check(series: Mapping[str, SeriesLike], roles: Mapping[str, str | Sequence[str]] | None = None,
          hparams: Mapping[str, Any] | None = None, config: ConfigLike = None, *,
          name: str = "in-memory") -> list[Finding]:
    """Check an in-memory training history with the rules; returns the findings (no files are read).

    `series` maps a metric name to its values (steps 0, 1, 2, ...) or to ``(steps, values)``;
    names are given their roles as in logs (``loss``, ``val_loss``, ``train/loss``,
    ``eval_accuracy``, ...). `roles` overrides them (``{"train_loss": "my_loss"}``, the keys of
    ``[tool.curvelint.metrics]``), `hparams` are the run's hyperparameters (learning rate,
    optimizer, number of classes), `config` as for `lint` (default: the built-in defaults).
    `name` is the run name and path of the findings.
    """
    return Checker(config, roles).check(series, hparams, name=name)


class Checker:
    """`check` with its configuration resolved once (callbacks check the same run many times)."""

    def __init__(self, config: ConfigLike = None, roles: Mapping[str, str | Sequence[str]] | None = None) -> None:
        self.config = as_config(config) if config is not None else Config()
        if roles:
            self.config = copy.deepcopy(self.config)
            table = {k: v if isinstance(v, str) else list(v) for k, v in roles.items()}
            self.config.metrics.update(parse_config({"metrics": table}, "<roles>").metrics)  # validated
        self.selected: list[Selected] = select_rules(self.config)

    def check(self, series: Mapping[str, SeriesLike], hparams: Mapping[str, Any] | None = None, *,
              name: str = "in-memory") -> list[Finding]:
        run = to_run(series, hparams, name)
        findings, _ = check_run(run, self.selected, self.config)
        return findings


def to_run(series: Mapping[str, SeriesLike], hparams: Mapping[str, Any] | None = None,
           name: str = "in-memory") -> Run:
    """An in-memory history as a `Run` (steps ordered, a repeated step keeps its last value)."""
    run = Run(name=name, path=name, format="memory", hparams=dict(hparams or {}))
    columns: dict[str, tuple[Any, Any, Any]] = {}
    for key, item in series.items():
        steps, values, walls = _arrays(key, item)
        columns[str(key)] = (steps, values, walls)
    add_series(run, columns)
    return run


def _arrays(key: str, item: SeriesLike) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    if isinstance(item, Series):
        return item.steps, item.values, item.wall_times
    if isinstance(item, tuple) and len(item) == 2 and np.ndim(item[0]) == 1 and np.ndim(item[1]) == 1:
        steps, values = np.asarray(item[0]), np.asarray(item[1], dtype=np.float64)
        if len(steps) != len(values):
            raise ValueError(f"series {key!r}: {len(steps)} steps but {len(values)} values")
        return steps, values, None
    values = np.asarray(item, dtype=np.float64)
    if values.ndim != 1:
        raise ValueError(f"series {key!r}: expected a sequence of numbers or (steps, values), got shape {values.shape}")
    return np.arange(len(values)), values, None


def as_config(config: ConfigLike) -> Config:
    """A `Config` from a `Config` (returned as is), a ``[tool.curvelint]`` table or a file's path."""
    if config is None:
        return Config()
    if isinstance(config, Config):
        return config
    if isinstance(config, Mapping):
        return parse_config(dict(config), "<api>")
    if isinstance(config, (str, os.PathLike)):
        return load_config([], os.fspath(config))
    raise ConfigError(f"config: expected a Config, a dict or a file path, not {type(config).__name__}")
