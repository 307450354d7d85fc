"""Hostile and broken inputs (issue 14): never hang, never read endlessly, keep the good part of a file.

Cases that could hang if a fix regressed (FIFOs, links to devices) run the CLI in a
subprocess with a timeout; every case checks that curvelint wrote nothing into the tree.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

TIMEOUT = 20
HEALTHY = {"loss": [2.0, 1.2, 0.8, 0.6, 0.5, 0.45, 0.42, 0.4], "val_loss": [2.1, 1.3, 0.9, 0.7, 0.62, 0.58, 0.56, 0.55]}

needs_fifo = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes on this platform")
needs_dev_zero = pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero")


def lint(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """The CLI in a subprocess: a regressed fix fails by timeout instead of hanging the suite."""
    return subprocess.run([sys.executable, "-m", "curvelint", "lint", "--no-color", *map(str, args)],
                          capture_output=True, timeout=TIMEOUT, cwd=cwd, check=False)


def tree(root: Path) -> dict[str, tuple[int, int]]:
    """Every entry under `root` (links not followed) with its size and mtime: to show nothing was written."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            st = os.lstat(os.path.join(dirpath, name))
            out[os.path.join(dirpath, name)] = (st.st_size, st.st_mtime_ns)
    return out


def findings(proc: subprocess.CompletedProcess) -> list[dict]:
    return json.loads(proc.stdout)["findings"]


