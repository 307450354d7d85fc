"""The TensorBoard reader: framing, CRCs, scalar encodings, merging, histograms, hparams.

Event files are written in tmp_path with TensorBoard's own writer (EventFileWriter and
the plugin summary helpers), and with torch's SummaryWriter when torch is installed.
Every case also checks that the numpy fast path equals the plain proto path bit for bit.
"""

from __future__ import annotations

import itertools
import math
import os
from pathlib import Path

import numpy as np
import pytest
from tensorboard.compat.proto import event_pb2, graph_pb2, summary_pb2
from tensorboard.plugins.histogram.summary_v2 import histogram_pb
from tensorboard.plugins.hparams.summary_v2 import hparams_pb
from tensorboard.plugins.scalar import metadata as scalar_metadata
from tensorboard.plugins.scalar.summary_v2 import scalar_pb
from tensorboard.plugins.text.summary_v2 import text_pb
from tensorboard.summary.writer.event_file_writer import EventFileWriter
from tensorboard.util import tensor_util

from curvelint.discovery import RunSource, discover
from curvelint.model import Run
from curvelint.readers import tb_fast
from curvelint.readers import tensorboard as tb

REALWORLD = Path(__file__).resolve().parents[1].parent / "shared" / "realworld"
_names = itertools.count()


# ------------------------------------------------------------------------------------------------
# writing fixtures
# ------------------------------------------------------------------------------------------------
def simple(tag: str, value: float) -> summary_pb2.Summary:
    return summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag=tag, simple_value=value)])


def tensor_scalar(tag: str, value: float, dtype=np.float32, metadata: bool = True) -> summary_pb2.Summary:
    """A TF2-style scalar tensor (tensor_content bytes), like the Keras callback writes."""
    proto = tensor_util.make_tensor_proto(np.asarray(value, dtype=dtype))
    if not proto.tensor_content:
        proto.tensor_content = np.asarray(value, dtype=dtype).tobytes()
        del proto.float_val[:]
        del proto.double_val[:]
    v = summary_pb2.Summary.Value(tag=tag, tensor=proto)
    if metadata:
        v.metadata.CopyFrom(scalar_metadata.create_summary_metadata(display_name=tag, description=""))
    return summary_pb2.Summary(value=[v])


def write(folder: Path, events: list[tuple[int, summary_pb2.Summary | event_pb2.Event]], name: str | None = None,
          wall0: float = 1.7e9) -> Path:
    """Write one event file with TensorBoard's EventFileWriter; `name` fixes the file name order."""
    folder.mkdir(parents=True, exist_ok=True)
    writer = EventFileWriter(str(folder), max_queue_size=1000)
    for k, (step, what) in enumerate(events):
        if isinstance(what, event_pb2.Event):
            ev = what
        else:
            ev = event_pb2.Event(wall_time=wall0 + k * 0.25, step=step, summary=what)
        writer.add_event(ev)
    writer.close()
    path = Path(writer.get_logdir()) / os.path.basename(writer._file_name)  # noqa: SLF001 (the writer's file)
    target = folder / (name or f"events.out.tfevents.{1700000000 + next(_names)}.host.1.0")
    path.rename(target)
    return target


def read_dir(folder: Path, fast: bool | None = None) -> Run:
    sources, errors = discover([str(folder)])
    assert not errors
    [source] = [s for s in sources if s.format == "tensorboard" and s.path == str(folder)] or \
        [s for s in sources if s.format == "tensorboard"]
    [run] = tb.read(source, fast=fast)
    return run


def source_of(*files: Path, prefixes: tuple[str, ...] = ()) -> RunSource:
    return RunSource(str(files[0].parent), "tensorboard", tuple(str(f) for f in files),
                     prefixes or ("",) * len(files))


def assert_same(a: Run, b: Run) -> None:
    """Bit-identical series, and the same problems, notes, inputs and hparams."""
    assert list(a.series) == list(b.series)
    for name in a.series:
        sa, sb = a.series[name], b.series[name]
        assert sa.steps.tobytes() == sb.steps.tobytes(), name
        assert sa.values.tobytes() == sb.values.tobytes(), name
        assert sa.wall_times.tobytes() == sb.wall_times.tobytes(), name
    assert a.problems == b.problems
    assert a.notes == b.notes
    assert [vars(i) for i in a.inputs] == [vars(i) for i in b.inputs] or _nan_equal(a.inputs, b.inputs)
    assert a.hparams == b.hparams


def _nan_equal(x: list, y: list) -> bool:
    return [repr(vars(i)) for i in x] == [repr(vars(i)) for i in y]


def read_both(source: RunSource) -> Run:
    fast = tb.read(source, fast=True)[0]
    assert_same(fast, tb.read(source, fast=False)[0])
    return fast


