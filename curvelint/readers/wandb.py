"""A Weights & Biases run folder (``wandb/run-*/``, ``wandb/offline-run-*/``) -> one `Run`.

Where the series come from, first found wins:

* ``files/wandb-history.jsonl``: one JSON object per line (``_step``, ``_timestamp`` and the logged
  values), written by older online runs;
* ``run-<id>.wandb``: W&B's binary transaction log, which every run has (offline runs only have it).

Hyperparameters come from ``files/config.yaml`` (``key: {desc: ..., value: ...}``, read with the
YAML-subset reader of `curvelint.readers.hparams_yaml`), else from the config records of the log.
``files/wandb-summary.json`` holds only the final values: they are the run's `Run.final`; without a
history it gives no curves, and what it says is written to the run's notes.

The ``.wandb`` log is decoded here, without wandb or its protobuf schemas. It is a LevelDB-style
log: a 7-byte header (``:W&B``, uint16 0xBEE1, version 0), then 32 KiB blocks of records, each
``uint32 crc | uint16 length | uint8 type | data`` (little endian; type 1 full, 2 first, 3 middle,
4 last fragment of a record that spans blocks; a block tail shorter than a header is zero padding).
The CRC is zlib's CRC-32 of the type byte and the data (what W&B's writer uses, not LevelDB's
masked CRC-32C). Each record is a ``wandb_internal.Record`` protobuf; only its ``history`` (2),
``config`` (5), ``run`` (17) and ``exit`` (18) fields are decoded (field numbers from
``wandb/proto/wandb_internal.proto``), with a minimal wire-format decoder that skips unknown fields.

A history row is ``HistoryRecord{item: [HistoryItem{key | nested_key[], value_json | typed value}],
step}``: the series name is the key, nested keys joined with ``.``; the step is the row's ``_step``
(else the ``HistoryStep``); ``_timestamp`` is the wall time; other ``_``-keys (``_runtime``) are W&B's
bookkeeping and are not series. Numbers (``NaN``/``Infinity`` included) and nested dicts of numbers
are read; booleans, text, media and tables are not (noted).

Damage never raises: a partial record at the end is a "truncated" problem, a bad CRC or broken
framing an "unreadable" problem at its byte offset (the record is dropped; when the framing after
it cannot be trusted the scan moves on to the next block), and every intact record before and
after is kept. A file that is not a W&B log is one "unreadable" problem.
"""

from __future__ import annotations

import json
import os
import struct
import zlib
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from curvelint import limits
from curvelint.discovery import WANDB_LOG, RunSource
from curvelint.fileio import read_limited
from curvelint.model import Problem, Run
from curvelint.readers._common import (
    JsonLines, Rows, constant_lr_hparams, flatten_numbers, is_finite_number, new_run, parse_json, read_text,
)

FORMAT = "wandb"
IDENT = b":W&B"
MAGIC = 0xBEE1
VERSION = 0
FILE_HEADER = 7  # ident, uint16 magic, uint8 version
BLOCK = 32768
HEADER = 7  # uint32 crc, uint16 length, uint8 type
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4
_HEADER = struct.Struct("<IHB")
_DOUBLE = struct.Struct("<d")
_MAX_PROBLEMS = 5  # per file; further damage is summarised in the last message
_SUMMARY_SHOWN = 8  # values of wandb-summary.json written to the notes

# wandb_internal.proto field numbers
_RECORD_HISTORY, _RECORD_CONFIG, _RECORD_RUN, _RECORD_EXIT = 2, 5, 17, 18
_HISTORY_ITEM, _HISTORY_STEP = 1, 2
_ITEM_KEY, _ITEM_NESTED_KEY = 1, 2  # HistoryItem; ConfigItem has the same key fields and value_json
_ITEM_BOOL, _ITEM_INT, _ITEM_NUMBER, _ITEM_TEXT, _ITEM_JSON = 4, 5, 6, 7, 8  # the typed `value` oneof (3: none)
_ITEM_VALUE_JSON = 16
_CONFIG_UPDATE = 1  # ConfigRecord.update: ConfigItem
_RUN_CONFIG = 4  # RunRecord.config: the config given to wandb.init
_EXIT_CODE = 1


