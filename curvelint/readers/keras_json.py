"""Keras ``History.history`` saved as JSON -> one `Run` with one point per epoch.

Accepted shapes:

* ``json.dump(history.history, f)``: a dict of metric name -> list of numbers (Python's
  ``NaN``/``Infinity`` tokens included); ``val_*`` lists are the validation metrics;
* ``{"history": {...}, ...}`` wrappers (the dict of lists under ``history``);
* ``json.dump(str(history.history), f)``: a JSON *string* holding the dict's Python repr.
  It is evaluated by a literal-only walker of the syntax tree (``nan``/``inf`` names and
  ``np.float32(x)`` wrappers are taken as numbers; nothing is ever called);
* several models' histories in one dict, every key prefixed by its model (``cls_loss``,
  ``cls_val_loss``, ``reg_loss``, ... with a different number of epochs per prefix): one run
  per model (``FILE:cls``, ``FILE:reg``), each on its own epoch axis with the prefix dropped
  from its series names (``loss``, ``val_loss``), so each model's curves get their roles;
* metadata beside the per-epoch lists (``timestamp``, ``backbone``, ``classes``,
  ``phase_starts``, a final ``test_acc``): ignored (noted), when what is left has a loss that
  `curvelint.roles` recognises (``loss``, ``train_loss``, ``val_loss``, ...).

Steps are epoch indices 0..n-1. A ``val_*`` list shorter than the training lists by a
whole factor k (``validation_freq=k``) is placed at epochs k-1, 2k-1, ... (noted).
JSON that is not a history (no metric-like key, unequal lists, a metric list that holds
text, metadata without a recognisable loss) gives no run. Malformed
JSON is an "unreadable" problem (line/column) when the file looks like a metrics log
(its name or text mentions metrics); other broken JSON is ignored.
"""

from __future__ import annotations

import re
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from curvelint import limits
from curvelint.discovery import RunSource
from curvelint.fileio import read_limited
from curvelint.model import Problem, Run
from curvelint.readers._common import (
    add_series, constant_lr_hparams, looks_like_log, metric_like, names, new_run, oversized_problem, parse_json,
    python_literal, read_text, to_float, unreadable,
)

FORMAT = "keras-history"
MAX_REPR_CHARS = 20_000_000  # a Python-repr history longer than this is not evaluated


def _from_repr(text: str) -> Any:
    """The value of a Python literal repr, or None when it is not one."""
    return python_literal(text, MAX_REPR_CHARS)


_PLAIN = {float, int, type(None)}


def _numbers(values: list) -> np.ndarray | None:
    """The list as float64 (null -> NaN), or None when an item is not a number (bools and text are not).

    Plain lists of floats/ints/nulls convert in one numpy call; anything else goes item by item.
    """
    if set(map(type, values)) <= _PLAIN:
        try:
            return np.asarray(values, dtype=np.float64)
        except OverflowError:  # an int beyond float range: to_float makes it +-inf
            pass
    numbers = [to_float(v) if v is not None else float("nan") for v in values]
    if any(n is None for n in numbers) or any(isinstance(v, str) for v in values):
        return None
    return np.asarray(numbers, dtype=np.float64)


@dataclass
class History:
    """The series of a history (name -> (epochs, values)) and what was decided reading it."""

    series: dict[str, tuple[np.ndarray, np.ndarray]]
    notes: list[str] = field(default_factory=list)
    models: dict[str, History] = field(default_factory=dict)  # several models in one dict: one each
    damaged: dict[str, list[int]] = field(default_factory=dict)  # key -> positions of items that are not numbers


_NOT_MODEL_PREFIXES = {"train_", "training_", "val_", "valid_", "validation_", "eval_", "test_"}


