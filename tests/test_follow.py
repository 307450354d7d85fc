"""Following runs while they are written (curvelint.follow) and the watcher on top of it."""

from __future__ import annotations

import json
import os
import random
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import FIXTURES

from curvelint import readers
from curvelint.config import Config
from curvelint.discovery import discover
from curvelint.follow import follower_for
from curvelint.readers import tensorboard as tb
from curvelint.watch import Watcher

INCREMENTAL = ("tensorboard", "csv", "mlflow")
RUNS = FIXTURES / "realbench" / "runs"


def same_runs(got, want) -> None:
    assert [r.name for r in got] == [r.name for r in want]
    for a, b in zip(got, want):
        assert a.series.keys() == b.series.keys(), a.path
        for name in a.series:
            assert np.array_equal(a.series[name].steps, b.series[name].steps), (a.path, name)
            assert np.array_equal(a.series[name].values, b.series[name].values, equal_nan=True), (a.path, name)
        assert (a.notes, a.hparams, a.unfinished) == (b.notes, b.hparams, b.unfinished), a.path
        assert [(p.kind, p.message, p.offset) for p in a.problems] == \
               [(p.kind, p.message, p.offset) for p in b.problems if p.kind != "truncated"], a.path


def _sources(*roots: Path):
    return [s for root in roots for s in discover([str(root)])[0] if s.format in INCREMENTAL]


def test_a_followed_run_is_the_run_the_readers_read():
    picked = [p for family in ("pl-mlp-digits", "k-mlp-cancer", "k-cnn-digits", "pt-mlp-cancer")
              for p in sorted(RUNS.glob(family + "-*"))[:4]]
    sources = _sources(FIXTURES / "demo", FIXTURES / "broken", *picked)
    assert {s.format for s in sources} >= {"tensorboard", "csv"} and len(sources) >= 20
    for source in sources:
        follower = follower_for(source)
        same_runs(follower.poll(), readers.read(source))
        assert follower.poll() is None  # nothing changed


def _mlflow(root: Path, points: int = 60) -> dict[str, bytes]:
    """The files of an MLflow run: a loss and an accuracy metric, params and meta.yaml."""
    lines = {"metrics/loss": "", "metrics/val/acc": ""}
    for step in range(points):
        lines["metrics/loss"] += f"{1700000000000 + step} {2.0 / (step + 1):.6f} {step}\n"
        if step % 5 == 4:
            lines["metrics/val/acc"] += f"{1700000000000 + step} {step / points:.4f} {step}\n"
    files = {k: v.encode() for k, v in lines.items()}
    files["params/lr"] = b"0.01"
    files["meta.yaml"] = b"status: 3\nend_time: 1700000100000\n"
    return files