def write_healthy(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "history.json"
    path.write_text(json.dumps(HEALTHY))
    return path


# -- hangs and endless files: only regular files are opened ----------------------------------------------

LOG_NAMES = {  # folder -> a file name each reader (or discovery) would open
    "tb": "events.out.tfevents.1700000000.host.1.0",
    "keras": "history.json",
    "hf": "trainer_state.json",
    "csv": "metrics.csv",
    "parquet": "metrics.parquet",
    "onnx": "model.onnx",
}


def _mlflow_run(folder: Path) -> Path:
    (folder / "metrics").mkdir(parents=True)
    (folder / "meta.yaml").write_text("status: 3\n")
    (folder / "metrics" / "acc").write_text("".join(f"{1000 + i} {0.5 + i / 100} {i}\n" for i in range(8)))
    return folder / "metrics" / "loss"


def _wandb_run(folder: Path) -> Path:
    folder.mkdir(parents=True)
    return folder / "run-abc.wandb"


@needs_fifo
def test_fifos_named_like_logs_do_not_block_and_the_other_runs_are_read(tmp_path: Path) -> None:
    write_healthy(tmp_path / "good")
    fifos = [tmp_path / folder / name for folder, name in LOG_NAMES.items()]
    fifos += [_mlflow_run(tmp_path / "mlruns" / "0" / "r1"), _wandb_run(tmp_path / "wandb" / "run-1-abc")]
    for fifo in fifos:
        fifo.parent.mkdir(parents=True, exist_ok=True)
        os.mkfifo(fifo)
    (tmp_path / "logs").mkdir()
    os.mkfifo(tmp_path / "logs" / "training.log")  # discovery would sniff its header
    before = tree(tmp_path)
    proc = lint("--format", "json", tmp_path)
    assert proc.returncode == 1, proc.stderr
    messages = {f["message"] for f in findings(proc) if f["rule"] == "CL001"}
    for fifo in fifos:
        assert any(m.startswith(f"{fifo}: cannot read") and m.endswith(": not a regular file (a FIFO)")
                   for m in messages), fifo
    assert not any("training.log" in m for m in messages)  # not sniffed, so not a run: skipped
    runs = {r["path"] for r in json.loads(proc.stdout)["runs"]}
    assert str(tmp_path / "good" / "history.json") in runs
    assert str(tmp_path / "mlruns" / "0" / "r1") in runs  # its good metric is still read
    assert all("\n" not in m for m in messages)
    assert tree(tmp_path) == before


@needs_fifo
def test_a_fifo_named_on_the_command_line_is_reported_not_missing(tmp_path: Path) -> None:
    fifo = tmp_path / "history.json"
    os.mkfifo(fifo)
    proc = lint(fifo)
    assert proc.returncode == 1
    assert f"{fifo}: cannot read: not a regular file (a FIFO)" in proc.stdout.decode()


@needs_dev_zero
def test_links_to_dev_zero_are_not_read(tmp_path: Path) -> None:
    write_healthy(tmp_path / "good")
    links = [tmp_path / folder / name for folder, name in LOG_NAMES.items()]
    links.append(tmp_path / "logs" / "training.log")
    for link in links:
        link.parent.mkdir(parents=True, exist_ok=True)
        os.symlink("/dev/zero", link)
    proc = lint("--format", "json", tmp_path)
    assert proc.returncode == 1, proc.stderr
    text = "\n".join(f["message"] for f in findings(proc) if f["rule"] == "CL001")
    for link in links[:-1]:
        assert f"{link}: cannot read: not a regular file (a character device)" in text, link
    assert str(tmp_path / "good" / "history.json") in {r["path"] for r in json.loads(proc.stdout)["runs"]}


# -- configuration files: a broken one is a one-line configuration error, exit 2 -------------------------

def _assert_config_error(proc: subprocess.CompletedProcess, path: Path, words: str) -> None:
    err = proc.stderr.decode()
    assert proc.returncode == 2, err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert err.startswith(f"curvelint: error: {path}: ") and words in err, err


@pytest.mark.parametrize("name", ["pyproject.toml", ".curvelint.toml", "curvelint.toml"])
def test_config_file_up_the_tree_that_is_not_utf8(tmp_path: Path, name: str) -> None:
    write_healthy(tmp_path / "runs" / "a")
    (tmp_path / name).write_bytes(b'[tool.curvelint]\nfail-on = "\xff\xfe"\n' if name == "pyproject.toml"
                                  else b'fail-on = "w\xe9rning"\n')  # Latin-1, not UTF-8
    before = tree(tmp_path)
    proc = lint(tmp_path / "runs" / "a")
    _assert_config_error(proc, tmp_path / name, "not UTF-8 text (byte 0x")
    assert tree(tmp_path) == before


@pytest.mark.parametrize("value", ["[" * 5000 + "]" * 5000, "{a = " * 3000 + "1" + "}" * 3000],
                         ids=["arrays", "inline-tables"])
def test_config_nested_too_deeply(tmp_path: Path, value: str) -> None:
    write_healthy(tmp_path / "runs")
    (tmp_path / "pyproject.toml").write_text(f"[tool.curvelint]\nselect = {value}\n")
    _assert_config_error(lint(tmp_path / "runs"), tmp_path / "pyproject.toml", "nested too deeply")


def test_config_value_nested_as_deep_as_toml_allows_gives_a_short_message(tmp_path: Path) -> None:
    write_healthy(tmp_path / "runs")
    (tmp_path / ".curvelint.toml").write_text("exclude = " + "[" * 300 + "]" * 300 + "\n")
    proc = lint(tmp_path / "runs")
    _assert_config_error(proc, tmp_path / ".curvelint.toml", "exclude: expected a list of strings")
    assert len(proc.stderr) < 300


def test_run_folder_suppression_file_that_is_not_utf8(tmp_path: Path) -> None:
    write_healthy(tmp_path / "runs" / "a")
    (tmp_path / "runs" / "a" / ".curvelint.toml").write_bytes(b'reason = "d\xe9j\xe0 vu"\nignore = ["CL101"]\n')
    _assert_config_error(lint(tmp_path / "runs"), tmp_path / "runs" / "a" / ".curvelint.toml", "not UTF-8")


def test_run_folder_suppression_error_in_a_worker_is_a_configuration_error(tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from curvelint import engine
    from curvelint.config import Config, ConfigError

    for name in "ab":
        write_healthy(tmp_path / name)
    (tmp_path / "b" / ".curvelint.toml").write_bytes(b'reason = "\xff"\n')
    monkeypatch.setattr(engine, "MIN_PARALLEL_BYTES", 0)  # workers even for tiny runs
    monkeypatch.setattr("curvelint.workers.choose_workers", lambda jobs, *_: jobs)  # as many as asked
    with pytest.raises(ConfigError, match=r"\.curvelint\.toml: invalid TOML: not UTF-8"):
        engine.lint([str(tmp_path)], Config(), jobs=2)


@needs_fifo
def test_config_option_naming_a_fifo(tmp_path: Path) -> None:
    write_healthy(tmp_path / "runs")
    os.mkfifo(tmp_path / "conf.toml")
    _assert_config_error(lint("--config", tmp_path / "conf.toml", tmp_path / "runs"), tmp_path / "conf.toml",
                         "cannot read: not a regular file (a FIFO)")


# -- one bad record: the good ones are kept, the problem names the bad one ----------------------------------

def _read(path: Path):
    from curvelint import readers
    from curvelint.discovery import discover

    sources, errors = discover([str(path)])
    assert not errors and len(sources) == 1, (sources, errors)
    return readers.read(sources[0])


HUGE = "7" * 5000  # more digits than Python's int() converts (sys.get_int_max_str_digits)


def test_keras_history_with_a_number_too_long_for_int(tmp_path: Path) -> None:
    path = tmp_path / "history.json"
    path.write_text('{\n"loss": [2.0, 1.5, 1.2, 1.0, 0.9],\n"val_loss": [2.1, 1.6, ' + HUGE + ', 1.1, 1.0]\n}\n')
    [run] = _read(path)
    assert [p.message for p in run.problems] == [
        "line 3: a number of 5000 digits, too long to be a logged value: read as infinity"]
    assert run.problems[0].offset == 3
    assert run.series["loss"].values.tolist() == [2.0, 1.5, 1.2, 1.0, 0.9]
    assert run.series["val_loss"].values.tolist() == [2.1, 1.6, float("inf"), 1.1, 1.0]


def test_trainer_state_with_a_number_too_long_for_int(tmp_path: Path) -> None:
    entries = [f'{{"loss": {1.0 / (i + 1)}, "step": {i * 10}}}' for i in range(1, 6)]
    entries[2] = '{"loss": 0.3, "step": ' + HUGE + '}'
    path = tmp_path / "trainer_state.json"
    path.write_text('{"global_step": 50, "log_history": [\n' + ",\n".join(entries) + "\n]}\n")
    [run] = _read(path)
    assert len(run.problems) == 1 and run.problems[0].offset == 4
    assert run.problems[0].message.startswith("line 4: a number of 5000 digits")
    assert run.series["loss"].steps.tolist() == [10, 20, 40, 50]  # the entry with the absurd step is dropped


@pytest.mark.parametrize("step", [str(10 ** 30), str(10 ** 400), "-" + "9" * 5000, str(2 ** 62 - 1)])
def test_mlflow_metric_line_with_an_absurd_step(tmp_path: Path, step: str) -> None:
    folder = tmp_path / "mlruns" / "0" / "run1"
    (folder / "metrics").mkdir(parents=True)
    (folder / "meta.yaml").write_text("status: 3\n")
    lines = [f"{1000 + i} {1.0 / (i + 1)} {i}" for i in range(10)]
    lines.insert(6, f"2000 0.01 {step}")
    (folder / "metrics" / "loss").write_text("\n".join(lines) + "\n")
    [run] = _read(folder)
    assert run.series["loss"].steps.tolist() == list(range(10))
    [problem] = run.problems
    assert problem.offset == 7 and problem.path == str(folder / "metrics" / "loss")
    assert problem.message.startswith("metric 'loss': 1 line(s) have an absurd step, beyond ±2^62 (first at line 7: ")
    assert len(problem.message) < 150


def _event_file(folder: Path, bad_at: int, n: int = 20) -> Path:
    """`n` good scalar events and, before the `bad_at`-th, one whose scalar tensor has 3 bytes (a good CRC)."""
    from tensorboard.compat.proto import event_pb2, summary_pb2, tensor_pb2
    from tensorboard.summary.writer.event_file_writer import EventFileWriter

    def event(step: int, value: summary_pb2.Summary.Value) -> event_pb2.Event:
        return event_pb2.Event(wall_time=1.7e9 + step, step=step, summary=summary_pb2.Summary(value=[value]))

    bad = summary_pb2.Summary.Value(tag="loss", tensor=tensor_pb2.TensorProto(dtype=1, tensor_content=b"\x00\x00\x80"))
    bad.metadata.plugin_data.plugin_name = "scalars"
    writer = EventFileWriter(str(folder))
    for step in range(n):
        if step == bad_at:
            writer.add_event(event(step, bad))
        writer.add_event(event(step, summary_pb2.Summary.Value(tag="loss", simple_value=1.0 / (step + 1))))
    writer.close()
    [path] = folder.glob("events.out.tfevents.*")
    return path


def _record_offsets(data: bytes) -> list[int]:
    offsets, pos = [], 0
    while pos < len(data):
        offsets.append(pos)
        pos += 12 + int.from_bytes(data[pos:pos + 8], "little") + 4
    return offsets


@pytest.mark.parametrize("fast", [True, False], ids=["fast-path", "proto-path"])
def test_malformed_scalar_record_among_good_tensorboard_events(tmp_path: Path, fast: bool) -> None:
    from curvelint.discovery import RunSource
    from curvelint.readers import tensorboard

    path = _event_file(tmp_path, bad_at=7)
    [run] = tensorboard.read(RunSource(str(tmp_path), "tensorboard", (str(path),), ("",)), fast=fast)
    assert run.series["loss"].steps.tolist() == list(range(20))
    offset = _record_offsets(path.read_bytes())[1 + 7]  # after the file_version record and 7 good events
    assert [(p.kind, p.offset, p.message) for p in run.problems] == [
        ("unreadable", offset,
         f"record at byte {offset} holds a malformed scalar 'loss' (a float32 tensor of 3 bytes); skipped")]


# -- output: names from the tree cannot drive the terminal, and every report stays valid UTF-8 ----------------

HOSTILE_NAME = "run\x1b[2J\x1b]0;pwned\x07\u202eevil\u2066\nx"  # clear screen, set title, bell, bidi, newline
RAW_CONTROLS = ("\x1b", "\x07", "\u202e", "\u2066")


def test_control_and_bidi_characters_in_file_names_are_escaped_in_text_output(tmp_path: Path) -> None:
    try:
        write_healthy(tmp_path / HOSTILE_NAME)
    except OSError:
        pytest.skip("the file system refuses such names")
    (tmp_path / HOSTILE_NAME / "history.json").write_text('{"loss": [1.0, 1.0, 1.0, 1.0, 1.0, 1.0]}')
    before = tree(tmp_path)
    proc = lint(tmp_path, tmp_path / "missing\x1b[31m\u202e")
    out, err = proc.stdout.decode("utf-8"), proc.stderr.decode("utf-8")
    assert proc.returncode == 1
    for raw in RAW_CONTROLS:
        assert raw not in out and raw not in err, repr(raw)
    assert "run\\x1b[2J\\x1b]0;pwned\\x07\\u202eevil\\u2066\\x0ax/history.json" in out
    assert "CL101" in out  # the run is still linted
    assert err == f"curvelint: error: {tmp_path}/missing\\x1b[31m\\u202e: no such file or directory\n"
    assert tree(tmp_path) == before


def test_sarif_with_a_file_name_that_is_not_utf8(tmp_path: Path) -> None:
    folder = os.fsencode(tmp_path) + b"/run\xff\xfe"
    try:
        os.mkdir(folder)
    except OSError:
        pytest.skip("the file system refuses names that are not UTF-8")
    with open(folder + b"/history.json", "w") as fh:
        fh.write('{"loss": [1.0, 1.0, 1.0, 1.0, 1.0, 1.0]}')
    (tmp_path / "out").mkdir()
    for args in (["--format", "sarif", "-o", str(tmp_path / "out" / "a.sarif")], ["--format", "sarif"]):
        proc = lint(*args, os.fsdecode(folder), cwd=tmp_path)
        assert proc.returncode == 1, proc.stderr
        raw = (tmp_path / "out" / "a.sarif").read_bytes() if "-o" in args else proc.stdout
        doc = json.loads(raw.decode("utf-8"))  # strict UTF-8
        assert b"\\udc" not in raw.lower()  # no lone-surrogate escapes either
        [result] = doc["runs"][0]["results"]
        assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "run%FF%FE/history.json"
        assert result["properties"]["run"].endswith("run\\xff\\xfe/history.json")
    proc = lint(os.fsdecode(folder), cwd=tmp_path)  # and the text report
    assert proc.returncode == 1 and "run\\xff\\xfe/history.json" in proc.stdout.decode("utf-8")


def test_printable_escapes_what_a_terminal_would_act_on() -> None:
    from curvelint.reporters.escape import printable, utf8_safe

    assert printable("a\x00b\tc\x7f\x9b2J\u2028\u200f\u061c") == "a\\x00b\\x09c\\x7f\\x9b2J\\u2028\\u200f\\u061c"
    assert printable(os.fsdecode(b"run\xff")) == "run\\xff" and printable("\ud800") == "\\ud800"
    assert printable("ünïcödé/日本/loss") == "ünïcödé/日本/loss"  # ordinary text is left alone
    assert utf8_safe({"k\udcff": ["\x1b ok", "\udcfe"]}) == {"k\\xff": ["\x1b ok", "\\xfe"]}


# -- rules never crash on input they did not expect: they abstain and say why ---------------------------------

def _abstentions(path: Path, select: list[str] | None = None):
    from curvelint.config import Config
    from curvelint.engine import lint

    report = lint([str(path)], Config(select=select))
    return report, {(a.rule, a.reason) for a in report.abstentions}


def test_deeply_nested_hparams_yaml_does_not_crash_a_rule(tmp_path: Path) -> None:
    (tmp_path / "metrics.csv").write_text("epoch,loss,val_loss\n" + "".join(
        f"{i},{2.0 / (i + 1)},{2.1 / (i + 1)}\n" for i in range(12)))
    lines = [" " * d + f"k{d}:" for d in range(3000)] + [" " * 3000 + "lr: 0.1"]
    (tmp_path / "hparams.yaml").write_text("\n".join(lines) + "\n")
    report, abstained = _abstentions(tmp_path)
    assert len(report.runs) == 1
    assert not [reason for _, reason in abstained if "internal error" in reason], abstained


def test_deeply_nested_hparams_given_directly_do_not_crash_a_rule() -> None:
    import numpy as np

    from curvelint.config import Config
    from curvelint.engine import check_run, select_rules
    from curvelint.model import Run, Series

    deep: dict = {"lr": 0.1}
    for k in range(5000):
        deep = {f"k{k}": deep}
    loss = np.array([2.0, 1.5, 1.2, 1.0, 0.9, 0.8, 0.7, 0.65])
    run = Run("r", "r", "csv", series={"loss": Series("loss", np.arange(8), loss)},
              hparams={"model": deep, "num_classes": 10, "fp16": deep})
    _, abstentions = check_run(run, select_rules(Config()), Config())
    assert not [a for a in abstentions if "internal error" in a.reason], abstentions


def _lstm_model(path: Path, attribute) -> None:
    import onnx
    from onnx import TensorProto, helper

    node = helper.make_node("LSTM", ["X", "W", "R"], ["Y"], hidden_size=4)
    node.attribute.append(attribute)
    graph = helper.make_graph(
        [node], "g", [helper.make_tensor_value_info("X", TensorProto.FLOAT, [10, 1, 3])],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, None)],
        [helper.make_tensor("W", TensorProto.FLOAT, [1, 16, 3], [0.0] * 48),
         helper.make_tensor("R", TensorProto.FLOAT, [1, 16, 4], [0.0] * 64)])
    onnx.save(helper.make_model(graph), str(path))


