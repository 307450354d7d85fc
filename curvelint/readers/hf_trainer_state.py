"""Hugging Face Trainer ``trainer_state.json`` -> one `Run`.

Every numeric key of a ``log_history`` entry becomes a series keyed by the entry's
``step``, named as logged: train entries (``loss``, ``grad_norm``, ``learning_rate``,
TRL's ``rewards/chosen``, ``mean_token_accuracy``, ...) and eval entries (``eval_loss``,
``eval_g0_accuracy``, ...). Bookkeeping keys (``epoch``, ``*_runtime``,
``*_per_second``, token counters) are not curves and are skipped, as is the final
train-summary entry (``train_loss``, ``train_runtime``, ...).

Top-level fields give hparams (batch size, epochs, max steps, logging/eval intervals,
early-stopping patience); ``global_step < max_steps`` is noted as a run that stopped
early. An empty ``log_history`` is a run without series (not a problem).

``all_results.json``, ``train_results.json``, ``eval_results.json`` and ``test_results.json`` of the
state's output folder (``trainer.save_metrics``; discovery hands them over as the source's other
files) are the run's final values (`Run.final`; all_results first, the split files fill in), noted.
"""

from __future__ import annotations

import os
import re
from typing import Any

from curvelint.discovery import RunSource
from curvelint.model import Problem, Run
from curvelint.readers._common import (
    add_series, constant_lr_hparams, final_note, is_finite_number, new_run, oversized_problem, parse_json,
    read_text, to_float, unreadable,
)

FORMAT = "hf-trainer-state"
SUMMARY_KEYS = frozenset({"train_runtime", "train_samples_per_second", "train_steps_per_second", "total_flos"})
SKIP_KEY = re.compile(r"step|epoch|total_flos|num_input_tokens_seen|(?:\w+_)?num_tokens|\w+_runtime|\w+_per_second")
HPARAM_KEYS = ("train_batch_size", "num_train_epochs", "max_steps", "logging_steps", "eval_steps", "save_steps")


def _columns(entries: list[Any]) -> tuple[dict[str, tuple[list[float], list[float], None]], int]:
    """Series columns from log_history, and the number of entries skipped for lack of a step."""
    columns: dict[str, tuple[list[float], list[float], None]] = {}
    stepless = 0
    for entry in entries:
        if not isinstance(entry, dict):
            stepless += 1
            continue
        if SUMMARY_KEYS & entry.keys():
            continue  # the end-of-training summary
        step = to_float(entry.get("step"))
        if step is None:
            stepless += 1
            continue
        for key, value in entry.items():
            number = to_float(value) if not isinstance(value, str) else None
            if number is None or not isinstance(key, str) or SKIP_KEY.fullmatch(key):
                continue
            steps, values, _ = columns.setdefault(key, ([], [], None))
            steps.append(step)
            values.append(number)
    return columns, stepless


def _hparams(state: dict[str, Any], run: Run) -> None:
    for key in HPARAM_KEYS:
        if is_finite_number(state.get(key)) and abs(state[key]) < 2**62:  # sys.maxsize: "unbounded" epochs
            run.hparams[key] = state[key]
    callbacks = state.get("stateful_callbacks")
    early = callbacks.get("EarlyStoppingCallback") if isinstance(callbacks, dict) else None
    args = early.get("args") if isinstance(early, dict) else None
    if isinstance(args, dict) and is_finite_number(args.get("early_stopping_patience")):
        run.hparams["early_stopping_patience"] = args["early_stopping_patience"]


def _stop_note(state: dict[str, Any]) -> str | None:
    done, planned = state.get("global_step"), state.get("max_steps")
    if not (is_finite_number(done) and is_finite_number(planned)) or done >= planned:
        return None
    epoch, epochs = state.get("epoch"), state.get("num_train_epochs")
    where = f" (epoch {epoch:.2f} of {epochs})" if is_finite_number(epoch) and is_finite_number(epochs) else ""
    return (f"stopped at global_step {done} of max_steps {planned}{where}: a checkpoint's state, "
            "an early stop or an interrupted run")


def read(source: RunSource) -> list[Run]:
    """Read one trainer_state.json (never raises for bad input)."""
    path = source.files[0] if source.files else source.path
    try:
        text = read_text(path)
    except OSError as exc:
        return unreadable(source, FORMAT, f"cannot read: {exc.strerror or exc}")
    oversized: list[tuple[int, int]] = []
    state, error, line = parse_json(text, oversized)
    if error is not None:
        return unreadable(source, FORMAT, error, line)
    if not isinstance(state, dict) or not isinstance(state.get("log_history"), list):
        return unreadable(source, FORMAT, "not a Trainer state: no 'log_history' list at the top level")
    run = new_run(source, FORMAT)
    problem = oversized_problem(path, oversized)
    run.problems.extend([problem] if problem else [])
    columns, stepless = _columns(state["log_history"])
    add_series(run, columns)
    if stepless:
        run.notes.append(f"{stepless} log_history entries without a step were skipped")
    if not state["log_history"]:
        run.notes.append("log_history is empty (logging_steps larger than the run?)")
    _hparams(state, run)
    constant_lr_hparams(run)
    _attach_results(run, list(source.files[1:]))
    note = _stop_note(state)
    if note and "early_stopping_patience" in run.hparams:
        run.notes.append(f"{note} (EarlyStoppingCallback is configured)")
    elif note:
        run.unfinished = note
    return [run]


def _attach_results(run: Run, paths: list[str]) -> None:
    """The numbers of the ``*_results.json`` files as the run's final values (a bad file: a problem)."""
    read: list[str] = []
    for path in sorted(paths, key=lambda p: not p.endswith("all_results.json")):
        try:
            obj, error, line = parse_json(read_text(path))
        except OSError as exc:
            obj, error, line = None, f"cannot read: {exc.strerror or exc}", None
        if error is None and not isinstance(obj, dict):
            error = "not a JSON object of final metrics"
        if error is not None:
            run.problems.append(Problem("unreadable", path, error, line))
            continue
        for key, value in obj.items():
            number = to_float(value) if isinstance(key, str) and not isinstance(value, str) else None
            if number is not None:
                run.final.setdefault(key, number)
        read.append(os.path.basename(path))
    shown = {k: v for k, v in run.final.items() if not SKIP_KEY.fullmatch(k)}
    if shown:
        run.notes.append(final_note(" and ".join(read), shown))
