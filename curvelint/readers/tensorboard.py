"""TensorBoard event files -> one `Run`: scalars, input histograms and hparams.

The reader walks the TFRecord framing itself (`curvelint.readers.tfrecord`) and decodes
``Event`` protos with the protos the ``tensorboard`` package ships; it never uses
EventAccumulator (which samples) or EventFileLoader (which is slow). Every point is kept.

What is read:

* scalars: ``simple_value`` and TF2 tensor scalars (a DT_FLOAT/DT_DOUBLE shape-[]
  tensor whose tag's first value names the ``scalars`` plugin);
* histograms (``histo`` and TF2 ``histograms``-plugin tensors) whose tag matches
  `INPUT_TAGS` become `InputStats` (the last histogram per tag);
* hparams: the hparams plugin's ``session_start_info``.

Several files of one folder are merged per series, in file-name (= creation time)
order, like TensorBoard's "purge orphaned data" on restart: a point is dropped when a
later point of the same series has a step <= its own (so a restarted ``fit()`` replaces
the points it logs again, and a repeated step keeps its last value). A later file that
only adds ONE point to series an earlier file already holds as a curve (Lightning's
``trainer.validate()``/``test()`` after ``fit()``) is not appended to that curve. Every
such decision is written to ``run.notes``.

Speed: `FAST_PATH` decodes the common single-value scalar events straight from the
bytes with numpy, vectorised over windows of records (`tfrecord.RECORDS` records, at
most `tfrecord.BYTES` bytes: temporaries stay a few MB whatever the file size, and a
file's series are joined once at the end); anything else goes through the protos. Both paths give bit-identical results (tests check it on every fixture and
real-world file). `VERIFY_CRC` checks every record's data CRC32C (length CRCs are always
checked). It stays on by default: checked with one ``crc32c`` call per window of records
(see `tfrecord.data_crcs_ok`) it costs ~0.03-0.06 us per record, against ~0.3 us for one
``crc32c`` call per record. A file's first record (the ``file_version`` event) is
recognised from its bytes: plain scalar files need neither the protos nor their import.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from curvelint import limits
from curvelint.discovery import RunSource
from curvelint.fileio import read_limited
from curvelint.model import InputStats, Problem, Run, Series
from curvelint.readers import tfrecord

FORMAT = "tensorboard"
VERIFY_CRC = True  # check each record's data CRC32C (the CLI may turn it off for speed)
FAST_PATH = True  # decode plain scalar events from the bytes with numpy (same results as the protos)
# histogram tags that describe the model's inputs (full match; configuration may extend this)
INPUT_TAGS: list[str] = [r"inputs?", r"inputs?/.*", r"x"]

_DT_FLOAT, _DT_DOUBLE = 1, 2
Bad = tuple[int, str]  # a skipped record: its byte offset, and what is wrong with it


# ------------------------------------------------------------------------------------------------
# per-file accumulation
# ------------------------------------------------------------------------------------------------
@dataclass
class _Points:
    """Scalar points of one file, as parallel arrays (record index orders them)."""

    tags: list[str] = field(default_factory=list)
    record: list[np.ndarray] = field(default_factory=list)
    tag_id: list[np.ndarray] = field(default_factory=list)
    step: list[np.ndarray] = field(default_factory=list)
    value: list[np.ndarray] = field(default_factory=list)
    wall: list[np.ndarray] = field(default_factory=list)
    _ids: dict[str, int] = field(default_factory=dict)

    def tag_index(self, tag: str) -> int:
        i = self._ids.get(tag)
        if i is None:
            i = self._ids[tag] = len(self.tags)
            self.tags.append(tag)
        return i

    def add(self, record: np.ndarray, tag_id: np.ndarray, step: np.ndarray, value: np.ndarray,
            wall: np.ndarray) -> None:
        if len(record):
            self.record.append(record)
            self.tag_id.append(tag_id)
            self.step.append(step)
            self.value.append(value)
            self.wall.append(wall)

    def per_tag(self) -> tuple[dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]], bool]:
        """tag -> (steps, values, wall_times) in record order; and whether every tag's steps strictly increase."""
        if not self.record:
            return {}, True
        one = len(self.record) == 1
        join = (lambda parts: parts[0]) if one else np.concatenate
        rec, tid = join(self.record), join(self.tag_id)
        by_record = None if one else np.argsort(rec, kind="stable")
        ids = tid if by_record is None else tid[by_record]
        order = np.argsort(ids.astype(np.uint16) if len(self.tags) < 1 << 16 else ids, kind="stable")  # radix
        if by_record is not None:
            order = by_record[order]
        tid = tid[order]
        step = join(self.step).astype(np.int64, copy=False)[order]
        value = join(self.value).astype(np.float64, copy=False)[order]
        wall = join(self.wall).astype(np.float64, copy=False)[order]
        cuts = np.flatnonzero(tid[1:] != tid[:-1]) + 1
        rising = step[1:] > step[:-1]
        rising[cuts - 1] = True  # a new tag
        starts = np.concatenate(([0], cuts))
        bounds = [*starts.tolist(), len(tid)]
        groups = sorted(zip(rec[order[starts]].tolist(), bounds, bounds[1:], tid[starts].tolist()))  # by first record
        return {self.tags[t]: (step[a:b], value[a:b], wall[a:b]) for _, a, b, t in groups}, bool(rising.all())


