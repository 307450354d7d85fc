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
bytes with numpy, for all records of a file at once; anything else goes through the
protos. Both paths give bit-identical results (tests check it on every fixture and
real-world file). `VERIFY_CRC` checks each record's data CRC (length CRCs are always
checked); it costs about 0.35 us per record and stays on by default.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from curvelint.discovery import RunSource
from curvelint.model import InputStats, Problem, Run, Series
from curvelint.readers import tfrecord

FORMAT = "tensorboard"
VERIFY_CRC = True  # check each record's data CRC32C (the CLI may turn it off for speed)
FAST_PATH = False  # decode plain scalar events from the bytes with numpy (same results as the protos)
# histogram tags that describe the model's inputs (full match; configuration may extend this)
INPUT_TAGS: list[str] = [r"inputs?", r"inputs?/.*", r"x"]

_DT_FLOAT, _DT_DOUBLE = 1, 2


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

    def per_tag(self) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """tag -> (steps, values, wall_times) in record order."""
        if not self.record:
            return {}
        rec = np.concatenate(self.record)
        tid = np.concatenate(self.tag_id)
        order = np.lexsort((rec, tid))
        tid = tid[order]
        step = np.concatenate(self.step).astype(np.int64)[order]
        value = np.concatenate(self.value).astype(np.float64)[order]
        wall = np.concatenate(self.wall).astype(np.float64)[order]
        cuts = np.flatnonzero(np.diff(tid)) + 1
        bounds = [0, *cuts.tolist(), len(tid)]
        return {self.tags[int(tid[a])]: (step[a:b], value[a:b], wall[a:b]) for a, b in zip(bounds, bounds[1:])}


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
    """The value of a shape-[] float/double tensor, else None."""
    if tensor.dtype not in (_DT_FLOAT, _DT_DOUBLE) or len(tensor.tensor_shape.dim):
        return None
    if tensor.tensor_content:
        fmt = "<f4" if tensor.dtype == _DT_FLOAT else "<f8"
        arr = np.frombuffer(tensor.tensor_content, dtype=fmt)
        return float(arr[0]) if len(arr) == 1 else None
    vals = tensor.float_val if tensor.dtype == _DT_FLOAT else tensor.double_val
    return float(vals[0]) if len(vals) == 1 else None


def _decode_protos(data: bytes, starts: list[int], ends: list[int], records: list[int], prefix: str,
                   path: str, points: _Points, state: _RunState) -> int | None:
    """Decode the given records with the Event proto (the reference path).

    Returns the offset of the first record that is not an Event despite a good CRC, if any.
    """
    from tensorboard.compat.proto import event_pb2

    parse = event_pb2.Event.FromString
    view = memoryview(data)
    out = _Scalar()
    bad: int | None = None
    for i in records:
        try:
            ev = parse(view[starts[i]:ends[i]])
        except Exception:  # a record with a good CRC but a bad proto: skip it, report once
            bad = starts[i] - tfrecord.HEADER if bad is None else bad
            continue
        if not ev.HasField("summary"):
            continue
        for v in ev.summary.value:
            tag = v.tag
            name = prefix + tag
            if name not in state.plugins and v.HasField("metadata"):
                state.plugins[name] = v.metadata.plugin_data.plugin_name
            kind = v.WhichOneof("value")
            if kind == "simple_value":
                value: float | None = v.simple_value
            elif kind == "tensor":
                plugin = state.plugins.get(name, "")
                if plugin == "scalars":
                    value = _tensor_scalar(v.tensor)
                else:
                    if plugin == "histograms" and state.input_re.fullmatch(tag):
                        _tensor_histogram(v.tensor, name, path, state)
                    elif plugin == "hparams":
                        _hparams(v.metadata.plugin_data.content, state)
                    continue
            elif kind == "histo":
                if state.input_re.fullmatch(tag):
                    _histo(v.histo, name, path, state)
                continue
            else:
                if v.HasField("metadata") and v.metadata.plugin_data.plugin_name == "hparams":
                    _hparams(v.metadata.plugin_data.content, state)
                continue
            if value is None:
                continue
            out.record.append(i)
            out.tag_id.append(points.tag_index(tag))
            out.step.append(ev.step)
            out.value.append(value)
            out.wall.append(ev.wall_time)
    out.flush(points)
    return bad


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
        for key, value in data.session_start_info.hparams.items():
            state.hparams[key] = _plain(value)


def _decode_fast(data: bytes, starts: np.ndarray, ends: np.ndarray, prefix: str, points: _Points,
                 plugins: dict[str, str]) -> list[int]:
    """Decode what the fast path can; return the record indices left for the protos."""
    return list(range(len(starts)))


# ------------------------------------------------------------------------------------------------
# file and run assembly
# ------------------------------------------------------------------------------------------------
@dataclass
class _FileData:
    path: str
    prefix: str
    series: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]  # full name -> (steps, values, walls)


def read_file(path: str, prefix: str, state: _RunState, problems: list[Problem],
              fast: bool | None = None, verify: bool | None = None) -> _FileData:
    """Read one event file's scalars (histograms and hparams go to `state`)."""
    fast = FAST_PATH if fast is None else fast
    verify = VERIFY_CRC if verify is None else verify
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        problems.append(Problem("unreadable", path, f"cannot read: {exc.strerror or exc}"))
        return _FileData(path, prefix, {})
    recs = tfrecord.scan(data, path, verify)
    problems.extend(recs.problems)
    points = _Points()
    starts, ends = recs.starts.tolist(), recs.ends.tolist()
    rest: list[int]
    if fast and len(recs):
        rest = _decode_fast(data, recs.starts, recs.ends, prefix, points, state.plugins)
    else:
        rest = list(range(len(recs)))
    bad = _decode_protos(data, starts, ends, rest, prefix, path, points, state)
    if bad is not None:
        problems.append(Problem("unreadable", path, f"record at byte {bad} has a good CRC but is not an "
                                "Event proto; skipped", bad))
    return _FileData(path, prefix, {prefix + tag: arrays for tag, arrays in points.per_tag().items()})


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
    for name, parts in chunks.items():
        steps = np.concatenate([a[0] for _, a in parts])
        values = np.concatenate([a[1] for _, a in parts])
        walls = np.concatenate([a[2] for _, a in parts])
        keep = _keep_last_per_step(steps)
        if not keep.all():
            origin = np.concatenate([np.full(len(a[0]), j) for j, a in parts])
            back = np.flatnonzero(steps[1:] < steps[:-1]) + 1
            if len(back):
                key = (int(origin[back[0]]), f"step {int(steps[back[0]])}")
            else:
                key = (int(origin[np.flatnonzero(~keep)[0]]), "repeat")
            purged.setdefault(key, []).append(f"{name} ({int((~keep).sum())})")
            steps, values, walls = steps[keep], values[keep], walls[keep]
        run.series[name] = Series(name, steps, values, walls)
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
    _merge(files, run)
    run.inputs = list(state.inputs.values())
    run.hparams = state.hparams
    return [run]
