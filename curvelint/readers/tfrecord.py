"""TFRecord framing of TensorBoard event files, walked fast and checked with CRC32C.

Each record is ``uint64 length | uint32 masked_crc32c(length) | data | uint32
masked_crc32c(data)`` (little endian). `scan` walks a whole file held in memory and
returns the byte ranges of the complete, intact records plus the problems met:

* a partial final record (a run still being written) -> ``Problem("truncated")``;
* a bad length CRC means the framing itself is garbage: ``Problem("unreadable",
  offset=N)``; the scan then looks for the next byte where a valid record header starts
  and carries on from there, so records after a damaged stretch are still kept;
* a bad data CRC (length CRC fine, framing trustworthy) -> that one record is dropped
  with ``Problem("unreadable", offset=N)`` and the scan carries on.

Speed: the only per-record Python is the length-following loop and, when `verify` is
on, one call of the C-accelerated ``crc32c`` package per record. Length CRCs (always
checked: a wrong length derails everything after it) are computed for all records at
once with a table-driven CRC32C in numpy.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

import numpy as np

from curvelint.model import Problem

HEADER = 12  # uint64 length + uint32 masked crc of the length
FOOTER = 4  # uint32 masked crc of the data
_MASK_DELTA = 0xA282EAD8
_MAX_PROBLEMS = 5  # per file; further damage is summarised in the last message
_U64 = struct.Struct("<Q").unpack_from


def _crc_table() -> np.ndarray:
    poly = 0x82F63B78  # CRC-32C (Castagnoli), reflected
    table = np.arange(256, dtype=np.uint32)
    for _ in range(8):
        table = np.where(table & 1, (table >> 1) ^ np.uint32(poly), table >> 1).astype(np.uint32)
    return table


_TABLE = _crc_table()


def masked(crc: np.ndarray) -> np.ndarray:
    """TFRecord's CRC masking, vectorised over uint32 arrays."""
    crc = crc.astype(np.uint32)
    rotated = (crc >> np.uint32(15)) | (crc << np.uint32(17))
    return (rotated + np.uint32(_MASK_DELTA)).astype(np.uint32)


def crc8_at(arr: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """CRC32C of the 8 bytes at each position of `pos` (all positions + 8 <= len(arr))."""
    crc = np.full(len(pos), 0xFFFFFFFF, dtype=np.uint32)
    for k in range(8):
        crc = _TABLE[(crc ^ arr[pos + k]) & 0xFF] ^ (crc >> np.uint32(8))
    return crc ^ np.uint32(0xFFFFFFFF)


def unaligned(data: bytes, dtype: str) -> np.ndarray:
    """A read-only view of `data` with one `dtype` value starting at EVERY byte offset.

    ``unaligned(data, "<u8")[pos]`` gathers the 8-byte words at the offsets `pos` in one
    numpy operation (offsets must be <= len(data) - itemsize).
    """
    size = np.dtype(dtype).itemsize
    count = max(len(data) - size + 1, 0)
    return np.ndarray((count,), dtype=dtype, buffer=data if count else b"\0" * size, strides=(1,))


def u32_at(arr: np.ndarray, pos: np.ndarray) -> np.ndarray:
    return unaligned(arr.data, "<u4")[pos] if len(pos) else np.zeros(0, np.uint32)


def u64_at(arr: np.ndarray, pos: np.ndarray) -> np.ndarray:
    return unaligned(arr.data, "<u8")[pos] if len(pos) else np.zeros(0, np.uint64)


@dataclass
class Records:
    """Byte ranges [starts[i], ends[i]) of the intact records' data, in file order."""

    starts: np.ndarray
    ends: np.ndarray
    problems: list[Problem] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.starts)


def _walk(data: bytes, pos: int) -> list[int]:
    """Header offsets found by following lengths from `pos` (unchecked: garbage goes anywhere)."""
    n = len(data)
    heads: list[int] = []
    append = heads.append
    unpack = _U64
    while pos + HEADER <= n:
        append(pos)
        pos += unpack(data, pos)[0] + HEADER + FOOTER
    return heads


