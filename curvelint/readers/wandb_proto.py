"""What the records of a W&B ``.wandb`` log hold, decoded without wandb or its protobuf schemas.

Each record (found by `curvelint.readers.wandb_log.scan`) is a ``wandb_internal.Record`` protobuf;
only its ``history`` (2), ``config`` (5), ``run`` (17) and ``exit`` (18) fields are decoded (field
numbers from ``wandb/proto/wandb_internal.proto``), with a minimal wire-format decoder (`fields`) that
skips unknown fields.

A history row is ``HistoryRecord{item: [HistoryItem{key | nested_key[], value_json | typed value}],
step}``: the series name is the key, nested keys joined with ``.``; the step is the row's ``_step``
(else the ``HistoryStep``); ``_timestamp`` is the wall time; other ``_``-keys (``_runtime``) are W&B's
bookkeeping and are not series. Numbers (``NaN``/``Infinity`` included) and nested dicts of numbers
are read; booleans, text, media and tables are not (noted). `row` also reads the rows of
``files/wandb-history.jsonl``.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass, field
from typing import Any, Iterator

from curvelint import limits
from curvelint.fileio import read_limited
from curvelint.model import Problem
from curvelint.readers._common import Rows, flatten_numbers, is_finite_number
from curvelint.readers.wandb_log import IDENT, scan

_DOUBLE = struct.Struct("<d")

# wandb_internal.proto field numbers
_RECORD_HISTORY, _RECORD_CONFIG, _RECORD_RUN, _RECORD_EXIT = 2, 5, 17, 18
_HISTORY_ITEM, _HISTORY_STEP = 1, 2
_ITEM_KEY, _ITEM_NESTED_KEY = 1, 2  # HistoryItem; ConfigItem has the same key fields and value_json
_ITEM_BOOL, _ITEM_INT, _ITEM_NUMBER, _ITEM_TEXT, _ITEM_JSON = 4, 5, 6, 7, 8  # the typed `value` oneof (3: none)
_ITEM_VALUE_JSON = 16
_CONFIG_UPDATE = 1  # ConfigRecord.update: ConfigItem
_RUN_CONFIG = 4  # RunRecord.config: the config given to wandb.init
_EXIT_CODE = 1


class Malformed(ValueError):
    """Bytes that are not a protobuf message."""



# -- protobuf wire format ------------------------------------------------------------------------------
def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise Malformed("truncated varint")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise Malformed("varint longer than 10 bytes")


def fields(buf: bytes) -> Iterator[tuple[int, int, Any]]:
    """(field number, wire type, value) of each field of a protobuf message: an int for a varint,
    bytes for a length-delimited field, the raw 8 or 4 bytes of a fixed64/fixed32. Raises Malformed."""
    pos, end = 0, len(buf)
    value: int | bytes
    while pos < end:
        tag, pos = _varint(buf, pos)
        number, wire = tag >> 3, tag & 7
        if number == 0:
            raise Malformed("field number 0")
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire == 2:
            size, pos = _varint(buf, pos)
            if pos + size > end:
                raise Malformed("length-delimited field runs past the message")
            value, pos = buf[pos:pos + size], pos + size
        elif wire in (1, 5):
            size = 8 if wire == 1 else 4
            if pos + size > end:
                raise Malformed("fixed-size field runs past the message")
            value, pos = buf[pos:pos + size], pos + size
        else:  # groups (3, 4) are not used by proto3; 6, 7 do not exist
            raise Malformed(f"wire type {wire}")
        yield number, wire, value


def _text(value: bytes) -> str:
    return value.decode("utf-8", "replace")


def _signed(value: int) -> int:
    """A varint holding a negative int32/int64 (two's complement on 64 bits)."""
    return value - (1 << 64) if value >= 1 << 63 else value


# -- values --------------------------------------------------------------------------------------------
def _json_value(text: str) -> Any:
    """A logged value from its JSON text: a float for numbers (fast path), else the JSON value."""
    try:
        return float(text)  # "0.5", "NaN", "Infinity", "-Infinity", "1e+09"
    except ValueError:
        pass
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return text


def row(raw: dict[str, Any], rows: Rows) -> None:
    """One history row (name -> logged value) into `rows`."""
    values: dict[str, float] = {}
    step = wall = None
    for name, value in raw.items():
        if name == "_step":
            step = _integral(value)
        elif name == "_timestamp":
            wall = float(value) if is_finite_number(value) else None
        elif name and not name.startswith("_"):
            flatten_numbers(name, value, values, rows.other)
    rows.add(values, step, wall)


def _integral(value: Any) -> float | None:
    """A step: an integral number below 2**62, else None."""
    if is_finite_number(value) and value == int(value) and abs(value) < 2 ** 62:
        return float(value)
    return None


def _json_config(text: str) -> Any:
    """A config value from its JSON text (ints stay ints)."""
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return text


def _item(buf: bytes, parse=_json_value) -> tuple[str, Any]:
    """(name, value) of a HistoryItem/ConfigItem (JSON values decoded by `parse`); value None: nothing usable."""
    key, nested, value = "", [], None
    for number, wire, raw in fields(buf):
        if number == _ITEM_KEY and wire == 2:
            key = _text(raw)
        elif number == _ITEM_NESTED_KEY and wire == 2:
            nested.append(_text(raw))
        elif number in (_ITEM_VALUE_JSON, _ITEM_JSON) and wire == 2:
            value = parse(_text(raw))
        elif number == _ITEM_NUMBER and wire == 1:
            value = _DOUBLE.unpack(raw)[0]
        elif number == _ITEM_INT and wire == 0:
            value = (raw >> 1) ^ -(raw & 1)  # sint64: zigzag
        elif number == _ITEM_BOOL and wire == 0:
            value = bool(raw)
        elif number == _ITEM_TEXT and wire == 2:
            value = _text(raw)
    return (".".join(nested) if nested else key), value


def _history(buf: bytes, rows: Rows) -> None:
    raw: dict[str, Any] = {}
    step_num = None
    for number, wire, value in fields(buf):
        if number == _HISTORY_ITEM and wire == 2:
            name, item = _item(value)
            raw[name] = item
        elif number == _HISTORY_STEP and wire == 2:
            step_num = 0  # HistoryStep{num}: an absent num is 0
            for n, w, v in fields(value):
                if n == 1 and w == 0:
                    step_num = _signed(v)
    if "_step" not in raw and step_num is not None:
        raw["_step"] = step_num
    row(raw, rows)


def _config(buf: bytes, config: dict[str, Any]) -> None:
    for number, wire, value in fields(buf):
        if number == _CONFIG_UPDATE and wire == 2:
            name, item = _item(value, _json_config)
            if name and item is not None:
                config[name] = item


@dataclass
class LogContent:
    rows: Rows = field(default_factory=Rows)
    config: dict[str, Any] = field(default_factory=dict)
    exit_code: int | None = None
    problems: list[Problem] = field(default_factory=list)


def _record(offset: int, payload: bytes, content: LogContent, undecodable: list[int]) -> None:
    """One record's history row, config or exit code into `content` (its offset to `undecodable` if it is no
    Record message). Records are decoded as the scan finds them: a log's payloads are never all held."""
    try:
        for number, wire, value in fields(payload):
            if wire != 2:
                continue
            if number == _RECORD_HISTORY:
                _history(value, content.rows)
            elif number == _RECORD_CONFIG:
                _config(value, content.config)
            elif number == _RECORD_RUN:
                for n, w, v in fields(value):
                    if n == _RUN_CONFIG and w == 2:
                        _config(v, content.config)
            elif number == _RECORD_EXIT:
                content.exit_code = 0
                for n, w, v in fields(value):
                    if n == _EXIT_CODE and w == 0:
                        content.exit_code = _signed(v)
    except Malformed:
        undecodable.append(offset)


def read_log(path: str, content: LogContent) -> None:
    """Decode one ``.wandb`` file into `content` (never raises for bad bytes; OSError propagates). At most
    `file-bytes` bytes and `records` records are read ([tool.curvelint.limits]; a problem says so)."""
    lim = limits.current()
    data, more = read_limited(path, lim.file_bytes)
    undecodable: list[int] = []
    log = scan(data, path, lim.records, lambda offset, payload: _record(offset, payload, content, undecodable))
    if more and log.full is None and data.startswith(IDENT):  # the partial record at the cut is the limit's
        end = log.last
        log.problems = [p for p in log.problems if p.kind != "truncated" or (p.offset or 0) < end]
        log.problems.append(limits.reached(path, "file-bytes", "the log", f"the records in its first "
                                           f"{limits.shown('file-bytes', lim.file_bytes)} were read", len(data)))
    elif log.full is not None:
        log.problems.append(limits.reached(path, "records", "the log", f"its first {lim.records:,} records were read",
                                           log.full))
    content.problems.extend(log.problems)
    if undecodable:
        content.problems.append(Problem("unreadable", path, f"{len(undecodable)} record(s) with a good CRC are not "
                                        f"W&B Record messages (first at byte {undecodable[0]}); skipped",
                                        undecodable[0]))
