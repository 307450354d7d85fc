"""Keras-like history JSON beyond ``json.dump(history.history)``: metadata keys beside the per-epoch
lists, and several models' histories in one dict (``cls_*``/``reg_*``) - while JSON that is not a
history (configs, package.json, ...) is still not taken for a run."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from conftest import SHARED
from curvelint import readers
from curvelint.discovery import discover
from curvelint.model import Run

REALWORLD2 = SHARED / "realworld2"


def _read(path: Path) -> list[Run]:
    sources, errors = discover([str(path)])
    assert not errors
    runs = [run for source in sources for run in readers.read(source)]
    for run in runs:
        assert not run.problems, run.problems
    return runs


def _write(tmp_path: Path, obj, name: str = "training_history.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(obj))
    return path


def _ramp(n: int, start: float, stop: float) -> list[float]:
    return np.linspace(start, stop, n).tolist()


# -- metadata beside the per-epoch lists (drunkmacintosh_fer) ---------------------------------------
def _with_metadata(n: int = 12) -> dict:
    return {"timestamp": "2026-04-18 22:30:00", "backbone": "InceptionResnetV1", "img_size": 160,
            "classes": ["Happy", "Neutral", "Sad"], "phase_starts": [0, 4, 8],
            "phase_labels": ["Head only", "Fine-tune 30", "Fine-tune 60"],
            "train_loss": _ramp(n, 0.52, 0.21), "train_acc": _ramp(n, 36.7, 60.6),
            "val_loss": _ramp(n, 0.50, 0.16), "val_acc": _ramp(n, 33.7, 87.0), "test_acc": 86.7}


def test_metadata_keys_are_ignored_and_noted(tmp_path):
    [run] = _read(_write(tmp_path, _with_metadata()))
    assert run.format == "keras-history"
    assert set(run.series) == {"train_loss", "train_acc", "val_loss", "val_acc"}
    assert all(s.steps.tolist() == list(range(12)) for s in run.series.values())
    assert run.series["val_acc"].values[-1] == pytest.approx(87.0)
    [note] = run.notes
    assert note == ("keys that are not one value per epoch were ignored: timestamp, backbone, img_size, classes, "
                    "phase_starts, phase_labels, test_acc")


def test_metadata_with_validation_every_kth_epoch(tmp_path):
    history = {"model": "resnet", "loss": _ramp(10, 2.0, 0.5), "val_loss": _ramp(5, 1.9, 0.7), "seed": 3}
    [run] = _read(_write(tmp_path, history))
    assert run.series["val_loss"].steps.tolist() == [1, 3, 5, 7, 9]
    assert any("validation_freq=2" in n for n in run.notes) and any("model, seed" in n for n in run.notes)


def test_metadata_phase_list_as_long_as_the_epochs_is_a_series(tmp_path):
    """A numeric list of one value per epoch is read as a series whatever its name (as in plain histories);
    a list of text is metadata unless its name is a metric's."""
    history = _with_metadata(3)
    history["comments"] = ["ok", "ok", "lr dropped"]
    [run] = _read(_write(tmp_path, history))
    assert "phase_starts" in run.series and "phase_labels" not in run.series and "comments" not in run.series


# -- several models in one dict (amanmalhi_hdfc) ---------------------------------------------------
def _two_models() -> dict:
    return {"reg_loss": _ramp(30, 1.17, 1.01), "reg_mae": _ramp(30, 0.78, 0.70),
            "reg_val_loss": _ramp(30, 0.350, 0.345), "reg_val_mae": _ramp(30, 0.447, 0.440),
            "reg_learning_rate": [1e-3] * 10 + [5e-4] * 10 + [1.25e-4] * 10,
            "cls_accuracy": _ramp(19, 0.529, 0.500), "cls_loss": _ramp(19, 0.726, 0.693),
            "cls_val_accuracy": _ramp(19, 0.527, 0.527), "cls_val_loss": _ramp(19, 0.6930, 0.6931),
            "cls_learning_rate": [3e-4] * 19}


def test_two_models_in_one_dict_are_one_run_each(tmp_path):
    reg, cls = _read(_write(tmp_path, _two_models()))
    assert (reg.name.rsplit(":", 1)[1], cls.name.rsplit(":", 1)[1]) == ("reg", "cls")
    assert reg.path == cls.path
    for run, prefix, n in ((reg, "reg_", 30), (cls, "cls_", 19)):
        assert set(run.series) == {k[len(prefix):] for k in _two_models() if k.startswith(prefix)}
        assert all(s.steps.tolist() == list(range(n)) for s in run.series.values())
        assert run.notes == ["2 models' histories in one dict (reg_* 30 epochs, cls_* 19 epochs): one run per "
                             "model, each on its own epoch axis, its prefix dropped from the series names"]
    from curvelint.roles import assign_roles

    roles = assign_roles(list(cls.series))
    assert (roles.train_loss, roles.val_loss) == ("loss", "val_loss")


