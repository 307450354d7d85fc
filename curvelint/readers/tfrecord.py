"""TFRecord framing of TensorBoard event files, walked fast and checked with CRC32C.

Each record is ``uint64 length | uint32 masked_crc32c(length) | data | uint32
masked_crc32c(data)`` (little endian). `scan` walks a whole file held in memory and
returns the byte ranges of the complete, intact records plus the problems met:

* a partial final record (a run still being written) -> ``Problem("truncated")``;
* a bad length CRC means the framing itself is garbage: ``Problem("unreadable",
  offset=N)``; the scan then looks for the next byte where a valid record header starts
  and carries on from there, so records after a damaged stretch are still kept;
* a bad data CRC (length CRC fine, framing trustworthy) -> that one record is dropped
  with ``Problem("unreadable", offset=N)`` and the scan carries on;
* a length (with a valid CRC) that runs past the end of the file while whole records follow
  it is damage, not a write in progress: ``Problem("unreadable", offset=N)``, and the scan
  carries on at the next whole record.

Speed: no per-record Python in the common case. Record headers are located with numpy
(in windows of `BYTES`, so temporaries stay small) and accepted only when they chain exactly
(`_frame_guess`; otherwise a plain loop follows the lengths). Length CRCs (always checked: a wrong
length derails everything after it) are looked up in a table of the CRCs of small lengths, or
computed in numpy (`tfrecord_crc`); data CRCs (when `verify` is on) are checked with one call of
the C-accelerated ``crc32c`` package (`curvelint._crc32c`) over a window of records (`data_crcs_ok`,
`_chain_ok`). A large file is scanned part by part (`scan` with ``final=False``): a part gives the
records of a whole-file scan, with the same problems at file offsets.
"""

from __future__ import annotations

import functools
import struct
from dataclasses import dataclass, field

import numpy as np

from curvelint._crc32c import crc32c
from curvelint.model import Problem
from curvelint.readers.tfrecord_crc import crc8_at, masked, unmasked

HEADER = 12  # uint64 length + uint32 masked crc of the length
FOOTER = 4  # uint32 masked crc of the data
_CHUNK = 1 << 15  # records per vectorised CRC check (keeps temporaries small)
RECORDS = 1 << 16  # records per window of CRC checks and of decoding (bounds temporaries)
BYTES = 1 << 22  # bytes per window of the vectorised header search (bounds its temporaries)
_WALK_BELOW = 1 << 14  # bytes: smaller files are framed by following the lengths in Python
_TABLE_LENGTHS = 1 << 12  # record lengths whose length CRC is looked up in a table
_MAX_PROBLEMS = 5  # per file; further damage is summarised in the last message
_U64 = struct.Struct("<Q").unpack_from


def unaligned(data: bytes | bytearray | memoryview | np.ndarray, dtype: str) -> np.ndarray:
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
    resume: int | None = None  # a part of a file (`scan` with final=False): where the next part must start
    need: int = 0  # ... and how many bytes from there it must hold at least
    damaged_at: int | None = None  # ... and where the damaged stretch it starts in began (file offset)

    def __len__(self) -> int:
        return len(self.starts)


def _walk(data: bytes | bytearray, pos: int, most: int = RECORDS) -> list[int]:
    """Header offsets found by following lengths from `pos` (unchecked: garbage goes anywhere), at most
    `most` of them (a file of zeros is 16-byte "records" of length 0 all the way: checked batch by batch)."""
    n = len(data)
    heads: list[int] = []
    append = heads.append
    unpack = _U64
    while pos + HEADER <= n and len(heads) < most:
        append(pos)
        pos += unpack(data, pos)[0] + HEADER + FOOTER
    return heads