class _Malformed(ValueError):
    """Bytes that are not a protobuf message."""


# -- protobuf wire format ------------------------------------------------------------------------------
def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise _Malformed("truncated varint")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise _Malformed("varint longer than 10 bytes")


def fields(buf: bytes) -> Iterator[tuple[int, int, Any]]:
    """(field number, wire type, value) of each field of a protobuf message: an int for a varint,
    bytes for a length-delimited field, the raw 8 or 4 bytes of a fixed64/fixed32. Raises _Malformed."""
    pos, end = 0, len(buf)
    while pos < end:
        tag, pos = _varint(buf, pos)
        number, wire = tag >> 3, tag & 7
        if number == 0:
            raise _Malformed("field number 0")
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire == 2:
            size, pos = _varint(buf, pos)
            if pos + size > end:
                raise _Malformed("length-delimited field runs past the message")
            value, pos = buf[pos:pos + size], pos + size
        elif wire in (1, 5):
            size = 8 if wire == 1 else 4
            if pos + size > end:
                raise _Malformed("fixed-size field runs past the message")
            value, pos = buf[pos:pos + size], pos + size
        else:  # groups (3, 4) are not used by proto3; 6, 7 do not exist
            raise _Malformed(f"wire type {wire}")
        yield number, wire, value


def _text(value: bytes) -> str:
    return value.decode("utf-8", "replace")


def _signed(value: int) -> int:
    """A varint holding a negative int32/int64 (two's complement on 64 bits)."""
    return value - (1 << 64) if value >= 1 << 63 else value


# -- the LevelDB-style record log ----------------------------------------------------------------------
@dataclass
class _Log:
    records: list[tuple[int, bytes]] = field(default_factory=list)  # (byte offset, payload)
    problems: list[Problem] = field(default_factory=list)
    damage: int = 0
    full: int | None = None  # the byte offset where the scan stopped at `most` records
    count: int = 0  # records found (also those handed to a sink)
    last: int = 0  # the byte offset of the last one
    sink: Callable[[int, bytes], None] | None = None  # takes each record instead of `records`

    def keep(self, offset: int, payload: bytes) -> None:
        self.count, self.last = self.count + 1, offset
        if self.sink is None:
            self.records.append((offset, payload))
        else:
            self.sink(offset, payload)