@pytest.mark.parametrize("value", [5, 2.5, [1, 2], "tensor"], ids=["int", "float", "ints", "tensor"])
def test_onnx_attribute_of_an_unexpected_type_does_not_crash_a_rule(tmp_path: Path, value) -> None:
    from onnx import TensorProto, helper

    if value == "tensor":
        value = helper.make_tensor("t", TensorProto.FLOAT, [1], [1.0])
    _lstm_model(tmp_path / "model.onnx", helper.make_attribute("activations", value))
    report, abstained = _abstentions(tmp_path, ["CL2"])
    assert not [reason for _, reason in abstained if "internal error" in reason], abstained
    if not isinstance(value, TensorProto):  # (a tensor attribute is not read at all: the defaults apply)
        assert ("CL201", "LSTM_0 (LSTM): the 'activations' attribute is not a list of names; the activations "
                "of these layers were not judged") in abstained


def test_a_single_activation_name_is_read_as_that_activation(tmp_path: Path) -> None:
    from onnx import helper

    _lstm_model(tmp_path / "model.onnx", helper.make_attribute("activations", "Relu"))
    from curvelint.config import Config
    from curvelint.engine import lint

    assert [f.rule for f in lint([str(tmp_path)], Config(select=["CL201"])).findings] == ["CL201"]


