"""Keras ``History.history`` saved as JSON -> one `Run` with one point per epoch.

Accepted shapes:

* ``json.dump(history.history, f)``: a dict of metric name -> list of numbers (Python's
  ``NaN``/``Infinity`` tokens included); ``val_*`` lists are the validation metrics;
* ``{"history": {...}, ...}`` wrappers (the dict of lists under ``history``);
* ``json.dump(str(history.history), f)``: a JSON *string* holding the dict's Python repr.
  It is evaluated by a literal-only walker of the syntax tree (``nan``/``inf`` names and
  ``np.float32(x)`` wrappers are taken as numbers; nothing is ever called).

Steps are epoch indices 0..n-1. A ``val_*`` list shorter than the training lists by a
whole factor k (``validation_freq=k``) is placed at epochs k-1, 2k-1, ... (noted).
JSON that is not a history (no metric-like key, non-numeric or unequal lists) gives no
run. Malformed JSON is an "unreadable" problem (line/column) when the file looks like a
metrics log (its name or text mentions metrics); other broken JSON is ignored.
"""

from __future__ import annotations

import ast
from typing import Any

import numpy as np

from curvelint.discovery import RunSource
from curvelint.model import Run
from curvelint.readers._common import (
    add_series, constant_lr_hparams, looks_like_log, metric_like, new_run, parse_json, read_text, to_float, unreadable,
)

FORMAT = "keras-history"
MAX_REPR_CHARS = 20_000_000  # a Python-repr history longer than this is not evaluated
_NUMBER_NAMES = {"nan": float("nan"), "NaN": float("nan"), "inf": float("inf"), "Infinity": float("inf")}
_NUMBER_CALLS = {"float", "float16", "float32", "float64", "double", "int", "int32", "int64"}


class _NotLiteral(ValueError):
    pass


def _literal(node: ast.AST) -> Any:
    """Evaluate dict/list/tuple/number/string literals only (plus nan/inf and np.float32(x))."""
    if isinstance(node, ast.Expression):
        return _literal(node.body)
    if isinstance(node, ast.Constant) and type(node.value) in (int, float, str):
        return node.value
    if isinstance(node, ast.Dict):
        if any(k is None for k in node.keys):
            raise _NotLiteral("dict unpacking")
        return {_literal(k): _literal(v) for k, v in zip(node.keys, node.values)}
    if isinstance(node, (ast.List, ast.Tuple)):
        return [_literal(e) for e in node.elts]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        value = _literal(node.operand)
        if not isinstance(value, (int, float)):
            raise _NotLiteral("sign on a non-number")
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.Name) and node.id in _NUMBER_NAMES:
        return _NUMBER_NAMES[node.id]
    if isinstance(node, ast.Call) and len(node.args) == 1 and not node.keywords:
        func = node.func
        fname = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
        if fname in _NUMBER_CALLS:
            return _literal(node.args[0])
    raise _NotLiteral(type(node).__name__)


def _from_repr(text: str) -> Any:
    """The value of a Python literal repr, or None when it is not one."""
    if len(text) > MAX_REPR_CHARS:
        return None
    try:
        return _literal(ast.parse(text.strip(), mode="eval"))
    except (SyntaxError, ValueError, TypeError, RecursionError, MemoryError):  # TypeError: {[1]: 2}
        return None


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


def history_dict(obj: Any) -> dict[str, np.ndarray] | None:
    """The metric lists of a Keras history as float64 arrays (None when `obj` is not one)."""
    if isinstance(obj, str):
        obj = _from_repr(obj)
    if isinstance(obj, dict) and isinstance(obj.get("history"), dict):
        obj = obj["history"]
    if not isinstance(obj, dict) or not obj:
        return None
    out: dict[str, np.ndarray] = {}
    for key, values in obj.items():
        if not isinstance(key, str) or not isinstance(values, list):
            return None
        numbers = _numbers(values)
        if numbers is None:
            return None
        out[key] = numbers
    if not any(metric_like(k) for k in out):
        return None
    train_lengths = {len(v) for k, v in out.items() if not k.startswith("val_")}
    if len(train_lengths) > 1:
        return None
    n = train_lengths.pop() if train_lengths else max(len(v) for v in out.values())
    if any(len(v) > n for v in out.values()):
        return None
    return out


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


def read(source: RunSource) -> list[Run]:
    """Read one history JSON file (never raises for bad input)."""
    path = source.files[0] if source.files else source.path
    try:
        text = read_text(path)
    except OSError as exc:
        return unreadable(source, FORMAT, f"cannot read: {exc.strerror or exc}")
    if text.lstrip()[:1] not in ("{", '"', ""):
        return []  # a JSON array or number is never a history; skip parsing large data files
    obj, error, line = parse_json(text)
    if error is not None:
        return unreadable(source, FORMAT, error, line) if looks_like_log(path, text) else []
    history = history_dict(obj)
    if history is None:
        return []
    run = new_run(source, FORMAT)
    if isinstance(obj, str):
        run.notes.append("history saved as a JSON string of a Python dict repr; read its literals")
    n = max((len(v) for k, v in history.items() if not k.startswith("val_")), default=0)
    if not n:
        n = max(len(v) for v in history.values())
    add_series(run, {name: (_epochs(name, len(values), n, run.notes), values, None)
                     for name, values in history.items()})
    if not n:
        run.notes.append("the history holds no epochs")
    constant_lr_hparams(run)
    return [run]