def _frame_guess(data: bytes | bytearray, arr: np.ndarray, pos: int) -> tuple[np.ndarray, np.ndarray] | None:
    """The record headers from `pos` on, found without a per-record Python loop, or None.

    Nearly every Event starts with its wall time (byte 0x09), so the headers are among
    the offsets p with data[p + 12] == 0x09, a length below 4 GiB and a valid length CRC.
    Those candidates are accepted only if they chain exactly (each one's length leads to
    the next, the first is `pos`, the last reaches the end of the file): that is the very
    list the sequential walk would produce. Anything else returns None (walk instead).
    Returns the headers and their lengths.
    """
    n = len(data)
    if n - pos < _WALK_BELOW:  # small files: the plain walk is as fast
        return None
    cand = _candidates(data, arr, pos)
    if not len(cand) or cand[0] != pos:
        return None
    lengths = u64_at(arr, cand)
    if not _chains(cand, lengths, n):  # false candidates inside record data: drop those with a bad length CRC
        ok = _length_crc_ok_each(arr, cand, lengths)
        cand, lengths = cand[ok], lengths[ok]
        if not _chains(cand, lengths, n):
            return None
    elif not _length_crc_ok_each(arr, cand, lengths).all():
        return None
    return cand, lengths


def _candidates(data: bytes | bytearray, arr: np.ndarray, pos: int) -> np.ndarray:
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


def _length_crc_ok_each(arr: np.ndarray, heads: np.ndarray, lengths: np.ndarray | None = None) -> np.ndarray:
    """Whether each header's length CRC is right: lengths under `_TABLE_LENGTHS` (scalar events:
    a few dozen bytes) are looked up in a table of their exact CRCs, others computed in numpy in
    windows of `_CHUNK` headers. `lengths`: the headers' lengths, when already read."""
    lengths = u64_at(arr, heads) if lengths is None else lengths
    top = int(lengths.max()) if len(lengths) else 0
    if top < _TABLE_LENGTHS:
        return _length_crc_table(max(64, 1 << top.bit_length()))[lengths] == u32_at(arr, heads + 8)
    return _concat([masked(crc8_at(arr, h)) == u32_at(arr, h + 8)
                    for h in np.split(heads, range(_CHUNK, len(heads), _CHUNK))], bool)


def _chains(cand: np.ndarray, lengths: np.ndarray, n: int) -> bool:
    """Whether each candidate's length leads exactly to the next one and the last reaches the end."""
    if not len(cand):
        return False
    nxt = cand + lengths.astype(np.int64) + HEADER + FOOTER
    return bool(np.array_equal(nxt[:-1], cand[1:]) and nxt[-1] + HEADER > n)


@functools.lru_cache(maxsize=None)
def _length_crc_table(size: int) -> np.ndarray:
    """The masked CRC32C a header stores for each length 0..size-1 (of its 8 little-endian bytes)."""
    return masked(np.fromiter(map(crc32c(), map(struct.Struct("<Q").pack, range(size))), np.uint32, size))


def _resync(arr: np.ndarray, start: int, chunk: int = 1 << 20, bound: int | None = None) -> int | None:
    """The first offset >= start where a header with a valid length CRC begins, or None.

    Only offsets whose length would fit in the file (`bound` bytes: `arr` is a part of it) are CRC-checked
    (random bytes, text and the like almost never give one), small lengths by a table of their CRCs;
    stretches of zeros are skipped."""
    n = len(arr)
    lengths = unaligned(arr, "<u8")  # the length field at every offset (a view)
    pos = start
    while pos + HEADER <= n:
        stop = min(n - HEADER + 1, pos + chunk)
        if not arr[pos:stop + HEADER].any():  # zeros (a sparse file): length 0 with a CRC of 0 is no header
            pos = stop
            continue
        fits = np.flatnonzero(lengths[pos:stop] <= np.uint64(n if bound is None else bound))
        if len(fits):
            cand = fits.astype(np.int64) + pos
            ok = _length_crc_ok_each(arr, cand, lengths[cand])
            if ok.any():
                return int(cand[np.argmax(ok)])
        pos = stop
    return None


def _whole_record_after(data: bytes | bytearray, arr: np.ndarray, start: int, verify: bool) -> int | None:
    """The offset of the first whole record (valid length CRC, inside the file, and a valid data CRC
    when `verify`) at or after `start`, or None."""
    n = len(data)
    pos = start
    while pos + HEADER <= n:
        found = _resync(arr, pos)
        if found is None:
            return None
        length = _U64(data, found)[0]
        end = found + HEADER + length
        if end + FOOTER <= n and (not verify or _per_record_ok(data, arr, np.array([found + HEADER]),
                                                               np.array([end]))[0]):
            return found
        pos = found + 1
    return None


