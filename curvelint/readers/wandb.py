"""A Weights & Biases run folder (``wandb/run-*/``, ``wandb/offline-run-*/``) -> one `Run`.

Where the series come from, first found wins:

* ``files/wandb-history.jsonl``: one JSON object per line (``_step``, ``_timestamp`` and the logged
  values), written by older online runs;
* ``run-<id>.wandb``: W&B's binary transaction log, which every run has (offline runs only have it):
  its framing is `curvelint.readers.wandb_log`'s, what its records hold `curvelint.readers.wandb_proto`'s.

Hyperparameters come from ``files/config.yaml`` (``key: {desc: ..., value: ...}``, read with the
YAML-subset reader of `curvelint.readers.hparams_yaml`), else from the config records of the log.
``files/wandb-summary.json`` holds only the final values: they are the run's `Run.final`; without a
history it gives no curves, and what it says is written to the run's notes.

This module assembles the run. Damage never raises: it becomes the run's problems (see the two
modules above for the log's).
"""

from __future__ import annotations

import os
from typing import Any

from curvelint.discovery import WANDB_LOG, RunSource
from curvelint.fileio import exists, is_dir, listdir
from curvelint.model import Problem, Run
from curvelint.readers._common import (
    JsonLines, Rows, constant_lr_hparams, is_finite_number, new_run, parse_json, read_text,
)
from curvelint.readers.wandb_log import (  # noqa: F401  (the log's framing, re-exported for tests and tools)
    BLOCK, FILE_HEADER, FIRST, FULL, HEADER, IDENT, LAST, MAGIC, MAX_PROBLEMS, MIDDLE, VERSION, scan,
)
from curvelint.readers.wandb_proto import LogContent, Malformed, fields, read_log, row  # noqa: F401

FORMAT = "wandb"
_SUMMARY_SHOWN = 8  # values of wandb-summary.json written to the notes


# -- wandb-history.jsonl -------------------------------------------------------------------------------
def read_jsonl(path: str, rows: Rows, run: Run) -> None:
    """One history row per line; a bad line is a problem at its line, a cut-off last line "truncated"."""
    lines = JsonLines(path)
    for _, obj in lines:
        row(obj, rows)
    run.problems.extend(lines.problems())


# -- config.yaml and wandb-summary.json -----------------------------------------------------------------
def config_values(values: dict[str, Any]) -> dict[str, Any]:
    """W&B's config (``key: {desc: ..., value: ...}``) as ``key: value``; ``_wandb`` (W&B's own) is left out."""
    out: dict[str, Any] = {}
    for key, entry in values.items():
        if key.startswith("_") or key == "wandb_version":
            continue
        if isinstance(entry, dict) and "value" in entry and set(entry) <= {"value", "desc"}:
            out[key] = entry["value"]
    return out


def _summary(path: str, run: Run, history: bool) -> None:
    """``wandb-summary.json``: its numbers are the run's final values; without a history, a note says them."""
    try:
        text = read_text(path)
    except OSError as exc:
        run.problems.append(Problem("unreadable", path, f"cannot read: {exc.strerror or exc}"))
        return
    obj, error, line = parse_json(text)
    if error is not None or not isinstance(obj, dict):
        run.problems.append(Problem("unreadable", path, error or "not a JSON object", line))
        return
    run.sources.append(path)
    final = {k: float(v) for k, v in obj.items() if not k.startswith("_") and is_finite_number(v)}
    run.final.update(final)
    if history:
        return
    shown = ", ".join(f"{k}={v:.4g}" for k, v in list(final.items())[:_SUMMARY_SHOWN])
    more = f" and {len(final) - _SUMMARY_SHOWN} more" if len(final) > _SUMMARY_SHOWN else ""
    step = obj.get("_step")
    at = f" at step {step}" if isinstance(step, int) and not isinstance(step, bool) else ""
    values = f": {shown}{more}" if shown else ""
    run.notes.append(f"no history (files/wandb-history.jsonl or a *{WANDB_LOG} log) to draw curves from: "
                     f"files/wandb-summary.json only holds the final values{at}{values}")


# -- the run -------------------------------------------------------------------------------------------
def read(source: RunSource) -> list[Run]:
    """Read one W&B run folder (never raises for bad input)."""
    folder = source.path
    if exists(folder) and not is_dir(folder):  # a .wandb file given as the run (a FIFO too)
        folder = os.path.dirname(folder) or "."
    run = new_run(source, FORMAT)
    run.sources = []
    if not is_dir(folder):
        run.problems.append(Problem("unreadable", folder, "no such run folder"))
        return [run]
    files = os.path.join(folder, "files")
    jsonl = os.path.join(files, "wandb-history.jsonl")
    summary = os.path.join(files, "wandb-summary.json")
    config_yaml = os.path.join(files, "config.yaml")
    try:
        logs = sorted(os.path.join(folder, f) for f in listdir(folder)
                      if f.endswith(WANDB_LOG) and not f.startswith("."))
    except OSError as exc:
        run.problems.append(Problem("unreadable", folder, f"cannot list the run folder: {exc.strerror or exc}"))
        return [run]
    content = LogContent()
    read_logs = False
    if exists(jsonl, follow=False):  # a FIFO or a device too: reported, not skipped
        try:
            read_jsonl(jsonl, content.rows, run)
            run.sources.append(jsonl)
        except OSError as exc:
            run.problems.append(Problem("unreadable", jsonl, f"cannot read: {exc.strerror or exc}"))
    if jsonl not in run.sources:  # the binary log (several, in name order, if a folder holds more than one)
        for path in logs:
            try:
                read_log(path, content)
                run.sources.append(path)
                read_logs = True
            except OSError as exc:
                content.problems.append(Problem("unreadable", path, f"cannot read: {exc.strerror or exc}"))
        run.problems.extend(content.problems)
    rows = content.rows
    rows.to_run(run)
    if rows.stepless:
        run.notes.append(f"{rows.stepless} of {rows.rows} history rows have no _step: placed at their row index")
    if content.exit_code:
        run.notes.append(f"the run exited with code {content.exit_code}")
    elif read_logs and content.exit_code is None and not run.problems and rows.rows:
        run.notes.append("the log has no exit record: the run was still running, or was killed")
    _hparams(run, content.config, config_yaml)
    if exists(summary, follow=False):
        _summary(summary, run, history=bool(rows.rows))
    constant_lr_hparams(run)
    return [run]


def _hparams(run: Run, logged: dict[str, Any], config_yaml: str) -> None:
    """``files/config.yaml`` over the config records of the log."""
    values = config_values({k: {"value": v} for k, v in logged.items()})
    if exists(config_yaml, follow=False):
        from curvelint.readers import hparams_yaml

        try:
            values.update(config_values(hparams_yaml.read(config_yaml, run.problems)))
            run.sources.append(config_yaml)
        except OSError as exc:
            run.notes.append(f"{config_yaml} not read: {exc.strerror or exc}")
    run.hparams.update(values)
