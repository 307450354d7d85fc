"""Event files read from a store without downloading their bulky records (`curvelint.remote`).

A TensorBoard event file is a sequence of TFRecords (``uint64 length | uint32 crc | Event | uint32
crc``). `EventSkim` streams one from a seekable file and yields the same bytes, except that a record
of at least `SKIP_MIN` bytes whose Event holds no scalar (a graph, run metadata, or a summary whose
every value is an image, an audio clip or a string tensor: TF2 images, audio and text) is not
downloaded: the stream seeks over its payload and yields a placeholder Event of the same length in
its place (the same wall time and step, a ``graph_def`` of zero bytes; its CRC recomputed), which the
reader skips as it skips the original. Offsets, record counts and everything read stay as in the
file; only a corruption inside a payload that was not downloaded goes unseen.

What decides is read from the record's first bytes (a few more for each value of a summary); any
other layout, a bad length CRC (from there on the bytes are passed through and the reader resyncs as
usual) or a record cut off by the end of the file is passed through unchanged.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Callable
from typing import Any

from curvelint.readers.tfrecord import FOOTER, HEADER, crc32c

SKIP_MIN = 64 << 10  # records smaller than this are passed through (deciding would cost more than reading)
FIRST = 64 << 10  # an event file's first read-ahead window, and after a skipped record
WINDOW = 1 << 20  # its largest window (a run of small records): what a skipped record may still cost
PEEK = 512  # bytes of a big record's payload read to decide (more for each further value of a summary)
_MASK_DELTA = 0xA282EAD8
_MAX_VALUES = 64  # summaries with more values are passed through
_DT_STRING = 7
_U64 = struct.Struct("<Q").unpack_from
_U32 = struct.Struct("<I").unpack_from


def masked_crc(data: bytes) -> int:
    crc = crc32c()(data)
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + _MASK_DELTA) & 0xFFFFFFFF


class _Truncated(Exception):
    """A field runs past the end of the bytes it was read from."""


def _varint(read: Callable[[int, int], bytes], pos: int) -> tuple[int, int]:
    """The varint at `pos` and the offset after it."""
    data = read(pos, 10)
    value = shift = 0
    for i, byte in enumerate(data):
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos + i + 1
        shift += 7
    raise _Truncated


def _skip_field(read: Callable[[int, int], bytes], key: int, pos: int) -> int:
    """The offset after the value of a field with `key` (wire types 0, 1, 2, 5) starting at `pos`."""
    wire = key & 7
    if wire == 0:
        return _varint(read, pos)[1]
    if wire == 1:
        return pos + 8
    if wire == 5:
        return pos + 4
    if wire == 2:
        length, pos = _varint(read, pos)
        return pos + length
    raise _Truncated


def _bulky_value(read: Callable[[int, int], bytes], pos: int, end: int) -> bool:
    """Whether the Summary.Value in [pos, end) is an image, audio, or a string tensor."""
    while pos < end:
        key, at = _varint(read, pos)
        field = key >> 3
        if field == 4 and key & 7 == 2 or field == 5 and key & 7 == 2:  # image, audio
            return True
        if field == 8 and key & 7 == 2:  # tensor: its dtype is its first field
            _, inner = _varint(read, at)
            first, after = _varint(read, inner)
            return first == 0x08 and _varint(read, after)[0] == _DT_STRING
        if field in (1, 7, 9):  # tag, node_name, metadata
            pos = _skip_field(read, key, at)
            continue
        return False  # simple_value, histo, anything else: read it
    return False


def bulky(read: Callable[[int, int], bytes], length: int) -> int | None:
    """Where the bulky part of an Event payload of `length` bytes starts (after its wall time and step),
    or None when it may hold a scalar. `read(offset, n)` gives payload bytes (fewer at its end)."""
    try:
        pos = 0
        while pos < length:
            key, at = _varint(read, pos)
            if key in (0x09, 0x10):  # wall_time (double), step (varint)
                pos = _skip_field(read, key, at)
                continue
            if key not in (0x22, 0x42, 0x4A, 0x2A):  # graph_def, tagged_run_metadata, meta_graph_def, summary
                return None
            size, inner = _varint(read, at)
            if inner + size != length:  # another field follows: keep the record as it is
                return None
            if key != 0x2A:
                return pos
            values, end = 0, inner + size
            while inner < end:
                vkey, vat = _varint(read, inner)
                vsize, vstart = _varint(read, vat)
                values += 1
                if vkey != 0x0A or values > _MAX_VALUES or not _bulky_value(read, vstart, vstart + vsize):
                    return None
                inner = vstart + vsize
            return pos if values else None
        return None
    except _Truncated:
        return None


def placeholder(prefix: bytes, length: int) -> bytes:
    """An Event payload of exactly `length` bytes: `prefix` (wall time, step) and an empty-ish graph_def."""
    rest = length - len(prefix)
    for pad in (b"", b"\x22\x00"):  # a second, empty graph_def where no varint size fits exactly
        room = rest - len(pad) - 1
        for width in range(1, 11):
            n = room - width
            if n >= 0 and len(_encode_varint(n)) == width:
                return prefix + pad + b"\x22" + _encode_varint(n) + bytes(n)
    raise ValueError(f"no placeholder of {length} bytes")


def _encode_varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


class EventSkim(io.RawIOBase):
    """The bytes of the event file `raw` (seekable, with a ``size``), bulky records replaced (module doc)."""

    def __init__(self, raw: Any) -> None:
        super().__init__()
        self.name = getattr(raw, "name", "")
        self.skipped = 0  # payload bytes not downloaded
        self._raw = raw
        self._size = raw.size
        self._buf = b""  # bytes of the file from offset _off, not yet processed
        self._off = 0
        self._out = bytearray()
        self._through = False  # after a bad length CRC: pass the rest through
        self._done = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while len(self._out) < len(buffer) and not self._done:
            self._step()
        n = min(len(buffer), len(self._out))
        buffer[:n] = self._out[:n]
        del self._out[:n]
        return n

    def close(self) -> None:
        self._raw.close()
        super().close()

    def _fill(self, n: int, exact: bool = False) -> None:
        """At least `n` unprocessed bytes in `_buf` (read-ahead windows of `raw`; just those with `exact`),
        unless the file ends first."""
        parts = [self._buf]
        have = len(self._buf)
        while have < n and self._off + have < self._size:
            data = self._raw.chunk(n - have, exact)
            if not data:
                break
            parts.append(data)
            have += len(data)
        self._buf = b"".join(parts)

    def _emit(self, n: int) -> None:
        self._out += memoryview(self._buf)[:n]
        self._buf, self._off = self._buf[n:], self._off + n

    def _step(self) -> None:
        """Process the next stretch: the small records in `_buf`, or one big record."""
        self._fill(HEADER)
        buf = self._buf
        if not buf:
            self._done = True
            return
        if self._through or len(buf) < HEADER:  # the rest passed through; a partial header at the end
            self._emit(len(buf))
            return
        pos = 0
        while pos + HEADER <= len(buf):
            length = _U64(buf, pos)[0]
            if length >= SKIP_MIN:
                break
            pos += HEADER + length + FOOTER
        if pos > len(buf):  # the rest of a small record
            self._fill(pos)
            pos = min(pos, len(self._buf))
        if pos:
            self._emit(pos)
        else:
            self._big(_U64(buf, 0)[0])

    def _big(self, length: int) -> None:
        """The record at `_off` (its header in `_buf`) has `length` >= `SKIP_MIN` bytes of payload."""
        self._fill(HEADER + PEEK, exact=True)
        head = self._buf
        if masked_crc(head[:8]) != _U32(head, 8)[0]:
            self._through = True
            return
        total = HEADER + length + FOOTER
        start = self._off + HEADER
        at = None if self._off + total > self._size else bulky(self._payload_reader(start, length), length)
        if at is None or HEADER + at > len(head):
            self._fill(total)
            self._emit(min(total, len(self._buf)))
            return
        payload = placeholder(bytes(head[HEADER:HEADER + at]), length)
        self._out += head[:HEADER] + payload + struct.pack("<I", masked_crc(payload))
        self.skipped += length - at
        self._off += total
        self._buf = b""
        self._raw.seek(self._off)

    def _payload_reader(self, start: int, length: int) -> Callable[[int, int], bytes]:
        """`read(offset, n)` of the payload at `start`: from `_buf` when it holds them, else by a ranged read
        of at least `PEEK` bytes (kept for the next calls) that leaves the stream where it was."""
        side: list[Any] = [0, b""]  # file offset and bytes of the last ranged read

        def read(offset: int, n: int) -> bytes:
            n = max(0, min(n, length - offset))
            at = start + offset
            for base, data in ((self._off, self._buf), side):
                if base <= at and at + n <= base + len(data):
                    return data[at - base:at - base + n]
            here = self._raw.tell()
            self._raw.seek(at)
            parts, got, want = [], 0, min(max(n, PEEK), length - offset)
            while got < want:
                part = self._raw.chunk(want - got, exact=True)
                if not part:
                    raise _Truncated
                parts.append(bytes(part))
                got += len(part)
            self._raw.seek(here)
            side[:] = [at, b"".join(parts)]
            return side[1][:n]
        return read