# ------------------------------------------------------------------------------------------------
# scalars
# ------------------------------------------------------------------------------------------------
def test_simple_value_scalars(tmp_path: Path) -> None:
    f = write(tmp_path / "run", [(s, simple(tag, 1.0 / (s + 1) + (tag == "acc"))) for s in range(50)
                                 for tag in ("loss", "acc")])
    run = read_both(source_of(f))
    assert run.format == "tensorboard" and run.path == str(f.parent) and run.name == run.path
    assert list(run.series) == ["loss", "acc"]
    loss = run.series["loss"]
    assert loss.steps.tolist() == list(range(50))
    assert loss.values.tolist() == [float(np.float32(1.0 / (s + 1))) for s in range(50)]
    assert loss.wall_times[0] == 1.7e9 and loss.wall_times[1] == 1.7e9 + 0.5
    assert run.problems == [] and run.notes == []


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_tf2_tensor_scalars(tmp_path: Path, dtype) -> None:
    events = [(s, tensor_scalar("epoch_loss", 2.0 ** -s, dtype)) for s in range(20)]
    f = write(tmp_path / "run", events)
    run = read_both(source_of(f))
    assert run.series["epoch_loss"].values.tolist() == [2.0 ** -s for s in range(20)]


def test_scalar_pb_float_val_encoding(tmp_path: Path) -> None:
    f = write(tmp_path / "run", [(s, scalar_pb("lr", 0.1 * 0.5 ** s)) for s in range(10)])
    run = read_both(source_of(f))
    assert run.series["lr"].values.tolist() == [float(np.float32(0.1 * 0.5 ** s)) for s in range(10)]


def test_plugin_named_only_in_first_value(tmp_path: Path) -> None:
    """The `scalars` plugin is named in a tag's first value only; plugin-less tensors are not scalars."""
    events = [(s, tensor_scalar("loss", float(s), metadata=(s == 0))) for s in range(5)]
    events += [(s, tensor_scalar("mystery", float(s), metadata=False)) for s in range(5)]
    run = read_both(source_of(write(tmp_path / "run", events)))
    assert run.series["loss"].values.tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert "mystery" not in run.series


def test_odd_events_agree_between_paths(tmp_path: Path) -> None:
    """Long tags, huge/negative/zero steps, NaN/inf, zero wall time, several values per event."""
    long_tag = "a/" + "very_long_metric_name_" * 8
    events: list = [(s, simple(long_tag, s * 0.5)) for s in range(5)]
    events += [(2 ** 40 + s, simple("big_step", s)) for s in range(3)]
    events += [(-5, simple("neg_step", 1.0)), (0, simple("zero_step", 3.0))]
    events += [(7, simple("weird", v)) for v in (math.nan, math.inf, -math.inf, -0.0)]
    events += [(1, event_pb2.Event(wall_time=0.0, step=3, summary=simple("no_wall", 2.0)))]
    both = summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag="m1", simple_value=1.0),
                                      summary_pb2.Summary.Value(tag="m2", simple_value=2.0)])
    events += [(9, both)]
    events += [(10, tensor_scalar("ünï/cödé", 1.25))]
    run = read_both(source_of(write(tmp_path / "run", events)))
    assert run.series[long_tag].values.tolist() == [0.0, 0.5, 1.0, 1.5, 2.0]
    assert run.series["big_step"].steps.tolist() == [2 ** 40, 2 ** 40 + 1, 2 ** 40 + 2]
    assert run.series["neg_step"].steps.tolist() == [-5]
    assert run.series["no_wall"].wall_times.tolist() == [0.0]
    assert run.series["m2"].values.tolist() == [2.0]
    assert run.series["ünï/cödé"].values.tolist() == [1.25]
    weird = run.series["weird"].values  # same step: the last value wins
    assert weird.tolist() == [-0.0]


def test_other_plugins_images_and_graphs_are_skipped(tmp_path: Path) -> None:
    image = summary_pb2.Summary(value=[summary_pb2.Summary.Value(
        tag="samples", image=summary_pb2.Summary.Image(height=2, width=2, colorspace=1, encoded_image_string=b"\x89PNG"))])
    graph = event_pb2.Event(wall_time=1.7e9, graph_def=graph_pb2.GraphDef().SerializeToString())
    events = [(0, graph), (0, image), (0, text_pb("notes", "hello")), (0, simple("loss", 1.0)),
              (1, simple("loss", 0.5))]
    run = read_both(source_of(write(tmp_path / "run", events)))
    assert list(run.series) == ["loss"] and run.problems == []