def test_a_rule_that_recurses_too_deeply_abstains_saying_why() -> None:
    from curvelint.model import Run
    from curvelint.roles import Roles
    from curvelint.rule import Context, Rule, run_rule

    class Deep(Rule):
        code, name, summary = "X999", "deep", "recurses"

        def check(self, ctx):
            def down(n):
                return down(n + 1)
            yield down(0)

    [result] = run_rule(Deep(), Context(Run("r", "r", "csv"), Roles(), Deep))
    assert result.reason == "the run's data (hyperparameters, graph) is nested too deeply to judge"


# -- discovery: a data CSV is not a training run --------------------------------------------------------------

@pytest.mark.parametrize("text", ["id,name,price\n1,Widget,9.99\n2,Gadget,19.5\n3,Doohickey,4.25\n",
                                  "epoch,temperature,pressure\n0,21.5,1013\n1,21.7,1012\n2,21.9,1011\n",
                                  "step,name\n", ",x,y\n1,0.5,0.7\n2,0.4,0.8\n"],
                         ids=["id-name-price", "epoch-without-metrics", "header-only", "index-and-columns"])
def test_a_data_csv_is_not_a_training_run(tmp_path: Path, text: str) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "products.csv").write_text(text)
    write_healthy(tmp_path / "good")
    proc = lint("--format", "json", "--fail-on", "warning", tmp_path)
    assert [r["path"] for r in json.loads(proc.stdout)["runs"]] == [str(tmp_path / "good" / "history.json")]
    assert proc.returncode == 0, proc.stdout
    assert lint("--fail-on", "warning", tmp_path / "data" / "products.csv").returncode == 2  # nothing to lint


