"""JSON Lines metrics logs (``metrics.jsonl``, ``*.jsonl``) -> one `Run`.

One JSON object per line, as hand-written loops (``f.write(json.dumps({"step": s, "loss": l}) + "\\n")``),
Detectron2 (``iteration``), mmengine (``step``/``iter``/``epoch``), fairseq's JSON log format and many
trainers write them:

* The step axis is the first of `STEP_KEYS` that the first lines carry as whole numbers, else
  ``epoch`` (when it is not whole numbers, e.g. ``0.25``, the order of the lines is the step, noted).
  The axis keys are not series.
* Every other number is a series named by its key; a nested dict of numbers is flattened with ``.``
  (``{"val": {"loss": 0.3}}`` -> ``val.loss``). ``_timestamp``/``timestamp``/``wall_time`` holding epoch
  seconds is the wall time. Keys starting with ``_`` are bookkeeping; text and booleans are not read (noted).
* A ``.jsonl`` file is a run only when its first `SNIFF_LINES` lines are mostly objects with a step-like
  key and a metric-like number (a loss, an accuracy, a learning rate, ...): a dataset, a chat transcript or
  an event stream is skipped without a word. Only those first lines are read to decide.
* A line that is not a JSON object is an "unreadable" problem at its line, a cut-off last line a
  "truncated" one, a line whose step is not a whole number an "unreadable" one: each costs only itself.
  Lines without the step key (a config or summary record) are skipped (noted).
"""

from __future__ import annotations

import math
from itertools import chain, islice
from typing import Any

from curvelint.discovery import RunSource
from curvelint.model import Problem, Run
from curvelint.readers._common import (
    JsonLines, Rows, constant_lr_hparams, flatten_numbers, is_finite_number, metric_like, new_run, unreadable,
)

FORMAT = "jsonl"
STEP_KEYS = ("step", "global_step", "_step", "iteration", "iter", "it", "steps", "train/global_step")
EPOCH_KEYS = ("epoch", "epochs")
WALL_KEYS = ("_timestamp", "timestamp", "wall_time", "walltime")
SNIFF_LINES = 50  # objects looked at to decide whether the file is a metrics log
MIN_LINES = 2  # ... of which at least this many, and half, must have a step and a metric
_WALL_EPOCH = 1e8  # a wall time in epoch seconds is after 1973


def _metrics(obj: dict[str, Any], axis: set[str]) -> tuple[dict[str, float], set[str], float | None]:
    """(numbers by flattened name, names of values that are not numbers, wall time) of one line."""
    values: dict[str, float] = {}
    other: set[str] = set()
    wall = None
    for key, value in obj.items():
        if key in axis or not isinstance(key, str) or key.startswith("_") and key not in WALL_KEYS:
            continue
        if key in WALL_KEYS and is_finite_number(value) and value > _WALL_EPOCH:
            wall = float(value)
            continue
        flatten_numbers(key, value, values, other)
    return values, other, wall


def _whole(value: Any) -> bool:
    return is_finite_number(value) and value == int(value) and abs(value) < 2 ** 62


def choose_axis(head: list[dict[str, Any]]) -> tuple[str, bool] | None:
    """(step key, whether its values are whole numbers) that makes `head` a metrics log, or None.

    A key counts on a line holding it as a number beside at least one metric-like number; it must count
    on `MIN_LINES` lines and on half of the lines. Step keys need whole numbers; ``epoch`` may be fractional."""
    axis_names = set(STEP_KEYS + EPOCH_KEYS)
    needed = max(MIN_LINES, math.ceil(len(head) / 2))
    with_metric = [obj for obj in head if any(metric_like(k) for k in _metrics(obj, axis_names)[0])]
    if len(with_metric) < needed:
        return None
    for key in STEP_KEYS:
        if sum(1 for obj in with_metric if _whole(obj.get(key))) >= needed:
            return key, True
    for key in EPOCH_KEYS:
        numbers = [obj[key] for obj in with_metric if is_finite_number(obj.get(key))]
        if len(numbers) >= needed:
            return key, all(_whole(n) for n in numbers)
    return None


def read(source: RunSource) -> list[Run]:
    """Read one JSON Lines file (never raises for bad input); [] when it is not a metrics log."""
    path = source.files[0] if source.files else source.path
    lines = JsonLines(path)
    try:
        objects = iter(lines)
        head = list(islice(objects, SNIFF_LINES))
        found = choose_axis([obj for _, obj in head])
        if found is None:
            return []
        key, whole = found
        run = new_run(source, FORMAT)
        rows = Rows()
        axis = set(STEP_KEYS + EPOCH_KEYS)
        stepless, bad_steps = 0, []
        for number, obj in chain(head, objects):
            if key not in obj:
                stepless += 1
                continue
            step = obj[key]
            if not (_whole(step) if whole else is_finite_number(step)):
                bad_steps.append(number)
                continue
            values, other, wall = _metrics(obj, axis)
            rows.other |= other
            rows.add(values, float(step) if whole else None, wall)
    except OSError as exc:
        return unreadable(source, FORMAT, f"cannot read: {exc.strerror or exc}")
    if key != "step" or not whole:
        order = "" if whole else " (not whole numbers: the order of the lines is the step)"
        run.notes.append(f"step axis: {key!r}{order}")
    rows.to_run(run)
    if stepless:
        run.notes.append(f"{stepless} line(s) without {key!r} were skipped")
    run.problems.extend(lines.problems())
    if bad_steps:
        run.problems.append(Problem("unreadable", path, f"{len(bad_steps)} line(s) have a {key!r} that is not a "
                                    f"{'whole ' if whole else ''}number (first at line {bad_steps[0]}); skipped",
                                    bad_steps[0]))
    constant_lr_hparams(run)
    return [run]