def parse_history(obj: Any) -> History | None:
    """A Keras history from a parsed JSON value, or None when it is not one.

    * every key a list of numbers: the training lists (all but ``val_*``) share one length n and
      ``val_*`` lists have at most n points (today's ``History.history``);
    * else, when every key has a model prefix (``cls_loss``, ``cls_val_loss``, ``reg_loss``): several
      models' histories in one dict, each prefix a history of its own (`History.models`);
    * keys that are not lists of numbers (``timestamp``, ``classes``, ``test_acc``), and numeric lists
      that are not one per epoch (``phase_starts``), are metadata: ignored (noted), but only when the
      lists left have a loss that `curvelint.roles` recognises (``loss``, ``train_loss``, ``val_loss``,
      ...), so that configs and other JSON with a list or two are still not taken for a history.
    """
    if isinstance(obj, str):
        obj = _from_repr(obj)
    if isinstance(obj, dict) and isinstance(obj.get("history"), dict):
        obj = obj["history"]
    if not isinstance(obj, dict) or not obj:
        return None
    lists: dict[str, np.ndarray] = {}
    other: list[str] = []
    damaged: dict[str, list[int]] = {}
    for key, values in obj.items():
        if not isinstance(key, str):
            return None
        numbers = _numbers(values) if isinstance(values, list) else None
        if numbers is None and isinstance(values, list) and metric_like(key):
            numbers, bad = _salvaged(values)
            if numbers is not None:
                damaged[key] = bad
        if numbers is None:
            other.append(key)
        else:
            lists[key] = numbers
    if not other:
        notes: list[str] = []
        series = _one_axis(lists, notes)
        history = History(series, notes) if series is not None else _prefixed(lists)
    else:
        history = _with_metadata(obj, lists, other)
    if history is not None:
        history.damaged = damaged
    return history


def _salvaged(values: list) -> tuple[np.ndarray | None, list[int]]:
    """A metric's list in which a few items are not numbers (a damaged file): its values with NaN in their
    place, and their positions (the caller drops those points); (None, []) unless most items are numbers."""
    numbers = [to_float(v) if not isinstance(v, str) and v is not None else (math.nan if v is None else None)
               for v in values]
    bad = [i for i, x in enumerate(numbers) if x is None]
    if not bad or len(bad) * 2 >= len(values) or len(values) - len(bad) < 2:
        return None, []
    return np.asarray([math.nan if x is None else x for x in numbers], dtype=np.float64), bad


def _one_axis(lists: dict[str, np.ndarray], notes: list[str], prefix: str = "") -> dict | None:
    """name -> (epochs, values) when the lists are one model's history (see `parse_history`), else None.

    Epochs are 0..n-1 for the n points of the training lists (all but ``<prefix>val_*``)."""
    if not lists or not any(metric_like(k) for k in lists):
        return None
    train_lengths = {len(v) for k, v in lists.items() if not _is_val(k, prefix)}
    if len(train_lengths) > 1:
        return None
    n = train_lengths.pop() if train_lengths else max(len(v) for v in lists.values())
    if any(len(v) > n for v in lists.values()):
        return None
    if not n:
        notes.append(f"the {prefix}* history holds no epochs" if prefix else "the history holds no epochs")
    return {name: (_epochs(name, len(values), n, notes), values) for name, values in lists.items()}


def _is_val(name: str, prefix: str = "") -> bool:
    return name[len(prefix):].startswith("val_")


def _prefixed(lists: dict[str, np.ndarray]) -> History | None:
    """Several models' histories in one dict, told apart by a key prefix (``cls_*``, ``reg_*``)."""
    groups: dict[str, dict[str, np.ndarray]] = {}
    for key, values in lists.items():
        prefix, sep, rest = key.partition("_")
        if not sep or not prefix or not rest or prefix + "_" in _NOT_MODEL_PREFIXES:
            return None
        groups.setdefault(prefix + "_", {})[key] = values
    if len(groups) < 2:
        return None
    models: dict[str, History] = {}
    lengths = []
    for prefix, group in groups.items():
        notes: list[str] = []
        one = _one_axis({k[len(prefix):]: v for k, v in group.items()}, notes)
        if one is None:
            return None
        models[prefix[:-1]] = History(one, notes)
        lengths.append(f"{prefix}* {max(len(e) for e, _ in one.values())} epochs")
    note = (f"{len(groups)} models' histories in one dict ({', '.join(lengths)}): one run per model, "
            "each on its own epoch axis, its prefix dropped from the series names")
    return History({}, [note], models)