@dataclass
class _Scalar:
    """Scalars decoded one at a time by the proto path."""

    record: list[int] = field(default_factory=list)
    tag_id: list[int] = field(default_factory=list)
    step: list[int] = field(default_factory=list)
    value: list[float] = field(default_factory=list)
    wall: list[float] = field(default_factory=list)

    def flush(self, points: _Points) -> None:
        points.add(np.asarray(self.record, np.int64), np.asarray(self.tag_id, np.int64),
                   np.asarray(self.step, np.int64), np.asarray(self.value, np.float64),
                   np.asarray(self.wall, np.float64))


@dataclass
class _RunState:
    """What outlives one file: plugin names per tag, input histograms, hparams."""

    plugins: dict[str, str] = field(default_factory=dict)  # full series name -> plugin of first value
    inputs: dict[str, InputStats] = field(default_factory=dict)
    hparams: dict[str, Any] = field(default_factory=dict)
    input_re: re.Pattern = field(default_factory=lambda: re.compile("|".join(f"(?:{p})" for p in INPUT_TAGS)))


# ------------------------------------------------------------------------------------------------
# proto path
# ------------------------------------------------------------------------------------------------
def _tensor_scalar(tensor: Any) -> float | None:
    """The value of a shape-[] float/double tensor, else None; ValueError for content of a wrong size."""
    if tensor.dtype not in (_DT_FLOAT, _DT_DOUBLE) or len(tensor.tensor_shape.dim):
        return None
    if tensor.tensor_content:
        fmt = "<f4" if tensor.dtype == _DT_FLOAT else "<f8"
        if len(tensor.tensor_content) % int(fmt[-1]):
            size = len(tensor.tensor_content)
            raise ValueError(f"a {'float32' if fmt == '<f4' else 'float64'} tensor of {size} byte{'s' * (size != 1)}")
        arr = np.frombuffer(tensor.tensor_content, dtype=fmt)
        return float(arr[0]) if len(arr) == 1 else None
    vals = tensor.float_val if tensor.dtype == _DT_FLOAT else tensor.double_val
    return float(vals[0]) if len(vals) == 1 else None


def _decode_protos(data: bytes, starts: np.ndarray, ends: np.ndarray, records: list[int], prefix: str,
                   path: str, points: _Points, state: _RunState, pending: dict[str, int] | None = None,
                   met: dict[str, tuple[int, str]] | None = None) -> Bad | None:
    """Decode the given records with the Event proto (the reference path).

    `pending` names the series whose `scalars` metadata the fast path saw first (at that
    record index); `met` receives where this call first saw each series' metadata.
    Returns the first record (offset, what is wrong) that is not an Event despite a good CRC
    or holds a malformed scalar; such a record is skipped, the others are kept.
    """
    pending = pending or {}
    met = {} if met is None else met
    from tensorboard.compat.proto import event_pb2

    parse = event_pb2.Event.FromString
    view = memoryview(data)
    out = _Scalar()
    bad: Bad | None = None
    for i, start, end in zip(records, starts[records].tolist(), ends[records].tolist()):
        try:
            ev = parse(view[start:end])
        except Exception:  # a record with a good CRC but a bad proto: skip it, report once
            bad = bad or (start - tfrecord.HEADER, "has a good CRC but is not an Event proto")
            continue
        if not ev.HasField("summary"):
            continue
        for v in ev.summary.value:
            try:
                _decode_value(v, ev, i, prefix, path, points, state, pending, met, out)
            except ValueError as exc:  # one malformed value: skipped, the record's other values are kept
                bad = bad or (start - tfrecord.HEADER, f"holds a malformed scalar {v.tag!r} ({exc})")
    out.flush(points)
    return bad


