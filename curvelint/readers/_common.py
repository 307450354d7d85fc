"""Helpers shared by the readers.

They build `Series` from columns (dropping cells that were not logged, ordering and de-duplicating
steps with a note), make the `Run` skeleton and its problems, and convert logged values to numbers.
Reading text files within the limits is `curvelint.readers._text`'s, parsing JSON and Python literals
`curvelint.readers._literals`'s; both are re-exported here, where the readers import them from.
"""

from __future__ import annotations

import math
import os
import re
import sys
from array import array
from dataclasses import dataclass, field
from typing import Any, Iterable, TypeGuard, cast

import numpy as np

from curvelint import limits
from curvelint.discovery import RunSource
from curvelint.model import Problem, Run, Series
from curvelint.readers._literals import oversized_problem, parse_json, python_literal  # noqa: F401  (re-exported)
from curvelint.readers._text import (  # noqa: F401  (re-exported)
    MAX_LINE, JsonLines, iter_lines, read_lines_text, read_text, truncated_line,
)

LR_NAMES = ("lr", "learning_rate")


def new_run(source: RunSource, fmt: str, name: str | None = None) -> Run:
    """An empty run for `source` (name defaults to the source path)."""
    return Run(name=name or source.name, path=source.path, format=fmt, sources=list(source.files))


def unreadable(source: RunSource, fmt: str, message: str, offset: int | None = None) -> list[Run]:
    """A single run carrying one "unreadable" problem."""
    run = new_run(source, fmt)
    run.problems.append(Problem("unreadable", source.path, message, offset))
    return [run]


def to_float(cell: Any) -> float | None:
    """A number from a JSON value or a text cell ("nan", "inf", " 0.5 "); None when not a number."""
    if isinstance(cell, bool) or cell is None:
        return None
    if isinstance(cell, (int, float)):
        try:
            return float(cell)
        except OverflowError:  # an int beyond float range
            return math.inf if cell > 0 else -math.inf
    if isinstance(cell, str):
        text = cell.strip()
        if not text:
            return None
        try:
            return float(text)
        except ValueError:
            return None
    return None


def names(items: Iterable[str], limit: int = 6) -> str:
    """'a, b, c and 4 more'."""
    items = list(items)
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def add_series(run: Run, columns: dict[str, tuple[Any, Any, Any]]) -> None:
    """Turn ``name -> (steps, values, wall_times|None)`` into the run's series.

    Points with a missing step (NaN) or one beyond int64 are dropped. Steps are ordered (stable), and a
    repeated step keeps its last value; both are written to ``run.notes`` once per run. A series keeps
    at most its first `series-points` points ([tool.curvelint.limits]; a problem names those cut).
    """
    unordered: list[str] = []
    repeated: list[str] = []
    cut: list[str] = []
    most = limits.current().series_points
    for name, (steps, values, walls) in columns.items():
        steps = _exact_steps(steps)
        values = np.asarray(values, dtype=np.float64)
        walls = None if walls is None else np.asarray(walls, dtype=np.float64)
        if steps.dtype != np.int64:  # drop NaN (not logged) and steps beyond int64
            keep = np.abs(steps) < 2.0 ** 62
            if not keep.all():
                steps, values = steps[keep], values[keep]
                walls = None if walls is None else walls[keep]
        if not len(steps):
            continue  # never logged: no series
        gaps = np.diff(steps)
        if len(gaps) and gaps.min() <= 0:  # else strictly increasing (the usual case): nothing to do
            if gaps.min() < 0:
                order = np.argsort(steps, kind="stable")
                steps, values = steps[order], values[order]
                walls = None if walls is None else walls[order]
                unordered.append(name)
                gaps = np.diff(steps)
            if not gaps.all():
                last = np.ones(len(steps), dtype=bool)
                last[:-1] = gaps != 0
                repeated.append(f"{name} ({int((~last).sum())})")
                steps, values = steps[last], values[last]
                walls = None if walls is None else walls[last]
        if len(steps) > most:
            cut.append(name)
            steps, values, walls = steps[:most], values[:most], None if walls is None else walls[:most]
        run.series[name] = Series(name, steps.astype(np.int64, copy=False), values, walls)
    if cut:
        run.problems.append(limits.reached(run.path, "series-points", f"series {names(cut)}",
                                           "the points at the lowest steps were read"))
    if unordered:
        run.notes.append(f"steps were not in order; sorted {names(unordered)}")
    if repeated:
        run.notes.append(f"repeated steps: kept the last value per step, dropped earlier points of {names(repeated)}")


