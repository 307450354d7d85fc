"""Non-TensorBoard readers: Keras history JSON, HF trainer_state, Parquet, CSV logs, MLflow.

Synthetic files are written with the real writers (json.dump, pyarrow, the csv module);
the last tests read every non-TensorBoard file of the shared real-world corpus.
"""

from __future__ import annotations

import csv
import json
import math
import os
import re
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from curvelint import readers
from curvelint.discovery import RunSource, discover
from curvelint.model import Run

REALWORLD = Path(__file__).resolve().parents[1].parent / "shared" / "realworld"


def _read(path: Path, fmt: str | None = None) -> list[Run]:
    """Discover `path` (a file or a run folder) and read it with the reader discovery picks."""
    sources, errors = discover([str(path)])
    assert not errors
    if fmt is not None:
        sources = [s for s in sources if s.format == fmt]
    runs = []
    for source in sources:
        runs.extend(readers.read(source))
    for run in runs:
        for p in run.problems:
            assert not _crashed(p.message), p
    return runs


def _crashed(message: str) -> bool:
    """readers.read's last line of defence writes "<ExceptionType>: ..." - a reader bug."""
    return re.match(r"\w+(Error|Exception|Warning): ", message) is not None


def _one(path: Path, fmt: str | None = None) -> Run:
    [run] = _read(path, fmt)
    return run


def _kinds(run: Run) -> set[str]:
    return {p.kind for p in run.problems}


# -- Keras history JSON ----------------------------------------------------------------------------
def _history(n: int = 6) -> dict[str, list[float]]:
    return {"loss": [1.0 / (i + 1) for i in range(n)], "accuracy": [0.5 + 0.05 * i for i in range(n)],
            "val_loss": [1.1 / (i + 1) for i in range(n)], "val_accuracy": [0.45 + 0.05 * i for i in range(n)],
            "lr": [1e-3] * n}


def test_keras_history_dict(tmp_path):
    history = _history()
    history["val_loss"][3] = float("nan")
    with open(tmp_path / "history.json", "w") as f:
        json.dump(history, f)  # writes the NaN token
    run = _one(tmp_path / "history.json")
    assert run.format == "keras-history" and run.path == run.name == str(tmp_path / "history.json")
    assert set(run.series) == set(history)
    assert run.series["loss"].steps.tolist() == list(range(6))
    assert run.series["loss"].steps.dtype == np.int64 and run.series["loss"].values.dtype == np.float64
    assert math.isnan(run.series["val_loss"].values[3])
    assert run.hparams == {"lr": 1e-3}
    assert not run.problems


def test_keras_history_numbers(tmp_path):
    """Plain lists convert in one go; nulls are NaN, huge ints infinite; a few booleans or texts in a metric's
    list are damage: those epochs are skipped (CL001), the others kept; a list mostly of them is no history."""
    history = _history(4)
    history["loss"] = [1, None, 0.5, 10 ** 400]
    (tmp_path / "history.json").write_text(json.dumps(history))
    values = _one(tmp_path / "history.json").series["loss"].values
    assert values[0] == 1.0 and math.isnan(values[1]) and values[2] == 0.5 and values[3] == math.inf
    for odd in ([True, 0.5, 0.4, 0.3], ["0.5", 0.5, 0.4, 0.3], [[1], 0.5, 0.4, 0.3]):
        history["loss"] = odd
        (tmp_path / "history.json").write_text(json.dumps(history))
        run = _one(tmp_path / "history.json")
        assert run.series["loss"].steps.tolist() == [1, 2, 3] and run.series["loss"].values.tolist() == [0.5, 0.4, 0.3]
        assert [p.message for p in run.problems] == [
            "1 value(s) of loss are not numbers (first: loss[0]); those epochs were skipped"]
    for odd in ([True, "a", [1], 0.3], ["0.5", "0.4"]):
        history["loss"] = odd
        (tmp_path / "history.json").write_text(json.dumps(history))
        assert _read(tmp_path / "history.json") == []