def _decode_value(v: Any, ev: Any, i: int, prefix: str, path: str, points: _Points, state: _RunState,
                  pending: dict[str, int], met: dict[str, tuple[int, str]], out: _Scalar) -> None:
    """One summary value `v` of Event `ev` (record `i`) into `out` or `state` (see `_decode_protos`)."""
    tag = v.tag
    name = prefix + tag
    if name not in state.plugins:
        if pending.get(name, i) < i:
            state.plugins[name] = "scalars"
        elif v.HasField("metadata"):
            state.plugins[name] = v.metadata.plugin_data.plugin_name
            met[name] = (i, state.plugins[name])
    kind = v.WhichOneof("value")
    if kind == "simple_value":
        value: float | None = v.simple_value
    elif kind == "tensor":
        plugin = state.plugins.get(name, "")
        if plugin != "scalars":
            if plugin == "histograms" and state.input_re.fullmatch(tag):
                _tensor_histogram(v.tensor, name, path, state)
            elif plugin == "hparams":
                _hparams(v.metadata.plugin_data.content, state)
            return
        value = _tensor_scalar(v.tensor)
    elif kind == "histo":
        if state.input_re.fullmatch(tag):
            _histo(v.histo, name, path, state)
        return
    else:
        if v.HasField("metadata") and v.metadata.plugin_data.plugin_name == "hparams":
            _hparams(v.metadata.plugin_data.content, state)
        return
    if value is None:
        return
    out.record.append(i)
    out.tag_id.append(points.tag_index(tag))
    out.step.append(ev.step)
    out.value.append(value)
    out.wall.append(ev.wall_time)


def _input_stats(name: str, path: str, num: float, lo: float, hi: float, total: float, squares: float,
                 how: str) -> InputStats:
    mean = total / num if num else float("nan")
    var = squares / num - mean * mean if num else float("nan")
    std = float(np.sqrt(max(var, 0.0))) if num else float("nan")
    return InputStats(name=name, source=f"{how} '{name}' in {os.path.basename(path)}", count=float(num),
                      min=float(lo), max=float(hi), mean=float(mean), std=std)


def _histo(h: Any, name: str, path: str, state: _RunState) -> None:
    state.inputs[name] = _input_stats(name, path, h.num, h.min, h.max, h.sum, h.sum_squares, "histogram")


def _tensor_histogram(tensor: Any, name: str, path: str, state: _RunState) -> None:
    """TF2 histograms-plugin tensor: k x 3 buckets (left, right, count); statistics from bucket centres."""
    size = 1
    for d in tensor.tensor_shape.dim:  # a shape of 10**9 x 3 with one value would be repeated into all of it
        size *= max(d.size, 0)
    if size > limits.current().series_points:
        return
    try:
        from tensorboard.util import tensor_util

        buckets = np.asarray(tensor_util.make_ndarray(tensor), dtype=np.float64)
    except Exception:
        return
    if buckets.ndim != 2 or buckets.shape[1] != 3 or not len(buckets):
        return
    counts = buckets[:, 2]
    used = np.flatnonzero(counts > 0)
    if not len(used):
        return
    centres = (buckets[:, 0] + buckets[:, 1]) / 2
    num = counts.sum()
    state.inputs[name] = _input_stats(name, path, num, buckets[used[0], 0], buckets[used[-1], 1],
                                      float((centres * counts).sum()), float((centres ** 2 * counts).sum()),
                                      "bucketed histogram (approximate)")


