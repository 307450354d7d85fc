"""Configuration: what to lint and how (selection, rule options, metric roles, paths).

`Config` is the single object the engine reads. `load_config` finds and parses
``[tool.curvelint]`` in ``pyproject.toml``, or a ``curvelint.toml`` / ``.curvelint.toml``,
walking up from the linted paths; the nearest file wins (in one folder:
``.curvelint.toml``, then ``curvelint.toml``, then ``pyproject.toml`` with a
``[tool.curvelint]`` table). ``--config FILE`` names the file; ``--isolated`` ignores
every file.

Run-local suppression files. A run folder may hold a ``.curvelint.toml`` with only
``ignore = [...]`` and a ``reason = "..."`` (binary logs cannot carry inline comments).
The ``reason`` key is what marks it: such a file suppresses findings of the run(s)
in that folder only, and the search for the project configuration walks past it.
A project configuration never has a ``reason`` key.

``exclude`` patterns with a folder part (``runs/old``) are relative to the
configuration file's folder; a bare name (``checkpoints``) matches anywhere.
Globs in ``per-path-ignores`` are relative to the configuration file's folder (or
the current folder without a file): ``*`` and ``?`` stay within one path segment,
``**`` spans any number of segments, a pattern matches a path or any folder above
it, and a pattern without ``/`` matches any single segment (``"*.parquet"``).
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass, field
from typing import Any, Iterable

from curvelint.fileio import is_regular, is_remote, open_regular
from curvelint.formats import FORMATS as _FORMATS
from curvelint.globs import path_matches
from curvelint.limits import Limits, parse_limits
from curvelint.model import ReferenceSet
from curvelint.reference import settings_from_table

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

CONFIG_NAMES = (".curvelint.toml", "curvelint.toml", "pyproject.toml")
RUN_FILE = ".curvelint.toml"
RUN_KEYS = ("ignore", "reason")
SEVERITIES = ("error", "warning", "info")
FORMATS = tuple(_FORMATS)  # declared once, in curvelint.formats
DIRECTIONS = ("min", "max")
KEYS = ("select", "extend-select", "ignore", "per-path-ignores", "fail-on", "format", "exclude",
        "rules", "metrics", "severity", "reference", "text-logs", "limits")


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
    root: str | None = None  # folder that relative globs are relative to (None: the current folder)
    run_files: bool = True  # honour run-local .curvelint.toml suppression files (off with --isolated)
    text_logs: Any = None  # [tool.curvelint.text-logs]: curvelint.readers.text_log.Settings (None: the defaults)
    reference: ReferenceSet = field(default_factory=ReferenceSet)  # how runs are compared with references
    reference_paths: tuple[str, ...] = ()  # [tool.curvelint.reference] path(s), absolute
    limits: Limits = field(default_factory=Limits)  # [tool.curvelint.limits]: what the readers read at most

    def ignores_for(self, path: str) -> list[str]:
        """The selectors `per-path-ignores` suppresses for a finding at `path`."""
        base = self.root or os.getcwd()
        return [s for pattern, sels in self.per_path_ignores.items() if path_matches(path, pattern, base)
                for s in sels]


# -- finding and reading files -------------------------------------------------------------------------

def load_config(paths: list[str], config_file: str | None = None, isolated: bool = False) -> Config:
    """The configuration for linting `paths`: `config_file`, else the nearest file, else defaults."""
    if isolated:
        return Config(run_files=False)
    if config_file:
        if not os.path.exists(config_file):
            raise ConfigError(f"{config_file}: no such configuration file")
        data = read_toml(config_file)
        if _is_pyproject(config_file):
            table = data.get("tool", {}).get("curvelint")
            if table is None:
                raise ConfigError(f"{config_file}: no [tool.curvelint] table")
        else:
            table = data
        return parse_config(table, config_file)
    found = find_config(start_folder(paths))
    return parse_config(found[1], found[0]) if found else Config()


def start_folder(paths: Iterable[str]) -> str:
    """Where the search starts: the folder holding all linted paths."""
    local = (os.path.abspath(p) for p in paths if not is_remote(p))  # a URL's configuration is the current folder's
    folders = [p if os.path.isdir(p) else os.path.dirname(p) or "." for p in local]
    if not folders:
        return os.getcwd()
    try:
        return os.path.commonpath(folders)
    except ValueError:  # different drives (Windows)
        return folders[0]


def find_config(start: str) -> tuple[str, dict] | None:
    """The nearest configuration at or above `start`: (file, its curvelint table)."""
    folder = os.path.abspath(start)
    while True:
        for name in CONFIG_NAMES:
            candidate = os.path.join(folder, name)
            if not os.path.isfile(candidate):
                continue
            data = read_toml(candidate)
            if name == "pyproject.toml":
                table = data.get("tool", {}).get("curvelint")
                if isinstance(table, dict):
                    return candidate, table
            elif not is_run_file(data):
                return candidate, data
        parent = os.path.dirname(folder)
        if parent == folder:
            return None
        folder = parent


def read_toml(path: str) -> dict:
    """A TOML file's contents; any problem with it is a one-line `ConfigError` naming the file."""
    try:
        with open_regular(path) as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{_show(path)}: invalid TOML: {exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{_show(path)}: invalid TOML: not UTF-8 text (byte 0x{exc.object[exc.start]:02x} "
                          f"at offset {exc.start})") from None
    except RecursionError:
        raise ConfigError(f"{_show(path)}: invalid TOML: arrays or tables nested too deeply") from None
    except OSError as exc:
        raise ConfigError(f"{_show(path)}: cannot read: {exc.strerror or exc}") from None


def is_run_file(data: dict) -> bool:
    """A run folder's own suppression file (marked by its ``reason``), not a project configuration."""
    return "reason" in data


def local_suppressions(run_path: str) -> tuple[list[str], str]:
    """Selectors a run folder suppresses for itself (``.curvelint.toml`` beside its logs), and why."""
    path = os.path.join(run_path, RUN_FILE)
    if not is_regular(path):
        return [], ""
    data = read_toml(path)
    if not is_run_file(data):
        return [], ""  # a project configuration that happens to sit in a run folder
    where = _Where(path, "")
    unknown = sorted(set(data) - set(RUN_KEYS))
    if unknown:
        raise ConfigError(f"{where(unknown[0])}: a run's suppression file (it has a 'reason') may only hold "
                          f"{', '.join(RUN_KEYS)}")
    ignore = _selectors(data.get("ignore", []), where("ignore"))
    reason = data["reason"]
    if not isinstance(reason, str) or not reason.strip():
        raise ConfigError(f"{where('reason')}: expected a non-empty string saying why")
    return ignore, reason.strip()


# -- parsing and validation ----------------------------------------------------------------------------

@dataclass(frozen=True)
class _Where:
    """Names a key in messages: ``pyproject.toml: tool.curvelint.rules.overfitting``."""

    file: str
    prefix: str

    def __call__(self, *keys: str) -> str:
        return f"{_show(self.file)}: {self.prefix}{'.'.join(keys)}"


def parse_config(table: Any, source: str) -> Config:
    """Validate one curvelint table (the file's contents or its ``[tool.curvelint]``)."""
    where = _Where(source, "tool.curvelint." if _is_pyproject(source) else "")
    if not isinstance(table, dict):
        raise ConfigError(f"{_show(source)}: the curvelint configuration must be a table")
    data = {k.replace("_", "-"): v for k, v in table.items()}
    for key in data:
        if key not in KEYS:
            extra = " ('reason' belongs in a run folder's .curvelint.toml)" if key == "reason" else ""
            raise ConfigError(f"{where(key)}: unknown key{extra}; valid keys: {', '.join(KEYS)}")
    config = Config(source=source, root=os.path.dirname(os.path.abspath(source)))
    if any(k in data for k in ("select", "extend-select", "ignore")):
        select = _selectors(data["select"], where("select")) if "select" in data else None
        config.select = resolve_selection(select, _selectors(data.get("extend-select", []), where("extend-select")),
                                          _selectors(data.get("ignore", []), where("ignore")))
    config.rule_options = _rule_options(data.get("rules", {}), where)
    config.severity = _severities(data.get("severity", {}), where)
    config.metrics = _metrics(data.get("metrics", {}), where)
    if "text-logs" in data:  # console-log patterns: regexes, validated (and compiled) here, never code
        from curvelint.readers.text_log import parse_settings

        config.text_logs = parse_settings(_table(data["text-logs"], where("text-logs")),
                                          lambda *keys: where("text-logs", *keys), ConfigError)
    if "limits" in data:
        config.limits = parse_limits(_table(data["limits"], where("limits")), lambda *k: where("limits", *k),
                                     ConfigError)
    ppi = _table(data.get("per-path-ignores", {}), where("per-path-ignores"))
    config.per_path_ignores = {str(k): _selectors(v, where("per-path-ignores", _quote(k))) for k, v in ppi.items()}
    config.fail_on = _choice(data.get("fail-on", "error"), SEVERITIES, where("fail-on"))
    config.format = _choice(data.get("format", "text"), FORMATS, where("format"))
    config.exclude = [_anchor(p, config.root) for p in _strings(data.get("exclude", []), where("exclude"))]
    if "reference" in data:  # paths relative to this file's folder
        config.reference, config.reference_paths = settings_from_table(
            _table(data["reference"], where("reference")), where, config.root, ConfigError)
    return config


def _anchor(pattern: str, root: str) -> str:
    """A file's exclude pattern with a folder part is relative to the file's folder: made absolute."""
    if "/" not in pattern.rstrip("/") or pattern.startswith(("*", "/")) or os.path.isabs(pattern):
        return pattern  # a name ("checkpoints"), or a pattern that matches anywhere ("**/tmp")
    return os.path.join(root, pattern.removeprefix("./"))


def resolve_selection(select: list[str] | None, extend: list[str], ignore: list[str]) -> list[str]:
    """Rule codes on after one layer of select / extend-select / ignore (ignore wins within a layer).

    Resolving to codes lets the command line, the next layer, win over a file:
    ``--extend-select CL104`` turns CL104 back on even if the file ignores it.
    """
    from curvelint.engine import matches
    from curvelint.registry import load_rules

    rules = load_rules()
    on = [r for r in rules if select is None or any(matches(r, s) for s in select)]
    on += [r for r in rules if r not in on and any(matches(r, s) for s in extend)]
    return sorted(r.code for r in on if not any(matches(r, s) for s in ignore))


def _rule_options(value: Any, where: _Where) -> dict[str, dict[str, Any]]:
    from curvelint.registry import find_rule, load_rules

    out: dict[str, dict[str, Any]] = {}
    for key, opts in _table(value, where("rules")).items():
        rule = find_rule(key)
        if rule is None:
            names = ", ".join(r.name for r in load_rules())
            raise ConfigError(f"{where('rules', _quote(key))}: unknown rule; valid rules: {names}")
        opts = _table(opts, where("rules", _quote(key)))
        checked = out.setdefault(rule.name, {})
        for spelled, given in opts.items():
            name = spelled.replace("-", "_")  # min-rise and min_rise, as every other key
            if name not in rule.options:
                valid = ", ".join(rule.options) if rule.options else f"none ({rule.name} has no options)"
                raise ConfigError(f"{where('rules', _quote(key), _quote(spelled))}: unknown option; "
                                  f"valid options: {valid}")
            checked[name] = check_type(given, rule.options[name].default, where("rules", _quote(key), _quote(spelled)))
    return out


def check_type(value: Any, default: Any, where: str) -> Any:
    """`value` if it has the type of the option's default (ints are fine for floats)."""
    if default is None:
        return value
    if isinstance(default, bool):
        ok, want = isinstance(value, bool), "true or false"
    elif isinstance(default, int):
        ok, want = isinstance(value, int) and not isinstance(value, bool), "an integer"
    elif isinstance(default, float):
        ok, want = isinstance(value, (int, float)) and not isinstance(value, bool), "a number"
        ok = ok and (isinstance(value, float) or abs(value) <= sys.float_info.max)  # (400 digits are no float)
        value = float(value) if ok else value
    elif isinstance(default, str):
        ok, want = isinstance(value, str), "a string"
    elif isinstance(default, (list, tuple)):
        ok, want = isinstance(value, list), "a list"
        value = type(default)(value) if ok else value
    elif isinstance(default, dict):
        ok, want = isinstance(value, dict), "a table"
    else:
        ok, want = isinstance(value, type(default)), type(default).__name__
    if not ok:
        raise ConfigError(f"{where}: expected {want} (default {default!r}), got {_brief(value)}")
    return value


def _severities(value: Any, where: _Where) -> dict[str, str]:
    """Overrides as code -> severity; a code or name beats a prefix, a longer prefix a shorter one."""
    from curvelint.engine import matches
    from curvelint.registry import load_rules

    table = {str(k): _choice(v, SEVERITIES, where("severity", _quote(k)))
             for k, v in _table(value, where("severity")).items()}
    for key in table:
        _selectors([key], where("severity", _quote(key)))
    out: dict[str, str] = {}
    for key in sorted(table, key=_specificity):
        for rule in load_rules():
            if matches(rule, key):
                out[rule.code] = table[key]
    return out


def _specificity(selector: str) -> tuple[int, int]:
    from curvelint.registry import find_rule

    exact = find_rule(selector) is not None
    return (1 if exact else 0, len(selector))


def _metrics(value: Any, where: _Where) -> dict[str, Any]:
    """Role overrides for roles.assign_roles: role -> name(s), plus a "directions" table."""
    from curvelint.roles import ROLE_NAMES, direction

    table = {k.replace("-", "_"): v for k, v in _table(value, where("metrics")).items()}
    valid = (*ROLE_NAMES, "monitor", "mode", "directions")
    out: dict[str, Any] = {}
    for key, names in table.items():
        if key not in valid:
            raise ConfigError(f"{where('metrics', key)}: unknown metric role; valid keys: {', '.join(valid)}")
        if key in ROLE_NAMES:
            out[key] = _names(names, where("metrics", key))
    directions = {str(k): _choice(v, DIRECTIONS, where("metrics", "directions", _quote(k)))
                  for k, v in _table(table.get("directions", {}), where("metrics", "directions")).items()}
    if "mode" in table and "monitor" not in table:
        raise ConfigError(f"{where('metrics', 'mode')}: only valid with metrics.monitor")
    if "monitor" in table:
        if "val_metric" in table:
            raise ConfigError(f"{where('metrics', 'monitor')}: give monitor or val_metric, not both")
        names = _names(table["monitor"], where("metrics", "monitor"))
        out["val_metric"] = names
        mode = _choice(table["mode"], DIRECTIONS, where("metrics", "mode")) if "mode" in table else None
        for name in [names] if isinstance(names, str) else names:
            d = mode or directions.get(name) or direction(name)
            if d is None:
                raise ConfigError(f"{where('metrics', 'monitor')}: cannot tell whether higher {name!r} is better; "
                                  f'add mode = "max" or mode = "min"')
            directions[name] = d
    if directions:
        out["directions"] = directions
    return out


def _names(value: Any, where: str) -> str | list[str]:
    if isinstance(value, str) and value:
        return value
    return _strings(value, where, "a series name or a list of series names")


def _selectors(value: Any, where: str) -> list[str]:
    from curvelint.engine import matches
    from curvelint.registry import load_rules

    selectors = _strings(value, where, "a list of rule codes, code prefixes or names")
    rules = load_rules()
    for s in selectors:
        if not any(matches(r, s) for r in rules):
            raise ConfigError(f"{where}: unknown rule selector {s!r} (see `curvelint rules`)")
    return selectors


def _strings(value: Any, where: str, want: str = "a list of strings") -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: expected {want}, got {_brief(value)}")
    return list(value)


def _table(value: Any, where: str) -> dict:
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: expected a table, got {_brief(value)}")
    return value


def _choice(value: Any, choices: tuple[str, ...], where: str) -> str:
    if not isinstance(value, str) or value.lower() not in choices:
        raise ConfigError(f"{where}: expected one of {', '.join(choices)}, got {_brief(value)}")
    return value.lower()


def _brief(value: Any, limit: int = 80) -> str:
    """`repr(value)` for a message, cut at `limit` characters (a file may hold a huge or deeply nested value)."""
    try:
        text = repr(value)
    except RecursionError:
        return f"a {type(value).__name__} nested too deeply to show"
    return text if len(text) <= limit else text[:limit] + "..."


def _quote(key: Any) -> str:
    key = str(key)
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else f'"{key}"'


def _is_pyproject(path: str) -> bool:
    return os.path.basename(path) == "pyproject.toml"


def _show(path: str) -> str:
    """A path for messages: relative to the current folder when it is below it."""
    rel = os.path.relpath(os.path.abspath(path))
    return path if rel.startswith("..") else rel