def _per_record_ok(data: bytes | bytearray, arr: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    pieces = map(memoryview(data).__getitem__, map(slice, starts.tolist(), ends.tolist()))
    crcs = np.fromiter(map(crc32c(), pieces), dtype=np.uint32, count=len(starts))
    return masked(crcs) == u32_at(arr, ends)


# CRC32C's residue: crc32c(D + crc32c(D) as 4 little-endian bytes) is RESIDUE for every D, and
# crc32c(BRIDGE, RESIDUE) == 0, the CRC of nothing (BRIDGE: 8 zero bytes, then 4 bytes solved for that).
RESIDUE = 0x48674BC7
BRIDGE = bytes(8) + bytes.fromhex("f62e80b0")


def windows(starts: np.ndarray, ends: np.ndarray) -> list[tuple[int, int]]:
    """Record ranges of at most `RECORDS` records and (unless one record is larger) `BYTES` bytes."""
    m = len(starts)
    cuts = set(range(0, m, RECORDS))
    if m and int(ends[-1]) - int(starts[0]) > BYTES:
        marks = np.arange(int(starts[0]) + BYTES, int(ends[-1]), BYTES)
        cuts.update(np.searchsorted(starts, marks, side="right").tolist())
    bounds = sorted(cuts - {m}) + [m]
    return [(a, b) for a, b in zip(bounds, bounds[1:]) if a < b]


def data_crcs_ok(data: bytes | bytearray, arr: np.ndarray, starts: np.ndarray, ends: np.ndarray,
                 min_group: int = 64) -> np.ndarray:
    """Whether each record's data matches its stored CRC32C (records in file order, as `scan` finds them).

    Per-record ``crc32c`` calls cost ~0.25 us each, mostly call overhead; consecutive
    records are instead checked with one call (`_chain_ok`). A mismatch falls back to
    per-record CRCs, which say exactly which records are bad. Fewer than `min_group`
    records are checked one by one. Records are taken in `windows` (bounded temporaries).
    """
    return _concat([_data_crcs_ok(data, arr, starts[a:b], ends[a:b], min_group)
                    for a, b in windows(starts, ends)], bool)


def _data_crcs_ok(data: bytes | bytearray, arr: np.ndarray, starts: np.ndarray, ends: np.ndarray,
                  min_group: int) -> np.ndarray:
    if len(starts) >= min_group and _chain_ok(data, arr, starts, ends):
        return np.ones(len(starts), dtype=bool)
    return _per_record_ok(data, arr, starts, ends)


def _chain_ok(data: bytes | bytearray, arr: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> bool:
    """Whether every record's data CRC is right, by one ``crc32c`` call over a copy of their bytes.

    In the copy, each record's footer holds its CRC unmasked, so that record + footer is a
    codeword, after which CRC32C's state is `RESIDUE` whatever the record; each header is
    replaced with `BRIDGE`, which takes that state back to the initial one. The CRC of the
    copy from `RESIDUE` on is then `RESIDUE` again when every record is intact. A record
    with a wrong CRC leaves its mismatch in the state, and what follows maps it one-to-one:
    damage in one record is always caught, exactly as by that record's own CRC. Damage in
    several records could only go unseen if the mismatches cancelled out, a 2**-32
    coincidence (the odds at which random damage passes any one CRC32C). Bytes between
    the records (not the case in `scan`) also make the check fail: per-record CRCs then decide.
    """
    lo = int(starts[0]) - HEADER
    if lo < 0:
        return False
    buf = arr[lo:int(ends[-1]) + FOOTER].copy()
    heads, feet = starts - (lo + HEADER), ends - lo
    np.ndarray((len(buf) - 7,), "<u8", buf, strides=(1,))[heads] = 0  # BRIDGE: 8 zero bytes, then 4 solved ones
    u32 = np.ndarray((len(buf) - 3,), "<u4", buf, strides=(1,))
    u32[heads + 8] = int.from_bytes(BRIDGE[8:], "little")
    u32[feet] = unmasked(u32_at(arr, ends))
    return crc32c()(buf, RESIDUE) == RESIDUE


def scan(data: bytes | bytearray, path: str, verify: bool = True, final: bool = True, base: int = 0,
         damaged_at: int | None = None, size: int | None = None) -> Records:
    """Find the intact records of one event file held in memory (never raises).

    With `final` off, `data` is a part of a file (at file offset `base`, with more after it): a record
    or header it cuts is left for the next part, where `Records.resume` says (problems and offsets
    name file offsets). `damaged_at`: the part starts in a damaged stretch that began there; `size`: the
    bytes of the file that are read (the longest record a header may claim).
    """
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
            problems.append(Problem(kind, path, message, base + offset))

    inner: list[tuple[int, int]] = []  # whole records inside the extent of a record with a bad data CRC
    resume: tuple[int, int, int | None] | None = None  # (offset, bytes needed, damage began) for the next part
    pos = 0
    if damaged_at is not None:  # still looking for the next valid header
        found = _resync(arr, 0, bound=size)
        if found is None and not final:
            pos, resume = n, (max(n - HEADER + 1, 0), HEADER, damaged_at)
        elif found is None:
            pos = n
            problem("unreadable", f"not a valid TFRecord at byte {damaged_at} (bad length CRC); "
                    f"the remaining {base + n - damaged_at} bytes were skipped", damaged_at - base)
        else:
            pos = found
            problem("unreadable", f"not a valid TFRecord at byte {damaged_at} (bad length CRC); "
                    f"skipped {base + pos - damaged_at} bytes to the next valid record", damaged_at - base)
    while pos < n:
        guess = _frame_guess(data, arr, pos)
        walked_all = True
        if guess is not None:
            heads, lengths = guess
        else:
            heads = np.asarray(_walk(data, pos), dtype=np.int64)
            walked_all = len(heads) < RECORDS
            lengths = u64_at(arr, heads)
        good = True if guess is not None else _length_crc_ok_each(arr, heads, lengths)
        bad_at = None if np.all(good) else int(np.argmin(good))
        if bad_at is not None:
            heads, lengths = heads[:bad_at], lengths[:bad_at]
        data_starts = heads + HEADER
        data_ends = data_starts + lengths.astype(np.int64)  # lengths are < n here, or caught below
        tail = pos if len(heads) == 0 else int(data_ends[-1]) + FOOTER
        jump = None  # where whole records go on after a length that runs past the end of the file
        if len(heads) and (lengths[-1] > np.uint64(n) or tail > n) and not final:  # the next part holds it
            last = int(heads[-1])
            resume = (last, int(min(lengths[-1], np.uint64(1 << 62))) + HEADER + FOOTER, None)
            heads, data_starts, data_ends = heads[:-1], data_starts[:-1], data_ends[:-1]
            tail, bad_at = n, None
        elif len(heads) and (lengths[-1] > np.uint64(n) or tail > n):
            last = int(heads[-1])
            jump = _whole_record_after(data, arr, last + 1, verify)
            if jump is None:  # the final record overruns the file: a write in progress
                whole = int(lengths[-1]) + HEADER + FOOTER
                problem("truncated", f"partial final record at byte {base + last} ({n - last} of {whole} bytes); "
                        "the file is probably still being written", last)
            else:  # whole records follow: the length is damaged
                problem("unreadable", f"record at byte {base + last} claims {int(lengths[-1])} bytes, past the end "
                        f"of the file; skipped {jump - last} bytes to the next valid record", last)
                bad_at = None
            heads, data_starts, data_ends = heads[:-1], data_starts[:-1], data_ends[:-1]
            tail = n
        suspect = None  # the data of a record whose CRC failed right before broken framing: search from there
        if verify and len(heads):
            ok = data_crcs_ok(data, arr, data_starts, data_ends)
            if not final and not ok[-1] and bad_at is None and (resume is not None or tail >= n or walked_all):
                last = int(heads[-1])  # what follows a damaged record decides how it is told: the next part reads it
                resume = (last, max(int(data_ends[-1]) + FOOTER - last + 2 * HEADER, 2 * (n - last)), None)
                heads, data_starts, data_ends, ok = heads[:-1], data_starts[:-1], data_ends[:-1], ok[:-1]
                tail = n
            if len(ok) and not ok[-1] and (bad_at is not None or tail < n):
                suspect = int(data_starts[-1])  # (bytes deleted inside it moved the next header before its end)
            if not ok.all():
                for i in np.flatnonzero(~ok).tolist():
                    problem("unreadable", f"bad data CRC in record at byte {base + int(heads[i])}; record skipped",
                            int(heads[i]))
                    inner.extend(_records_within(data, arr, int(data_starts[i]), int(data_ends[i]) + FOOTER, verify))
                data_starts, data_ends = data_starts[ok], data_ends[ok]
        starts.append(data_starts)
        ends.append(data_ends)
        if jump is not None or (bad_at is None and not walked_all and tail < n):
            pos = tail if jump is None else jump  # (the next batch of a walk cut at RECORDS headers)
            continue
        if bad_at is None:
            nxt = _whole_record_after(data, arr, suspect, verify) if suspect is not None and tail < n else None
            if nxt is not None:  # the damaged record's length led here: whole records go on (its problem is said)
                pos = nxt
                continue
            if tail < n and not final:
                resume = (tail, HEADER, None)
            elif tail < n:
                problem("truncated", f"partial record header at byte {base + tail} ({n - tail} of {HEADER} bytes); "
                        "the file is probably still being written", tail)
            break
        # a bad length CRC: the framing is garbage from `tail` on; look for the next valid header
        nxt = _resync(arr, tail + 1 if suspect is None else suspect, bound=size)
        if nxt is not None and suspect is not None and nxt < tail:
            tail = suspect - HEADER  # the damaged record's own header: where the skipped bytes begin
        if nxt is None and not final:  # the next part goes on looking
            resume = (max(n - HEADER + 1, tail + 1), HEADER, base + tail)
            break
        if nxt is None:
            problem("unreadable", f"not a valid TFRecord at byte {base + tail} (bad length CRC); "
                    f"the remaining {n - tail} bytes were skipped", tail)
            break
        problem("unreadable", f"not a valid TFRecord at byte {base + tail} (bad length CRC); "
                f"skipped {nxt - tail} bytes to the next valid record", tail)
        pos = nxt
    if damage > _MAX_PROBLEMS:
        problems[-1] = Problem(problems[-1].kind, path, problems[-1].message +
                               f" (and {damage - _MAX_PROBLEMS} more damaged places in this file)",
                               problems[-1].offset)
    found_starts, found_ends = _concat(starts, np.int64), _concat(ends, np.int64)
    if inner:  # in file order with the others
        found_starts = np.concatenate([found_starts, np.asarray([a for a, _ in inner], np.int64)])
        found_ends = np.concatenate([found_ends, np.asarray([b for _, b in inner], np.int64)])
        order = np.argsort(found_starts, kind="stable")
        found_starts, found_ends = found_starts[order], found_ends[order]
    if resume is None:
        return Records(found_starts, found_ends, problems, *((None, 0, None) if final else (n, 0, None)))
    return Records(found_starts, found_ends, problems, *resume)


def _records_within(data: bytes | bytearray, arr: np.ndarray, start: int, stop: int,
                    verify: bool) -> list[tuple[int, int]]:
    """Data ranges of the whole records that lie in [start, stop), the extent of a record whose data CRC
    failed: bytes deleted inside it can leave the records after it within its claimed length."""
    out: list[tuple[int, int]] = []
    pos = start
    while pos < stop:
        found = _whole_record_after(data, arr, pos, verify)
        if found is None:
            break
        end = found + HEADER + _U64(data, found)[0]
        if end + FOOTER > stop:
            break
        out.append((found + HEADER, end))
        pos = end + FOOTER
    return out

