"""Plain-text training logs (``*.log``, ``*.txt``, ``*.out``: captured console output) -> one `Run`.

The log is streamed line by line; ANSI colours are removed and a progress bar redrawn in place (``\\r``,
backspaces) is split into its states. Each printer of `curvelint.readers.text_patterns` (Keras ``fit``,
nanoGPT, the HF Trainer's dicts, Coqui's trainer) and each pattern configured in
``[tool.curvelint.text-logs]`` reads the lines it recognises; the one that read the most lines gives the
run, and the run's notes say which. A file becomes a run only when that printer read at least
``min-lines`` lines (default `MIN_LINES`); any other text file (a README, a server log, a log of a
printer curvelint does not know) is skipped without a word, and when no pattern matched anything in the
first `SNIFF_LINES` lines the rest is not read.

Configuration (regexes only; nothing from it is ever executed)::

    [tool.curvelint.text-logs]
    min-lines = 3                     # lines a pattern must read to make a run
    builtin = true                    # also try the built-in printers
    [tool.curvelint.text-logs.patterns]
    my-trainer = ['it (?P<step>\\d+) loss (?P<loss>\\S+)', 'val_loss=(?P<val_loss>\\S+) at (?P<step>\\d+)']

A group named ``step``/``global_step``/``iteration``/``iter``/``it``/``epoch`` is the step (without one
the k-th matching line is step k), every other named group a series. A line a printer recognises but
cannot read (a value that is not a number, a cut-off dict) costs only itself: an "unreadable" problem
names the first such line, or a "truncated" one when it is the last line and was cut off.

The reader finds the configuration itself, the nearest one above the log (as `curvelint.config` finds
it without ``--config``), because readers are handed only the files of a run.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Callable

from curvelint.discovery import RunSource
from curvelint.model import Problem, Run
from curvelint.readers._common import constant_lr_hparams, final_note, iter_lines, new_run, truncated_line, unreadable
from curvelint.readers.text_patterns import AXIS_GROUPS, Printer, builtin_printers, custom_printers

FORMAT = "text-log"
MIN_LINES = 2
SNIFF_LINES = 5000  # lines read before a file in which nothing matched is given up
SETTINGS_KEYS = ("patterns", "min-lines", "builtin")
MAX_PATTERN = 2000  # characters of a configured regex
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")
_REDRAW = re.compile(r"[\r\x08]+")
TITLES = {"keras": "Keras fit() output", "nanogpt": "nanoGPT output", "hf-trainer": "Hugging Face Trainer printout",
          "coqui": "Coqui trainer output"}


@dataclass(frozen=True)
class Settings:
    """``[tool.curvelint.text-logs]``, validated."""

    patterns: dict[str, tuple[str, ...]] = field(default_factory=dict)
    min_lines: int = MIN_LINES
    builtin: bool = True


def parse_settings(table: dict[str, Any], where: Callable[..., str], error: type[Exception]) -> Settings:
    """Validate a ``text-logs`` table; `where(key, ...)` names a key in messages, `error` is raised."""
    table = {str(k).replace("_", "-"): v for k, v in table.items()}
    for key in table:
        if key not in SETTINGS_KEYS:
            raise error(f"{where(key)}: unknown key; valid keys: {', '.join(SETTINGS_KEYS)}")
    min_lines = table.get("min-lines", MIN_LINES)
    if isinstance(min_lines, bool) or not isinstance(min_lines, int) or min_lines < 1:
        raise error(f"{where('min-lines')}: expected a whole number of at least 1")
    builtin = table.get("builtin", True)
    if not isinstance(builtin, bool):
        raise error(f"{where('builtin')}: expected true or false")
    raw = table.get("patterns", {})
    if not isinstance(raw, dict):
        raise error(f"{where('patterns')}: expected a table of name = regex (or a list of regexes)")
    patterns: dict[str, tuple[str, ...]] = {}
    for name, value in raw.items():
        regexes = [value] if isinstance(value, str) else value
        if not isinstance(regexes, list) or not regexes or not all(isinstance(r, str) for r in regexes):
            raise error(f"{where('patterns', str(name))}: expected a regex or a list of regexes")
        for regex in regexes:
            _check_regex(regex, where("patterns", str(name)), error)
        patterns[str(name)] = tuple(regexes)
    return Settings(patterns, min_lines, builtin)


def _check_regex(regex: str, where: str, error: type[Exception]) -> None:
    if len(regex) > MAX_PATTERN:
        raise error(f"{where}: a regex of {len(regex)} characters is longer than {MAX_PATTERN}")
    try:
        compiled = re.compile(regex)
    except (re.error, RecursionError, OverflowError) as exc:
        raise error(f"{where}: invalid regex: {exc}") from None
    if not set(compiled.groupindex) - set(AXIS_GROUPS):
        raise error(f"{where}: the regex names no value: give it a named group like (?P<loss>\\S+)")


@lru_cache(maxsize=64)
def settings_for(folder: str) -> Settings:
    """The ``[tool.curvelint.text-logs]`` settings of the nearest configuration at or above `folder`."""
    from curvelint.config_files import ConfigError, find_config
    from curvelint.config_files import Where as _Where

    found = find_config(folder)
    if found is None:
        return Settings()
    path, table = found
    table = {str(k).replace("_", "-"): v for k, v in table.items()}
    section = table.get("text-logs")
    if not isinstance(section, dict):
        return Settings()
    prefix = "tool.curvelint." if os.path.basename(path) == "pyproject.toml" else ""
    where = _Where(path, prefix)
    return parse_settings(section, lambda *keys: where("text-logs", *keys), ConfigError)


def segments(line: str) -> list[str]:
    """The states of one line: colours removed, ``\\r``/backspace redraws split, blank states dropped."""
    if "\x1b" in line:
        line = _ANSI.sub("", line)
    if "\r" in line or "\x08" in line:
        return [s for s in _REDRAW.split(line) if s.strip()]
    return [line] if line.strip() else []


def scan(path: str, printers: list[Printer], report: list[Problem] | None = None) -> tuple[int, bool]:
    """Feed the log's lines to `printers` (those that matched nothing by `SNIFF_LINES` are dropped).
    Returns (the last line's number, whether it ended in a line break); OSError propagates. The limits
    hit while reading go to `report` (`iter_lines`)."""
    active = list(printers)
    last, ended = 0, True
    for lineno, text, ended in iter_lines(path, keep_tail=True, report=report):
        last = lineno
        for state in segments(text):
            for printer in active:
                printer.feed(lineno, state)
        if lineno == SNIFF_LINES:
            active = [p for p in active if p.lines or p.bad]
            if not active:
                break
    for printer in printers:
        printer.finish()
    return last, ended


def read(source: RunSource, settings: Settings | None = None) -> list[Run]:
    """Read one text log (never raises for bad input); [] when no pattern read enough lines."""
    path = source.files[0] if source.files else source.path
    try:
        if settings is None:
            from curvelint.readers.configured import text_logs

            linting, configured = text_logs()  # the lint's --config / --isolated, else the nearest file
            settings = (configured or Settings()) if linting else settings_for(os.path.dirname(os.path.abspath(path)))
    except Exception as exc:  # a broken configuration (ConfigError): said once, the log is not read
        return unreadable(source, FORMAT, f"text-log patterns not usable: {exc}")
    printers = (builtin_printers() if settings.builtin else []) + custom_printers(dict(settings.patterns))
    if not printers:
        return []
    limited: list[Problem] = []
    try:
        last, ended = scan(path, printers, limited)
    except OSError as exc:
        return unreadable(source, FORMAT, f"cannot read: {exc.strerror or exc}")
    best = max(printers, key=lambda p: p.lines)  # the first of equals: built-ins before configured patterns
    if best.lines < settings.min_lines:
        return []
    run = new_run(source, FORMAT)
    title = TITLES.get(best.name, f"the configured pattern {best.name!r}")
    run.notes.append(f"read as {title}: {best.lines} lines matched (pattern {best.name!r})")
    if best.name == "hf-trainer":
        run.notes.append("the printed dicts have no step numbers: step k is the k-th training log, "
                         "an evaluation is at the step of the training log before it")
    best.rows.to_run(run)
    run.notes.extend(best.notes)
    if best.final:
        run.final.update(best.final)
        run.notes.append(final_note("the log's closing summary", best.final))
    run.problems.extend(_problems(path, best, last, ended) + limited)
    constant_lr_hparams(run)
    return [run]


def _problems(path: str, best: Printer, last: int, ended: bool) -> list[Problem]:
    """The bad lines of the printer that gave the run; its cut-off last line is "truncated" (its values, if it
    gave any, are kept: a number cut short cannot be told from a whole one)."""
    out, bad = [], best.bad
    if not ended and best.touched == last:
        out.append(truncated_line(path, last))
        bad = [n for n in bad if n != last]
    if bad:
        out.insert(0, Problem("unreadable", path, f"{len(bad)} line(s) look like training output but could not be "
                              f"read (first at line {bad[0]}); skipped", bad[0]))
    return out
