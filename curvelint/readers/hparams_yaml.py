"""Lightning's ``hparams.yaml`` beside a TensorBoard or CSV run: that run's hyperparameters.

Lightning's TensorBoardLogger and CSVLogger write what ``save_hyperparameters()`` saved
to ``<version folder>/hparams.yaml`` with ``yaml.dump`` (block style). The CSV logger has
no other place for them, so without this file CL121 (learning rate) and CL103 (number of
classes) know nothing of the run's settings.

Read without a YAML library (same results in every environment): nested mappings whose
leaves are plain scalars (numbers, booleans, null, plain or quoted strings on one line)
or lists of them (block ``- item`` lines, a flow ``[a, b]``, yaml.dump's ``!!python/tuple``),
and classes or functions saved by reference (``!!python/name:torch.optim.adamw.AdamW ''``),
as their dotted name.
Anything else (lists of mappings, other tags, anchors, strings wrapped over several lines)
is left out: no rule reads such values, and so are mappings nested deeper than the ``depth``
limit (``[tool.curvelint.limits]``, a problem says so). Values the log itself carries win over the file's.
"""

from __future__ import annotations

import math
import re
from typing import Any

from curvelint import limits
from curvelint.model import Problem
from curvelint.readers._common import read_text

_KEY = re.compile(r"""(?P<key>'[^']*'|"[^"]*"|[^\s'"#\-?:,\[\]{}&*!|>%@`](?:[^:]|:(?!\s|$))*?)\s*:(?:\s+(?P<value>.*))?$""")
_INT = re.compile(r"[-+]?(0|[1-9][0-9_]*)$")
_FLOAT = re.compile(r"[-+]?[0-9][0-9_]*\.[0-9_]*([eE][-+][0-9]+)?$|\.[0-9_]+([eE][-+][0-9]+)?$")  # PyYAML's
_ESCAPES = re.compile(r'\\(x[0-9A-Fa-f]{2}|u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8}|["\\/ntr0])')  # in "double quotes"
_SIMPLE_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "n": "\n", "t": "\t", "r": "\r", "0": "\0"}
_PYTHON_NAME = re.compile(r"!!python/name:([\w.]+) ''$")
_OTHER_NUMBER = re.compile(r"[-+]?(0b[01_]+|0[0-7_]+|0x[0-9a-fA-F_]+|[0-9][0-9_]*(:[0-5]?[0-9])+(\.[0-9_]*)?)$")


def _specials() -> dict[str, Any]:
    """YAML 1.1's null, booleans, infinities and NaN, in the spellings PyYAML reads."""
    words: dict[str, Any] = {"~": None, ".NaN": math.nan}
    for spellings, value in ((("null",), None), (("true", "yes", "on"), True), (("false", "no", "off"), False),
                             ((".inf", "+.inf"), math.inf), (("-.inf",), -math.inf), ((".nan",), math.nan)):
        for word in spellings:
            words.update(dict.fromkeys({word, word.title(), word.upper()}, value))
    return words


_SPECIAL = _specials()


class Skip(Exception):
    """A value outside the subset read here."""


def read(path: str, problems: list[Problem] | None = None) -> dict[str, Any]:
    """The hyperparameters in an ``hparams.yaml``; raises OSError if it cannot be read. Mappings nested
    deeper than the ``depth`` limit are left out, with a problem in `problems`."""
    deep: list[str] = []
    values = parse(read_text(path), deep)[0]
    if deep and problems is not None:
        key = deep[0] if len(deep[0]) <= 80 else f"{deep[0][:40]}...{deep[0][-37:]}"
        problems.append(limits.reached(path, "depth", f"the nesting of {key!r}",
                                       "the keys below that level were left out"))
    return values