@pytest.mark.parametrize("text", ["epoch,loss\n0,1.0\n1,0.8\n", ",loss\n1,0.9\n2,0.8\n", "step,val_acc\n0,0.5\n1,0.6\n",
                                  "Wall time,Step,Value\n1.7e9,0,1.5\n1.7e9,10,1.2\n", "epoch,lr\n0,0.1\n1,0.1\n",
                                  "epoch,step,validation_epoch_average\n0,599,0.223\n1,1199,0.147\n"],
                         ids=["keras", "index-and-loss", "lightning-metric", "tensorboard-export", "lr-only",
                              "lightning-unknown-name"])
def test_a_training_csv_is_still_a_run(tmp_path: Path, text: str) -> None:
    (tmp_path / "metrics.csv").write_text(text)
    [run] = _read(tmp_path / "metrics.csv")
    assert run.series


# -- damage the fuzz suite found (tests/test_fuzz.py): each costs only itself ------------------------------------

def _tb(tmp_path: Path, data: bytes):
    (tmp_path / "events.out.tfevents.1.fuzz").write_bytes(data)
    [run] = _read(tmp_path)
    return run


def test_tensorboard_length_forged_past_the_end_with_records_after_it(tmp_path: Path) -> None:
    import struct

    import fuzzing

    seed = fuzzing.seed_tensorboard(12)
    data = seed.files[seed.target]
    a, b, _ = seed.records[3]
    head = struct.pack("<Q", 2 ** 40)  # a valid length CRC: the framing itself lies
    run = _tb(tmp_path, data[:a] + head + struct.pack("<I", fuzzing._masked_crc(head)) + data[a + 12:])
    assert run.series["loss"].steps.tolist() == [0, 1, 2, 4, 5, 6, 7, 8, 9, 10, 11]  # was: 0, 1, 2 ("truncated")
    assert [(p.kind, p.offset) for p in run.problems] == [("unreadable", a)]
    assert run.problems[0].message == (f"record at byte {a} claims {2 ** 40} bytes, past the end of the file; "
                                       f"skipped {b - a} bytes to the next valid record")


