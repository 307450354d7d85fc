"""The fast path of the TensorBoard reader: plain scalar events decoded from the bytes with numpy.

`classify` decodes, vectorised over a window of records, every record of the common
single-value scalar layout (``simple_value``, or a float/double shape-[] tensor with or
without the ``scalars`` metadata); the records it does not recognise are left for the
protos (`tb_proto`), which give bit-identical results on the ones it does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import numpy as np

from curvelint.readers import tfrecord
from curvelint.readers.tb_points import Points

# Event = 09 wall(f64) [10 step(varint)] 2a L1 Summary;  Summary = 0a L2 Value;
# Value = 0a L3 tag, then one of the bodies below, then optionally the `scalars` metadata.
_META = bytes.fromhex("4a0b0a090a07") + b"scalars"
_SIMPLE, _F32_TENSOR, _F64_TENSOR = 5, 12, 16  # body lengths
_F32_HEADS = (bytes.fromhex("420a080112002204"), bytes.fromhex("420a08011200" + "2a04"))  # tensor_content, float_val
_F64_HEADS = (bytes.fromhex("420e080212002208"), bytes.fromhex("420e08021200" + "3208"))  # tensor_content, double_val


def _u64(word: bytes) -> np.uint64:
    return np.frombuffer(word, dtype="<u8")[0]


@dataclass
class _Fast:
    """Records the fast path decoded (indices into the file's records) and what is left."""

    index: np.ndarray
    tags: list[str | None]  # tag names, by local tag id (None: not UTF-8, no records)
    tag: np.ndarray  # local tag id per decoded record
    tensor: np.ndarray  # bool: a tensor scalar (needs the tag's plugin to be `scalars`)
    meta: np.ndarray  # bool: carries the `scalars` metadata
    step: np.ndarray
    value: np.ndarray
    wall: np.ndarray
    rest: list[int]


_BYTE_ONES = np.uint64(0x0101010101010101)


def _varint8(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Decode the varints at the start of the little-endian words `x`: (values, byte lengths as int32).

    Length 0 marks a varint longer than 8 bytes (steps >= 2**56 or negative): not decoded.
    """
    u64 = np.uint64
    stops = ~x & u64(0x8080808080808080)  # a clear high bit ends the varint
    keep = ((stops & (~stops + u64(1))) << u64(1)) - u64(1)  # the varint's bytes (all 8 if no stop)
    length = (((keep & _BYTE_ONES) * _BYTE_ONES) >> u64(56)).astype(np.int32)  # a byte count by multiplication
    length[stops == 0] = 0
    v = x & keep & u64(0x7F7F7F7F7F7F7F7F)
    most = int(length.max()) if len(length) else 0  # compact 7-bit groups only as far as needed
    if most > 1:
        v = (v & u64(0x007F007F007F007F)) | ((v & u64(0x7F007F007F007F00)) >> u64(1))
    if most > 2:
        v = (v & u64(0x00003FFF00003FFF)) | ((v & u64(0x3FFF00003FFF0000)) >> u64(2))
    if most > 4:
        v = (v & u64(0x000000000FFFFFFF)) | ((v & u64(0x0FFFFFFF00000000)) >> u64(4))
    return v, length


PAD = 512  # bytes appended so that every gather below stays inside the buffer
# The Summary field of a plain scalar Event: 2a L1 0a L2 0a L3 with L1 = t - 2 and L2 = t - 4, where t
# is the number of bytes from the 2a to the end of the record; byte 5 (L3) only needs a clear high bit.
_HEAD_MASK = np.uint64(0x0000_80FF_FFFF_FFFF)
_HEAD_BASE = 0x0A_00_0A_00_2A - (2 << 8) - (4 << 24)
_HEAD_T = np.uint64((1 << 8) + (1 << 24))
_MIN_T, _MAX_T = 11, 129  # an empty tag and a 5-byte body; L1 < 128


def classify(padded: bytes, starts: np.ndarray, ends: np.ndarray) -> _Fast:
    """Decode every record that matches the plain scalar layout; the others go to `rest`.

    `padded` ends with `PAD` zero bytes after the last record. Checks that no record
    of the common case needs (metadata, tensor bodies, a partial selection) are skipped.
    """
    arr = np.frombuffer(padded, dtype=np.uint8)
    words32, words64 = tfrecord.unaligned(padded, "<u4"), tfrecord.unaligned(padded, "<u8")
    u64 = np.uint64
    s, e = starts, ends
    p = s + 9
    has_step = arr[p] == 0x10
    step, vlen = _varint8(words64[p + 1])
    step[~has_step] = 0
    q = p + np.where(has_step, vlen + 1, 0).astype(s.dtype)  # the Summary field (byte 2a)
    t = e - q
    h = words64[q]
    ok = (h & _HEAD_MASK) == t.astype(u64) * _HEAD_T + u64(_HEAD_BASE)
    ok &= (t - _MIN_T).astype(np.uint32) <= _MAX_T - _MIN_T
    ok &= arr[s] == 0x09  # (a step varint over 8 bytes leaves q on a byte >= 0x80: not 2a, the protos decide)
    tag_start = q + 6
    r = tag_start + ((h >> u64(40)) & u64(0x7F)).astype(s.dtype)  # the tag's end: the Value's body
    body = e - r
    meta = np.zeros(len(s), dtype=bool)
    if len(body) and body.max() >= 13 + _SIMPLE:
        meta = (body >= 13 + _SIMPLE) & (words64[e - 13] == _u64(_META[:8])) & (words64[e - 8] == _u64(_META[5:]))
        body = body - 13 * meta
    head = words64[r]
    simple = (body == _SIMPLE) & ((head & u64(0xFF)) == u64(0x15))
    f32 = np.zeros(len(s), dtype=bool)
    all_simple = bool(simple.all())
    if not all_simple:
        f32 = (body == _F32_TENSOR) & ((head == _u64(_F32_HEADS[0])) | (head == _u64(_F32_HEADS[1])))
        f64 = (body == _F64_TENSOR) & ((head == _u64(_F64_HEADS[0])) | (head == _u64(_F64_HEADS[1])))
        ok &= simple | f32 | f64
    else:
        ok &= simple
    if ok.all():  # the common case: no selection
        index, rest = np.arange(len(s)), []
        wall = words64[s + 1].view(np.float64)
    else:
        index = np.flatnonzero(ok)
        rest = np.flatnonzero(~ok).tolist()
        simple, f32, meta, step, r, tag_start = simple[index], f32[index], meta[index], step[index], r[index], \
            tag_start[index]
        wall = words64[s[index] + 1].view(np.float64)
    if all_simple or simple.all():
        value = words32[r + 1].view(np.float32).astype(np.float64)
    else:
        value = words32[r + np.where(simple, 1, 8)].view(np.float32).astype(np.float64)
        f64 = ~(simple | f32)
        if f64.any():
            value[f64] = words64[r[f64] + 8].view(np.float64)
    names, tag = _group_tags(padded, words64, tag_start, r - tag_start)
    if None in names:  # a tag that is not UTF-8: the protos decide
        bad = np.asarray([name is None for name in names])[tag]
        rest = sorted(rest + index[bad].tolist())
        keep = ~bad
        index, tag, simple, meta, step, value, wall = (x[keep] for x in (index, tag, simple, meta, step, value, wall))
    return _Fast(index, names, tag, ~simple, meta, step.view(np.int64), value, wall, rest)


_MULT = np.array([0x9E3779B97F4A7C15 + 2 * k for k in range(64)], dtype=np.uint64)  # odd: key mixing
# _LOW_BYTES[c]: the lowest c bytes of a little-endian word (c = 8: all of it)
_LOW_BYTES = np.array([(1 << (8 * c)) - 1 for c in range(9)], dtype=np.uint64)


def _group_tags(data: bytes, words: np.ndarray, tag_start: np.ndarray, length: np.ndarray
                ) -> tuple[list[str | None], np.ndarray]:
    """Tag names (None: not UTF-8) and the local tag id of each byte range.

    Tags are read as 8-byte words (`words`: the unaligned uint64 view of the zero-padded
    file; the last word overlaps the previous one, tags under 8 bytes are masked). When
    the records cycle through a fixed sequence of tags (every tag at every step), each
    record's words equal those one period earlier, which is checked exactly; otherwise the
    words are mixed into one uint64 key, the grouping by key is verified word by word and
    redone with a dict of byte strings in the (never seen) case of a key collision.
    """
    if not len(tag_start):
        return [], np.zeros(0, np.int64)
    shortest, longest = int(length.min()), int(length.max())
    width = max(1, -(-longest // 8))  # words that cover the longest tag
    if width > len(_MULT):
        return _group_tags_slow(data, tag_start, tag_start + length)
    tail = np.maximum(length - 8, 0)  # where the last word starts
    cols = np.empty((len(tag_start), width), dtype=np.uint64)
    for j in range(width):  # word j at 8 j, or the last word when the tag ends before
        cols[:, j] = words[tag_start if j == 0 else tag_start + np.minimum(tail, 8 * j)]
    if shortest < 8:
        cols &= _LOW_BYTES[np.minimum(length, 8)][:, None]
    period = _period(cols, length)
    if period:  # tags logged in a fixed cycle: the tag of each record follows from its position
        ids: dict[bytes, int] = {}
        first = [ids.setdefault(data[a:a + n], len(ids)) for a, n in zip(tag_start[:period].tolist(),
                                                                         length[:period].tolist())]
        return _decoded(list(ids)), np.resize(np.asarray(first, dtype=np.int64), len(tag_start))
    key = cols @ _MULT[:width] + length.astype(np.uint64)  # wraps around (no overflow checks on arrays)
    uniq, local = _few_unique(key)
    first_at = np.zeros(len(uniq), dtype=np.int64)
    first_at[local] = np.arange(len(local))  # some occurrence of each key: its representative
    rep = first_at[local]
    if not ((cols[rep] == cols).all() and (length[rep] == length).all()):
        return _group_tags_slow(data, tag_start, tag_start + length)
    return _decoded([data[a:a + n] for a, n in zip(tag_start[first_at].tolist(), length[first_at].tolist())]), local


def _period(cols: np.ndarray, length: np.ndarray, most: int = 64) -> int:
    """The period k <= `most` with which the rows of (`cols`, `length`) repeat exactly, or 0."""
    m = len(length)
    if m < 2:
        return m
    same = (cols[1:most + 1] == cols[0]).all(axis=1) & (length[1:most + 1] == length[0])
    if not same.any():
        return 0
    k = int(same.argmax()) + 1
    return k if (cols[k:] == cols[:-k]).all() and (length[k:] == length[:-k]).all() else 0


def _decoded(raw: list[bytes]) -> list[str | None]:
    """UTF-8 names; None for bytes that are not UTF-8."""
    names: list[str | None] = []
    for tag in raw:
        try:
            names.append(tag.decode("utf-8"))
        except UnicodeDecodeError:
            names.append(None)
    return names


def _few_unique(key: np.ndarray, most: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """np.unique(key, return_inverse=True), faster when there are few distinct keys (tags).

    Distinct keys are taken from a contiguous sample of the keys not yet found (tags are
    interleaved, so one sample usually holds them all), then every key is looked up with
    one binary search; past `most` keys it falls back to np.unique.
    """
    uniq = np.zeros(0, dtype=np.uint64)
    todo = key
    while True:
        sample = np.sort(todo[:4096])
        new = sample[np.concatenate(([True], sample[1:] != sample[:-1]))]
        uniq = new if not len(uniq) else np.sort(np.concatenate([uniq, new]))
        if len(uniq) > most:
            uniq, inverse = np.unique(key, return_inverse=True)
            return uniq, inverse.reshape(-1)
        local = np.searchsorted(uniq, key)
        found = uniq[np.minimum(local, len(uniq) - 1)] == key
        if found.all():
            return uniq, local
        todo = key[~found]


def _group_tags_slow(data: bytes, tag_start: np.ndarray, tag_end: np.ndarray
                     ) -> tuple[list[str | None], np.ndarray]:
    ids: dict[bytes, int] = {}
    local = np.fromiter((ids.setdefault(data[a:b], len(ids)) for a, b in zip(tag_start.tolist(), tag_end.tolist())),
                        dtype=np.int64, count=len(tag_start))
    return _decoded(list(ids)), local


def first_meta(fast: _Fast, prefix: str) -> dict[str, int]:
    """Full name -> index of the first fast record carrying the `scalars` metadata."""
    if not fast.meta.any():
        return {}
    idx = fast.index[fast.meta]
    first = _first_of_each(fast.tag[fast.meta], len(fast.tags))
    return {prefix + cast(str, fast.tags[t]): int(idx[f]) for t, f in first.items()}  # (a None tag has no records)


def _first_of_each(ids: np.ndarray, count: int) -> dict[int, int]:
    """Id -> position of its first occurrence, for ids in range(count).

    As np.unique(ids, return_index=True), without sorting every id: growing prefixes are
    searched until each id present has been met (usually within the first few dozen).
    """
    present = np.zeros(count, dtype=bool)
    present[ids] = True
    need = int(present.sum())
    first: dict[int, int] = {}
    start, size = 0, 64
    while len(first) < need:
        uniq, at = np.unique(ids[start:start + size], return_index=True)
        for i, f in zip(uniq.tolist(), at.tolist()):
            first.setdefault(i, start + f)
        start, size = start + size, size * 4
    return first


def add_fast(fast: _Fast, prefix: str, points: Points, known: dict[str, str],
              first_meta: dict[str, tuple[int, str]]) -> None:
    """Add the fast records; a tensor scalar counts once its tag's plugin is `scalars`.

    `known` holds the plugins known before this file, `first_meta` the first metadata of
    this file per name (record index, plugin), both from fast and proto records.
    """
    index, tag, step, value, wall = fast.index, fast.tag, fast.step, fast.value, fast.wall
    if fast.tensor.any():
        threshold = np.full(len(fast.tags), np.iinfo(np.int64).max, dtype=np.int64)
        for t, tag_name in enumerate(fast.tags):
            name = prefix + (tag_name or "")
            if name in known:
                threshold[t] = -1 if known[name] == "scalars" else threshold[t]
            elif name in first_meta and first_meta[name][1] == "scalars":
                threshold[t] = first_meta[name][0]
        keep = ~fast.tensor | (index >= threshold[tag])
        if not keep.all():
            index, tag, step, value, wall = (x[keep] for x in (index, tag, step, value, wall))
    ids = [-1 if name is None else points.tag_index(name) for name in fast.tags]
    if ids != list(range(len(ids))):
        tag = np.array(ids, dtype=np.int64)[tag]
    points.add(index, tag, step, value, wall)


def plain_header(data: bytes | bytearray, start: int, end: int) -> bool:
    """Whether record [start, end) is an Event of wall_time, file_version and source_metadata only.

    Writers begin every file with one (``brain.Event:2``). The protos would find no summary
    in it: nothing to read, so it is skipped without them (and without importing them).
    Only the canonical layout with ASCII strings is recognised; anything else goes to the protos.
    """
    pos = start + 9 if end - start >= 9 and data[start] == 0x09 else start  # wall_time
    for field_tag in (0x1A, 0x52):  # file_version (string), source_metadata (message: writer = 1, string)
        if pos + 2 > end or data[pos] != field_tag:
            continue
        n = data[pos + 1]
        text = data[pos + 2:pos + 2 + n]
        if n >= 128 or pos + 2 + n > end:
            return False
        if field_tag == 0x52 and n:
            if n < 2 or text[0] != 0x0A or text[1] != n - 2:
                return False
            text = text[2:]
        if not text.isascii():
            return False
        pos += 2 + n
    return pos == end