def _write_in_chunks(contents: dict[str, bytes], dst: Path, fmt: str, rng: random.Random, poll_every=1):
    """Append the files' bytes in random pieces (cut anywhere, mid-record too), polling as it goes."""
    written = {k: 0 for k in contents}
    follower, polls = None, 0
    while any(written[k] < len(v) for k, v in contents.items()):
        key = rng.choice([k for k in contents if written[k] < len(contents[k])])
        size = rng.randint(1, max(1, len(contents[key]) // 4))
        path = dst / key
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "ab") as fh:
            fh.write(contents[key][written[key]:written[key] + size])
        written[key] += size
        found = [s for s in discover([str(dst)])[0] if s.format == fmt]
        if not found:
            continue
        if follower is None:
            follower = follower_for(found[0])
        follower.update(found[0])
        runs = follower.poll()
        polls += 1
        for run in runs or ():
            assert not [p for p in run.problems if p.kind == "truncated"]  # a partial record waits, unsaid
    return follower, polls


CASES = {"tensorboard": lambda: FIXTURES / "demo" / "nan_loss",
         "keras_tf2_layout": lambda: FIXTURES / "demo" / "keras_tf2_layout",
         "lightning_csv": lambda: next(RUNS.glob("pl-mlp-digits-*/lightning_logs/version_0/metrics.csv")),
         "keras_csvlogger": lambda: next(RUNS.glob("k-cnn-digits-*/training.log"))}


@pytest.mark.parametrize("case", [*CASES, "mlflow"])
def test_a_run_written_piece_by_piece_ends_as_the_whole_file_reads(tmp_path, case):
    rng = random.Random(case)
    if case == "mlflow":
        contents, fmt = _mlflow(tmp_path), "mlflow"
    else:
        src = CASES[case]()
        base = src if src.is_dir() else src.parent
        files = [src] if src.is_file() else [p for p in base.rglob("*") if p.is_file()]
        contents = {str(p.relative_to(base)): p.read_bytes() for p in files}
        fmt = "tensorboard" if src.is_dir() else "csv"
    follower, polls = _write_in_chunks(contents, tmp_path / "run", fmt, rng)
    assert polls > 5
    source = [s for s in discover([str(tmp_path / "run")])[0] if s.format == fmt][0]
    follower.update(source)
    follower.poll()
    same_runs(follower.current(), readers.read(source))


def test_only_appended_bytes_are_decoded(tmp_path, monkeypatch):
    sys_path = FIXTURES / "demo" / "healthy_tensorboard"
    event = next(p for p in sys_path.iterdir() if "tfevents" in p.name)
    data = event.read_bytes()
    run = tmp_path / "run"
    run.mkdir()
    target = run / event.name
    decoded: list[int] = []
    real = tb.read_data
    monkeypatch.setattr(tb, "read_data", lambda chunk, *a, **k: decoded.append(len(chunk)) or real(chunk, *a, **k))
    target.write_bytes(data[: len(data) // 2 + 7])  # cut inside a record
    follower = follower_for(discover([str(run)])[0][0])
    first = follower.poll()[0]
    with open(target, "ab") as fh:
        fh.write(data[len(data) // 2 + 7:])
    second = follower.poll()[0]
    assert sum(decoded) < len(data) + 200  # the partial record is read again, nothing else
    assert decoded[0] == len(data) // 2 + 7 and decoded[1] < len(data) // 2 + 100
    assert second.points > first.points
    same_runs([second], readers.read(discover([str(run)])[0][0]))


def test_a_rewritten_csv_with_a_new_column_and_a_replaced_event_file_are_read_again(tmp_path):
    log = tmp_path / "metrics.csv"
    log.write_text("epoch,loss\n0,1.0\n1,0.8\n")
    follower = follower_for(discover([str(tmp_path)])[0][0])
    assert set(follower.poll()[0].series) == {"loss"}
    log.write_text("epoch,loss,val_loss\n0,1.0,1.1\n1,0.8,0.9\n2,0.7,0.85\n")  # Lightning rewrites on a new key
    run = follower.poll()[0]
    assert set(run.series) == {"loss", "val_loss"} and run.series["loss"].values.tolist() == [1.0, 0.8, 0.7]
    log.write_text("epoch,loss\n0,5.0\n")  # a new fit (shorter): restarted
    assert follower.poll()[0].series["loss"].values.tolist() == [5.0]

    tbrun = tmp_path / "tb"
    shutil.copytree(FIXTURES / "demo" / "nan_loss", tbrun)
    event = next(tbrun.iterdir())
    follower = follower_for([s for s in discover([str(tbrun)])[0]][0])
    before = follower.poll()[0]
    healthy = next((FIXTURES / "demo" / "healthy_tensorboard").iterdir())
    replacement = tmp_path / "new"
    shutil.copy(healthy, replacement)
    os.replace(replacement, event)  # same name, another file
    after = follower.poll()[0]
    same_runs([after], readers.read(discover([str(tbrun)])[0][0]))
    assert set(after.series) != set(before.series) or after.points != before.points


def test_a_half_written_json_waits_for_the_next_poll(tmp_path):
    history = {"loss": [1.0, 0.8, 0.6, 0.5], "val_loss": [1.1, 0.9, 0.8, 0.75]}
    path = tmp_path / "history.json"
    path.write_text(json.dumps(history)[:20])
    follower = follower_for(discover([str(tmp_path)])[0][0])
    assert follower.poll() is None  # perhaps caught half-written: held once
    path.write_text(json.dumps(history))
    assert follower.poll()[0].series["loss"].values.tolist() == history["loss"]


def test_watcher_reports_an_error_once_and_follows_hf_checkpoints_as_one_run(tmp_path):
    watcher = Watcher([str(tmp_path)], Config())
    log = tmp_path / "run" / "training.csv"
    log.parent.mkdir()
    log.write_text("epoch,loss,val_loss\n")
    assert watcher.poll() == []
    kinds = []
    for epoch in range(12):
        loss = "nan" if epoch >= 8 else f"{2.0 * 0.8 ** epoch:.4f}"
        with open(log, "a") as fh:
            fh.write(f"{epoch},{loss},{loss}\n")
        kinds += [(c.kind, c.finding.rule) for c in watcher.poll()]
    assert kinds.count(("new", "CL100")) == 2 and ("cleared", "CL100") not in kinds  # loss and val_loss

    out = tmp_path / "hf"
    changes = []
    for step in (10, 20, 30, 40):
        state = out / f"checkpoint-{step}" / "trainer_state.json"
        state.parent.mkdir(parents=True)
        state.write_text(json.dumps({"global_step": step, "max_steps": 40, "log_history": [
            {"step": s, "loss": 0.7 + 0.0001 * (s % 3)} for s in range(1, step + 1)]}))
        changes += [(c.kind, c.finding.rule) for c in watcher.poll() if c.finding.path.startswith(str(out))]
    assert ("cleared", "CL101") not in changes  # a new checkpoint folder is the same run
    before = sorted(str(p) for p in tmp_path.rglob("*"))
    watcher.poll()
    assert sorted(str(p) for p in tmp_path.rglob("*")) == before  # nothing written into the watched tree


def test_watcher_shows_a_waiting_finding_once_its_run_stopped_being_written(tmp_path):
    (tmp_path / "history.json").write_text(json.dumps({"loss": [1.0] * 20}))  # constant: CL101 error
    waiting = Watcher([str(tmp_path)], Config(), idle=3600)
    assert waiting.poll() == [] and waiting.poll() == []  # one evaluation: waits for its confirmation
    assert [(c.kind, c.finding.rule) for c in waiting.tracker.settle()] == [("new", "CL101")]
    ended = Watcher([str(tmp_path)], Config(), idle=0)
    assert ended.poll() == []
    assert [(c.kind, c.finding.rule) for c in ended.poll()] == [("new", "CL101")]  # idle: the run ended


def test_a_follower_that_fails_is_replaced_by_reading_the_run_whole(tmp_path, monkeypatch):
    shutil.copytree(FIXTURES / "demo" / "nan_loss", tmp_path / "run")
    from curvelint.follow import tensorboard as follow_tb

    monkeypatch.setattr(follow_tb.TensorBoardFollower, "poll", lambda self: 1 / 0)
    watcher = Watcher([str(tmp_path)], Config())
    assert [(c.kind, c.finding.rule) for c in watcher.poll()] == [("new", "CL100"), ("new", "CL100")]
    assert "ZeroDivisionError" in watcher.notes[0]
