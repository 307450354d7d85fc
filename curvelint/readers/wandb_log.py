"""The framing of a W&B ``.wandb`` transaction log: its records, found and checked (`scan`).

The log is LevelDB-style: a 7-byte header (``:W&B``, uint16 0xBEE1, version 0), then 32 KiB blocks of
records, each ``uint32 crc | uint16 length | uint8 type | data`` (little endian; type 1 full, 2 first,
3 middle, 4 last fragment of a record that spans blocks; a block tail shorter than a header is zero
padding). The CRC is zlib's CRC-32 of the type byte and the data (what W&B's writer uses, not
LevelDB's masked CRC-32C). What a record holds is `curvelint.readers.wandb_proto`'s business.

Damage never raises: a partial record at the end is a "truncated" problem, a bad CRC or broken
framing an "unreadable" problem at its byte offset (the record is dropped; when the framing after
it cannot be trusted the scan moves on to the next block), and every intact record before and
after is kept. A file that is not a W&B log is one "unreadable" problem.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field
from typing import Callable

from curvelint.model import Problem

IDENT = b":W&B"
MAGIC = 0xBEE1
VERSION = 0
FILE_HEADER = 7  # ident, uint16 magic, uint8 version
BLOCK = 32768
HEADER = 7  # uint32 crc, uint16 length, uint8 type
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4
_HEADER = struct.Struct("<IHB")
MAX_PROBLEMS = 5  # per file; further damage is summarised in the last message


@dataclass
class Log:
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


def scan(data: bytes, path: str, most: int | None = None, sink: Callable[[int, bytes], None] | None = None) -> Log:
    """The intact records of a ``.wandb`` file held in memory (at most `most`), and the problems met (never
    raises); with `sink`, each record is handed to it as it is found instead of being kept in the log."""
    log = Log(sink=sink)
    n = len(data)

    def problem(kind: str, message: str, offset: int) -> None:
        log.damage += 1
        if log.damage <= MAX_PROBLEMS:
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
    if log.damage > MAX_PROBLEMS:
        last = log.problems[-1]
        log.problems[-1] = Problem(last.kind, path, last.message +
                                   f" (and {log.damage - MAX_PROBLEMS} more damaged places in this file)", last.offset)
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