# ------------------------------------------------------------------------------------------------
# layout and merging
# ------------------------------------------------------------------------------------------------
def test_keras_train_validation_layout(tmp_path: Path) -> None:
    root = tmp_path / "logs" / "fit"
    write(root / "train", [(e, tensor_scalar("epoch_loss", 1.0 / (e + 1))) for e in range(5)])
    write(root / "validation", [(e, tensor_scalar("epoch_loss", 1.5 / (e + 1))) for e in range(5)])
    run = read_dir(tmp_path / "logs")
    assert run.path == str(root)
    assert sorted(run.series) == ["train/epoch_loss", "validation/epoch_loss"]
    assert run.series["validation/epoch_loss"].values[0] == 1.5
    assert_same(run, read_dir(tmp_path / "logs", fast=False))


def test_restarted_fit_replaces_the_points_it_logs_again(tmp_path: Path) -> None:
    """Two Keras fit() calls in one folder, both from step 0: the second one wins (purge on restart)."""
    folder = tmp_path / "run"
    write(folder, [(e, tensor_scalar("epoch_loss", 10.0 + e)) for e in range(5)], "events.out.tfevents.1.h.1.0.v2")
    second = write(folder, [(e, tensor_scalar("epoch_loss", 20.0 + e)) for e in range(8)],
                   "events.out.tfevents.2.h.1.0.v2")
    run = read_dir(folder)
    loss = run.series["epoch_loss"]
    assert loss.steps.tolist() == list(range(8))
    assert loss.values.tolist() == [20.0 + e for e in range(8)]
    assert len(run.notes) == 1 and second.name in run.notes[0] and "epoch_loss (5)" in run.notes[0]
    assert_same(run, read_dir(folder, fast=False))


def test_resume_from_checkpoint_keeps_the_earlier_points(tmp_path: Path) -> None:
    folder = tmp_path / "run"
    write(folder, [(s, simple("loss", float(s))) for s in range(10)], "events.out.tfevents.1.h.1.0")
    write(folder, [(s, simple("loss", 100.0 + s)) for s in range(6, 15)], "events.out.tfevents.2.h.1.0")
    run = read_dir(folder)
    loss = run.series["loss"]
    assert loss.steps.tolist() == list(range(15))
    assert loss.values.tolist() == [float(s) for s in range(6)] + [100.0 + s for s in range(6, 15)]
    assert "step 6" in run.notes[0]


