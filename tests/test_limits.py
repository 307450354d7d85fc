"""The readers' size and record limits ([tool.curvelint.limits], curvelint/limits.py): each format stops at
each limit it has, keeps what it read before, and a problem names the limit (CL002 when a part was read,
CL001 when nothing could be); the limits come from the configuration, also in worker processes."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

import fuzzing as F
from conftest import curvelint_command
from curvelint import limits, readers
from curvelint.config import ConfigError, parse_config
from curvelint.discovery import discover
from curvelint.limits import Limits


def _runs(path: Path, **values: int):
    sources, errors = discover([str(path)])
    assert not errors
    with limits.using(Limits(**values)):
        return [run for source in sources for run in readers.read(source)]


def _one(path: Path, **values: int):
    [run] = _runs(path, **values)
    return run


def _limit_problems(run) -> list:
    return [p for p in run.problems if limits.is_limit(p)]


def _write(root: Path, fmt: str) -> F.Seed:
    seed = F.seed(fmt)
    for rel, data in seed.files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    return seed


# -- configuration --------------------------------------------------------------------------------------------
def test_limits_table_is_validated_like_the_others() -> None:
    config = parse_config({"limits": {"file-bytes": "4 GiB", "text_bytes": "500MB", "lines": 10, "depth": 3,
                                      "memory-budget": "2 GB"}}, "pyproject.toml")
    assert config.limits == Limits(file_bytes=4 << 30, text_bytes=500_000_000, lines=10, depth=3,
                                   memory_budget=2 * 10 ** 9)
    assert parse_config({}, "pyproject.toml").limits == Limits()
    assert limits.shown("memory-budget", Limits().memory_budget) == "500 MB"
    for table, words in [({"nope": 1}, "limits.nope: unknown limit; valid limits: file-bytes, text-bytes, records, "
                          "lines, series-points, depth, line-bytes, memory-budget$"),
                         ({"lines": 0}, "limits.lines: expected a whole number of at least 1, got 0"),
                         ({"lines": "5"}, "limits.lines: expected a whole number of at least 1, got '5'"),
                         ({"depth": True}, "limits.depth: expected a whole number"),
                         ({"file-bytes": "9 parsecs"}, 'limits.file-bytes: expected a whole number of bytes, or a size '
                          'such as "512 MiB" of at least 1, got \'9 parsecs\''),
                         ({"text-bytes": 1.5}, "limits.text-bytes: expected a whole number of bytes")]:
        with pytest.raises(ConfigError, match="^pyproject.toml: tool.curvelint." + words.replace("(", r"\(")
                           .replace(")", r"\)").replace(".", r"\.").replace("'", "'")):
            parse_config({"limits": table}, "pyproject.toml")
    with pytest.raises(ConfigError, match="expected a table"):
        parse_config({"limits": 5}, "pyproject.toml")


def test_the_defaults_are_in_force_outside_a_lint() -> None:
    assert limits.current() == Limits()
    with limits.using(Limits(lines=3)):
        assert limits.current().lines == 3
        with limits.using(None):
            assert limits.current().lines == 3
    assert limits.current() == Limits()
    assert limits.shown("file-bytes", 2 << 30) == "2 GiB" and limits.shown("lines", 5_000_000) == "5,000,000"
    assert limits.shown("text-bytes", 1000) == "1,000 bytes"


# -- TensorBoard: file-bytes, records, series-points; a shape that would be repeated into gigabytes --------------
def test_tensorboard_file_bytes(tmp_path: Path) -> None:
    seed = _write(tmp_path, "tensorboard")
    cut = seed.records[10][0] + 5  # inside the 11th scalar record
    run = _one(tmp_path, file_bytes=cut)
    assert run.series["loss"].steps.tolist() == list(range(10))
    [problem] = run.problems
    assert problem.kind == "truncated" and problem.offset == cut
    assert problem.message == (f"the file is over the file-bytes limit ({cut:,} bytes): the records in its first "
                               f"{cut:,} bytes were read; raise [tool.curvelint.limits] file-bytes to read all of it")


def test_tensorboard_records_and_series_points(tmp_path: Path) -> None:
    seed = _write(tmp_path, "tensorboard")
    run = _one(tmp_path, records=6)  # the file_version record and 5 events
    assert run.series["loss"].steps.tolist() == [0, 1, 2, 3, 4]
    assert [(p.kind, p.offset) for p in run.problems] == [("truncated", seed.records[5][0])]
    assert "over the records limit (6): its first 6 records were read" in run.problems[0].message
    run = _one(tmp_path, series_points=4)
    assert run.series["loss"].steps.tolist() == [0, 1, 2, 3] and len(run.series["val_loss"]) == 4
    assert run.series["accuracy"].steps.tolist() == [0, 4, 8, 12]
    assert [p.message for p in run.problems] == [
        "series loss, accuracy, val_loss is over the series-points limit (4): the points at the lowest steps were "
        "read; raise [tool.curvelint.limits] series-points to read all of it"]


def test_a_histogram_shape_of_billions_is_not_allocated(tmp_path: Path) -> None:
    from tensorboard.compat.proto import event_pb2, summary_pb2

    v = summary_pb2.Summary.Value(tag="inputs")
    v.metadata.plugin_data.plugin_name = "histograms"
    v.tensor.dtype = 2
    v.tensor.tensor_shape.dim.add(size=10 ** 9)
    v.tensor.tensor_shape.dim.add(size=3)
    v.tensor.double_val.append(1.0)  # make_ndarray would repeat it 3 billion times
    seed = F.seed("tensorboard")
    event = event_pb2.Event(step=1, wall_time=1.7e9, summary=summary_pb2.Summary(value=[v])).SerializeToString()
    (tmp_path / "events.out.tfevents.1.x").write_bytes(seed.files[seed.target] + F.tfrecord(event))
    before = F.rss_mb()
    run = _one(tmp_path)
    assert run.inputs == [] and len(run.series["loss"]) == 24 and F.rss_mb() - before < 100


# -- text files: text-bytes, lines, line-bytes ----------------------------------------------------------------
def test_csv_text_bytes_and_lines(tmp_path: Path) -> None:
    seed = _write(tmp_path, "keras-csv")
    data = seed.files[seed.target]
    run = _one(tmp_path, text_bytes=seed.records[5][0] + 3)  # inside row 6
    assert run.series["loss"].steps.tolist() == [0, 1, 2, 3, 4]
    [problem] = run.problems
    assert problem.kind == "truncated" and "over the text-bytes limit" in problem.message
    assert f"its first {seed.records[5][0]:,} bytes were read (the whole lines in them)" in problem.message
    run = _one(tmp_path, lines=4)  # the header and 3 rows
    assert run.series["loss"].steps.tolist() == [0, 1, 2]
    assert [(p.kind, p.offset) for p in run.problems] == [("truncated", 5)]
    assert "over the lines limit (4): its first 4 lines were read" in run.problems[0].message
    assert len(data.splitlines()) == 21


def test_csv_line_longer_than_the_cell_limit_of_the_csv_module(tmp_path: Path) -> None:
    """A 300 KB cell raised csv.Error ("field larger than field limit") and lost every row after it."""
    rows = [f"{i},{1.0 / (i + 1)}" for i in range(10)]
    rows[4] = "4," + "7" * 300_000
    (tmp_path / "metrics.csv").write_text("epoch,loss\n" + "\n".join(rows) + "\n")
    run = _one(tmp_path)
    assert run.series["loss"].steps.tolist() == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]  # (7...7 is a number: inf)
    run = _one(tmp_path, line_bytes=100_000)
    assert run.series["loss"].steps.tolist() == [0, 1, 2, 3, 5, 6, 7, 8, 9]
    assert [p.message for p in run.problems] == [
        "line 6 is over the line-bytes limit (100,000 bytes): skipped, the other lines were read; raise "
        "[tool.curvelint.limits] line-bytes to read all of it"]


def test_json_lines_and_text_logs(tmp_path: Path) -> None:
    _write(tmp_path / "a", "jsonl")
    run = _one(tmp_path / "a", lines=5)
    assert run.series["loss"].steps.tolist() == [0, 1, 2, 3, 4]
    assert [(p.kind, p.offset) for p in run.problems] == [("truncated", 6)]
    seed = _write(tmp_path / "b", "jsonl")
    path = tmp_path / "b" / seed.target
    path.write_bytes(seed.files[seed.target].replace(b'"lr": 0.1}', b'"lr": 0.1, "pad": "' + b"x" * 5000 + b'"}', 1))
    run = _one(tmp_path / "b", line_bytes=4096)
    assert run.series["loss"].steps.tolist() == list(range(1, 24))
    assert {p.message.split(";")[0] for p in run.problems} >= {
        "line 1 is over the line-bytes limit (4 KiB): the first 4 KiB of it were read"}
    _write(tmp_path / "c", "text-log")
    run = _one(tmp_path / "c", lines=8)
    assert len(run.series["loss"]) == 4
    assert [p.kind for p in run.problems] == ["truncated"] and "lines limit (8)" in run.problems[0].message
    run = _one(tmp_path / "c", text_bytes=300)
    assert 0 < len(run.series["loss"]) < 10 and "text-bytes limit (300 bytes)" in run.problems[0].message


def test_mlflow_metric_lines(tmp_path: Path) -> None:
    _write(tmp_path, "mlflow")
    run = _one(tmp_path, lines=7)
    assert run.series["loss"].steps.tolist() == list(range(7)) and len(run.series["val_loss"]) == 7
    assert {p.path.rsplit("/", 1)[1] for p in _limit_problems(run)} == {"loss", "val_loss"}


def test_json_documents_over_text_bytes_are_not_read(tmp_path: Path) -> None:
    _write(tmp_path / "k", "keras-json")
    [problem] = _one(tmp_path / "k", text_bytes=100).problems
    assert problem.kind == "unreadable" and problem.message == (
        "cannot read: over the text-bytes limit (100 bytes): not read; raise [tool.curvelint.limits] text-bytes "
        "to read it")
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "train_annotations.json").write_text(json.dumps({"images": [{"id": i} for i in range(50)]}))
    assert _runs(tmp_path / "d", text_bytes=100) == []  # any *.json is a candidate: quiet unless it looks like one
    _write(tmp_path / "h", "trainer-state")
    run = _one(tmp_path / "h", text_bytes=200)
    assert [p.kind for p in run.problems] == ["unreadable"] and "text-bytes limit" in run.problems[0].message


# -- W&B, Parquet, ONNX, hparams.yaml -----------------------------------------------------------------------------
def test_wandb_file_bytes_and_records(tmp_path: Path) -> None:
    seed = _write(tmp_path, "wandb")
    cut = seed.records[150][0] + 10
    run = _one(tmp_path, file_bytes=cut)
    assert run.series["loss"].steps.tolist() == list(range(150))
    assert [p.kind for p in run.problems] == ["truncated"] and "file-bytes limit" in run.problems[0].message
    run = _one(tmp_path, records=100)
    assert run.series["loss"].steps.tolist() == list(range(100))
    assert "over the records limit (100): its first 100 records were read" in run.problems[0].message


def test_parquet_rows_of_a_table_that_expands(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    n = 2_000_000  # a constant column compresses to almost nothing
    pq.write_table(pa.table({"step": np.arange(n), "loss": np.full(n, 0.5)}), tmp_path / "metrics.parquet",
                   use_dictionary=["loss"], column_encoding={"step": "DELTA_BINARY_PACKED"}, compression="zstd")
    assert (tmp_path / "metrics.parquet").stat().st_size < 200_000
    run = _one(tmp_path, records=100_000)
    assert run.series["loss"].steps.tolist() == list(range(100_000))
    assert [p.message for p in run.problems] == [
        "the table is over the records limit (100,000): its first 100,000 rows were read; raise "
        "[tool.curvelint.limits] records to read all of it"]
    run = _one(tmp_path, file_bytes=1 << 20)
    assert 0 < len(run.series["loss"]) < 200_000 and "file-bytes limit (1 MiB)" in run.problems[0].message
    assert len(_one(tmp_path).series["loss"]) == n


def test_onnx_file_bytes(tmp_path: Path) -> None:
    _write(tmp_path, "onnx")
    run = _one(tmp_path, file_bytes=100)
    assert run.graph is None and len(run.series["loss"]) == 12
    assert [p.message for p in run.problems] == [
        "the model is over the file-bytes limit (100 bytes): not read; raise [tool.curvelint.limits] file-bytes to "
        "read it"]


def test_hparams_yaml_depth(tmp_path: Path) -> None:
    seed = _write(tmp_path, "hparams-yaml")
    deep = "".join(" " * (2 * d) + f"k{d}:\n" for d in range(10)) + " " * 20 + "lr: 0.5\n"
    (tmp_path / seed.target).write_text(F.HPARAMS + deep)
    run = _one(tmp_path, depth=4)
    assert run.hparams["lr"] == 0.001 and run.hparams["model"]["num_classes"] == 10
    assert run.hparams["k0"] == {"k1": {"k2": {"k3": {}}}}  # 4 levels; the 5th is left out
    [problem] = run.problems
    assert problem.message == ("the nesting of 'k0.k1.k2.k3.k4' is over the depth limit (4): the keys below that "
                               "level were left out; raise [tool.curvelint.limits] depth to read all of it")


# -- from the configuration, through the command line and worker processes -----------------------------------------
def test_configured_limits_reach_the_readers_and_the_report(tmp_path: Path) -> None:
    _write(tmp_path, "keras-csv")
    (tmp_path / "pyproject.toml").write_text("[tool.curvelint.limits]\nlines = 6\n")
    proc = subprocess.run([*curvelint_command(), "lint", "--no-color", "--format", "json", str(tmp_path)],
                          capture_output=True, timeout=60, check=False)
    [finding] = [f for f in json.loads(proc.stdout)["findings"] if f["rule"] == "CL002"]
    assert "over the lines limit (6): its first 6 lines were read" in finding["message"]
    assert finding["hint"] == limits.HINT
    assert json.loads(proc.stdout)["runs"][0]["points"] == 15


def test_configured_limits_reach_worker_processes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from curvelint import engine
    from curvelint.config import Config

    for name in "abc":
        _write(tmp_path / name, "keras-csv")
    monkeypatch.setattr(engine, "MIN_PARALLEL_BYTES", 0)
    monkeypatch.setattr("curvelint.workers.choose_workers", lambda jobs, *_: jobs)  # as many as asked
    report = engine.lint([str(tmp_path)], Config(limits=Limits(lines=3)), jobs=2)
    assert [r.points for r in report.runs] == [6, 6, 6]
    assert sum(f.rule == "CL002" for f in report.findings) == 3


@pytest.mark.parametrize("limit", [0, 1, 999, 1000, 1001, 10**15])
def test_read_limited_reads_what_the_file_holds_whatever_the_limit(tmp_path: Path, limit: int) -> None:
    """A limit far above the file (10**15 bytes) allocates nothing near it: the file is read in
    pieces of its own size (a single `read(limit)` raised MemoryError)."""
    from curvelint.fileio import read_limited

    path = tmp_path / "log.json"
    path.write_bytes(bytes(range(250)) * 4)  # 1,000 bytes
    body = path.read_bytes()
    assert read_limited(path, limit) == (body[:limit], len(body) > limit)