def _frame_guess(data: bytes, arr: np.ndarray, pos: int) -> np.ndarray | None:
    """The record headers from `pos` on, found without a per-record Python loop, or None.

    Nearly every Event starts with its wall time (byte 0x09), so the headers are among
    the offsets p with data[p + 12] == 0x09, a length below 4 GiB and a valid length CRC.
    Those candidates are accepted only if they chain exactly (each one's length leads to
    the next, the first is `pos`, the last reaches the end of the file): that is the very
    list the sequential walk would produce. Anything else returns None (walk instead).
    """
    n = len(data)
    if n - pos < 1 << 16:  # small files: the plain walk is as fast
        return None
    cand = np.flatnonzero(arr[pos + HEADER:] == 0x09) + pos
    high = unaligned(data, "<u4")
    cand = cand[high[np.minimum(cand + 4, len(high) - 1)] == 0]
    if not len(cand) or cand[0] != pos:
        return None
    cand = cand[masked(crc8_at(arr, cand)) == u32_at(arr, cand + 8)]
    nxt = cand + u64_at(arr, cand).astype(np.int64) + HEADER + FOOTER
    if len(cand) == 0 or not np.array_equal(nxt[:-1], cand[1:]) or nxt[-1] + HEADER <= n:
        return None
    return cand


def _resync(arr: np.ndarray, start: int, chunk: int = 1 << 20) -> int | None:
    """The first offset >= start where a header with a valid length CRC begins, or None."""
    n = len(arr)
    pos = start
    while pos + HEADER <= n:
        stop = min(n - HEADER + 1, pos + chunk)
        cand = np.arange(pos, stop, dtype=np.int64)
        ok = masked(crc8_at(arr, cand)) == u32_at(arr, cand + 8)
        if ok.any():
            return int(cand[np.argmax(ok)])
        pos = stop
    return None


def scan(data: bytes, path: str, verify: bool = True) -> Records:
    """Find the intact records of one event file held in memory (never raises)."""
    import crc32c

    n = len(data)
    arr = np.frombuffer(data, dtype=np.uint8)
    starts: list[np.ndarray] = []
    ends: list[np.ndarray] = []
    problems: list[Problem] = []
    damage = 0

    def problem(kind: str, message: str, offset: int) -> None:
        nonlocal damage
        damage += 1
        if damage <= _MAX_PROBLEMS:
            problems.append(Problem(kind, path, message, offset))

    pos = 0
    while pos < n:
        guess = _frame_guess(data, arr, pos)
        heads = guess if guess is not None else np.asarray(_walk(data, pos), dtype=np.int64)
        lengths = u64_at(arr, heads)
        good = True if guess is not None else masked(crc8_at(arr, heads)) == u32_at(arr, heads + 8)
        bad_at = None if np.all(good) else int(np.argmin(good))
        if bad_at is not None:
            heads, lengths = heads[:bad_at], lengths[:bad_at]
        data_starts = heads + HEADER
        data_ends = data_starts + lengths.astype(np.int64)  # lengths are < n here, or caught below
        tail = pos if len(heads) == 0 else int(data_ends[-1]) + FOOTER
        if len(heads) and (lengths[-1] > np.uint64(n) or tail > n):
            # only the final record can overrun the file: a write in progress
            last = int(heads[-1])
            problem("truncated", f"partial final record at byte {last} ({n - last} of "
                    f"{int(lengths[-1]) + HEADER + FOOTER} bytes); the file is probably still being written", last)
            heads, data_starts, data_ends = heads[:-1], data_starts[:-1], data_ends[:-1]
            tail = n
        if verify and len(heads):
            pieces = map(memoryview(data).__getitem__, map(slice, data_starts.tolist(), data_ends.tolist()))
            crcs = np.fromiter(map(crc32c.crc32c, pieces), dtype=np.uint32, count=len(heads))
            ok = masked(crcs) == u32_at(arr, data_ends)
            if not ok.all():
                for i in np.flatnonzero(~ok).tolist():
                    problem("unreadable", f"bad data CRC in record at byte {int(heads[i])}; record skipped",
                            int(heads[i]))
                data_starts, data_ends = data_starts[ok], data_ends[ok]
        starts.append(data_starts)
        ends.append(data_ends)
        if bad_at is None:
            if tail < n:
                problem("truncated", f"partial record header at byte {tail} ({n - tail} of {HEADER} bytes); "
                        "the file is probably still being written", tail)
            break
        # a bad length CRC: the framing is garbage from `tail` on; look for the next valid header
        nxt = _resync(arr, tail + 1)
        if nxt is None:
            problem("unreadable", f"not a valid TFRecord at byte {tail} (bad length CRC); "
                    f"the remaining {n - tail} bytes were skipped", tail)
            break
        problem("unreadable", f"not a valid TFRecord at byte {tail} (bad length CRC); "
                f"skipped {nxt - tail} bytes to the next valid record", tail)
        pos = nxt
    if damage > _MAX_PROBLEMS:
        problems[-1] = Problem(problems[-1].kind, path, problems[-1].message +
                               f" (and {damage - _MAX_PROBLEMS} more damaged places in this file)",
                               problems[-1].offset)
    if not starts:
        return Records(np.zeros(0, np.int64), np.zeros(0, np.int64), problems)
    return Records(np.concatenate(starts), np.concatenate(ends), problems)