def _with_metadata(obj: dict, lists: dict[str, np.ndarray], other: list[str]) -> History | None:
    """A history with metadata keys beside its per-epoch lists (see `parse_history`). A metric-like key
    (``loss``, ``val_acc``, ...) holding a list that is not all numbers is a damaged series, not metadata:
    the file is not read as a history."""
    from curvelint.roles import assign_roles

    loss_lengths = [len(v) for k, v in lists.items() if "loss" in k.lower()]
    if not loss_lengths or not max(loss_lengths):
        return None
    n = max(loss_lengths)  # the epochs: the longest loss list
    per_epoch = {k: v for k, v in lists.items() if len(v) == n or (_is_val(k) and 0 < len(v) < n)}
    if any(isinstance(obj[k], list) and metric_like(k) for k in other):
        return None
    roles = assign_roles(list(per_epoch))
    if roles.train_loss is None and roles.val_loss is None:
        return None
    notes: list[str] = []
    series = _one_axis(per_epoch, notes)
    if series is None:
        return None
    ignored = [k for k in obj if k not in per_epoch]
    return History(series, [f"keys that are not one value per epoch were ignored: {names(ignored, 8)}", *notes])


def _epochs(name: str, m: int, n: int, notes: list[str]) -> np.ndarray:
    """Epoch index of each point of a list of length m when the training lists have n points."""
    if m == n or m == 0:
        return np.arange(m)
    if n % m == 0:
        k = n // m
        notes.append(f"{name} has {m} of {n} epochs: placed at every {k}th epoch (validation_freq={k})")
        return np.arange(1, m + 1) * k - 1
    notes.append(f"{name} has {m} of {n} epochs: placed at epochs 0..{m - 1}")
    return np.arange(m)


_HISTORY_START = re.compile(r"""\A\s*"?\{\s*(?:["']history["']\s*:\s*\{\s*)?["']([^"'\\]{1,200})["']\s*:\s*\[""")


def _starts_like_history(path: str) -> bool:
    """Whether a file too large to read begins like a history: ``{"loss": [`` (a metric-like first key)."""
    try:
        head = read_limited(path, 4096)[0].decode("utf-8-sig", "replace")
    except OSError:
        return False
    match = _HISTORY_START.match(head)
    return match is not None and metric_like(match.group(1))


def read(source: RunSource) -> list[Run]:
    """Read one history JSON file (never raises for bad input)."""
    path = source.files[0] if source.files else source.path
    try:
        text = read_text(path)
    except limits.TooLarge as exc:  # said only when it starts like a history: any *.json is a candidate
        return unreadable(source, FORMAT, f"cannot read: {exc.strerror}") if _starts_like_history(path) else []
    except OSError as exc:
        return unreadable(source, FORMAT, f"cannot read: {exc.strerror or exc}")
    if text.lstrip()[:1] not in ("{", '"', ""):
        return []  # a JSON array or number is never a history; skip parsing large data files
    oversized: list[tuple[int, int]] = []
    obj, error, line = parse_json(text, oversized)
    if error is not None:
        return unreadable(source, FORMAT, error, line) if looks_like_log(path, text) else []
    problem = oversized_problem(path, oversized)
    history = parse_history(obj)
    if history is None:
        return []
    parts = history.models.items() if history.models else [(None, history)]
    runs = []
    for label, part in parts:
        run = new_run(source, FORMAT, f"{source.name}:{label}" if label else None)
        if isinstance(obj, str):
            run.notes.append("history saved as a JSON string of a Python dict repr; read its literals")
        run.notes.extend(history.notes if label else [])
        run.notes.extend(part.notes)
        series = _without_damaged(part.series, history.damaged, f"{label}_" if label else "", path, run)
        add_series(run, {name: (epochs, values, None) for name, (epochs, values) in series.items()})
        constant_lr_hparams(run)
        run.problems.extend([problem] if problem else [])
        runs.append(run)
    return runs


def _without_damaged(series: dict[str, tuple[np.ndarray, np.ndarray]], damaged: dict[str, list[int]], prefix: str,
                     path: str, run: Run) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The series without the points whose items were not numbers, and a problem naming them."""
    out, hit = dict(series), []
    for name, (epochs, values) in series.items():
        bad = damaged.get(prefix + name)
        if bad:
            keep = np.ones(len(values), dtype=bool)
            keep[[i for i in bad if i < len(values)]] = False
            out[name] = (epochs[keep], values[keep])
            hit.append((prefix + name, bad))
    if hit:
        count = sum(len(bad) for _, bad in hit)
        key, bad = hit[0]
        run.problems.append(Problem("unreadable", path, f"{count} value(s) of {names([k for k, _ in hit])} are not "
                                    f"numbers (first: {key}[{bad[0]}]); those epochs were skipped"))
    return out