def parse(text: str, deep: list[str] | None = None) -> tuple[dict[str, Any], list[str]]:
    """The mappings of a block-style YAML document (see the module doc) and the dotted keys left out;
    the keys of mappings left out for being nested deeper than the ``depth`` limit also go to `deep`."""
    depth = limits.current().depth
    root: dict[str, Any] = {}
    maps: list[tuple[int, dict[str, Any], str]] = [(-1, root, "")]  # open mappings: (indent of their key, ..., path)
    last: tuple[int, dict[str, Any], str, str] | None = None  # the latest "key:" line: (indent, mapping, key, path)
    items: list[Any] | None = None  # the open "- item" list of `last`
    skipped: list[str] = []
    skip = None  # indent of a left-out key: deeper lines (and "- " lines at its indent) belong to it

    def leave_out(at: int, mapping: dict[str, Any], key: str, path: str) -> None:
        nonlocal skip, items
        mapping.pop(key, None)
        skipped.append(path)
        skip, items = at, None

    for raw in text.splitlines():
        body = _uncomment(raw).strip()
        if not body or body in ("---", "..."):
            continue
        indent = len(raw) - len(raw.lstrip(" "))
        if skip is not None and (indent > skip or (indent == skip and body.startswith("-"))):
            continue
        skip = None
        if last is not None and last[1].get(last[2], 0) is None and (indent > last[0] or body.startswith("-")):
            at, mapping, key, path = last  # "key:" then its block: a list or a mapping
            if body.startswith("-") and indent >= at:
                items = mapping[key] = []
            elif len(maps) > depth:  # a mapping nested deeper than the limit: left out with all it holds
                if deep is not None:
                    deep.append(path)
                leave_out(*last)
                continue
            else:
                mapping[key] = {}
                maps.append((at, mapping[key], path))
        if items is not None and last is not None:
            if body.startswith("-") and indent >= last[0]:
                try:
                    items.append(_scalar(body[1:].strip()))
                except Skip:
                    leave_out(*last)
                continue
            items = None
        if last is not None and indent > last[0] and not isinstance(last[1].get(last[2]), dict):
            leave_out(*last)  # a deeper line under a scalar: a multi-line value
            continue
        while maps[-1][0] >= indent:
            maps.pop()
        _, mapping, prefix = maps[-1]
        match = _KEY.match(body)
        try:
            key = _unquote(match.group("key")) if match else ""
        except Skip:  # a key with escapes
            skipped.append(f"{prefix}.{match.group('key')}" if prefix else match.group("key"))
            match = None
        if match is None:  # not "key: value": whatever belongs to this line is skipped
            skip, last = indent, None
            continue
        path = f"{prefix}.{key}" if prefix else key
        last = (indent, mapping, key, path)
        value = (match.group("value") or "").strip()
        if value == "!!python/tuple":  # yaml.dump's tuple (Adam's betas): its items follow, as a list's
            value = ""
        try:
            mapping[key] = _value(value)
        except Skip:
            leave_out(*last)
    return root, skipped


def _value(text: str) -> Any:
    """The value after "key: " (None for nothing: a block may follow)."""
    named = _PYTHON_NAME.match(text)
    if named:  # a class or function saved by reference (optim: torch.optim.adamw.AdamW): its name
        return named.group(1)
    if text in ("", "{}"):
        return None if not text else {}
    return _flow(text) if text.startswith("[") else _scalar(text)


def _uncomment(line: str) -> str:
    """The line without a trailing ``# comment`` (a ``#`` in a quoted scalar or inside a word is kept)."""
    if "#" not in line:  # (most lines: no walk over their characters)
        return line
    quote = None
    escaped = False
    for i, ch in enumerate(line):
        before = line[i - 1] if i else " "
        if quote:
            if escaped:
                escaped = False
            elif ch == "\\" and quote == '"' or ch == quote == "'" and line[i + 1:i + 2] == "'":
                escaped = True  # \x in "double quotes", '' in 'single quotes'
            elif ch == quote:
                quote = None
        elif ch in "'\"" and before in " \t[,{":  # a quote opens a scalar only where one starts
            quote = ch
        elif ch == "#" and before in " \t":
            return line[:i]
    return line


def _unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == text[-1] == "'":
        return text[1:-1].replace("''", "'")
    if len(text) >= 2 and text[0] == text[-1] == '"':
        inner = text[1:-1]
        if "\\" not in inner:
            return inner
        if _ESCAPES.sub("", inner).count("\\"):
            raise Skip(text)  # an escape other than the common ones
        return _ESCAPES.sub(_unescape, inner)
    return text


def _unescape(match: re.Match[str]) -> str:
    code = match.group(1)
    return chr(int(code[1:], 16)) if code[0] in "xuU" else _SIMPLE_ESCAPES[code]


def _flow(text: str) -> list[Any]:
    """``[a, b, 'c']``: a flow list of plain values."""
    if not text.endswith("]") or any(c in text[1:-1] for c in "[]{}'\""):
        raise Skip(text)
    inner = text[1:-1].strip()
    return [_scalar(part.strip()) for part in inner.split(",")] if inner else []


def _scalar(text: str) -> Any:
    """A one-line plain or quoted scalar as YAML 1.1 (PyYAML) reads it (``1e-3`` is a string there:
    floats need a dot); Skip otherwise."""
    if text[:1] in ("'", '"'):
        if len(text) < 2 or text[-1] != text[0]:
            raise Skip(text)  # a quoted string that goes on on the next line
        return _unquote(text)
    if not text or text[0] in "!&*|>[{@`%" or text.startswith(("- ", "? ")) or ": " in text:
        raise Skip(text)
    if text in _SPECIAL:
        return _SPECIAL[text]
    if _INT.match(text):
        if len(text) > 4000:  # more digits than int() converts (sys.get_int_max_str_digits): no hyperparameter
            raise Skip(text)
        return int(text.replace("_", ""))
    if _FLOAT.match(text):
        return float(text.replace("_", ""))
    if _OTHER_NUMBER.match(text):
        raise Skip(text)  # binary, octal, hex, base 60: rare in hyperparameters
    return text
