"""Values parsed from text without running anything: JSON with a one-line, line/column-located error
(`parse_json`; an integer too long for Python read as +-inf, `oversized_problem`), and Python literal
reprs walked with `ast` (`python_literal`: nothing is evaluated or called).
"""

from __future__ import annotations

import ast
import json
from typing import Any, cast

from curvelint.model import Problem

__all__ = ["oversized_problem", "parse_json", "python_literal"]


def parse_json(text: str, oversized: list[tuple[int, int]] | None = None) -> tuple[Any, str | None, int | None]:
    """(value, None, None) or (None, one-line message, line). NaN/Infinity tokens are accepted.

    An integer longer than Python converts (``sys.get_int_max_str_digits()``, 4300 digits) is read
    as the float it rounds to (+-inf) instead of failing the whole file; (line, digits) go to `oversized`.
    """
    if not text.strip():
        return None, "empty file", None
    try:
        try:
            return json.loads(text), None, None
        except ValueError as exc:
            if isinstance(exc, json.JSONDecodeError) or "integer string conversion" not in str(exc):
                raise
        return json.loads(text, parse_int=_OversizedInts(text, oversized)), None, None  # the rare slow path
    except json.JSONDecodeError as exc:
        return None, f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}", exc.lineno
    except RecursionError:
        return None, "invalid JSON: nested too deeply", None


class _OversizedInts:
    """json's ``parse_int`` hook: an int, or +-inf (with its line noted) for one too long to convert."""

    def __init__(self, text: str, lines: list[tuple[int, int]] | None) -> None:
        self.text, self.lines, self.pos = text, lines, 0

    def __call__(self, digits: str) -> int | float:
        try:
            return int(digits)
        except ValueError:
            pos = self.text.find(digits, self.pos)  # the parser goes through the text in order
            if pos >= 0:
                self.pos = pos + len(digits)
                if self.lines is not None:
                    self.lines.append((self.text.count("\n", 0, pos) + 1, len(digits.lstrip("-"))))
            return float(digits)


def oversized_problem(path: str, found: list[tuple[int, int]]) -> Problem | None:
    """The problem for the integers `parse_json` read as +-inf (None when there were none)."""
    if not found:
        return None
    line, digits = found[0]
    if len(found) == 1:
        what = f"line {line}: a number of {digits} digits"
    else:
        what = f"{len(found)} numbers of thousands of digits (first at line {line})"
    return Problem("unreadable", path, f"{what}, too long to be a logged value: read as infinity", line)


# -- Python literals ---------------------------------------------------------------------------------------
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
        return {_literal(cast(ast.expr, k)): _literal(v) for k, v in zip(node.keys, node.values)}  # (no None: above)
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


def python_literal(text: str, max_chars: int = 1_000_000) -> Any:
    """The value of a Python literal repr (``{'loss': 0.5, 'epoch': nan}``), or None when it is not one.

    The text is parsed with `ast` and only literal nodes are walked: nothing is ever evaluated or called."""
    if len(text) > max_chars:
        return None
    try:
        return _literal(ast.parse(text.strip(), mode="eval"))
    except (SyntaxError, ValueError, TypeError, RecursionError, MemoryError):  # TypeError: {[1]: 2}
        return None
