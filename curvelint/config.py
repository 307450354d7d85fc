"""Configuration: what to lint and how (selection, rule options, metric roles, paths).

`Config` is the single object the engine reads. `load_config` finds and parses
``[tool.curvelint]`` in ``pyproject.toml``, or a ``curvelint.toml`` / ``.curvelint.toml``,
walking up from the linted paths (`curvelint.config_files`: the nearest file wins);
``--config FILE`` names the file; ``--isolated`` ignores every file, run folders' own
suppression files too (`curvelint.suppression`).

`parse_config` validates one table: the keys about rules in `curvelint.config_rules`,
single values in `curvelint.config_values`, readers' tables (text-logs, limits, reference)
by the modules they configure. Globs (``exclude``, ``per-path-ignores``) are those of
`curvelint.globs`, relative to the configuration file's folder.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from curvelint.config_files import ConfigError, Where, find_config, named_table, start_folder, where_in
from curvelint.config_files import show as _show
from curvelint.config_rules import SEVERITIES, rule_options, selectors, severities
from curvelint.config_values import choice, did_you_mean, names, quote, strings, table
from curvelint.formats import FORMATS as _FORMATS
from curvelint.globs import anchor
from curvelint.limits import Limits, parse_limits
from curvelint.model import ReferenceSet
from curvelint.reference import settings_from_table
from curvelint.registry import selected_codes

__all__ = ["Config", "ConfigError", "load_config", "parse_config"]

FORMATS = tuple(_FORMATS)  # declared once, in curvelint.formats
DIRECTIONS = ("min", "max")
KEYS = ("select", "extend-select", "ignore", "per-path-ignores", "fail-on", "format", "exclude",
        "rules", "metrics", "severity", "reference", "text-logs", "limits")


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
    root: str | None = None  # folder that relative globs are relative to (None: the current folder)
    run_files: bool = True  # honour run-local .curvelint.toml suppression files (off with --isolated)
    text_logs: Any = None  # [tool.curvelint.text-logs]: curvelint.readers.text_log.Settings (None: the defaults)
    reference: ReferenceSet = field(default_factory=ReferenceSet)  # how runs are compared with references
    reference_paths: tuple[str, ...] = ()  # [tool.curvelint.reference] path(s), absolute
    limits: Limits = field(default_factory=Limits)  # [tool.curvelint.limits]: what the readers read at most


def load_config(paths: list[str], config_file: str | None = None, isolated: bool = False) -> Config:
    """The configuration for linting `paths`: `config_file`, else the nearest file, else defaults."""
    if isolated:
        return Config(run_files=False)
    if config_file:
        return parse_config(named_table(config_file), config_file)
    found = find_config(start_folder(paths))
    return parse_config(found[1], found[0]) if found else Config()


def parse_config(value: Any, source: str) -> Config:
    """Validate one curvelint table (the file's contents or its ``[tool.curvelint]``)."""
    where = where_in(source)
    if not isinstance(value, dict):
        raise ConfigError(f"{_show(source)}: the curvelint configuration must be a table")
    data = {k.replace("_", "-"): v for k, v in value.items()}
    for key in data:
        if key not in KEYS:
            extra = " ('reason' belongs in a run folder's .curvelint.toml)" if key == "reason" else did_you_mean(key, KEYS)
            raise ConfigError(f"{where(key)}: unknown key{extra}; valid keys: {', '.join(KEYS)}")
    root = os.path.dirname(os.path.abspath(source))
    config = Config(source=source, root=root)
    if any(k in data for k in ("select", "extend-select", "ignore")):
        select = selectors(data["select"], where("select")) if "select" in data else None
        config.select = selected_codes(select, selectors(data.get("extend-select", []), where("extend-select")),
                                       selectors(data.get("ignore", []), where("ignore")))
    config.rule_options = rule_options(data.get("rules", {}), where)
    config.severity = severities(data.get("severity", {}), where)
    config.metrics = _metrics(data.get("metrics", {}), where)
    if "text-logs" in data:  # console-log patterns: regexes, validated (and compiled) here, never code
        from curvelint.readers.text_log import parse_settings

        config.text_logs = parse_settings(table(data["text-logs"], where("text-logs")),
                                          lambda *keys: where("text-logs", *keys), ConfigError)
    if "limits" in data:
        config.limits = parse_limits(table(data["limits"], where("limits")), lambda *k: where("limits", *k),
                                     ConfigError)
    ppi = table(data.get("per-path-ignores", {}), where("per-path-ignores"))
    config.per_path_ignores = {str(k): selectors(v, where("per-path-ignores", quote(k))) for k, v in ppi.items()}
    config.fail_on = choice(data.get("fail-on", "error"), SEVERITIES, where("fail-on"))
    config.format = choice(data.get("format", "text"), FORMATS, where("format"))
    config.exclude = [anchor(p, root) for p in strings(data.get("exclude", []), where("exclude"))]
    if "reference" in data:  # paths relative to this file's folder
        config.reference, config.reference_paths = settings_from_table(
            table(data["reference"], where("reference")), where, root, ConfigError)
    return config


def _metrics(value: Any, where: Where) -> dict[str, Any]:
    """Role overrides for roles.assign_roles: role -> name(s), plus a "directions" table."""
    from curvelint.roles import ROLE_NAMES, direction

    given = {k.replace("-", "_"): v for k, v in table(value, where("metrics")).items()}
    valid = (*ROLE_NAMES, "monitor", "mode", "directions")
    out: dict[str, Any] = {}
    for key, series in given.items():
        if key not in valid:
            raise ConfigError(f"{where('metrics', key)}: unknown metric role; valid keys: {', '.join(valid)}")
        if key in ROLE_NAMES:
            out[key] = names(series, where("metrics", key))
    directions = {str(k): choice(v, DIRECTIONS, where("metrics", "directions", quote(k)))
                  for k, v in table(given.get("directions", {}), where("metrics", "directions")).items()}
    if "mode" in given and "monitor" not in given:
        raise ConfigError(f"{where('metrics', 'mode')}: only valid with metrics.monitor")
    if "monitor" in given:
        if "val_metric" in given:
            raise ConfigError(f"{where('metrics', 'monitor')}: give monitor or val_metric, not both")
        monitored = names(given["monitor"], where("metrics", "monitor"))
        out["val_metric"] = monitored
        mode = choice(given["mode"], DIRECTIONS, where("metrics", "mode")) if "mode" in given else None
        for name in [monitored] if isinstance(monitored, str) else monitored:
            d = mode or directions.get(name) or direction(name)
            if d is None:
                raise ConfigError(f"{where('metrics', 'monitor')}: cannot tell whether higher {name!r} is better; "
                                  f'add mode = "max" or mode = "min"')
            directions[name] = d
    if directions:
        out["directions"] = directions
    return out