def _plain(value: Any) -> Any:
    kind = value.WhichOneof("kind")
    if kind == "number_value":
        x = value.number_value
        return int(x) if float(x).is_integer() and abs(x) < 2 ** 53 else x
    if kind == "string_value":
        return value.string_value
    if kind == "bool_value":
        return value.bool_value
    if kind in ("list_value", "struct_value"):
        from google.protobuf.json_format import MessageToDict

        return MessageToDict(value)
    return None


def _hparams(content: bytes, state: _RunState) -> None:
    try:
        from tensorboard.plugins.hparams import plugin_data_pb2

        data = plugin_data_pb2.HParamsPluginData.FromString(content)
    except Exception:
        return
    if data.HasField("session_start_info"):
        hparams = data.session_start_info.hparams
        for key in sorted(hparams):  # map order is arbitrary
            state.hparams[key] = _plain(hparams[key])


# ------------------------------------------------------------------------------------------------
# fast path: plain single-value scalar events decoded from the bytes, all records at once
# ------------------------------------------------------------------------------------------------
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


_PAD = 512  # bytes appended so that every gather below stays inside the buffer
# The Summary field of a plain scalar Event: 2a L1 0a L2 0a L3 with L1 = t - 2 and L2 = t - 4, where t
# is the number of bytes from the 2a to the end of the record; byte 5 (L3) only needs a clear high bit.
_HEAD_MASK = np.uint64(0x0000_80FF_FFFF_FFFF)
_HEAD_BASE = 0x0A_00_0A_00_2A - (2 << 8) - (4 << 24)
_HEAD_T = np.uint64((1 << 8) + (1 << 24))
_MIN_T, _MAX_T = 11, 129  # an empty tag and a 5-byte body; L1 < 128