def _exact_steps(steps: Any) -> np.ndarray:
    """Steps as int64 when they are integers that float64 holds exactly (no conversion), else as float64."""
    if isinstance(steps, np.ndarray) and steps.dtype.kind in "iu" and len(steps):
        lo, hi = steps.min(), steps.max()
        if -(2 ** 53) <= lo and hi <= 2 ** 53:
            return steps.astype(np.int64, copy=False)
    return np.asarray(steps, dtype=np.float64)


def constant_lr_hparams(run: Run) -> None:
    """A learning-rate series with a single finite value is also an hparam (``lr``/``learning_rate``)."""
    for name in LR_NAMES:
        series = run.series.get(name)
        if series is None or name in run.hparams or not len(series):
            continue
        finite = series.values[np.isfinite(series.values)]
        if len(finite) and np.all(finite == finite[0]):
            run.hparams[name] = float(finite[0])


def metric_like(name: str) -> bool:
    """A loss, a metric with a known direction (accuracy, mAP, ...) or a learning rate."""
    from curvelint.roles import direction

    return "loss" in name.lower() or direction(name) is not None or name.lower() in LR_NAMES


METRIC_WORD = re.compile(r"loss|acc|val_|metric|epoch|step|lr\b|learning_rate", re.IGNORECASE)
LOG_NAME = re.compile(r"histor|metric|log|result|train|progress|loss", re.IGNORECASE)


def looks_like_log(path: str, text: str) -> bool:
    """Whether a file that failed to parse is a broken training log rather than some other file:
    its name says so, or its text mentions metrics."""
    return bool(LOG_NAME.search(os.path.basename(path))) or bool(METRIC_WORD.search(text[:65536]))


def is_integral(values: np.ndarray) -> bool:
    finite = values[np.isfinite(values)]
    return bool(len(finite) == len(values) and np.all(finite == np.round(finite))
                and (not len(finite) or np.abs(finite).max() < 2.0 ** 62))


def is_finite_number(value: Any) -> TypeGuard[int | float]:
    """A number that converts to a finite float (an int of 400 digits does not: float() would raise)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return abs(value) <= sys.float_info.max if isinstance(value, int) else math.isfinite(value)


def flatten_numbers(name: str, value: Any, out: dict[str, float], other: set[str]) -> None:
    """Put the number(s) of one logged value in `out` (a dict of numbers is flattened with '.'); the names
    of values that are not numbers (text, booleans, W&B media with a ``_type``) go to `other`."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        out[name] = cast(float, to_float(value))  # (an int or float always converts)
    elif isinstance(value, dict) and "_type" not in value:  # "_type": images, histograms, tables
        for key, inner in value.items():
            flatten_numbers(f"{name}.{key}", inner, out, other)
    elif value is not None:
        other.add(name)


@dataclass
class Rows:
    """Logged rows (name -> number, at a step) gathered as per-series columns for `add_series` (arrays of
    doubles: 8 bytes a number, where lists of floats took some 40)."""

    columns: dict[str, tuple[array, array, array]] = field(default_factory=dict)
    other: set[str] = field(default_factory=set)  # logged names whose values are not numbers
    rows: int = 0
    stepless: int = 0  # rows without a step (placed at the row index)
    timed: bool = False

    def add(self, values: dict[str, float], step: float | None, wall: float | None = None) -> None:
        if step is None:
            step, self.stepless = float(self.rows), self.stepless + 1
        self.rows += 1
        wall = math.nan if wall is None else wall
        self.timed = self.timed or not math.isnan(wall)
        for name, value in values.items():
            steps, vals, walls = self.columns.get(name) or self.columns.setdefault(name, (array("d"), array("d"),
                                                                                          array("d")))
            steps.append(step)
            vals.append(value)
            walls.append(wall)

    def to_run(self, run: Run) -> None:
        """The columns as the run's series, and a note naming the values that were not numbers."""
        add_series(run, {name: (cols[0], cols[1], cols[2] if self.timed else None)
                         for name, cols in sorted(self.columns.items())})
        if self.other:
            run.notes.append(f"logged values that are not numbers were not read: {names(sorted(self.other))}")


def final_note(source: str, values: dict[str, float], shown: int = 8) -> str:
    """'final values from all_results.json: eval_loss=0.223, train_loss=0.4594 and 3 more'."""
    items = [f"{k}={v:.4g}" for k, v in values.items()]
    more = f" and {len(items) - shown} more" if len(items) > shown else ""
    return f"final values from {source}: {', '.join(items[:shown])}{more}"
