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

Speed: no per-record Python in the common case. Record headers are located with numpy
(in windows of `BYTES`, so temporaries stay small) and accepted only when they chain exactly (`_frame_guess`; otherwise a plain loop
follows the lengths). Length CRCs (always checked: a wrong length derails everything
after it) use a table-driven CRC32C in numpy; data CRCs (when `verify` is on) use the
C-accelerated ``crc32c`` package on XORs of same-length records (`data_crcs_ok`).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

import numpy as np

from curvelint.model import Problem

HEADER = 12  # uint64 length + uint32 masked crc of the length
FOOTER = 4  # uint32 masked crc of the data
_MASK_DELTA = 0xA282EAD8
_CHUNK = 1 << 15  # records per vectorised CRC check (keeps temporaries small)
RECORDS = 1 << 16  # records per window of CRC checks and of decoding (bounds temporaries)
BYTES = 1 << 22  # bytes per window of the vectorised header search (bounds its temporaries)
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
    cand = _candidates(data, arr, pos)
    if not len(cand) or cand[0] != pos:
        return None
    if not _chains(arr, cand, n):  # false candidates inside record data: drop those with a bad length CRC
        cand = cand[_length_crc_ok_each(arr, cand)]
        if not _chains(arr, cand, n):
            return None
    elif not _length_crcs_ok(arr, cand):
        return None
    return cand


def _candidates(data: bytes, arr: np.ndarray, pos: int) -> np.ndarray:
    """Offsets p >= pos with data[p + 12] == 0x09 and a length below 4 GiB, searched in `BYTES` windows."""
    n = len(data)
    high = unaligned(data, "<u4")
    parts = []
    for a in range(pos, n - HEADER, BYTES):  # bounded temporaries (a bool per byte of one window)
        b = min(a + BYTES, n - HEADER)
        cand = np.flatnonzero(arr[a + HEADER:b + HEADER] == 0x09) + a
        parts.append(cand[high[np.minimum(cand + 4, len(high) - 1)] == 0])
    return _concat(parts, np.int64)


def _concat(parts: list[np.ndarray], dtype: type) -> np.ndarray:
    """np.concatenate without the copy of a single part."""
    if not parts:
        return np.zeros(0, dtype)
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


def _length_crc_ok_each(arr: np.ndarray, heads: np.ndarray) -> np.ndarray:
    """Whether each header's length CRC is right (table-driven, in windows of `_CHUNK` headers)."""
    return _concat([masked(crc8_at(arr, h)) == u32_at(arr, h + 8)
                    for h in np.split(heads, range(_CHUNK, len(heads), _CHUNK))], bool)


def _chains(arr: np.ndarray, cand: np.ndarray, n: int) -> bool:
    """Whether each candidate's length leads exactly to the next one and the last reaches the end."""
    if not len(cand):
        return False
    nxt = cand + u64_at(arr, cand).astype(np.int64) + HEADER + FOOTER
    return bool(np.array_equal(nxt[:-1], cand[1:]) and nxt[-1] + HEADER > n)


def _length_crcs_ok(arr: np.ndarray, heads: np.ndarray) -> bool:
    """All length CRCs at once, by linearity (`_linear_check`); False means: check one by one."""
    return all(_linear_check(u64_at(arr, h)[:, None], [0], 8, unmasked(u32_at(arr, h + 8)))
               for h in np.split(heads, range(_CHUNK, len(heads), _CHUNK)))


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


def unmasked(stored: np.ndarray) -> np.ndarray:
    """The CRC32C values behind TFRecord's masked CRCs (inverse of `masked`)."""
    x = (stored.astype(np.uint32) - np.uint32(_MASK_DELTA)).astype(np.uint32)
    return ((x << np.uint32(15)) | (x >> np.uint32(17))).astype(np.uint32)