def test_repeated_steps_keep_the_last_value(tmp_path: Path) -> None:
    events = [(s // 2, simple("epoch", float(s))) for s in range(6)]
    run = read_both(source_of(write(tmp_path / "run", events)))
    assert run.series["epoch"].steps.tolist() == [0, 1, 2]
    assert run.series["epoch"].values.tolist() == [1.0, 3.0, 5.0]
    assert "repeated steps" in run.notes[0]


def test_a_repeated_step_with_the_same_value_loses_nothing_and_is_not_noted(tmp_path: Path) -> None:
    """Lightning logs `epoch` at every logging call: train and validation at one step, same value."""
    events = [(s // 2, simple("epoch", float(s // 2))) for s in range(6)] + [(3, simple("loss", 1.0))]
    run = read_both(source_of(write(tmp_path / "run", events)))
    assert run.series["epoch"].steps.tolist() == [0, 1, 2] and run.series["epoch"].values.tolist() == [0.0, 1.0, 2.0]
    assert run.notes == []


def test_lightning_validate_after_fit_is_not_appended(tmp_path: Path) -> None:
    """fit, then trainer.validate() and trainer.test() in one version dir (SOURCES row 4)."""
    folder = tmp_path / "version_0"
    write(folder, [(s, simple(t, 1.0 / s)) for s in range(1, 6) for t in ("train_loss", "val_loss")],
          "events.out.tfevents.1.h.1.3")
    write(folder, [(6, simple("val_loss", 0.01))], "events.out.tfevents.2.h.1.4")
    write(folder, [(6, simple("test_loss", 0.02))], "events.out.tfevents.3.h.1.5")
    run = read_dir(folder)
    assert run.series["val_loss"].steps.tolist() == [1, 2, 3, 4, 5]
    assert run.series["test_loss"].values.tolist() == [pytest.approx(0.02)]
    assert len(run.notes) == 1 and "val_loss" in run.notes[0] and ".4" in run.notes[0]


# ------------------------------------------------------------------------------------------------
# damage
# ------------------------------------------------------------------------------------------------
def _scalars_file(tmp_path: Path, n: int = 20) -> Path:
    return write(tmp_path / "run", [(s, simple("loss", float(s))) for s in range(n)])


def test_truncated_final_record_keeps_the_data(tmp_path: Path) -> None:
    f = _scalars_file(tmp_path)
    data = f.read_bytes()
    f.write_bytes(data[:-7])
    run = read_both(source_of(f))
    assert run.series["loss"].steps.tolist() == list(range(19))
    [p] = run.problems
    assert p.kind == "truncated" and p.path == str(f) and p.offset is not None and 0 < p.offset < len(data)


def test_partial_header_is_truncated(tmp_path: Path) -> None:
    f = _scalars_file(tmp_path)
    f.write_bytes(f.read_bytes() + b"\x10\x00\x00")
    run = read_both(source_of(f))
    assert len(run.series["loss"]) == 20 and [p.kind for p in run.problems] == ["truncated"]


def test_flipped_data_byte_is_unreadable_with_offset(tmp_path: Path) -> None:
    f = _scalars_file(tmp_path)
    data = bytearray(f.read_bytes())
    record = _record_offsets(bytes(data))[5]
    data[record + 14] ^= 0xFF  # inside the data of the 6th record
    f.write_bytes(bytes(data))
    run = read_both(source_of(f))
    [p] = run.problems
    assert p.kind == "unreadable" and p.offset == record and f"at byte {record}" in p.message
    assert len(run.series["loss"]) == 19  # the damaged record only; framing stays trustworthy


def test_flipped_length_crc_resyncs(tmp_path: Path) -> None:
    f = _scalars_file(tmp_path)
    data = bytearray(f.read_bytes())
    record = _record_offsets(bytes(data))[5]
    data[record + 9] ^= 0x01  # in the length CRC
    f.write_bytes(bytes(data))
    run = read_both(source_of(f))
    [p] = run.problems
    assert p.kind == "unreadable" and p.offset == record
    assert len(run.series["loss"]) == 19


def test_garbage_file_is_unreadable(tmp_path: Path) -> None:
    f = tmp_path / "run" / "events.out.tfevents.1.h.1.0"
    f.parent.mkdir()
    f.write_bytes(np.random.default_rng(1).integers(0, 256, 5000, dtype=np.uint8).tobytes())
    run = read_both(source_of(f))
    assert run.series == {} and [p.kind for p in run.problems] == ["unreadable"]
    assert run.problems[0].offset == 0


def test_header_only_and_empty_files_are_fine(tmp_path: Path) -> None:
    from tensorboard.summary.writer.record_writer import RecordWriter

    header = tmp_path / "run" / "events.out.tfevents.1.h.1.0.v2"  # what TF writes: the file_version event only
    header.parent.mkdir()
    with header.open("wb") as fh:
        RecordWriter(fh).write(event_pb2.Event(wall_time=1.7e9, file_version="brain.Event:2").SerializeToString())
    assert header.stat().st_size == 40
    tb_header = write(tmp_path / "run", [])  # tensorboard's writer adds its source metadata
    empty = tmp_path / "run" / "events.out.tfevents.9.h.1.0"
    empty.write_bytes(b"")
    run = read_both(source_of(header, tb_header, empty))
    assert run.series == {} and run.problems == [] and run.notes == []


def test_crc_checking_can_be_turned_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    f = _scalars_file(tmp_path)
    data = bytearray(f.read_bytes())
    data[-1] ^= 0xFF  # the last record's data CRC
    f.write_bytes(bytes(data))
    assert [p.kind for p in tb.read(source_of(f))[0].problems] == ["unreadable"]
    monkeypatch.setattr(tb, "VERIFY_CRC", False)
    run = tb.read(source_of(f))[0]
    assert run.problems == [] and len(run.series["loss"]) == 20


def _large_file(tmp_path: Path, n: int = 3000) -> Path:
    """> 64 KiB: framing, length and data CRCs take the vectorised (linearity) paths."""
    events = [(s, simple(tag, s * 0.001)) for s in range(n) for tag in ("loss", "lr")]
    f = write(tmp_path / "big", events)
    assert f.stat().st_size > 1 << 16
    return f


@pytest.mark.parametrize("where", ["data", "data-crc", "length-crc", "length"])
def test_damage_in_large_files(tmp_path: Path, where: str) -> None:
    f = _large_file(tmp_path)
    data = bytearray(f.read_bytes())
    offsets = _record_offsets(bytes(data))
    record = offsets[1234]
    byte = {"data": record + 20, "data-crc": offsets[1235] - 2, "length-crc": record + 10, "length": record}[where]
    data[byte] ^= 0x01
    f.write_bytes(bytes(data))
    run = read_both(source_of(f))
    [p] = run.problems
    assert p.kind == "unreadable" and p.offset == record and f"at byte {record}" in p.message
    assert run.points == 2 * 3000 - 1  # only the damaged record is lost


@pytest.mark.parametrize("cut", [7, 30, 50])  # in the last record's data, its header, the one before
def test_truncated_large_file(tmp_path: Path, cut: int) -> None:
    f = _large_file(tmp_path)
    data = f.read_bytes()
    f.write_bytes(data[:-cut])
    run = read_both(source_of(f))
    assert [p.kind for p in run.problems] == ["truncated"]
    assert run.points == 2 * 3000 - 1 - (cut > 37)


def _mixed_events() -> list:
    """Scalars of every encoding, a plugin named in a tag's first value only, histograms, hparams, text."""
    rng = np.random.default_rng(5)
    events: list = [(0, hparams_pb({"lr": 0.01}))]
    for s in range(300):
        events += [(s, simple("loss", 1.0 / (s + 1))), (s, tensor_scalar("epoch_acc", s / 300, metadata=(s == 0)))]
        events += [(s, tensor_scalar("mystery", float(s), metadata=False)), (s, scalar_pb("lr", 0.1 * 0.99 ** s))]
        if s % 50 == 0:
            events += [(s, _histo("inputs", rng.normal(0, 1, 100))), (s, text_pb("note", f"step {s}"))]
    return events


@pytest.mark.parametrize("records,size", [(1, 1 << 22), (7, 1 << 22), (64, 300), (1 << 16, 64)])
def test_record_windows_give_the_whole_file_result(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   records: int, size: int) -> None:
    """Records are decoded in windows (bounded memory); any window size gives the one-pass result."""
    from curvelint.readers import tfrecord

    f = write(tmp_path / "run", _mixed_events())
    data = bytearray(f.read_bytes())
    data[_record_offsets(bytes(data))[400] + 20] ^= 0x01  # one damaged record
    f.write_bytes(bytes(data[:-5]))  # and a partial final record
    whole = read_both(source_of(f))
    assert len(whole.series["epoch_acc"]) == 300 and "mystery" not in whole.series
    assert sorted(p.kind for p in whole.problems) == ["truncated", "unreadable"] and whole.inputs and whole.hparams
    monkeypatch.setattr(tfrecord, "RECORDS", records)
    monkeypatch.setattr(tfrecord, "BYTES", size)
    monkeypatch.setattr(tfrecord, "_CHUNK", 5)
    assert_same(read_both(source_of(f)), whole)


def test_crc_chain_equals_per_record_crc(tmp_path: Path) -> None:
    from curvelint.readers import tfrecord

    f = _large_file(tmp_path)
    clean = f.read_bytes()
    recs = tfrecord.scan(clean, str(f))
    rng = np.random.default_rng(3)
    lengths = recs.ends - recs.starts
    same = np.flatnonzero(lengths == np.bincount(lengths).argmax())
    cases = [[int(i)] for i in rng.choice(len(recs), 5)] + [list(map(int, rng.choice(same, k, replace=False)))
                                                          for k in (2, 2, 2, 3, 3, 8)]
    for damaged in cases:
        data = bytearray(clean)
        for i in damaged:  # identical damage at the same offset of same-length records
            data[int(recs.starts[i]) + 3] ^= 0x40
        arr = np.frombuffer(bytes(data), np.uint8)
        ok = tfrecord.data_crcs_ok(bytes(data), arr, recs.starts, recs.ends)
        assert sorted(np.flatnonzero(~ok).tolist()) == sorted(damaged)


def test_crc_chain_constants_and_records_with_gaps(tmp_path: Path) -> None:
    import crc32c

    from curvelint.readers import tfrecord

    rng = np.random.default_rng(7)
    for n in (0, 1, 5, 37, 1000):
        d = rng.integers(0, 256, n, dtype=np.uint8).tobytes()
        assert crc32c.crc32c(d + crc32c.crc32c(d).to_bytes(4, "little")) == tfrecord.RESIDUE
    assert crc32c.crc32c(tfrecord.BRIDGE, tfrecord.RESIDUE) == 0
    f = _large_file(tmp_path)
    data = bytearray(f.read_bytes())
    recs = tfrecord.scan(bytes(data), str(f))
    data[int(recs.starts[101]) + 3] ^= 0x01
    arr = np.frombuffer(bytes(data), np.uint8)
    ok = tfrecord.data_crcs_ok(bytes(data), arr, recs.starts[::2], recs.ends[::2])  # gaps: one by one
    assert np.flatnonzero(~ok).tolist() == [] and tfrecord.data_crcs_ok(bytes(data), arr, recs.starts[1::2],
                                                                       recs.ends[1::2]).sum() == len(recs) // 2 - 1


def _raw_file(path: Path, records: list[bytes]) -> Path:
    """An event file of the given serialized records, framed by TensorBoard's RecordWriter."""
    from tensorboard.summary.writer.record_writer import RecordWriter

    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fh:
        writer = RecordWriter(fh)
        for record in records:
            writer.write(record)
    return path


def _source_metadata_header() -> bytes:
    ev = event_pb2.Event(wall_time=1.7e9, file_version="brain.Event:2")
    ev.source_metadata.writer = "tensorboard.summary.writer.event_file_writer"
    return ev.SerializeToString()


@pytest.mark.parametrize("header,bad", [
    (event_pb2.Event(wall_time=1.7e9, file_version="brain.Event:2").SerializeToString(), False),
    (_source_metadata_header(), False),
    (event_pb2.Event(file_version="brain.Event:2").SerializeToString(), False),  # no wall time
    (event_pb2.Event(wall_time=1.7e9).SerializeToString(), False),
    (b"", False),  # an empty Event
    (event_pb2.Event(wall_time=1.7e9, step=3, file_version="brain.Event:2").SerializeToString(), False),  # protos
    (event_pb2.Event(wall_time=1.7e9, file_version="brain.Évent:2").SerializeToString(), False),  # not ASCII
    (bytes.fromhex("09" + "00" * 8 + "1a02fffe"), True),  # file_version not UTF-8
    (bytes.fromhex("09" + "00" * 8 + "1a05" + "41" * 4), True),  # string past the end
    (bytes.fromhex("09" + "00" * 8 + "5204" + "0a03" + "41" * 2), True),  # writer past source_metadata's end
    (bytes.fromhex("09" + "00" * 8 + "5201" + "0a"), True),  # source_metadata of one byte
])
def test_file_version_events_agree_between_paths(tmp_path: Path, header: bytes, bad: bool) -> None:
    """Writers begin files with a file_version event; the fast path skips it without the protos."""
    scalars = [event_pb2.Event(wall_time=1.7e9 + s, step=s, summary=simple("loss", s)).SerializeToString()
               for s in range(100)]
    run = read_both(source_of(_raw_file(tmp_path / "run" / "events.out.tfevents.1.h", [header, *scalars])))
    assert len(run.series["loss"]) == 100
    assert [p.kind for p in run.problems] == (["unreadable"] if bad else [])


def test_plain_scalars_need_neither_protos_nor_numpy_ma(tmp_path: Path) -> None:
    import subprocess
    import sys

    f = _large_file(tmp_path)
    # numpy < 2 imports numpy.ma itself: only what the read adds to `import numpy` counts
    code = ("import sys, numpy; before = set(sys.modules); from curvelint.discovery import discover; "
            "from curvelint.readers import read; [read(s) for s in discover([sys.argv[1]])[0]]; "
            "print(sorted(m for m in set(sys.modules) - before "
            "if m.startswith(('google.protobuf', 'tensorboard', 'numpy.ma.'))))")
    out = subprocess.run([sys.executable, "-c", code, str(f.parent)], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("layout", ["cycle", "cycle-broken", "repeats-in-cycle", "irregular", "collision"])
def test_tag_grouping_agrees_with_the_protos(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, layout: str) -> None:
    """Tags in a fixed cycle (exact check by position), otherwise hashed; short, long and multi-word tags."""
    tags = ["a", "loss", "lr00", "val/accuracy_top5", "x" * 40, "ab"]
    rng = np.random.default_rng(11)
    order = {"cycle": tags * 60, "cycle-broken": tags * 60 + tags[:2] + tags[3:],
             "repeats-in-cycle": (tags[:3] + tags[:2] + tags[3:]) * 50,
             "irregular": list(rng.choice(tags, 400)), "collision": list(rng.choice(tags, 400))}[layout]
    if layout == "collision":  # every key collides with the other tags of its length: the dict path
        monkeypatch.setattr(tb_fast, "_MULT", np.zeros_like(tb_fast._MULT))
    events = [(k, simple(tag, k * 0.5)) for k, tag in enumerate(order)]
    run = read_both(source_of(write(tmp_path / "run", events)))
    assert sorted(run.series) == sorted(set(order))
    for tag in set(order):
        assert run.series[tag].values.tolist() == [k * 0.5 for k, t in enumerate(order) if t == tag]


def test_tag_not_utf8_is_not_an_event(tmp_path: Path) -> None:
    good = [event_pb2.Event(wall_time=1.7e9, step=s, summary=simple("loss", s)).SerializeToString()
            for s in range(100)]
    bad = event_pb2.Event(wall_time=1.7e9, step=7, summary=simple("QQ", 1.0)).SerializeToString()
    bad = bad.replace(b"QQ", b"\xff\xfe")
    run = read_both(source_of(_raw_file(tmp_path / "run" / "events.out.tfevents.1.h", [*good[:50], bad, *good[50:]])))
    assert len(run.series["loss"]) == 100 and [p.kind for p in run.problems] == ["unreadable"]


def _record_offsets(data: bytes) -> list[int]:
    out, pos = [], 0
    while pos + 12 <= len(data):
        out.append(pos)
        pos += int.from_bytes(data[pos:pos + 8], "little") + 16
    return out


# ------------------------------------------------------------------------------------------------
# histograms and hparams
# ------------------------------------------------------------------------------------------------
def _histo(tag: str, values: np.ndarray) -> summary_pb2.Summary:
    h = summary_pb2.HistogramProto(min=float(values.min()), max=float(values.max()), num=float(len(values)),
                                   sum=float(values.sum()), sum_squares=float((values ** 2).sum()),
                                   bucket_limit=[0.0, 1e12], bucket=[1.0, float(len(values) - 1)])
    return summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag=tag, histo=h)])


def test_input_histograms_become_input_stats(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    first, last = rng.normal(5, 2, 1000), rng.normal(100, 30, 1000)
    events = [(0, _histo("inputs", first)), (1, _histo("inputs", last)), (1, _histo("layer1/weights", first)),
              (0, simple("loss", 1.0))]
    run = read_both(source_of(write(tmp_path / "run", events)))
    [stats] = run.inputs
    assert stats.name == "inputs" and stats.count == 1000
    assert stats.min == last.min() and stats.max == last.max()
    assert stats.mean == pytest.approx(last.mean()) and stats.std == pytest.approx(last.std(), rel=1e-6)


def test_tf2_histogram_tensor_becomes_input_stats(tmp_path: Path) -> None:
    data = np.random.default_rng(0).uniform(0, 255, 5000)
    events = [(0, histogram_pb("input/images", data, buckets=64)), (0, histogram_pb("dense/kernel", data))]
    run = read_both(source_of(write(tmp_path / "run", events)))
    [stats] = run.inputs
    assert stats.name == "input/images" and stats.count == 5000
    assert stats.min == pytest.approx(data.min()) and stats.max == pytest.approx(data.max())
    assert stats.mean == pytest.approx(data.mean(), rel=0.02)
    assert "approximate" in stats.source


def test_input_tag_matcher_is_a_module_constant(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    events = [(0, _histo("features", np.arange(10.0)))]
    src = source_of(write(tmp_path / "run", events))
    assert tb.read(src)[0].inputs == []
    monkeypatch.setattr(tb, "INPUT_TAGS", [*tb.INPUT_TAGS, "features"])
    assert [i.name for i in tb.read(src)[0].inputs] == ["features"]


def test_hparams_session_start_info(tmp_path: Path) -> None:
    events = [(0, hparams_pb({"lr": 0.001, "optimizer": "adam", "layers": 4, "dropout_on": True})),
              (0, simple("loss", 1.0))]
    run = read_both(source_of(write(tmp_path / "run", events)))
    assert run.hparams == {"dropout_on": True, "layers": 4, "lr": 0.001, "optimizer": "adam"}


def test_torch_summary_writer(tmp_path: Path) -> None:
    torch_tb = pytest.importorskip("torch.utils.tensorboard")
    writer = torch_tb.SummaryWriter(str(tmp_path / "run"))
    for s in range(30):
        writer.add_scalar("Loss/train", 1.0 / (s + 1), s)
        writer.add_scalar("Loss/val", 2.0 / (s + 1), s, new_style=True)
    writer.add_histogram("inputs", np.arange(100.0), 0)
    writer.add_hparams({"lr": 0.1}, {"hparam/score": 1.0})
    writer.close()
    run = read_dir(tmp_path / "run")
    assert len(run.series["Loss/train"]) == 30 and len(run.series["Loss/val"]) == 30
    assert run.inputs and run.inputs[0].max == 99.0
    assert_same(run, read_dir(tmp_path / "run", fast=False))


# ------------------------------------------------------------------------------------------------
# real-world files (../shared/realworld, skipped when absent)
# ------------------------------------------------------------------------------------------------
def _realworld_sources() -> list[RunSource]:
    if not REALWORLD.is_dir():
        pytest.skip("../shared/realworld is not present")
    sources, _ = discover([str(REALWORLD)])
    return [s for s in sources if s.format == "tensorboard"]


def _rw_run(slug: str) -> Run:
    [source] = [s for s in _realworld_sources() if Path(s.path).relative_to(REALWORLD).parts[0] == slug
                or Path(s.path).relative_to(REALWORLD).as_posix().startswith(slug)]
    return read_both(source)


def test_realworld_fast_path_equals_proto_path() -> None:
    sources = _realworld_sources()
    assert len(sources) >= 10
    for source in sources:
        read_both(source)
        for path, prefix in zip(source.files, source.prefixes):  # file by file too
            read_both(RunSource(source.path, "tensorboard", (path,), (prefix,)))


def test_realworld_lightning_lstm_row1() -> None:
    run = _rw_run("abdul-aa_text-gen-lstm")
    assert len(run.series["train_loss"]) == 7691 and len(run.series["val_loss"]) == 29
    assert run.series["train_loss"].steps[0] == 49 and run.series["train_loss"].steps[-1] == 384549
    assert run.series["train_loss"].values.min() == pytest.approx(0.211, abs=5e-4)
    assert run.series["val_loss"].values.min() == pytest.approx(0.253, abs=5e-4)
    assert run.hparams["hidden_units"] == 512 and run.problems == []


def test_realworld_fit_validate_test_row4() -> None:
    run = _rw_run("hcdescamps_cv-image-cls")
    assert len(run.series["val_loss"]) == 5 and run.series["val_loss"].steps[-1] == 8594
    assert run.series["val_loss"].values[-1] == pytest.approx(0.0569, abs=1e-4)
    assert run.series["test_loss"].values.tolist() == [pytest.approx(0.040, abs=1e-3)]
    assert any("validate/test" in n for n in run.notes)


def test_realworld_keras_tf2_row6() -> None:
    sources = [s for s in _realworld_sources() if "10tanmay100" in s.path]
    full = read_both(next(s for s in sources if "2022-09-25" in s.path))
    assert full.series["train/epoch_loss"].values.tolist() == [pytest.approx(6.30, abs=5e-3)]
    assert full.series["validation/epoch_accuracy"].values.tolist() == [pytest.approx(0.901, abs=1e-3)]
    assert full.series["validation/evaluation_loss_vs_iterations"].steps.tolist() == [1250]
    aborted = read_both(next(s for s in sources if "2022-09-27" in s.path))
    assert aborted.series == {} and aborted.problems == []


def test_realworld_old_keras_simple_value_row8() -> None:
    run = _rw_run("10academy_swahili-stt")
    loss = run.series["train/epoch_loss"]
    assert len(loss) == 10 and loss.values[0] == pytest.approx(332.7, abs=0.05)
    assert loss.values[-1] == pytest.approx(234.8, abs=0.05)


def test_realworld_two_fits_row9() -> None:
    run = _rw_run("meghdad-dtu_bixi-od")
    train, val = run.series["train/epoch_loss"], run.series["validation/epoch_loss"]
    assert len(train) == 48 and len(val) == 48  # fit #2 (48 epochs) replaces fit #1 (23 epochs)
    assert train.values[0] == pytest.approx(0.999, abs=1e-3) and train.values[-1] == pytest.approx(0.0268, abs=1e-4)
    assert val.values.min() == pytest.approx(0.0188, abs=1e-4)
    assert np.allclose(run.series["train/epoch_MSE"].values, train.values, rtol=1e-6)
    assert any("restart" in n for n in run.notes)


def test_realworld_yolov5_row10() -> None:
    run = _rw_run("grafit-kil_helmet-yolov5")
    assert len(run.series) == 13 and all(len(s) == 150 for s in run.series.values())
    assert (run.series["train/cls_loss"].values == 0).all()
    assert run.series["metrics/mAP_0.5"].values.max() == pytest.approx(0.858, abs=1e-3)
    assert int(np.argmax(run.series["metrics/mAP_0.5"].values)) == 55


def test_realworld_overfit_row11() -> None:
    run = _rw_run("anaccount_dlgn")
    val = run.series["val_loss"]
    assert len(val) == 100 and val.values.min() == pytest.approx(0.686, abs=1e-3)
    assert val.values[-1] == pytest.approx(4.91, abs=0.01)
    assert run.series["train_loss"].values[-1] < 1e-9


def test_realworld_diverging_pinn_row12() -> None:
    run = _rw_run("best1cookie1_nn-oedometer")
    loss = run.series["mean_loss"]
    assert len(loss) == 200 and loss.values.min() == pytest.approx(0.0151, abs=1e-4)
    assert loss.values.max() > 1e10


def test_realworld_nan_metric_row14() -> None:
    run = _rw_run("leonardo-russo_macchinine")
    assert len(run.series["train_loss"]) == 375 and len(run.series["val_loss"]) == 10
    assert np.isnan(run.series["avg_val_projected_errors"].values).all()
    assert run.series["val_loss"].values.min() == pytest.approx(0.885, abs=1e-3)


def test_first_of_each_is_np_unique_return_index() -> None:
    from curvelint.readers.tb_fast import _first_of_each

    rng = np.random.default_rng(11)
    for trial in range(500):
        k, n = int(rng.integers(1, 80)), int(rng.integers(1, 3000))
        ids = rng.integers(0, k, n)
        if trial % 3 == 0:  # one id first met far into the window
            ids = np.r_[np.zeros(int(rng.integers(0, 2000)), np.int64), ids]
        uniq, first = np.unique(ids, return_index=True)
        assert _first_of_each(ids, k) == dict(zip(uniq.tolist(), first.tolist()))
