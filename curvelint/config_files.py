"""Finding and reading configuration files: which file applies, its TOML, and naming keys in messages.

The nearest file at or above the linted paths wins; in one folder ``.curvelint.toml``, then
``curvelint.toml``, then ``pyproject.toml`` with a ``[tool.curvelint]`` table. A run folder's own
suppression file (a ``.curvelint.toml`` with a ``reason``, `curvelint.suppression`) is walked past.
Nothing here validates a key (`curvelint.config` does) or imports a reader.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import Iterable

from curvelint.fileio import is_remote, open_regular

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

CONFIG_NAMES = (".curvelint.toml", "curvelint.toml", "pyproject.toml")
RUN_FILE = ".curvelint.toml"  # also a run folder's suppression file, marked by its "reason"


class ConfigError(Exception):
    """A configuration problem; the message names the file and key."""


@dataclass(frozen=True)
class Where:
    """Names a key in messages: ``pyproject.toml: tool.curvelint.rules.overfitting``."""

    file: str
    prefix: str

    def __call__(self, *keys: str) -> str:
        return f"{show(self.file)}: {self.prefix}{'.'.join(keys)}"


def where_in(source: str) -> Where:
    """How keys of the curvelint table in `source` are named (``tool.curvelint.`` in a pyproject.toml)."""
    return Where(source, "tool.curvelint." if is_pyproject(source) else "")


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


def named_table(config_file: str) -> dict:
    """The curvelint table of the file that --config names (its ``[tool.curvelint]`` in a pyproject.toml)."""
    if not os.path.exists(config_file):
        raise ConfigError(f"{config_file}: no such configuration file")
    data = read_toml(config_file)
    if not is_pyproject(config_file):
        return data
    table = data.get("tool", {}).get("curvelint")
    if table is None:
        raise ConfigError(f"{config_file}: no [tool.curvelint] table")
    return table


def read_toml(path: str) -> dict:
    """A TOML file's contents; any problem with it is a one-line `ConfigError` naming the file."""
    try:
        with open_regular(path) as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{show(path)}: invalid TOML: {exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{show(path)}: invalid TOML: not UTF-8 text (byte 0x{exc.object[exc.start]:02x} "
                          f"at offset {exc.start})") from None
    except RecursionError:
        raise ConfigError(f"{show(path)}: invalid TOML: arrays or tables nested too deeply") from None
    except OSError as exc:
        raise ConfigError(f"{show(path)}: cannot read: {exc.strerror or exc}") from None


def is_run_file(data: dict) -> bool:
    """A run folder's own suppression file (marked by its ``reason``), not a project configuration."""
    return "reason" in data


def is_pyproject(path: str) -> bool:
    return os.path.basename(path) == "pyproject.toml"


def show(path: str) -> str:
    """A path for messages: relative to the current folder when it is below it."""
    rel = os.path.relpath(os.path.abspath(path))
    return path if rel.startswith("..") else rel
