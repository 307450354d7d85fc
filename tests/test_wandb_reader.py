"""The Weights & Biases reader: run folders are found as one run each, the binary ``.wandb`` log is
decoded without wandb, the committed fixtures read to what their generator logged, the real runs in
../shared/realworld2 read with the numbers SOURCES.md gives, and damage becomes problems, not tracebacks."""

from __future__ import annotations

import importlib.util
import json
import math
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path

import numpy as np
import pytest

from conftest import FIXTURES, REPO, SHARED
from curvelint import readers
from curvelint.discovery import RunSource, discover
from curvelint.engine import lint
from curvelint.model import Run
from curvelint.readers import wandb as wb
from curvelint.roles import assign_roles

WANDB_FIXTURES = FIXTURES / "wandb"
CIFAR = SHARED / "realworld2" / "nicetea17_cifar10"


def _generator():
    """fixtures/wandb/make_wandb.py (its RUNS; importing it does not import wandb)."""
    path = WANDB_FIXTURES / "make_wandb.py"
    spec = importlib.util.spec_from_file_location("fixture_make_wandb", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _runs(path: Path) -> list[Run]:
    sources, errors = discover([str(path)])
    assert not errors
    runs = []
    for source in sources:
        runs.extend(readers.read(source))
    for run in runs:
        for p in run.problems:
            assert not p.message.split(":")[0].endswith(("Error", "Exception")), p  # readers.read's catch-all
            assert "\n" not in p.message
    return runs


def _one(path: Path) -> Run:
    [run] = _runs(path)
    return run


# -- a minimal writer of the format, for shapes wandb does not write on demand ---------------------
def _frame(kind: int, data: bytes) -> bytes:
    return struct.pack("<IHB", zlib.crc32(data, zlib.crc32(bytes((kind,)))), len(data), kind) + data


def write_log(payloads: list[bytes]) -> bytes:
    """A LevelDB-style W&B log holding `payloads` (split into first/middle/last fragments across blocks)."""
    out = bytearray(b":W&B" + struct.pack("<HB", 0xBEE1, 0))
    for payload in payloads:
        first = True
        while True:
            left = wb.BLOCK - len(out) % wb.BLOCK
            if left < wb.HEADER:
                out += b"\0" * left
                continue
            room = left - wb.HEADER
            piece, payload = payload[:room], payload[room:]
            kind = (wb.FULL if first else wb.LAST) if not payload else (wb.FIRST if first else wb.MIDDLE)
            out += _frame(kind, piece)
            first = False
            if not payload:
                break
    return bytes(out)


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _len(number: int, data: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(data)) + data


def history_record(step: int, values: dict[str, str], extra: bytes = b"") -> bytes:
    """Record{history: HistoryRecord{item: [{nested_key: name, value_json: text}], step: {num}}}."""
    items = b"".join(_len(1, _len(2, name.encode()) + _len(16, text.encode())) for name, text in values.items())
    step_msg = _len(2, _varint(1 << 3 | 0) + _varint(step)) if step else _len(2, b"")
    return _varint(1 << 3) + _varint(7) + _len(2, items + step_msg) + extra


def _log_folder(tmp_path: Path, data: bytes, name: str = "run-20250101_000000-abc") -> Path:
    folder = tmp_path / "wandb" / name
    folder.mkdir(parents=True)
    (folder / "run-abc.wandb").write_bytes(data)
    return folder


def _record_kinds(data: bytes) -> list[int]:
    """The record types of a log, walking its framing (intact logs only)."""
    kinds, pos = [], wb.FILE_HEADER
    while pos < len(data):
        if wb.BLOCK - pos % wb.BLOCK < wb.HEADER:
            pos += wb.BLOCK - pos % wb.BLOCK
            continue
        _, length, kind = struct.unpack_from("<IHB", data, pos)
        kinds.append(kind)
        pos += wb.HEADER + length
    return kinds


# -- the committed fixtures ------------------------------------------------------------------------
@pytest.mark.parametrize("run_id", ["healthy01", "nanloss01", "overfit01"])
def test_fixtures_read_to_the_logged_series(run_id):
    gen = _generator()
    run = _one(WANDB_FIXTURES / gen.folder_name(run_id))
    assert run.format == "wandb" and not run.problems
    expected = gen.expected_series(run_id)
    assert set(run.series) == set(expected)
    for name, (steps, values) in expected.items():
        series = run.series[name]
        assert series.steps.tolist() == steps, name
        np.testing.assert_array_equal(series.values, np.asarray(values, dtype=float), err_msg=name)  # NaN == NaN
        assert series.wall_times is not None and np.all(np.isfinite(series.wall_times))
    assert run.hparams == gen.RUNS[run_id][0]  # from the log's run record (offline runs have no config.yaml)
    assert run.sources == [str(WANDB_FIXTURES / gen.folder_name(run_id) / f"run-{run_id}.wandb")]


def test_fixture_details():
    runs = {os.path.basename(r.path): r for r in _runs(WANDB_FIXTURES)}
    assert len(runs) == 3 and all(r.format == "wandb" for r in runs.values())
    healthy = runs["offline-run-20250101_000000-healthy01"]
    assert "grad.norm" in healthy.series and "_runtime" not in healthy.series  # nested dict; W&B's own keys left out
    assert healthy.series["val_loss"].steps.tolist() == list(range(19, 120, 20))
    assert not healthy.notes
    nan = runs["offline-run-20250101_000000-nanloss01"].series["train_loss"].values
    assert nan[24] == math.inf and np.isnan(nan[25:]).all() and np.isfinite(nan[:24]).all()
    [note] = runs["offline-run-20250101_000000-overfit01"].notes
    assert "not numbers" in note and "is_best" in note and "phase" in note
    # the healthy log is longer than a block: a record is split into fragments, and read whole
    data = (WANDB_FIXTURES / "offline-run-20250101_000000-healthy01" / "run-healthy01.wandb").read_bytes()
    assert len(data) > wb.BLOCK and {wb.FIRST, wb.LAST} <= set(_record_kinds(data))


def test_fixtures_lint_as_labelled():
    report = lint([str(WANDB_FIXTURES)])
    by_run = {}
    for f in report.findings:
        by_run.setdefault(os.path.basename(f.path), set()).add(f.rule)
    assert "CL100" in by_run["offline-run-20250101_000000-nanloss01"]
    assert "CL110" in by_run["offline-run-20250101_000000-overfit01"]
    assert "offline-run-20250101_000000-healthy01" not in by_run


def test_committed_fixtures_hold_nothing_of_this_machine():
    needles = {str(REPO), str(Path.home()), sys.prefix, os.path.realpath(tempfile.gettempdir()) + "/", os.getcwd()}
    host = socket.gethostname()
    if len(host) >= 4:
        needles.add(host)
    needles = {n.encode() for n in needles if n and n != "/"}
    seen = set()
    for dirpath, dirnames, filenames in os.walk(WANDB_FIXTURES):
        dirnames[:] = [d for d in dirnames if d != "__pycache__"]
        for name in filenames:
            path = Path(dirpath) / name
            assert not path.is_symlink(), path
            rel = path.relative_to(WANDB_FIXTURES).as_posix()
            seen.add(rel)
            data = path.read_bytes()
            for needle in needles:
                assert needle not in data, (rel, needle)
            assert b"fixture" in data or name.endswith(".py") or name.endswith(".md")
    assert all(p == "make_wandb.py" or p.endswith(".md") or p.count("/") == 1 and p.endswith(".wandb")
               for p in seen), seen  # no logs/, debug*.log, files/requirements.txt, wandb-metadata.json


def test_reading_never_imports_wandb_or_protobuf():
    code = ("import sys; from curvelint.discovery import discover; from curvelint.readers import read; "
            f"[read(s) for s in discover([{str(WANDB_FIXTURES)!r}])[0]]; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('wandb', 'google')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_roles_pick_wandb_style_names():
    roles = assign_roles(["epoch", "learning_rate", "max_val_acc", "train_acc", "train_loss", "val_acc", "val_loss"])
    assert (roles.train_loss, roles.val_loss, roles.train_metric, roles.val_metric, roles.lr) == (
        "train_loss", "val_loss", "train_acc", "val_acc", "learning_rate")


# -- the real runs of ../shared/realworld2 ---------------------------------------------------------
@pytest.fixture(scope="module")
def cifar() -> dict[str, Run]:
    if not CIFAR.is_dir():
        pytest.skip("../shared/realworld2 is not present")
    sources, errors = discover([str(CIFAR)])
    assert not errors
    assert [s.format for s in sources] == ["wandb"] * 8  # summaries, metadata, console logs: no runs of their own
    return {os.path.basename(r.path).rsplit("-", 1)[1]: r for s in sources for r in readers.read(s)}


# run id: epochs, (train_loss first, last), (val_loss min, its epoch), (val_acc max, its epoch), lr (SOURCES.md)
CIFAR_RUNS = {
    "pypd7lzd": (50, (2.246, 0.0173), (0.785, 20), (77.08, 47), 3e-4),   # row 10, overfitting
    "asdmkdpz": (5, (2.315, 2.303), (2.303, None), (10.0, None), 3e-4),  # row 11, stalled at chance
    "44s35cw9": (50, (1.732, 0.117), (0.296, 49), (91.0, 49), 3e-4),     # row 12, healthy
    "j49x533g": (50, (3.156, 1.723), (1.697, 49), (38.7, None), 3e-4),   # row 13, underfitting
    "hj498ziy": (50, (2.441, 0.240), (0.798, 22), (75.2, 43), 1e-4),     # row 28, overfitting
    "sjgsz037": (50, (1.968, 0.0149), (0.735, 22), (77.3, 43), 3e-4),    # row 29, overfitting
    "9z6cd5yn": (50, (2.25, 0.0162), (0.768, 13), (77.45, None), 3e-4),  # row 30, overfitting
    "8zbo9gzs": (5, (1.948, 1.249), (1.221, 4), (58.2, 4), 3e-4),        # row 31, healthy
}


@pytest.mark.parametrize("run_id", sorted(CIFAR_RUNS))
def test_realworld_wandb_runs(cifar, run_id):
    epochs, (first, last), (vmin, vat), (amax, aat), lr = CIFAR_RUNS[run_id]
    run = cifar[run_id]
    assert not run.problems and not run.notes
    for name in ("train_loss", "val_loss", "train_acc", "val_acc", "learning_rate", "epoch", "max_val_acc"):
        assert run.series[name].steps.tolist() == list(range(epochs)), name
    loss, val, acc = (run.series[k].values for k in ("train_loss", "val_loss", "val_acc"))
    assert loss[0] == pytest.approx(first, abs=6e-4) and loss[-1] == pytest.approx(last, rel=5e-3)
    assert val.min() == pytest.approx(vmin, abs=6e-4) and (vat is None or int(np.argmin(val)) == vat)
    assert acc.max() == pytest.approx(amax, abs=0.06) and (aat is None or int(np.argmax(acc)) == aat)
    assert run.hparams["learning_rate"] == lr and run.hparams["optimizer"] == "adamw"
    assert "_wandb" not in run.hparams
    assert [os.path.basename(p) for p in run.sources] == [f"run-{run_id}.wandb", "config.yaml", "wandb-summary.json"]
    assert run.final["train_loss"] == pytest.approx(loss[-1], rel=1e-6)  # the summary holds the last values


def test_realworld_stalled_run_is_flat(cifar):
    assert cifar["asdmkdpz"].series["val_acc"].values.tolist() == [10.0] * 5


# -- damage ----------------------------------------------------------------------------------------
def _healthy_copy(tmp_path: Path) -> tuple[Path, bytes, Run]:
    src = WANDB_FIXTURES / "offline-run-20250101_000000-healthy01"
    folder = tmp_path / "wandb" / src.name
    shutil.copytree(src, folder)
    return folder, (folder / "run-healthy01.wandb").read_bytes(), _one(src)


def _assert_prefix(run: Run, full: Run) -> int:
    """Every series of `run` is the first part of the same series in `full`; returns the rows kept."""
    for name, series in run.series.items():
        k = len(series)
        assert series.steps.tolist() == full.series[name].steps[:k].tolist()
        np.testing.assert_array_equal(series.values, full.series[name].values[:k])
    return len(run.series["train_loss"]) if "train_loss" in run.series else 0


def _history_offsets(data: bytes) -> list[int]:
    """Byte offsets of the history records (decoded with the reader's own framing and wire decoder)."""
    return [offset for offset, payload in wb.scan(data, "x").records
            if any(n == 2 and w == 2 for n, w, _ in wb.fields(payload))]


@pytest.mark.parametrize("where", ["file header", "record header", "record data", "inside a spanning record",
                                   "last byte"])
def test_truncation_keeps_the_records_before_it(tmp_path, where):
    folder, data, full = _healthy_copy(tmp_path)
    history = _history_offsets(data)
    starts = [offset for offset, _ in wb.scan(data, "x").records]
    spanning = max(pos for pos in starts if pos < wb.BLOCK)  # the record split over the first two blocks
    cut = {"file header": 3, "record header": history[40] + 3, "record data": history[40] + 20,
           "inside a spanning record": wb.BLOCK + 2, "last byte": len(data) - 1}[where]
    (folder / "run-healthy01.wandb").write_bytes(data[:cut])
    run = _one(folder)
    [problem] = run.problems
    assert problem.kind == "truncated" and problem.offset <= cut and str(problem.offset) in problem.message
    kept = _assert_prefix(run, full)
    expected = {"file header": 0, "record header": 40, "record data": 40, "last byte": 120}.get(where)
    if expected is not None:
        assert kept == expected
    else:
        assert 0 < kept == sum(1 for pos in history if pos < spanning)
    codes = {f.rule for f in lint([str(folder)]).findings}
    assert "CL002" in codes and "CL001" not in codes


def test_flipped_data_byte_drops_one_record_and_keeps_the_rest(tmp_path):
    folder, data, full = _healthy_copy(tmp_path)
    bad = _history_offsets(data)[30]
    damaged = bytearray(data)
    damaged[bad + wb.HEADER + 12] ^= 0x40
    (folder / "run-healthy01.wandb").write_bytes(bytes(damaged))
    run = _one(folder)
    [problem] = run.problems
    assert problem.kind == "unreadable" and problem.offset == bad and "bad CRC" in problem.message
    assert "record skipped" in problem.message
    assert run.series["train_loss"].steps.tolist() == [s for s in range(120) if s != 30]  # before and after kept
    finding = [f for f in lint([str(folder)]).findings if f.rule == "CL001"]
    assert len(finding) == 1 and f"at byte {bad}" in finding[0].message and "(at line" not in finding[0].message


def test_flipped_length_byte_skips_to_the_next_block(tmp_path):
    folder, data, full = _healthy_copy(tmp_path)
    history = _history_offsets(data)
    bad = history[10]
    damaged = bytearray(data)
    damaged[bad + 4] ^= 0x01  # the low byte of the length
    (folder / "run-healthy01.wandb").write_bytes(bytes(damaged))
    run = _one(folder)
    [problem] = run.problems
    assert problem.kind == "unreadable" and problem.offset == bad and "next block" in problem.message
    steps = run.series["train_loss"].steps.tolist()
    assert steps[:10] == list(range(10))  # the records before the damage
    assert steps[-1] == 119 and len(steps) > 10  # the records of the next block
    after = [s for s in steps if s >= 10]
    assert after == list(range(after[0], 120))  # from the next block on, every record


def test_flipped_header_byte_is_one_problem_records_still_read(tmp_path):
    folder, data, full = _healthy_copy(tmp_path)
    (folder / "run-healthy01.wandb").write_bytes(b":W&C" + data[4:])
    run = _one(folder)
    [problem] = run.problems
    assert problem.kind == "unreadable" and "header" in problem.message
    assert _assert_prefix(run, full) == 120


@pytest.mark.parametrize("content", [b"PK\x03\x04" + bytes(range(256)) * 4, b'{"not": "a log"}\n', b"\0" * 100,
                                     b":W"])
def test_a_file_that_is_not_a_wandb_log(tmp_path, content):
    folder = _log_folder(tmp_path, content)
    run = _one(folder)
    [problem] = run.problems
    assert "\n" not in problem.message and run.series == {}
    if content == b":W":
        assert problem.kind == "truncated"
    else:
        assert problem.kind == "unreadable" and "not a W&B run log" in problem.message
    assert {f.rule for f in lint([str(folder)]).findings} & {"CL001", "CL002"}


def test_empty_and_header_only_logs(tmp_path):
    empty = _one(_log_folder(tmp_path / "a", b""))
    assert [p.kind for p in empty.problems] == ["truncated"] and "empty" in empty.problems[0].message
    header_only = _one(_log_folder(tmp_path / "b", b":W&B\xe1\xbe\x00"))  # a run that has just started
    assert header_only.problems == [] and header_only.series == {}


def test_random_damage_never_raises(tmp_path):
    _, data, full = _healthy_copy(tmp_path)
    rng = np.random.default_rng(0)
    for i in range(30):
        damaged = bytearray(data)
        for pos in rng.integers(0, len(data), size=int(rng.integers(1, 20))):
            damaged[pos] = int(rng.integers(0, 256))
        if i % 3 == 0:
            damaged = damaged[: int(rng.integers(0, len(damaged)))]
        run = _one(_log_folder(tmp_path / str(i), bytes(damaged)))
        assert all(p.kind in ("truncated", "unreadable") for p in run.problems)
        assert len(run.problems) <= wb.MAX_PROBLEMS + 1
        for name, series in run.series.items():  # what was kept is what was logged
            assert set(series.steps.tolist()) <= set(full.series[name].steps.tolist())


# -- the format, with hand-written logs ------------------------------------------------------------
def test_records_spanning_several_blocks_and_unknown_fields(tmp_path):
    unknown = (_varint(300 << 3 | 1) + b"\x01" * 8 + _varint(301 << 3 | 5) + b"\x02" * 4
               + _varint(302 << 3 | 0) + _varint(2 ** 63) + _len(303, b"skip me"))
    big = history_record(1, {"loss": "0.5", "blob": json.dumps("x" * 70000)}, extra=unknown)  # > 2 blocks
    log = write_log([history_record(0, {"loss": "1.0", "_step": "0"}), big, history_record(2, {"loss": "NaN"})])
    assert wb.MIDDLE in _record_kinds(log)
    run = _one(_log_folder(tmp_path, log))
    assert not run.problems
    loss = run.series["loss"]
    assert loss.steps.tolist() == [0, 1, 2] and loss.values[:2].tolist() == [1.0, 0.5] and np.isnan(loss.values[2])
    assert any("blob" in n for n in run.notes)  # text: not a series


def test_typed_history_values_and_nested_keys(tmp_path):
    """wandb's typed `value` oneof (number: double, integer: sint64) beside value_json."""
    item_num = _len(1, _len(1, b"acc") + _varint(6 << 3 | 1) + struct.pack("<d", 0.25))
    item_int = _len(1, _len(1, b"count") + _varint(5 << 3 | 0) + _varint(2 * 7 - 1))  # zigzag(-7) = 13
    item_nested = _len(1, _len(2, b"grad") + _len(2, b"norm") + _len(16, b"3"))
    item_dict = _len(1, _len(1, b"val") + _len(16, b'{"loss": 0.75, "img": {"_type": "image-file"}}'))
    step = _len(2, _varint(8) + _varint(5))
    record = _varint(8) + _varint(1) + _len(2, item_num + item_int + item_nested + item_dict + step)
    run = _one(_log_folder(tmp_path, write_log([record])))
    assert {k: (s.steps.tolist(), s.values.tolist()) for k, s in run.series.items()} == {
        "acc": ([5], [0.25]), "count": ([5], [-7.0]), "grad.norm": ([5], [3.0]), "val.loss": ([5], [0.75])}
    assert any("val.img" in n for n in run.notes)


@pytest.mark.parametrize("exit_record, note", [
    (None, "the log has no exit record: the run was still running, or was killed"),
    (_len(18, _varint(1 << 3) + _varint(2 ** 64 - 9)), "the run exited with code -9"),  # int32 -9 as a varint
    (_len(18, b""), None),  # exit_code 0 is not written
])
def test_exit_record(tmp_path, exit_record, note):
    records = [history_record(s, {"loss": str(1 / (s + 1))}) for s in range(3)]
    run = _one(_log_folder(tmp_path, write_log(records + ([exit_record] if exit_record else []))))
    assert run.notes == ([note] if note else []) and not run.problems


def test_record_with_good_crc_but_not_a_record_message(tmp_path):
    log = write_log([history_record(0, {"loss": "1"}), b"\x0f\xff\xff", history_record(1, {"loss": "0.5"})])
    run = _one(_log_folder(tmp_path, log))
    [problem] = run.problems
    assert problem.kind == "unreadable" and "not W&B Record messages" in problem.message
    assert run.series["loss"].values.tolist() == [1.0, 0.5]


def test_wire_decoder():
    msg = _varint(1 << 3) + _varint(150) + _len(2, b"ab") + _varint(3 << 3 | 1) + b"\0" * 8
    assert [(n, w) for n, w, _ in wb.fields(msg)] == [(1, 0), (2, 2), (3, 1)]
    assert list(wb.fields(msg))[0][2] == 150
    for bad in (b"\x08", b"\x12\x05ab", b"\x0b", b"\x19\0\0", b"\x00\x01", b"\x08" + b"\xff" * 11):
        with pytest.raises(wb.Malformed):
            list(wb.fields(bad))


# -- run folders: discovery, wandb-history.jsonl, config.yaml, summary ----------------------------
CONFIG_YAML = """\
_wandb:
    value:
        cli_version: 0.22.2
        e:
            abc:
                executable: /home/someone/env/bin/python
                gpu_nvidia:
                    - name: x
                      uuid: y
batch_size:
    desc: null
    value: 256
learning_rate:
    desc: null
    value: 0.0003
model:
    value:
        depth: 18
        name: resnet
optimizer:
    value: adamw
wandb_version: 1
"""


def _online_run(root: Path, history: str | None, summary: dict | None = None) -> Path:
    folder = root / "wandb" / "run-20250101_000000-xyz"
    (folder / "files").mkdir(parents=True)
    (folder / "files" / "config.yaml").write_text(CONFIG_YAML)
    (folder / "files" / "wandb-metadata.json").write_text('{"host": "h", "program": "/home/someone/train.py"}')
    (folder / "files" / "output.log").write_text("epoch,loss\n0,1\n")  # a console log that looks like CSV
    (folder / "files" / "media" / "table").mkdir(parents=True)
    (folder / "files" / "media" / "table" / "t.table.json").write_text('{"loss": [1, 2], "val_loss": [1, 2]}')
    if history is not None:
        (folder / "files" / "wandb-history.jsonl").write_text(history)
    if summary is not None:
        (folder / "files" / "wandb-summary.json").write_text(json.dumps(summary))
    return folder


def _jsonl(rows: list[dict]) -> str:
    return "".join(json.dumps(r) + "\n" for r in rows)


def test_history_jsonl_and_config_yaml(tmp_path):
    rows = [{"_step": s, "_runtime": s * 2.0, "_timestamp": 1.7e9 + s, "loss": 1.0 / (s + 1),
             "val": {"loss": 2.0 / (s + 1)}, "note": "x"} for s in range(5)]
    rows[2]["loss"] = float("nan")
    folder = _online_run(tmp_path, _jsonl(rows), {"loss": 0.2, "_step": 4})
    run = _one(tmp_path)
    assert run.path == str(folder) and run.format == "wandb" and not run.problems
    assert set(run.series) == {"loss", "val.loss"}
    assert run.series["loss"].steps.tolist() == list(range(5)) and np.isnan(run.series["loss"].values[2])
    assert run.series["val.loss"].wall_times.tolist() == [1.7e9 + s for s in range(5)]
    assert run.hparams == {"batch_size": 256, "learning_rate": 0.0003, "model": {"depth": 18, "name": "resnet"},
                           "optimizer": "adamw"}
    assert [os.path.basename(p) for p in run.sources] == ["wandb-history.jsonl", "config.yaml", "wandb-summary.json"]
    assert run.final == {"loss": 0.2}
    assert any("note" in n for n in run.notes)


def test_history_jsonl_damage(tmp_path):
    rows = _jsonl([{"_step": s, "loss": 1.0 / (s + 1)} for s in range(6)]).splitlines(keepends=True)
    rows[2] = '{"_step": 2, "loss": \n'
    _online_run(tmp_path, "".join(rows) + '{"_step": 6, "lo')
    run = _one(tmp_path)
    assert {(p.kind, p.offset) for p in run.problems} == {("unreadable", 3), ("truncated", 7)}
    assert run.series["loss"].steps.tolist() == [0, 1, 3, 4, 5]


def test_summary_only_gives_no_curves_but_a_note(tmp_path):
    _online_run(tmp_path, None, {"train_loss": 0.0173, "val_loss": 1.539, "epoch": 49, "_step": 49,
                                 "_wandb": {"runtime": 260}})
    run = _one(tmp_path)
    assert run.series == {} and not run.problems
    [note] = run.notes
    assert "only holds the final values at step 49" in note and "val_loss=1.539" in note and "_wandb" not in note
    assert {f.rule for f in lint([str(tmp_path)]).findings} == {"CL003"}


def test_discovery_of_run_folders(tmp_path):
    root = tmp_path / "wandb"
    one = _log_folder(tmp_path, write_log([history_record(0, {"loss": "1"})]), "offline-run-20250101_000000-abc")
    two = _online_run(tmp_path, _jsonl([{"_step": 0, "loss": 1.0}]))
    (root / "latest-run").symlink_to(one.name)
    (root / "debug.log").symlink_to(one.name + "/logs/debug.log")
    (one / "logs").mkdir()
    (one / "logs" / "debug.log").write_text(
        "2025-01-01 00:00:00,081 INFO    MainThread:4181 [wandb_setup.py:_flush():80] Current SDK version is 0.22.2\n")
    (tmp_path / "history.json").write_text('{"loss": [1.0, 0.5]}')  # another run beside the wandb folder
    sources, _ = discover([str(tmp_path)])
    assert {(os.path.relpath(s.path, tmp_path), s.format) for s in sources} == {
        ("wandb/offline-run-20250101_000000-abc", "wandb"), ("wandb/run-20250101_000000-xyz", "wandb"),
        ("history.json", "keras-history")}
    # files named one by one (pre-commit) stand for their run folder
    named = [one / "run-abc.wandb", two / "files" / "config.yaml", two / "files" / "media" / "table" / "t.table.json",
             two / "files", two / "files" / "wandb-history.jsonl"]
    for path in named:
        [source] = discover([str(path)])[0]
        assert (source.path, source.format) == (str(one if path.suffix == ".wandb" else two), "wandb"), path
    [source] = discover([str(root / "latest-run")])[0]  # named explicitly, the link is linted
    assert source.format == "wandb"


def test_a_run_folder_is_not_found_from_unrelated_ancestors(tmp_path):
    (tmp_path / "stray.wandb").write_bytes(b"")  # tmp_path looks like a W&B run folder...
    (tmp_path / "project" / "logs").mkdir(parents=True)
    (tmp_path / "project" / "logs" / "history.json").write_text('{"loss": [1.0, 0.5]}')
    sources, _ = discover([str(tmp_path / "project" / "logs")])  # ...but is not named run-*: not climbed to
    assert [s.format for s in sources] == ["keras-history"]


def test_reader_on_a_missing_folder_is_a_problem(tmp_path):
    missing = str(tmp_path / "gone")
    [run] = readers.read(RunSource(missing, "wandb", (missing,)))
    assert [p.kind for p in run.problems] == ["unreadable"]