def test_tensorboard_bytes_deleted_inside_a_record(tmp_path: Path) -> None:
    """Deleting as many bytes as the next record holds left that record inside the damaged one's length."""
    import fuzzing

    seed = fuzzing.seed_tensorboard(12)
    data = seed.files[seed.target]
    k = next(k for k in range(11) if seed.records[k][1] - seed.records[k][0] - 24 > seed.records[k + 1][1] -
             seed.records[k + 1][0])  # a record longer than the next one
    (a, _, _), (a1, b1, _) = seed.records[k], seed.records[k + 1]
    cut = a + 16
    run = _tb(tmp_path, data[:cut] + data[cut + (b1 - a1):])  # record k loses bytes; k + 1 now lies inside it
    assert run.series["loss"].steps.tolist() == [i for i in range(12) if i != k]
    assert [p.kind for p in run.problems] == ["unreadable"]


def test_csv_stray_quote_costs_only_its_line(tmp_path: Path) -> None:
    rows = [f"{i},{1.0 / (i + 1)},{1.1 / (i + 1)}" for i in range(8)]
    rows[2] = '2,"0.33,0.36'  # the quote would join every later line into one cell
    (tmp_path / "metrics.csv").write_text("epoch,loss,val_loss\n" + "\n".join(rows) + "\n")
    [run] = _read(tmp_path / "metrics.csv")
    assert run.series["loss"].steps.tolist() == [0, 1, 3, 4, 5, 6, 7]
    assert [p.message for p in run.problems] == ["1 row(s) do not have the header's 3 cells (first at line 4); skipped"]


@pytest.mark.parametrize("cell", ["inf", "nan", "1e308", "9" * 30, "3.5"])
def test_csv_step_cell_that_is_not_a_step_costs_only_its_row(tmp_path: Path, cell: str) -> None:
    rows = [f"{i * 10},{1.0 / (i + 1)}" for i in range(30)]
    rows[7] = f"{cell},0.2"
    (tmp_path / "metrics.csv").write_text("step,loss\n" + "\n".join(rows) + "\n")
    [run] = _read(tmp_path / "metrics.csv")
    assert run.series["loss"].steps.tolist() == [i * 10 for i in range(30) if i != 7]  # was: row order for all
    assert [p.message for p in run.problems] == [
        "1 row(s) have a 'step' that is not a whole number below 2^62 (first at line 9); skipped"]


def test_fractional_epochs_are_still_row_order(tmp_path: Path) -> None:
    (tmp_path / "metrics.csv").write_text("epoch,loss\n" + "".join(f"{i / 4},{1 / (i + 1)}\n" for i in range(12)))
    [run] = _read(tmp_path / "metrics.csv")
    assert run.series["loss"].steps.tolist() == list(range(12)) and not run.problems