def scan(data: bytes, path: str, most: int | None = None, sink: Callable[[int, bytes], None] | None = None) -> _Log:
    """The intact records of a ``.wandb`` file held in memory (at most `most`), and the problems met (never
    raises); with `sink`, each record is handed to it as it is found instead of being kept in the log."""
    log = _Log(sink=sink)
    n = len(data)

    def problem(kind: str, message: str, offset: int) -> None:
        log.damage += 1
        if log.damage <= _MAX_PROBLEMS:
            log.problems.append(Problem(kind, path, message, offset))

    if n == 0:
        problem("truncated", "the log is empty (the run had just started, or the file was not copied)", 0)
        return log
    if n < FILE_HEADER and IDENT.startswith(data[:4]):
        problem("truncated", f"the log ends inside its {FILE_HEADER}-byte header (at byte {n})", n)
        return log
    ident, magic, version = struct.unpack_from("<4sHB", data.ljust(FILE_HEADER, b"\0"))
    if ident != IDENT or magic != MAGIC:
        if _record_ok(data, FILE_HEADER):  # a damaged header in front of intact records
            problem("unreadable", f"damaged file header at byte 0 ({data[:FILE_HEADER]!r}); records read anyway", 0)
        else:
            problem("unreadable", f"not a W&B run log: it does not start with {IDENT.decode()!r} "
                    f"(first bytes {data[:8]!r}) at byte 0", 0)
            return log
    elif version != VERSION:
        problem("unreadable", f"W&B log format version {version} at byte 6 is not known (only {VERSION}); "
                "records read as version 0", 6)
    pos = FILE_HEADER
    zeros_from: int | None = None  # where the zeros that end the file begin (computed once, when asked)
    pending: bytearray | None = None  # fragments of a record that spans blocks
    pending_at = 0
    resynced = False  # fragments right after skipped damage belong to the dropped record: no new problem
    while pos < n:
        if most is not None and log.count >= most:
            log.full, pending = pos, None
            break
        block_end = (pos // BLOCK + 1) * BLOCK
        if block_end - pos < HEADER:  # zero padding at the end of a block
            tail = data[pos:min(block_end, n)]
            if tail.strip(b"\0"):
                problem("unreadable", f"non-zero padding at byte {pos} before the block at byte {block_end}", pos)
            pos = block_end
            continue
        if pos + HEADER > n:
            problem("truncated", f"partial record header at byte {pos} ({n - pos} of {HEADER} bytes); "
                    "the log was probably still being written", pos)
            pending = None
            break
        crc, length, kind = _HEADER.unpack_from(data, pos)
        start, end = pos + HEADER, pos + HEADER + length
        if kind == 0 and pos >= (zeros_from := _zeros_from(data) if zeros_from is None else zeros_from):
            problem("truncated", f"the log ends in {n - pos} zero bytes from byte {pos} "
                    "(space reserved but never written)", pos)
            pending = None
            break
        if end > block_end or kind not in (FULL, FIRST, MIDDLE, LAST):
            skip_to = min(block_end, n)
            problem("unreadable", f"broken record header at byte {pos} (type {kind}, length {length}); "
                    f"skipped {skip_to - pos} bytes to the next block", pos)
            pos, pending, resynced = skip_to, None, True
            continue
        if end > n:
            problem("truncated", f"partial record at byte {pos} ({n - pos} of {HEADER + length} bytes); "
                    "the log was probably still being written", pos)
            pending = None
            break
        if zlib.crc32(data[start:end], zlib.crc32(bytes((kind,)))) != crc:
            if end == n or (end < block_end and block_end - end < HEADER) or _record_ok(data, end):
                problem("unreadable", f"bad CRC in record at byte {pos}; record skipped", pos)
                pos, resynced = end, True  # the length was right: the next record starts where it says
            else:
                skip_to = min(block_end, n)
                problem("unreadable", f"bad CRC in record at byte {pos}; skipped {skip_to - pos} bytes "
                        "to the next block", pos)
                pos, resynced = skip_to, True
            pending = None
            continue
        if kind == FULL:
            if pending is not None:
                problem("unreadable", f"record at byte {pending_at} spanning blocks has no last fragment; "
                        "skipped", pending_at)
            log.keep(pos, data[start:end])
            pending, resynced = None, False
        elif kind == FIRST:
            if pending is not None:
                problem("unreadable", f"record at byte {pending_at} spanning blocks has no last fragment; "
                        "skipped", pending_at)
            pending, pending_at, resynced = bytearray(data[start:end]), pos, False
        elif pending is None:  # a middle or last fragment without its first
            if not resynced:
                problem("unreadable", f"record fragment at byte {pos} without its first fragment; skipped", pos)
                resynced = True
        elif kind == MIDDLE:
            pending += data[start:end]
        else:
            pending += data[start:end]
            log.keep(pending_at, bytes(pending))
            pending = None
        pos = end
    if pending is not None:
        problem("truncated", f"the log ends inside a record that spans blocks (from byte {pending_at}); "
                "the log was probably still being written", pending_at)
    if log.damage > _MAX_PROBLEMS:
        last = log.problems[-1]
        log.problems[-1] = Problem(last.kind, path, last.message +
                                   f" (and {log.damage - _MAX_PROBLEMS} more damaged places in this file)", last.offset)
    return log


def _zeros_from(data: bytes, chunk: int = 1 << 20) -> int:
    """The offset from which `data` is all zero bytes (len(data) when it does not end in one); read from the
    end in chunks (testing the rest of the file at every header of type 0 was quadratic)."""
    end = len(data)
    while end > 0:
        start = max(0, end - chunk)
        kept = len(data[start:end].rstrip(b"\0"))
        if kept:
            return start + kept
        end = start
    return 0


def _record_ok(data: bytes, pos: int) -> bool:
    """Whether an intact record (good CRC, known type, inside its block) starts at `pos`."""
    if pos + HEADER > len(data):
        return False
    crc, length, kind = _HEADER.unpack_from(data, pos)
    end = pos + HEADER + length
    block_end = (pos // BLOCK + 1) * BLOCK
    return (kind in (FULL, FIRST, MIDDLE, LAST) and end <= min(block_end, len(data))
            and zlib.crc32(data[pos + HEADER:end], zlib.crc32(bytes((kind,)))) == crc)


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


def _row(raw: dict[str, Any], rows: Rows) -> None:
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
    _row(raw, rows)


def _config(buf: bytes, config: dict[str, Any]) -> None:
    for number, wire, value in fields(buf):
        if number == _CONFIG_UPDATE and wire == 2:
            name, item = _item(value, _json_config)
            if name and item is not None:
                config[name] = item


@dataclass
class _LogContent:
    rows: Rows = field(default_factory=Rows)
    config: dict[str, Any] = field(default_factory=dict)
    exit_code: int | None = None
    problems: list[Problem] = field(default_factory=list)


def _record(offset: int, payload: bytes, content: _LogContent, undecodable: list[int]) -> None:
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
    except _Malformed:
        undecodable.append(offset)


def read_log(path: str, content: _LogContent) -> None:
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


# -- wandb-history.jsonl -------------------------------------------------------------------------------
def read_jsonl(path: str, rows: Rows, run: Run) -> None:
    """One history row per line; a bad line is a problem at its line, a cut-off last line "truncated"."""
    lines = JsonLines(path)
    for _, obj in lines:
        _row(obj, rows)
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
    if os.path.exists(folder) and not os.path.isdir(folder):  # a .wandb file given as the run (a FIFO too)
        folder = os.path.dirname(folder) or "."
    run = new_run(source, FORMAT)
    run.sources = []
    if not os.path.isdir(folder):
        run.problems.append(Problem("unreadable", folder, "no such run folder"))
        return [run]
    files = os.path.join(folder, "files")
    jsonl = os.path.join(files, "wandb-history.jsonl")
    summary = os.path.join(files, "wandb-summary.json")
    config_yaml = os.path.join(files, "config.yaml")
    try:
        logs = sorted(os.path.join(folder, f) for f in os.listdir(folder)
                      if f.endswith(WANDB_LOG) and not f.startswith("."))
    except OSError as exc:
        run.problems.append(Problem("unreadable", folder, f"cannot list the run folder: {exc.strerror or exc}"))
        return [run]
    content = _LogContent()
    read_logs = False
    if os.path.lexists(jsonl):  # a FIFO or a device too: reported, not skipped
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
    if os.path.lexists(summary):
        _summary(summary, run, history=bool(rows.rows))
    constant_lr_hparams(run)
    return [run]


def _hparams(run: Run, logged: dict[str, Any], config_yaml: str) -> None:
    """``files/config.yaml`` over the config records of the log."""
    values = config_values({k: {"value": v} for k, v in logged.items()})
    if os.path.lexists(config_yaml):
        from curvelint.readers import hparams_yaml

        try:
            values.update(config_values(hparams_yaml.read(config_yaml, run.problems)))
            run.sources.append(config_yaml)
        except OSError as exc:
            run.notes.append(f"{config_yaml} not read: {exc.strerror or exc}")
    run.hparams.update(values)

