"""The reference path of the TensorBoard reader: records decoded with the ``Event`` proto.

Scalars (``simple_value`` and TF2 shape-[] float/double tensors of the ``scalars``
plugin) go to a `Points`; input histograms (``histo`` and ``histograms``-plugin tensors
whose tag matches the run's input pattern) and the hparams plugin's
``session_start_info`` go to the `RunState`. The protos are imported on first use.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from curvelint import limits
from curvelint.model import InputStats
from curvelint.readers import tfrecord
from curvelint.readers.tb_points import Bad, Points, RunState

_DT_FLOAT, _DT_DOUBLE = 1, 2


@dataclass
class _Scalar:
    """Scalars decoded one at a time by the proto path."""

    record: list[int] = field(default_factory=list)
    tag_id: list[int] = field(default_factory=list)
    step: list[int] = field(default_factory=list)
    value: list[float] = field(default_factory=list)
    wall: list[float] = field(default_factory=list)

    def flush(self, points: Points) -> None:
        points.add(np.asarray(self.record, np.int64), np.asarray(self.tag_id, np.int64),
                   np.asarray(self.step, np.int64), np.asarray(self.value, np.float64),
                   np.asarray(self.wall, np.float64))



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


def decode_protos(data: bytes | bytearray, starts: np.ndarray, ends: np.ndarray, records: list[int], prefix: str,
                   path: str, points: Points, state: RunState, pending: dict[str, int] | None = None,
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


def _decode_value(v: Any, ev: Any, i: int, prefix: str, path: str, points: Points, state: RunState,
                  pending: dict[str, int], met: dict[str, tuple[int, str]], out: _Scalar) -> None:
    """One summary value `v` of Event `ev` (record `i`) into `out` or `state` (see `decode_protos`)."""
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


def _histo(h: Any, name: str, path: str, state: RunState) -> None:
    state.inputs[name] = _input_stats(name, path, h.num, h.min, h.max, h.sum, h.sum_squares, "histogram")


def _tensor_histogram(tensor: Any, name: str, path: str, state: RunState) -> None:
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


def _hparams(content: bytes, state: RunState) -> None:
    try:
        from tensorboard.plugins.hparams import plugin_data_pb2

        data = plugin_data_pb2.HParamsPluginData.FromString(content)
    except Exception:
        return
    if data.HasField("session_start_info"):
        hparams = data.session_start_info.hparams
        for key in sorted(hparams):  # map order is arbitrary
            state.hparams[key] = _plain(hparams[key])