def test_steps_and_times_beyond_float_range_in_json_lines(tmp_path: Path) -> None:
    lines = [json.dumps({"step": i, "loss": 1.0 / (i + 1), "_timestamp": 1.7e9 + i}) for i in range(6)]
    lines[2] = '{"step": 1' + "0" * 400 + ', "loss": 0.3}'
    lines[3] = '{"step": 3, "loss": 0.25, "_timestamp": 1' + "0" * 400 + "}"
    (tmp_path / "metrics.jsonl").write_text("\n".join(lines) + "\n")
    [run] = _read(tmp_path / "metrics.jsonl")  # raised OverflowError (int too large to convert to float)
    assert run.series["loss"].steps.tolist() == [0, 1, 3, 4, 5]


def test_hparams_yaml_integer_too_long_for_int(tmp_path: Path) -> None:
    (tmp_path / "metrics.csv").write_text("epoch,loss\n0,1.0\n1,0.8\n2,0.7\n")
    (tmp_path / "hparams.yaml").write_text("lr: 0.01\nseed: " + "9" * 5000 + "\n")
    [run] = _read(tmp_path / "metrics.csv")  # raised ValueError (Exceeds the limit (4300 digits)) in readers.finish
    assert run.hparams == {"lr": 0.01}


def test_rule_option_integer_too_large_for_a_float(tmp_path: Path) -> None:
    write_healthy(tmp_path / "runs")
    (tmp_path / "pyproject.toml").write_text("[tool.curvelint.rules.overfitting]\nmin_rise = " + "9" * 400 + "\n")
    _assert_config_error(lint(tmp_path / "runs"), tmp_path / "pyproject.toml", "min_rise: expected a number")


def test_infinite_number_of_classes_does_not_crash_a_rule() -> None:
    from curvelint_rules._chance import classes_from_hparams

    assert classes_from_hparams({"model": {"num_classes": float("inf")}}) is None  # raised OverflowError (CL103)
    assert classes_from_hparams({"model": {"num_classes": 10}}).count == 10


# -- every output format: escaped or sanitised text, valid documents --------------------------------------------

def _hostile_tree(tmp_path: Path) -> list[Path]:
    """Two runs named with control/bidi characters and with bytes that are not UTF-8 (each a constant loss: CL101)."""
    made = []
    for name in (HOSTILE_NAME, os.fsdecode(b"run\xff\xfe")):
        try:
            write_healthy(tmp_path / name)
        except (OSError, UnicodeEncodeError):
            continue
        (tmp_path / name / "history.json").write_text('{"loss": [1.0, 1.0, 1.0, 1.0, 1.0, 1.0]}')
        made.append(tmp_path / name)
    if not made:
        pytest.skip("the file system refuses such names")
    return made


def test_json_output_has_no_surrogate_escapes(tmp_path: Path) -> None:
    made = _hostile_tree(tmp_path)
    proc = lint("--format", "json", tmp_path)
    assert proc.returncode == 1
    assert b"\\udc" not in proc.stdout.lower()  # was "run\udcff\udcfe": not Unicode, strict parsers refuse it
    doc = json.loads(proc.stdout.decode("utf-8"))
    paths = {r["path"] for r in doc["runs"]}
    if any(b"\xff" in os.fsencode(p) for p in made):
        assert f"{tmp_path}/run\\xff\\xfe/history.json" in paths
    (tmp_path / "out").mkdir()
    assert lint("--format", "json", "-o", tmp_path / "out" / "r.json", tmp_path).returncode == 1
    json.loads((tmp_path / "out" / "r.json").read_bytes().decode("utf-8"))


def test_junit_output_is_valid_xml_and_can_be_written(tmp_path: Path) -> None:
    import xml.etree.ElementTree as ET

    _hostile_tree(tmp_path)
    proc = lint("--format", "junit", tmp_path, tmp_path / "missing\x1b[31m\u202e")
    assert proc.returncode == 1, proc.stderr
    root = ET.fromstring(proc.stdout)  # raw \x1b, \x07 and lone surrogates made it invalid XML
    text = proc.stdout.decode("utf-8")
    for raw in RAW_CONTROLS:
        assert raw not in text, repr(raw)
    names = [case.get("name") for case in root.iter("testcase")]
    assert any("\\x1b[2J" in n and "\\u202e" in n for n in names), names
    (tmp_path / "out").mkdir()
    proc = lint("--format", "junit", "-o", tmp_path / "out" / "junit.xml", tmp_path)  # crashed: UnicodeEncodeError
    assert proc.returncode == 1 and b"Traceback" not in proc.stderr, proc.stderr
    ET.parse(tmp_path / "out" / "junit.xml")