def test_keras_history_python_repr_string(tmp_path):
    history = {"loss": [np.float32(0.5), np.float32(0.25)], "val_loss": [float("nan"), 0.3]}
    with open(tmp_path / "model_history.json", "w") as f:
        json.dump(str(history), f)  # "{'loss': [np.float32(0.5), ...], 'val_loss': [nan, 0.3]}"
    run = _one(tmp_path / "model_history.json")
    assert run.series["loss"].values.tolist() == [0.5, 0.25]
    assert math.isnan(run.series["val_loss"].values[0])
    assert any("repr" in n for n in run.notes)


@pytest.mark.parametrize("payload", [
    "__import__('os').system('touch PWNED')",  # never evaluated: not a literal
    "{'loss': [open('x').read()]}",
    "{'loss': (lambda: 1)()}",
    "{[1]: [2.0], 'loss': [1.0]}",  # an unhashable key
])
def test_keras_repr_only_literals(tmp_path, payload):
    with open(tmp_path / "history.json", "w") as f:
        json.dump(payload, f)
    assert _read(tmp_path / "history.json") == []
    assert not (tmp_path / "PWNED").exists()


@pytest.mark.parametrize("obj", [
    {"name": "resnet", "layers": 50},  # a config
    {"layers": [64, 32], "dropout": [0.1, 0.2]},  # lists, but no metric
    {"loss": [1.0, 0.5], "accuracy": [0.5]},  # unequal training lists
    {"loss": ["a", "b"]},
    [1, 2, 3],
    "just a string",
])
def test_other_json_is_ignored(tmp_path, obj):
    with open(tmp_path / "config.json", "w") as f:
        json.dump(obj, f)
    assert _read(tmp_path / "config.json") == []


def test_keras_validation_freq_and_wrapper(tmp_path):
    h = {"loss": [4.0, 3.0, 2.0, 1.0], "val_loss": [3.5, 1.5]}
    with open(tmp_path / "h.json", "w") as f:
        json.dump({"history": h, "params": {"epochs": 4}}, f)
    run = _one(tmp_path / "h.json")
    assert run.series["val_loss"].steps.tolist() == [1, 3]
    assert any("validation_freq=2" in n for n in run.notes)


def test_keras_malformed_json_is_unreadable_with_line(tmp_path):
    (tmp_path / "history.json").write_text('{"loss": [1.0,\n 0.5,, 0.2]}')
    run = _one(tmp_path / "history.json")
    [problem] = run.problems
    assert problem.kind == "unreadable" and problem.offset == 2
    assert "line 2 column" in problem.message and "\n" not in problem.message


def test_broken_unrelated_json_is_ignored_but_empty_history_reported(tmp_path):
    (tmp_path / "tsconfig.json").write_text('{\n  // comment\n  "compilerOptions": {}\n}')
    (tmp_path / "settings.json").write_text("")
    (tmp_path / "history.json").write_text("")
    runs = _read(tmp_path)
    assert [os.path.basename(r.path) for r in runs] == ["history.json"]
    assert _kinds(runs[0]) == {"unreadable"}


# -- HF trainer_state.json -------------------------------------------------------------------------
def _trainer_state(log_history: list[dict], **top) -> dict:
    state = {"global_step": 40, "max_steps": 40, "num_train_epochs": 2, "train_batch_size": 8,
             "epoch": 2.0, "log_history": log_history,
             "stateful_callbacks": {"EarlyStoppingCallback": {"args": {"early_stopping_patience": 3}}}}
    state.update(top)
    return state