def _classify(padded: bytes, starts: np.ndarray, ends: np.ndarray) -> _Fast:
    """Decode every record that matches the plain scalar layout; the others go to `rest`.

    `padded` ends with `_PAD` zero bytes after the last record. Checks that no record
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


def _first_meta(fast: _Fast, prefix: str) -> dict[str, int]:
    """Full name -> index of the first fast record carrying the `scalars` metadata."""
    if not fast.meta.any():
        return {}
    idx = fast.index[fast.meta]
    return {prefix + fast.tags[t]: int(idx[f]) for t, f in _first_of_each(fast.tag[fast.meta], len(fast.tags)).items()}


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


def _add_fast(fast: _Fast, prefix: str, points: _Points, known: dict[str, str],
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


# ------------------------------------------------------------------------------------------------
# file and run assembly
# ------------------------------------------------------------------------------------------------
@dataclass
class _FileData:
    path: str
    prefix: str
    series: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]  # full name -> (steps, values, walls)
    increasing: bool = False  # every series' steps strictly increase (nothing to purge within the file)


@dataclass
class _Pieces:
    """Per-series arrays of consecutive record windows, joined once the file is done."""

    parts: dict[str, list[tuple[np.ndarray, np.ndarray, np.ndarray]]] = field(default_factory=dict)

    def add(self, prefix: str, series: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]) -> None:
        for tag, arrays in series.items():  # first appearance in the window: file order kept
            self.parts.setdefault(prefix + tag, []).append(arrays)

    def join(self) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
        out = {}
        for name in list(self.parts):
            parts = self.parts.pop(name)  # freed as it goes: no second copy of every series
            out[name] = parts[0] if len(parts) == 1 else tuple(np.concatenate(c) for c in zip(*parts))
        return out


def _plain_header(data: bytes, start: int, end: int) -> bool:
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


def _read_window(data: bytes, recs: tfrecord.Records, a: int, b: int, prefix: str, path: str,
                 state: _RunState, fast: bool) -> tuple[_Points, Bad | None]:
    """Decode records [a, b) of a file: their scalar points, and the first bad record if any.

    The fast path works on a zero-padded copy of the window's bytes (a few MB), so its
    temporaries stay small whatever the file size; plugin knowledge carries over from
    the earlier windows through `state`, so the result is that of one pass over the file.
    """
    points = _Points()
    starts, ends = recs.starts, recs.ends
    if not fast:
        return points, _decode_protos(data, starts, ends, list(range(a, b)), prefix, path, points, state)
    while a < b and _plain_header(data, int(starts[a]), int(ends[a])):  # a file's first record, usually
        a += 1
    if a == b:
        return points, None
    lo, hi = int(starts[a]), int(ends[b - 1])
    window = b"".join((memoryview(data)[lo:hi], bytes(_PAD)))  # one copy (a slice + concatenation made two)
    narrow = np.int32 if hi - lo < (1 << 31) - _PAD else np.int64  # int32: less memory traffic, same results
    quick = _classify(window, (starts[a:b] - lo).astype(narrow), (ends[a:b] - lo).astype(narrow))
    quick.index += a
    known = dict(state.plugins)
    pending = {k: v for k, v in _first_meta(quick, prefix).items() if k not in known}
    met: dict[str, tuple[int, str]] = {}
    rest = [i for i in (i + a for i in quick.rest) if not _plain_header(data, int(starts[i]), int(ends[i]))]
    bad = _decode_protos(data, starts, ends, rest, prefix, path, points, state, pending, met) if rest else None
    for name, i in pending.items():
        if name not in met or met[name][0] > i:
            met[name] = (i, "scalars")
        state.plugins.setdefault(name, "scalars")
    _add_fast(quick, prefix, points, known, met)
    return points, bad


def read_file(path: str, prefix: str, state: _RunState, problems: list[Problem],
              fast: bool | None = None, verify: bool | None = None) -> _FileData:
    """Read one event file's scalars (histograms and hparams go to `state`); at most its first `file-bytes`
    bytes ([tool.curvelint.limits])."""
    try:
        data = [read_limited(path, limits.current().file_bytes)]
    except OSError as exc:
        problems.append(Problem("unreadable", path, f"cannot read: {exc.strerror or exc}"))
        return _FileData(path, prefix, {})
    data, cut = data.pop()
    return read_data(data, path, prefix, state, problems, fast, verify, cut)  # its only reference: freed there


def read_data(data: bytes, path: str, prefix: str, state: _RunState, problems: list[Problem],
              fast: bool | None = None, verify: bool | None = None, cut: bool = False) -> _FileData:
    """The scalars of event-file bytes: a whole file, or (`curvelint.follow`) the bytes appended to one
    since its last whole record. A partial final record is a "truncated" problem at its offset; with `cut`
    (the file goes on past the `file-bytes` limit) it is the limit's, and that problem says so. At most
    `records` records are read."""
    fast = FAST_PATH if fast is None else fast
    verify = VERIFY_CRC if verify is None else verify
    recs = tfrecord.scan(data, path, verify)
    lim = limits.current()
    if cut:
        end = int(recs.ends[-1]) if len(recs) else 0
        recs.problems = [p for p in recs.problems if p.kind != "truncated" or (p.offset or 0) < end]
        recs.problems.append(limits.reached(path, "file-bytes", "the file", f"the records in its first "
                                            f"{limits.shown('file-bytes', lim.file_bytes)} were read", len(data)))
    if len(recs) > lim.records:
        at = int(recs.starts[lim.records]) - tfrecord.HEADER
        recs = tfrecord.Records(recs.starts[:lim.records], recs.ends[:lim.records], recs.problems + [
            limits.reached(path, "records", "the file", f"its first {lim.records:,} records were read", at)])
    problems.extend(recs.problems)
    pieces = _Pieces()
    bad: Bad | None = None
    windows = tfrecord.windows(recs.starts, recs.ends)
    increasing = len(windows) <= 1  # (across windows: checked per series when merging)
    for a, b in windows:
        points, bad_here = _read_window(data, recs, a, b, prefix, path, state, fast)
        bad = bad or bad_here
        series, rising = points.per_tag()
        increasing &= rising
        pieces.add(prefix, series)
    del data, recs  # before the series are joined
    if bad is not None:
        problems.append(Problem("unreadable", path, f"record at byte {bad[0]} {bad[1]}; skipped", bad[0]))
    return _FileData(path, prefix, pieces.join(), increasing)


def _keep_last_per_step(steps: np.ndarray) -> np.ndarray:
    """Mask of points no later point overrides (a later step <= this step purges it)."""
    if len(steps) < 2:
        return np.ones(len(steps), dtype=bool)
    later_min = np.minimum.accumulate(steps[::-1])[::-1]
    keep = np.ones(len(steps), dtype=bool)
    keep[:-1] = steps[:-1] < later_min[1:]
    return keep


def _merge(files: list[_FileData], run: Run) -> None:
    """Series of all files, merged per name; decisions go to run.notes."""
    chunks: dict[str, list[tuple[int, tuple[np.ndarray, np.ndarray, np.ndarray]]]] = {}
    for k, f in enumerate(files):
        for name, arrays in f.series.items():
            chunks.setdefault(name, []).append((k, arrays))
    # a later file with one point per series, all already curves of earlier files: a validate/test call
    for k, f in enumerate(files):
        shared = [n for n in f.series if chunks[n][0][0] < k and sum(len(a[0]) for j, a in chunks[n] if j < k) >= 2]
        if shared and all(len(a[0]) == 1 for a in f.series.values()):
            for name in shared:
                chunks[name] = [(j, a) for j, a in chunks[name] if j != k]
            run.notes.append(f"{os.path.basename(f.path)} adds a single point to {_names(shared)} after "
                             "earlier files logged their curves (a separate validate/test call); "
                             "not appended to those curves")
    purged: dict[tuple[int, str], list[str]] = {}  # (file, kind) -> series names
    cut: list[str] = []  # series over the series-points limit
    most = limits.current().series_points
    for name, parts in chunks.items():
        steps, values, walls = parts[0][1] if len(parts) == 1 else \
            (np.concatenate([a[i] for _, a in parts]) for i in range(3))
        keep = None if len(parts) == 1 and files[parts[0][0]].increasing else _keep_last_per_step(steps)
        if keep is not None and not keep.all():
            origin = np.concatenate([np.full(len(a[0]), j) for j, a in parts])
            back = np.flatnonzero(steps[1:] < steps[:-1]) + 1
            if len(back):
                key = (int(origin[back[0]]), f"step {int(steps[back[0]])}")
            else:
                key = (int(origin[np.flatnonzero(~keep)[0]]), "repeat")
            purged.setdefault(key, []).append(f"{name} ({int((~keep).sum())})")
            steps, values, walls = steps[keep], values[keep], walls[keep]
        if len(steps) > most:
            cut.append(name)
            order = np.argsort(steps, kind="stable")[:most] if np.any(steps[1:] < steps[:-1]) else slice(0, most)
            steps, values, walls = steps[order], values[order], walls[order]
        run.series[name] = Series(name, steps, values, walls)
    if cut:
        run.problems.append(limits.reached(run.path, "series-points", f"series {_names(cut)}",
                                           "the points at the lowest steps were read"))
    for (k, what), names in sorted(purged.items()):
        base = os.path.basename(files[k].path)
        if what == "repeat":
            run.notes.append(f"repeated steps in {base}: kept the last value per step, dropped the earlier "
                             f"points of {_names(names)}")
        else:
            run.notes.append(f"steps restart at {what} in {base}: earlier points at steps >= the restart were "
                             f"dropped (TensorBoard's purge on restart) from {_names(names)}")


def _names(names: list[str], limit: int = 6) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def read(source: RunSource, fast: bool | None = None, verify: bool | None = None) -> list[Run]:
    """Read the event files of one run (never raises for bad input)."""
    run = Run(name=source.name, path=source.path, format=FORMAT, sources=list(source.files))
    prefixes = list(source.prefixes) or [""] * len(source.files)
    state = _RunState()
    files = [read_file(path, prefix, state, run.problems, fast, verify)
             for path, prefix in zip(source.files, prefixes)]
    return [assemble(run, files, state)]


def assemble(run: Run, files: list[_FileData], state: _RunState) -> Run:
    """`run` with the series of its files merged (`_merge`), and the inputs and hparams of `state`."""
    _merge(files, run)
    run.inputs = list(state.inputs.values())
    run.hparams = state.hparams
    return run
