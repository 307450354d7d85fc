"""An MLflow file-store run folder (``meta.yaml`` + ``metrics/``) -> one `Run`.

* ``metrics/<name>``: one point per line, ``<ms timestamp> <value> <step>`` (very old
  stores omit the step: line order is used). Names may contain ``/`` (sub-folders). A
  metric logged without steps (every point at step 0) is placed in line order (noted).
* ``params/<name>``: hparams, as ints/floats when they parse as finite numbers, else strings.
* ``meta.yaml``: only ``status`` (1 RUNNING ... 5 KILLED) and ``end_time`` are read,
  with plain line parsing (no YAML dependency); a run that was never closed is noted.

A malformed metric line is an "unreadable" problem at its line (a cut-off last line is
"truncated"); the other lines are kept.
"""

from __future__ import annotations

import math
import os
from collections import Counter
from typing import Callable

import numpy as np

from curvelint.discovery import RunSource
from curvelint.fileio import walk
from curvelint.model import Problem, Run
from curvelint.readers._common import add_series, constant_lr_hparams, names, new_run, read_lines_text, read_text

FORMAT = "mlflow"
MAX_STEP = 2 ** 62  # add_series drops steps beyond this (int64, with room for differences)
Arrays = tuple[np.ndarray, np.ndarray, np.ndarray]  # steps, values, wall times
STATUS = {"1": "RUNNING", "2": "SCHEDULED", "3": "FINISHED", "4": "FAILED", "5": "KILLED"}


def _files(folder: str) -> list[tuple[str, str]]:
    """(name with '/' separators, path) of the files under `folder`, sorted, hidden ones skipped."""
    out = []
    for dirpath, dirnames, filenames in walk(folder):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for f in filenames:
            if not f.startswith("."):
                path = os.path.join(dirpath, f)
                out.append((os.path.relpath(path, folder).replace(os.sep, "/"), path))
    return sorted(out)


def _metric(name: str, path: str, run: Run) -> Arrays | None:
    """(steps, values, wall times) of one metric file; bad lines become problems."""
    try:
        text, cut = read_lines_text(path)
    except OSError as exc:
        run.problems.append(Problem("unreadable", path, f"cannot read metric {name!r}: {exc.strerror or exc}"))
        return None
    run.problems.extend(cut)
    return parse_metric(name, path, text, run)


def parse_metric(name: str, path: str, text: str, run: Run) -> Arrays:
    """(steps, values, wall times) of a metric file's text (or, for `curvelint.follow`, of the lines
    appended to it); bad lines become problems of `run`."""
    lines = text.splitlines()  # split into fields one at a time (millions of lines: not all held as fields)
    widths = Counter(len(line.split(None, 3)) for line in lines)  # (a 4th field: a bad line, whatever its length)
    width = 3 if widths[3] >= widths[2] else 2  # 2: an old store without steps
    walls: list[float] = []
    values: list[float] = []
    steps: list[float] = []
    bad: list[int] = []
    beyond: list[int] = []  # lines with a step of 2^62 or more (add_series would drop it unsaid)
    for number, line in enumerate(lines, 1):
        fields = line.split(None, 3)
        if not fields:
            continue
        try:
            if len(fields) != width:
                raise ValueError
            wall, value = float(fields[0]) / 1000.0, float(fields[1])
            step = _step(fields[2]) if width == 3 else float(len(steps))
            if step is None:
                beyond.append(number)
                continue
        except ValueError:
            if number == len(lines) and not text.endswith(("\n", "\r")) and len(fields) < width:
                run.problems.append(Problem("truncated", path, f"metric {name!r}: the last line is cut off",
                                            number))
            else:
                bad.append(number)
            continue
        walls.append(wall)
        values.append(value)
        steps.append(step)
    if bad:
        run.problems.append(Problem("unreadable", path, f"metric {name!r}: {len(bad)} line(s) are not "
                                    f"'<timestamp> <value> <step>' (first at line {bad[0]}); skipped", bad[0]))
    if beyond:
        first = lines[beyond[0] - 1].split(None, 3)[2]
        shown = first if len(first) <= 24 else f"{first[:12]}... ({len(first)} characters)"
        run.problems.append(Problem("unreadable", path, f"metric {name!r}: {len(beyond)} line(s) have an absurd "
                                    f"step, beyond ±2^62 (first at line {beyond[0]}: step {shown}); skipped",
                                    beyond[0]))
    return np.asarray(steps), np.asarray(values), np.asarray(walls)


def _step(text: str) -> float | None:
    """A step field; None for an integer beyond ±2^62 (ValueError when it is not an integer)."""
    digits = text.lstrip("+-").lstrip("0")
    if len(digits) > 19:  # beyond int64; int() would refuse more than 4300 digits
        if not digits.isdigit():
            raise ValueError(text)
        return None
    step = float(int(text))
    return step if abs(step) < MAX_STEP else None


def _param(text: str) -> int | float | str:
    value = text.strip()
    try:
        return int(value)
    except ValueError:
        pass
    try:
        number = float(value)
    except ValueError:
        return value
    return number if math.isfinite(number) else value


def _meta(folder: str, run: Run) -> None:
    """Note a run that was not closed as FINISHED (plain `key: value` lines of meta.yaml)."""
    try:
        lines = read_text(os.path.join(folder, "meta.yaml")).splitlines()
    except OSError:
        return
    meta = {}
    for line in lines:
        key, sep, value = line.partition(":")
        if sep and not line.startswith((" ", "\t", "-")):
            meta[key.strip()] = value.strip().strip("'\"")
    status = STATUS.get(meta.get("status", ""), meta.get("status", ""))
    if status and status != "FINISHED":
        ended = " (end_time is null: never closed)" if meta.get("end_time") in ("null", "~", "") else ""
        run.unfinished = f"MLflow status is {status}{ended}: the run may have been interrupted"
    if meta.get("lifecycle_stage") == "deleted":
        run.notes.append("the MLflow run is deleted (lifecycle_stage: deleted)")


def read(source: RunSource, metric: Callable[[str, str, Run], Arrays | None] | None = None) -> list[Run]:
    """Read one MLflow run folder (never raises for bad input). `metric(name, path, run)` reads one
    metric file (default `_metric`; `curvelint.follow` passes one that parses only appended lines)."""
    folder = source.path
    run = new_run(source, FORMAT)
    columns = {}
    stepless = []
    for name, path in _files(os.path.join(folder, "metrics")):
        arrays = (metric or _metric)(name, path, run)
        if arrays is None:
            continue
        steps, values, walls = arrays
        if len(steps) > 1 and np.all(steps == steps[0]):
            stepless.append(name)
            steps = np.arange(len(steps), dtype=np.float64)
        columns[name] = (steps, values, walls)
    add_series(run, columns)
    if stepless:
        run.notes.append(f"logged without steps (all at one step), placed in line order: {names(stepless)}")
    for name, path in _files(os.path.join(folder, "params")):
        try:
            run.hparams[name] = _param(read_text(path))
        except OSError:
            continue
    _meta(folder, run)
    constant_lr_hparams(run)
    return [run]