def _per_record_ok(data: bytes, arr: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    import crc32c

    pieces = map(memoryview(data).__getitem__, map(slice, starts.tolist(), ends.tolist()))
    crcs = np.fromiter(map(crc32c.crc32c, pieces), dtype=np.uint32, count=len(starts))
    return masked(crcs) == u32_at(arr, ends)


def _subset_xors(cols: np.ndarray) -> np.ndarray:
    """Row t = 0: XOR of all rows of `cols` (m x k); row j + 1: XOR of the rows whose index has bit j set.

    Folding pairs of rows halves the array at each bit, so all of it costs about 3 m x k XORs.
    """
    bits = max(1, (len(cols) - 1).bit_length())
    x = np.zeros((1 << bits, cols.shape[1]), dtype=cols.dtype)
    x[:len(cols)] = cols
    out = []
    for _ in range(bits):
        pairs = x.reshape(-1, 2, cols.shape[1])
        out.append(np.bitwise_xor.reduce(pairs[:, 1], axis=0))
        x = pairs[:, 0] ^ pairs[:, 1]
    return np.stack([x[0], *out])


def _subset_sizes(m: int) -> list[int]:
    bits = max(1, (m - 1).bit_length())
    return [m] + [((m >> (j + 1)) << j) + max(0, m % (1 << (j + 1)) - (1 << j)) for j in range(bits)]


def _linear_check(words: np.ndarray, offsets: list[int], length: int, stored: np.ndarray) -> bool:
    """Check the CRC32Cs `stored` of m records of `length` bytes, given as m x k 8-byte words at `offsets`.

    CRC32C is affine over GF(2) for a fixed length L: crc(a ^ b) = crc(a) ^ crc(b) ^ crc(0^L).
    So for any k of the records, XOR(crc(D_i)) = crc(XOR(D_i)) ^ (crc(0^L) if k is even), and one
    C call on XOR(D_i) (computed with numpy) checks them together. It is done for all records
    and for the records whose position has bit j set, for every bit j: damage confined to one
    record is caught exactly as by that record's own CRC (the mismatch is the same bits), and
    damage in two or three records cannot cancel out in all of these subsets.
    """
    import crc32c

    zero_crc = crc32c.crc32c(bytes(length))
    xors = _subset_xors(np.column_stack([words, stored.astype(np.uint64)]))
    for size, row in zip(_subset_sizes(len(stored)), xors):
        if not size:
            continue
        buf = bytearray(length)
        raw = row[:-1].astype("<u8").tobytes()
        for i, off in enumerate(offsets):  # overlapping last word: the same bytes, the same XOR
            buf[off:off + 8] = raw[8 * i:8 * i + 8]
        if int(row[-1]) != crc32c.crc32c(bytes(buf)) ^ (zero_crc if size % 2 == 0 else 0):
            return False
    return True


def data_crcs_ok(data: bytes, arr: np.ndarray, starts: np.ndarray, ends: np.ndarray,
                 min_group: int = 256) -> np.ndarray:
    """Whether each record's data matches its stored CRC32C.

    Per-record ``crc32c`` calls cost ~0.25 us each, mostly call overhead; records of one
    length are instead checked together by linearity (`_linear_check`). A mismatch falls
    back to per-record CRCs for that group, which say exactly which records are bad.
    Small groups and records under 8 bytes are checked one by one. Records are taken in
    windows of `RECORDS` (bounded temporaries).
    """
    return _concat([_data_crcs_ok(data, arr, starts[a:a + RECORDS], ends[a:a + RECORDS], min_group)
                    for a in range(0, len(starts), RECORDS)], bool)


def _data_crcs_ok(data: bytes, arr: np.ndarray, starts: np.ndarray, ends: np.ndarray, min_group: int) -> np.ndarray:
    ok = np.ones(len(starts), dtype=bool)
    lengths = ends - starts
    small = len(lengths) and lengths.max() < 1 << 16
    order = np.argsort(lengths.astype(np.uint16) if small else lengths, kind="stable")  # uint16: radix sort
    cuts = np.flatnonzero(np.diff(lengths[order])) + 1
    stored = unmasked(u32_at(arr, ends))
    words = unaligned(data, "<u8")
    single: list[np.ndarray] = []
    for group in np.split(order, cuts):
        length = int(lengths[group[0]])
        if len(group) < min_group or length < 8:
            single.append(group)
            continue
        offsets = sorted({min(8 * j, length - 8) for j in range(-(-length // 8))})
        for chunk in np.split(group, range(_CHUNK, len(group), _CHUNK)):  # cache-sized temporaries
            block = words[starts[chunk][:, None] + np.asarray(offsets)[None, :]]
            if not _linear_check(block, offsets, length, stored[chunk]):
                single.append(chunk)
    if single:
        idx = np.concatenate(single)
        ok[idx] = _per_record_ok(data, arr, starts[idx], ends[idx])
    return ok


def scan(data: bytes, path: str, verify: bool = True) -> Records:
    """Find the intact records of one event file held in memory (never raises)."""
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
        good = True if guess is not None else _length_crc_ok_each(arr, heads)
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
            ok = data_crcs_ok(data, arr, data_starts, data_ends)
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
    return Records(_concat(starts, np.int64), _concat(ends, np.int64), problems)