def _log_history() -> list[dict]:
    out: list[dict] = []
    for step in range(10, 41, 10):
        out.append({"epoch": step / 20, "grad_norm": 1.0, "learning_rate": 5e-5, "loss": 2.0 / step * 10,
                    "rewards/chosen": 0.1 * step, "step": step})
        if step % 20 == 0:
            out.append({"epoch": step / 20, "eval_loss": 1.5 - step / 100, "eval_runtime": 3.2,
                        "eval_samples_per_second": 100.0, "eval_steps_per_second": 12.5, "step": step})
    out.append({"epoch": 2.0, "step": 40, "total_flos": 1e12, "train_loss": 0.9, "train_runtime": 55.0,
                "train_samples_per_second": 5.0, "train_steps_per_second": 0.7})
    return out


def test_trainer_state(tmp_path):
    folder = tmp_path / "checkpoint-40"
    folder.mkdir()
    with open(folder / "trainer_state.json", "w") as f:
        json.dump(_trainer_state(_log_history()), f, indent=2)
    run = _one(tmp_path)
    assert run.format == "hf-trainer-state"
    assert set(run.series) == {"loss", "grad_norm", "learning_rate", "rewards/chosen", "eval_loss"}
    assert run.series["loss"].steps.tolist() == [10, 20, 30, 40]
    assert run.series["eval_loss"].steps.tolist() == [20, 40]
    assert run.hparams["train_batch_size"] == 8 and run.hparams["early_stopping_patience"] == 3
    assert run.hparams["learning_rate"] == 5e-5  # constant
    assert not run.problems and not run.notes