def test_two_models_each_with_its_validation_frequency(tmp_path):
    history = {"a_loss": _ramp(8, 1, 0.1), "a_val_loss": _ramp(4, 1, 0.2), "b_loss": _ramp(5, 2, 1)}
    a, b = _read(_write(tmp_path, history))
    assert a.series["val_loss"].steps.tolist() == [1, 3, 5, 7]
    assert b.series["loss"].steps.tolist() == list(range(5))


# -- what is still not a history -------------------------------------------------------------------
@pytest.mark.parametrize("obj", [
    {"name": "curvelint", "version": "0.1", "scripts": {"test": "pytest"}, "keywords": ["lint"]},  # package.json
    {"name": "resnet", "loss_weights": [0.5, 0.5], "dropout": [0.1, 0.2]},  # a config: no loss curve roles know
    {"optimizer": "adam", "lr": [0.1, 0.01], "milestones": [30, 60]},  # lr schedule config
    {"loss": "categorical_crossentropy", "metrics": ["accuracy"], "epochs": 10},  # compile() arguments
    {"loss": [1.0, 0.5, 0.2], "val_loss": ["0.9", "0.4", "x"], "run": "x"},  # a metric list of text
    {"train_loss": [1.0, 0.5], "val_loss": [1.0, 0.5, 0.3]},  # validation longer than training
    {"train_loss": [1.0, 0.5], "train_acc": [0.5]},  # unequal training lists, train_ is no model prefix
    {"cls_loss": [1.0, 0.5], "cls_acc": [0.5], "reg_loss": [1.0]},  # unequal lists within a prefix
    {"cls_loss": [1.0, 0.5], "reg_size": [3, 4, 5]},  # a prefix without a metric
    {"loss": [1.0, 0.5], "acc_loss": [0.5, 0.4, 0.3]},  # "loss" has no prefix
    {"timestamp": "x", "train_loss": []},  # metadata and no epochs
])
def test_other_json_is_still_ignored(tmp_path, obj):
    assert _read(_write(tmp_path, obj, "config.json")) == []


def test_discovery_takes_only_the_histories(tmp_path):
    _write(tmp_path, {"name": "x", "version": "1", "dependencies": {"a": "^1"}}, "package.json")
    _write(tmp_path, {"compilerOptions": {"strict": True}, "include": ["src"]}, "tsconfig.json")
    _write(tmp_path, {"model": {"layers": [64, 32]}, "lr": 0.1, "loss_weights": [1, 2]}, "config.json")
    _write(tmp_path, _with_metadata(), "face_training_history.json")
    _write(tmp_path, _two_models(), "training_history.json")
    runs = _read(tmp_path)
    assert sorted(os.path.basename(r.name) for r in runs) == [
        "face_training_history.json", "training_history.json:cls", "training_history.json:reg"]


# -- the real files ---------------------------------------------------------------------------------
@pytest.mark.parametrize("path, series", [
    ("drunkmacintosh_fer/v1_2026-04-11_19-42/training_history.json",
     dict.fromkeys(["train_loss", "train_acc", "val_loss", "val_acc"], 55)),
    ("drunkmacintosh_fer/v5_2026-04-18_22-30/face_training_history.json",
     dict.fromkeys(["train_loss", "train_acc", "val_loss", "val_acc"], 66)),
    ("drunkmacintosh_fer/v7_2026-04-30_20-28/face_training_history.json",
     dict.fromkeys(["train_loss", "train_acc", "val_loss", "val_acc"], 40)),
])
def test_realworld2_variants(path, series):
    if not REALWORLD2.is_dir():
        pytest.skip("../shared/realworld2 is not present")
    [run] = _read(REALWORLD2 / path)
    assert {name: len(s) for name, s in run.series.items()} == series
    assert all(s.steps.tolist() == list(range(len(s))) for s in run.series.values())


def test_realworld2_values():
    if not REALWORLD2.is_dir():
        pytest.skip("../shared/realworld2 is not present")
    [fer] = _read(REALWORLD2 / "drunkmacintosh_fer/v5_2026-04-18_22-30/face_training_history.json")
    val = fer.series["val_loss"].values
    assert val.min() == pytest.approx(0.161, abs=5e-4) and int(np.argmin(val)) == 53  # SOURCES.md row 16
    reg, cls = _read(REALWORLD2 / "amanmalhi_hdfc/training_history.json")
    assert {k: len(v) for k, v in reg.series.items()} == dict.fromkeys(
        ["loss", "mae", "val_loss", "val_mae", "learning_rate"], 30)
    assert {k: len(v) for k, v in cls.series.items()} == dict.fromkeys(
        ["accuracy", "loss", "val_accuracy", "val_loss", "learning_rate"], 19)
    assert cls.series["val_loss"].values[0] == pytest.approx(0.693, abs=5e-4)  # row 14
    assert reg.series["learning_rate"].values[-1] == pytest.approx(1.25e-4)