def test_github_annotations_escape_control_and_bidi_characters(tmp_path: Path) -> None:
    _hostile_tree(tmp_path)
    proc = lint("--format", "github", tmp_path)
    text = proc.stdout.decode("utf-8")
    assert proc.returncode == 1 and "::error file=" in text
    for raw in RAW_CONTROLS:
        assert raw not in text, repr(raw)
    assert "\\u202e" in text


def test_numeric_warnings_never_reach_stderr(tmp_path: Path) -> None:
    rows = [f"{i},{1 / (i + 1)},{1.2 / (i + 1)}" for i in range(20)]
    rows[7] = "7,1e308,-1e308"  # differences overflow in several rules
    (tmp_path / "metrics.csv").write_text("epoch,loss,val_loss\n" + "\n".join(rows) + "\n")
    from fuzzing import seed_tensorboard

    tb = seed_tensorboard(8)
    (tmp_path / "tb").mkdir()
    (tmp_path / "tb" / "events.out.tfevents.1.x").write_bytes(tb.files[tb.target])
    proc = lint("--plot", tmp_path)
    assert proc.returncode in (0, 1) and proc.stderr == b"", proc.stderr.decode()


# -- FIFOs named by options and inside W&B runs -----------------------------------------------------------------

@needs_fifo
def test_data_option_naming_a_fifo(tmp_path: Path) -> None:
    write_healthy(tmp_path / "runs")
    os.mkfifo(tmp_path / "sample.npz")
    proc = lint("--data", tmp_path / "sample.npz", tmp_path / "runs")
    assert f"{tmp_path / 'sample.npz'}: cannot read: not a regular file (a FIFO)" in proc.stderr.decode()
    assert proc.returncode in (0, 1)
    proc = lint("--data", tmp_path / "nothing.npz", tmp_path / "runs")
    assert f"{tmp_path / 'nothing.npz'}: no such data file" in proc.stderr.decode()


@needs_fifo
def test_baseline_option_naming_a_fifo(tmp_path: Path) -> None:
    write_healthy(tmp_path / "runs")
    os.mkfifo(tmp_path / "baseline.json")
    proc = lint("--baseline", tmp_path / "baseline.json", tmp_path / "runs")  # blocked forever
    _assert_config_error(proc, tmp_path / "baseline.json", "cannot read baseline: not a regular file (a FIFO)")


@needs_fifo
@pytest.mark.parametrize("name", ["wandb-history.jsonl", "wandb-summary.json", "config.yaml"])
def test_wandb_files_that_are_fifos_are_reported_not_skipped(tmp_path: Path, name: str) -> None:
    import shutil

    from conftest import FIXTURES

    run = tmp_path / "wandb" / "offline-run-20250101_000000-healthy01"
    shutil.copytree(FIXTURES / "wandb" / run.name, run)
    (run / "files").mkdir()
    os.mkfifo(run / "files" / name)
    proc = lint("--format", "json", tmp_path)
    messages = [f["message"] for f in findings(proc) if f["rule"] == "CL001"]
    doc = json.loads(proc.stdout)
    if name == "config.yaml":  # hyperparameters: a note, the run is read
        assert not messages
    else:
        assert messages == [f"{run / 'files' / name}: cannot read: not a regular file (a FIFO)"], messages
    assert [r["points"] > 0 for r in doc["runs"]] == [True]  # the binary log is still read


@needs_fifo
def test_a_wandb_run_folder_with_only_a_fifo_is_a_run(tmp_path: Path) -> None:
    run = tmp_path / "wandb" / "run-20250101_000000-abc"
    (run / "files").mkdir(parents=True)
    os.mkfifo(run / "files" / "wandb-history.jsonl")  # skipped silently: the folder was not a run at all
    proc = lint("--format", "json", tmp_path)
    assert [f["message"] for f in findings(proc) if f["rule"] == "CL001"] == [
        f"{run / 'files' / 'wandb-history.jsonl'}: cannot read: not a regular file (a FIFO)"]


def test_compare_escapes_control_and_bidi_characters(tmp_path: Path) -> None:
    try:
        a = write_healthy(tmp_path / HOSTILE_NAME)
    except OSError:
        pytest.skip("the file system refuses such names")
    b = write_healthy(tmp_path / "b")
    proc = subprocess.run([sys.executable, "-m", "curvelint", "compare", str(a), str(b)], capture_output=True,
                          timeout=TIMEOUT, check=False)
    out = proc.stdout.decode("utf-8")
    assert proc.returncode == 0 and "val_loss" in out, proc.stderr
    for raw in RAW_CONTROLS:
        assert raw not in out, repr(raw)
    assert "\\x1b[2J" in out