def test_trainer_state_truncated_and_empty(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with open(tmp_path / "a" / "trainer_state.json", "w") as f:
        json.dump(_trainer_state(_log_history()[:3], global_step=30, max_steps=200), f)
    with open(tmp_path / "b" / "trainer_state.json", "w") as f:
        json.dump(_trainer_state([]), f)
    truncated = _one(tmp_path / "a")
    assert any("global_step 30 of max_steps 200" in n for n in truncated.notes)
    empty = _one(tmp_path / "b")
    assert empty.series == {} and not empty.problems


def test_trainer_state_checkpoint_copies_are_linted_once(tmp_path):
    """HF saves prefixes of the final state in checkpoint-N/ and last-checkpoint/: lint the newest."""
    history = _log_history()
    for folder, n in [("checkpoint-20", 2), ("checkpoint-100", 3), ("last-checkpoint", 4), (".", len(history))]:
        (tmp_path / "out" / folder).mkdir(parents=True, exist_ok=True)
        with open(tmp_path / "out" / folder / "trainer_state.json", "w") as f:
            json.dump(_trainer_state(history[:n]), f)
    (tmp_path / "other" / "checkpoint-7").mkdir(parents=True)
    (tmp_path / "other" / "checkpoint-30").mkdir(parents=True)
    for folder in ("checkpoint-7", "checkpoint-30"):
        with open(tmp_path / "other" / folder / "trainer_state.json", "w") as f:
            json.dump(_trainer_state(history), f)
    sources, _ = discover([str(tmp_path)])
    paths = sorted(os.path.relpath(s.path, tmp_path) for s in sources)
    assert paths == ["other/checkpoint-30/trainer_state.json", "out/trainer_state.json"]
    final = next(s for s in sources if s.path.endswith("out/trainer_state.json"))
    assert len(final.notes) == 3 and all("older checkpoint copy" in n for n in final.notes)
    [run] = readers.read(final)
    assert run.notes[-3:] == list(final.notes)


@pytest.mark.parametrize("text, offset", [('{"log_history": [', 1), ('{"global_step": 3}', None), ("", None)])
def test_trainer_state_broken(tmp_path, text, offset):
    (tmp_path / "trainer_state.json").write_text(text)
    run = _one(tmp_path / "trainer_state.json")
    [problem] = run.problems
    assert problem.kind == "unreadable" and problem.offset == offset


# -- Parquet ---------------------------------------------------------------------------------------
def test_parquet_long_form_with_runs(tmp_path):
    rows = [(run, tag, step, 1.0 / (step + 1) + (run == "b"), 1000.0 + step)
            for run in ("a", "b") for step in range(5) for tag in ("loss", "val_loss") if tag == "loss" or step % 2]
    rows.reverse()  # unordered table: the reader sorts by step
    fields = ("run", "tag", "step", "value", "wall_time")
    table = pa.table({name: [r[i] for r in rows] for i, name in enumerate(fields)})
    pq.write_table(table, tmp_path / "m.parquet")
    runs = _read(tmp_path / "m.parquet")
    assert [r.name for r in runs] == [f"{tmp_path / 'm.parquet'}:a", f"{tmp_path / 'm.parquet'}:b"]
    assert all(r.path == str(tmp_path / "m.parquet") and r.format == "parquet" for r in runs)
    a = runs[0]
    assert a.series["loss"].steps.tolist() == [0, 1, 2, 3, 4]
    assert a.series["val_loss"].steps.tolist() == [1, 3]
    assert a.series["loss"].wall_times.tolist() == [1000.0, 1001.0, 1002.0, 1003.0, 1004.0]
    assert runs[1].series["loss"].values[0] == 2.0


def _same_runs(a: list[Run], b: list[Run]) -> None:
    assert [r.name for r in a] == [r.name for r in b] and [r.notes for r in a] == [r.notes for r in b]
    for x, y in zip(a, b):
        assert list(x.series) == list(y.series)
        for name in x.series:
            sx, sy = x.series[name], y.series[name]
            assert sx.steps.tobytes() == sy.steps.tobytes() and sx.steps.dtype == np.int64
            assert sx.values.tobytes() == sy.values.tobytes()
            assert (sx.wall_times is None and sy.wall_times is None) or sx.wall_times.tobytes() == sy.wall_times.tobytes()


@pytest.mark.parametrize("with_run", [True, False])
def test_parquet_long_row_order_does_not_matter(tmp_path, with_run):
    """Blocks per (run, tag) are read as views, other orders are sorted: the same runs either way."""
    rng = np.random.default_rng(0)
    n = 4000
    runs = rng.choice(np.array(["b", "a", None], dtype=object), n) if with_run else None
    tags = rng.choice(np.array(["val_loss", "loss", "acc", None], dtype=object), n)
    columns = {"tag": pa.array(tags), "step": np.arange(n) // 3, "wall_time": np.arange(n) * 0.5,
               "value": pa.array(rng.normal(size=n), mask=rng.random(n) < 0.05)}
    if with_run:
        columns["run"] = pa.array(runs)
    table = pa.table(columns)
    pq.write_table(table, tmp_path / "logged.parquet", row_group_size=900)  # several row groups
    key = [f"{r}/{t}" for r, t in zip(runs if with_run else [""] * n, tags)]
    blocks = table.take(pa.array(sorted(range(n), key=key.__getitem__)))  # each (run, tag) contiguous
    pq.write_table(blocks, tmp_path / "blocks.parquet")
    logged, grouped = _read(tmp_path / "logged.parquet"), _read(tmp_path / "blocks.parquet")
    assert len(logged) == (3 if with_run else 1)  # a, b and the rows without a run
    for run in grouped:
        run.name = run.name.replace("blocks.parquet", "logged.parquet")
    _same_runs(logged, grouped)
    loss = logged[-1 if not with_run else 0].series["loss"]
    assert np.all(np.diff(loss.steps) > 0) and not np.isnan(loss.values).any()


def test_parquet_long_tags_cycling_per_step(tmp_path):
    """Every tag at every step (a logger's order, last step cut short): read as strided views, same runs."""
    n = 3001
    run = np.where(np.arange(n) < 1500, "second", "first")
    tag = np.array(["loss", "acc", "lr"])[np.arange(n) % 3]
    table = pa.table({"run": run, "tag": tag, "step": np.arange(n) // 3, "value": np.arange(n) * 0.5})
    pq.write_table(table, tmp_path / "cycling.parquet")
    blocks = table.take(pa.array(sorted(range(n), key=lambda i: (run[i], tag[i]))))
    pq.write_table(blocks, tmp_path / "blocks.parquet")
    cycling, grouped = _read(tmp_path / "cycling.parquet"), _read(tmp_path / "blocks.parquet")
    for r in grouped:
        r.name = r.name.replace("blocks.parquet", "cycling.parquet")
    _same_runs(cycling, grouped)
    assert [r.name.rsplit(":", 1)[1] for r in cycling] == ["first", "second"]
    assert cycling[1].series["lr"].values.tolist() == [0.5 * i for i in range(2, 1500, 3)]


def test_parquet_wide_form_nulls_and_nan(tmp_path):
    table = pa.table({"epoch": [0, 1, 2, 3], "loss": [1.0, 0.8, float("nan"), 0.5],
                      "val_loss": pa.array([None, 0.9, None, 0.7], pa.float64()), "note": ["a", "b", "c", "d"]})
    pq.write_table(table, tmp_path / "wide.parquet")
    run = _one(tmp_path / "wide.parquet")
    assert run.series["loss"].steps.tolist() == [0, 1, 2, 3] and math.isnan(run.series["loss"].values[2])
    assert run.series["val_loss"].steps.tolist() == [1, 3]
    assert "epoch" not in run.series and "note" not in run.series
    assert any("non-numeric" in n for n in run.notes)


def test_parquet_broken(tmp_path):
    pq.write_table(pa.table({"host": ["n1", "n2"], "message": ["up", "down"]}), tmp_path / "wrong.parquet")
    (tmp_path / "empty.parquet").write_bytes(b"")
    (tmp_path / "junk.parquet").write_bytes(b"PAR1 this is not parquet")
    wrong, empty, junk = (_one(tmp_path / n) for n in ("wrong.parquet", "empty.parquet", "junk.parquet"))
    [problem] = wrong.problems
    assert problem.kind == "unreadable" and "host, message" in problem.message and "tag, step, value" in problem.message
    assert _kinds(empty) == _kinds(junk) == {"unreadable"}


def test_parquet_without_step(tmp_path):
    index = pa.array([0, 0, 0], pa.int64())
    pq.write_table(pa.table({"model_map": [None, 0.5, 0.4], "__index_level_0__": index}), tmp_path / "evals.parquet")
    pq.write_table(pa.table({"f0": [0.1, 0.2], "label": [0, 1]}), tmp_path / "sample.parquet")
    run = _one(tmp_path / "evals.parquet")
    assert run.series["model_map"].steps.tolist() == [1, 2]
    assert any("row order" in n for n in run.notes)
    assert _read(tmp_path / "sample.parquet") == []  # a --data sample, not a log


# -- CSV -------------------------------------------------------------------------------------------
def _write_csv(path: Path, header: list[str], rows: list[list], **kw) -> None:
    with open(path, "w", newline="") as f:
        writer = csv.writer(f, **kw)  # default line terminator: \r\n, as Keras's CSVLogger
        writer.writerow(header)
        writer.writerows(rows)


def test_keras_csvlogger_appended_fits(tmp_path):
    rows = [[e, 1.0 - 0.1 * e, 1e-4] for e in range(3)] + [[e, 0.6 - 0.1 * e, 1e-4] for e in range(2)]
    _write_csv(tmp_path / "training.log", ["epoch", "loss", "lr"], rows)
    first, second = _read(tmp_path / "training.log")  # each fit() is a run of its own
    assert first.format == second.format == "csv"
    assert first.path == second.path == str(tmp_path / "training.log")
    assert (first.name, second.name) == (f"{first.path}:fit1", f"{first.path}:fit2")
    assert first.series["loss"].steps.tolist() == [0, 1, 2] and second.series["loss"].steps.tolist() == [0, 1]
    assert "epoch" not in first.series and first.hparams == {"lr": 1e-4}
    assert any("fit 2 of 2" in n and "lines 5-6" in n for n in second.notes)


def test_lightning_sparse_csv(tmp_path):
    header = ["epoch", "step", "train_loss_step", "train_loss_epoch", "val_loss"]
    rows = [[0, 49, 1.5, "", ""], [0, 62, "", 1.4, ""], [0, 62, "", "", 1.3],
            [1, 99, "nan", "", ""], [1, 124, "", 1.1, ""], [1, 124, "", "", 1.0]]
    _write_csv(tmp_path / "metrics.csv", header, rows, lineterminator="\n")
    run = _one(tmp_path / "metrics.csv")
    assert run.series["train_loss_step"].steps.tolist() == [49, 99]
    assert math.isnan(run.series["train_loss_step"].values[1])
    assert run.series["val_loss"].steps.tolist() == [62, 124]
    assert set(run.series) == {"train_loss_step", "train_loss_epoch", "val_loss"}
    assert not run.notes and not run.problems


def test_yolov5_padded_csv_and_broken_line_endings(tmp_path):
    (tmp_path / "results.csv").write_text("      epoch,  train/box_loss,    x/lr0\n"
                                          "          0,        0.12278,  0.09\n"
                                          "          1,        0.11844,  0.08\n")
    run = _one(tmp_path / "results.csv")
    assert run.series["train/box_loss"].values.tolist() == [0.12278, 0.11844]
    (tmp_path / "k.csv").write_bytes(b"epoch,loss,val_loss\r\r\n0,1.7,1.89\r\r\n1,1.6,1.88\r\r\n")
    run = _one(tmp_path / "k.csv")
    assert run.series["val_loss"].steps.tolist() == [0, 1] and not run.problems


def test_csv_separators_and_tensorboard_export(tmp_path):
    _write_csv(tmp_path / "semi.csv", ["epoch", "loss"], [[0, 1.0], [1, 0.9]], delimiter=";")
    assert _one(tmp_path / "semi.csv").series["loss"].values.tolist() == [1.0, 0.9]
    _write_csv(tmp_path / "run-tag-loss.csv", ["Wall time", "Step", "Value"], [[1.7e9, 0, 1.5], [1.7e9 + 1, 10, 1.2]])
    value = _one(tmp_path / "run-tag-loss.csv").series["Value"]
    assert value.steps.tolist() == [0, 10] and value.wall_times.tolist() == [1.7e9, 1.7e9 + 1]


def test_csv_that_is_not_a_log(tmp_path):
    _write_csv(tmp_path / "data.csv", ["f0", "f1", "label"], [[0.1, 0.2, "cat"], [0.3, 0.1, "dog"]])
    _write_csv(tmp_path / "people.csv", ["name", "age"], [["ann", 31], ["bob", 40]])
    assert _read(tmp_path / "data.csv") == [] and _read(tmp_path / "people.csv") == []
    _write_csv(tmp_path / "export.csv", ["", "loss"], [[1, 0.9], [2, 0.8]])
    run = _one(tmp_path / "export.csv")  # an increasing integer first column is the step
    assert run.series["loss"].steps.tolist() == [1, 2]


def test_csv_broken(tmp_path):
    (tmp_path / "metrics.csv").write_bytes(b"")
    assert _kinds(_one(tmp_path / "metrics.csv")) == {"unreadable"}
    (tmp_path / "cut.csv").write_text("epoch,loss,val_loss\n0,1.0,1.1\n1,0.9,1.0\n2,0.8")
    cut = _one(tmp_path / "cut.csv")
    assert _kinds(cut) == {"truncated"} and cut.problems[0].offset == 4
    assert len(cut.series["loss"]) == 2
    (tmp_path / "ragged.csv").write_text("epoch,loss\n0,1.0\n1,0.9,7,7\n2,0.8\n")
    ragged = _one(tmp_path / "ragged.csv")
    [problem] = ragged.problems
    assert problem.kind == "unreadable" and problem.offset == 3
    assert ragged.series["loss"].steps.tolist() == [0, 2]


# -- MLflow ----------------------------------------------------------------------------------------
def _mlflow_run(root: Path, status: int = 3) -> Path:
    run = root / "mlruns" / "0" / "abc123"
    (run / "metrics" / "train").mkdir(parents=True)
    (run / "params").mkdir()
    (root / "mlruns" / "0" / "meta.yaml").write_text("experiment_id: '0'\nname: Default\n")
    (run / "meta.yaml").write_text(f"end_time: {'null' if status == 1 else 1700000100000}\n"
                                   f"run_id: abc123\nstatus: {status}\ntags: []\n")
    (run / "metrics" / "loss").write_text("".join(f"{1700000000000 + 1000 * s} {2.0 / (s + 1)} {s}\n"
                                                  for s in range(5)))
    (run / "metrics" / "train" / "acc").write_text("1700000000000 0.5 0\n1700000001000 0.7 1\n")
    (run / "params" / "lr").write_text("0.001")
    (run / "params" / "optimizer").write_text("Adam")
    (run / "params" / "epochs").write_text("5")
    return run


def test_mlflow_run(tmp_path):
    folder = _mlflow_run(tmp_path)
    run = _one(tmp_path, "mlflow")
    assert run.format == "mlflow" and run.path == str(folder)
    assert set(run.series) == {"loss", "train/acc"}
    loss = run.series["loss"]
    assert loss.steps.tolist() == [0, 1, 2, 3, 4] and loss.wall_times[1] == 1700000001.0
    assert run.hparams == {"lr": 0.001, "optimizer": "Adam", "epochs": 5}
    assert not run.problems and not run.notes


def test_mlflow_broken_lines_and_running(tmp_path):
    folder = _mlflow_run(tmp_path, status=1)
    with open(folder / "metrics" / "loss", "a") as f:
        f.write("garbage\n1700000009000 0.1 9\n1700000010000 0.0")
    run = _one(tmp_path, "mlflow")
    assert {(p.kind, p.offset) for p in run.problems} == {("unreadable", 6), ("truncated", 8)}
    assert run.series["loss"].steps.tolist()[-1] == 9
    assert "RUNNING" in run.unfinished  # reported by CL004 run-unfinished


# -- every reader: bad input never raises ----------------------------------------------------------
@pytest.mark.parametrize("fmt", ["keras-history", "hf-trainer-state", "parquet", "csv", "mlflow"])
def test_missing_file_is_a_problem_not_a_crash(tmp_path, fmt):
    missing = str(tmp_path / "gone")
    runs = readers.read(RunSource(missing, fmt, (missing,)))
    assert all(isinstance(r, Run) for r in runs)
    for r in runs:
        assert all(p.kind == "unreadable" and not _crashed(p.message) for p in r.problems)


@pytest.mark.parametrize("name, content", [
    ("history.json", '{"loss": [1, ' + "9" * 400 + "]}"),  # an int beyond float range
    ("history.json", '{"a":' * 5000 + "1" + "}" * 5000),  # nested too deeply
    ("history.json", '"' + "[" * 3000 + '"'),  # a repr nested too deeply
    ("trainer_state.json", '{"log_history": [1, null, {"step": "x", "loss": 1}, {"step": 1e400, "loss": 1},'
                           ' {"step": 5, "loss": ' + "9" * 400 + '}], "stateful_callbacks": [1], "epoch": "x"}'),
    ("log.csv", "epoch,loss\n\x00,1\n"),
    ("log.csv", 'epoch,loss\n0,"1\n'),
    ("log.csv", "step,loss\n1e30,1\n2e30,2\n"),
    ("log.csv", "epoch,epoch,loss,x\n0,0,1,a\n1,1,2,3\n"),
])
def test_odd_inputs_never_crash(tmp_path, name, content):
    (tmp_path / name).write_text(content)
    for run in _read(tmp_path / name):
        assert all(s.steps.dtype == np.int64 for s in run.series.values())


def test_odd_parquet_never_crashes(tmp_path):
    pq.write_table(pa.table({"tag": ["a", None], "step": [1, 2], "value": ["x", "y"]}), tmp_path / "text.parquet")
    huge = pa.array([2**63 - 1, 0], pa.uint64())
    pq.write_table(pa.table({"step": huge, "loss": [1.0, 2.0]}), tmp_path / "u.parquet")
    pq.write_table(pa.table({"s": pa.array([[1], [2]]), "loss": [1, 2]}), tmp_path / "nested.parquet")
    [text] = _read(tmp_path / "text.parquet")
    assert "value is not numeric" in text.problems[0].message
    assert len(_one(tmp_path / "u.parquet").series["loss"]) == 2
    assert _one(tmp_path / "nested.parquet").series["loss"].values.tolist() == [1.0, 2.0]


# -- the real-world corpus -------------------------------------------------------------------------
def _realworld() -> dict[str, Run]:
    if not REALWORLD.is_dir():
        pytest.skip("shared real-world logs are absent")
    sources, errors = discover([str(REALWORLD)])
    assert not errors
    out: dict[str, Run] = {}
    for source in sources:
        if source.format in ("tensorboard", "onnx"):
            continue
        for run in readers.read(source):
            out[os.path.relpath(run.name, REALWORLD)] = run
    return out


def test_realworld_non_tensorboard_files_read_cleanly():
    runs = _realworld()
    assert len(runs) >= 31  # whisper-ja last-checkpoint copy is skipped
    for name, run in runs.items():
        assert not run.problems, (name, run.problems)
    assert {r.format for r in runs.values()} == {"keras-history", "hf-trainer-state", "parquet", "csv", "mlflow"}


def test_realworld_spot_checks():
    runs = _realworld()

    def series(slug: str, name: str):
        return next(r for k, r in runs.items() if k.startswith(slug)).series[name]

    assert len(series("abdulrahman3e4_fashion-mnist", "val_loss")) == 30  # row 23
    assert series("alperclk_video-lstm", "val_accuracy").values.tolist() == [1.0] * 5  # row 25
    assert len(series("ashishbatham_fer", "val_accuracy")) == 2  # row 28 (\r\r\n)
    nan = series("best1cookie1_nn-oedometer", "mean_loss")  # row 13
    assert len(nan) == 200 and np.isnan(nan.values).all()
    assert len(series("macro1027_pendulum-pinn/lightning_logs/version_9", "train_loss_epoch")) == 400  # row 31
    g0 = series("aigoncharov_trainer-state-viz", "eval_g0_loss")  # row 17
    assert len(g0) == 31 and g0.steps[0] == 0 and g0.values[0] == pytest.approx(5.74, abs=0.01)
    fits = [r.series["val_loss"] for k, r in runs.items() if k.startswith("akshatsharma5_brain-tumor")]
    assert [len(f) for f in fits] == [5, 4, 10, 5]  # row 26: 4 fits appended, 24 rows, each fit monotonic
    assert all(np.all(np.diff(f.steps) > 0) for f in fits)
    assert len(series("grafit-kil_helmet-yolov5", "metrics/mAP_0.5")) == 150  # row 10
    assert np.all(series("grafit-kil_helmet-yolov5", "train/cls_loss").values == 0)
    assert series("10academy_swahili-stt", "loss").values[-1] == pytest.approx(234.8, abs=0.1)  # row 8
    empty = next(r for k, r in runs.items() if k.startswith("baghelrashmi04"))  # row 20
    assert empty.series == {} and not empty.problems
    recom = next(r for k, r in runs.items() if k.startswith("huvix_my-recom"))  # row 38
    assert len(recom.series["lambda_ndcg"]) == 8 and any("row order" in n for n in recom.notes)
    jason = next(r for k, r in runs.items() if k.startswith("jasonzeng24"))  # row 18
    assert "max_steps 645" in jason.unfinished
