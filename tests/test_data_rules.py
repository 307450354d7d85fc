"""Data samples (`curvelint.data.load_sample`) and the data rules CL300 input-range, CL301 class-imbalance.

Fixtures come from fixtures/data/make_data.py; pickle-needing files are made here in tmp_path.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import curves as c
from conftest import FIXTURES
from curvelint.data import load_sample
from curvelint.model import Finding, InputStats, LabelStats, Run, Series, Severity
from curvelint.readers.onnx_graph import load_graph
from curvelint.roles import assign_roles
from curvelint.rule import Context
from curvelint_rules.class_imbalance import ClassImbalance
from curvelint_rules.input_range import InputRange

DATA = FIXTURES / "data"
GRAPHS = FIXTURES / "graphs"


def sample(name: str):
    stats, labels, problems = load_sample(str(DATA / name))
    assert problems == []
    return stats, labels


def results(rule, inputs=(), labels=None, graph=None, series=None, options=None):
    run = Run(name="r", path="r", format="csv", series=series or {}, inputs=list(inputs), labels=labels, graph=graph)
    ctx = Context(run, assign_roles(list(run.series))).for_rule(rule, options)
    return list(rule().check(ctx))


def findings(*args, **kw) -> list[Finding]:
    return [r for r in results(*args, **kw) if isinstance(r, Finding)]


# -- loading ---------------------------------------------------------------------------------------
def test_npz_inputs_and_labels():
    (x,), labels = sample("unscaled.npz")
    assert x.name == "x" and x.count == 1600 and x.feature_std.shape == (4,)
    assert labels.counts == {"0": 380, "1": 20}


def test_table_formats_use_column_names_and_label_column():
    (x,), labels = sample("imbalanced.parquet")
    assert x.feature_names == ("age", "income", "year", "ratio") and labels.counts == {"0": 380, "1": 20}
    (x,), labels = sample("balanced_3class.csv")
    assert x.feature_names == ("f0", "f1", "f2", "f3") and labels.counts == {"cat": 100, "dog": 100, "bird": 100}


def test_npy_images_and_one_hot_labels():
    (x,), labels = sample("pixels.npy")
    assert labels is None and (x.min, x.max) == (0.0, 255.0) and x.feature_std.shape == (64,)
    _, labels = sample("onehot_imbalanced.npz")
    assert len(labels.counts) == 10 and labels.counts["9"] == 4


def test_csv_without_header(tmp_path: Path):
    p = tmp_path / "x.csv"
    p.write_text("1.0,2.0\n3.0,4.0\n5.0,6.5\n")
    (x,), labels = load_sample(str(p))[:2]
    assert x.count == 6 and labels is None


def test_regression_targets_are_not_classes(tmp_path: Path):
    p = tmp_path / "reg.npz"
    np.savez(p, x=np.zeros((10, 2)), y=np.linspace(0, 1, 10))
    assert load_sample(str(p))[1] is None


@pytest.mark.parametrize("maker", ["npy", "npz", "pkl"])
def test_pickle_needing_files_are_refused(tmp_path: Path, maker: str):
    obj = np.array([{"a": 1}, None, "text"], dtype=object)
    if maker == "npy":
        path = tmp_path / "objects.npy"
        np.save(path, obj, allow_pickle=True)
    elif maker == "npz":
        path = tmp_path / "objects.npz"
        np.savez(path, x=np.zeros((3, 2)), y=obj)
    else:
        path = tmp_path / "sample.pkl"
        path.write_bytes(b"\x80\x04K\x01.")
    stats, labels, problems = load_sample(str(path))
    assert (stats, labels) == ([], None)
    (p,) = problems
    assert p.kind == "unreadable" and "pickle" in p.message and "never unpickles" in p.message


@pytest.mark.parametrize("name,content", [("bad.npy", b"\x93NUMPY garbage"), ("bad.npz", b"PK\x03\x04 nope"),
                                          ("bad.parquet", b"PAR1 not really"), ("data.txt", b"1,2\n")])
def test_bad_files_are_problems(tmp_path: Path, name: str, content: bytes):
    path = tmp_path / name
    path.write_bytes(content)
    stats, labels, problems = load_sample(str(path))
    assert stats == [] and labels is None and [p.kind for p in problems] == ["unreadable"]


def test_missing_file():
    assert load_sample("no/such/file.npz")[2][0].kind == "unreadable"


# -- CL300 input-range ----------------------------------------------------------------------------
def test_cl300_unscaled_features():
    (f,) = findings(InputRange, sample("imbalanced.parquet")[0])
    assert f.rule == "CL300" and f.severity == Severity.WARNING and f.metric is None
    assert "income" in f.message and "large magnitude" in f.message and "scales differ" in f.message


def test_cl300_pixels():
    (f,) = findings(InputRange, sample("pixels.npy")[0])
    assert "0-255" in f.message and f.evidence["pixel_range"] is True


def test_cl300_quiet_on_standardized_samples():
    for name in ("scaled.npz", "scaled.npy", "balanced_3class.csv", "onehot_imbalanced.npz"):
        assert not findings(InputRange, sample(name)[0]), name


def test_cl300_histogram_stats_without_per_feature_arrays():
    raw = InputStats("input/features", "events", 1e4, min=0.0, max=5000.0, mean=1000.0, std=800.0)
    assert findings(InputRange, [raw])
    normed = InputStats("input/features", "events", 1e4, min=-2.1, max=2.6, mean=0.05, std=1.0)
    assert not findings(InputRange, [normed])
    offset = InputStats("x", "events", 1e4, min=4.0, max=6.0, mean=5.0, std=0.3)
    (f,) = findings(InputRange, [offset])
    assert "mean far from zero" in f.message


def test_cl300_feature_scale_ratio_option():
    x = InputStats("x", "s", 300, -3, 500, 1, 30, feature_min=np.array([-3.0, 0.0]), feature_max=np.array([3.0, 500.0]),
                   feature_mean=np.array([0.0, 2.0]), feature_std=np.array([1.0, 5.0]))
    (f,) = findings(InputRange, [x])
    assert "scales differ" in f.message
    assert not findings(InputRange, [x], options={"scale_ratio": 1000.0})


@pytest.mark.parametrize("graph", ["input_norm_mlp.onnx", "keras_normalization.onnx"])
def test_cl300_abstains_when_the_graph_normalizes_inputs(graph: str):
    g, _ = load_graph(str(GRAPHS / graph))
    (a,) = results(InputRange, sample("unscaled.npz")[0], graph=g)
    assert not isinstance(a, Finding) and "normalizes its inputs" in a.reason
    g, _ = load_graph(str(GRAPHS / "deep_relu_mlp.onnx"))
    assert findings(InputRange, sample("unscaled.npz")[0], graph=g)


def test_cl300_abstains_without_inputs():
    (a,) = results(InputRange)
    assert "no input statistics" in a.reason


# -- CL301 class-imbalance ------------------------------------------------------------------------
def test_cl301_binary_95_5():
    (f,) = findings(ClassImbalance, labels=sample("unscaled.npz")[1])
    assert f.rule == "CL301" and f.metric is None and "'1' is only 5.0%" in f.message
    assert f.evidence["counts"] == {"0": 380, "1": 20}


def test_cl301_many_classes_scale_the_threshold():
    (f,) = findings(ClassImbalance, labels=sample("onehot_imbalanced.npz")[1])
    assert "'9'" in f.message and "2.0%" in f.message
    noisy_ten = LabelStats("s", {str(k): c for k, c in enumerate([95, 105, 98, 102, 90, 110, 99, 101, 97, 103])})
    assert not findings(ClassImbalance, labels=noisy_ten)


def test_cl301_quiet_on_balanced_labels_and_small_samples():
    assert not findings(ClassImbalance, labels=sample("balanced_3class.csv")[1])
    assert not findings(ClassImbalance, labels=sample("scaled.npz")[1])
    assert not findings(ClassImbalance, labels=LabelStats("s", {"a": 9, "b": 1}))  # 10 labels: too few
    assert not findings(ClassImbalance)


def test_cl301_mentions_accuracy_when_the_run_monitors_it():
    series = {"val_accuracy": Series("val_accuracy", [0, 1, 2], [0.95, 0.95, 0.95]),
              "val_loss": Series("val_loss", [0, 1, 2], [0.3, 0.25, 0.24])}
    (f,) = findings(ClassImbalance, labels=sample("unscaled.npz")[1], series=series)
    assert "val_accuracy" in f.message and "95%" in f.message


# -- CL301 from the curves: a balanced accuracy far below the plain accuracy ---------------------------------

def _balanced_run(acc, bal, names=("val/accuracy", "val/balanced_accuracy")):
    n = len(acc)
    steps = np.arange(n)
    return c.run_of(Series("train/loss", steps, np.linspace(2.0, 0.05, n)),
                    Series("val/loss", steps, np.linspace(1.9, 0.15, n)),
                    Series(names[0], steps, np.asarray(acc, float)), Series(names[1], steps, np.asarray(bal, float)))


@pytest.mark.parametrize("names", [("val/accuracy", "val/balanced_accuracy"), ("eval_accuracy", "eval_balanced_accuracy"),
                                   ("val_acc", "val_bal_acc"), ("val_acc", "val_acc_macro"),
                                   ("accuracy", "recall_macro")])
def test_a_balanced_accuracy_far_below_the_accuracy_is_a_neglected_minority(names):
    """Ten classes, one recalled at 0.3: accuracy 0.96, balanced accuracy 0.90 (a balanced error 2.5x the plain)."""
    acc = np.r_[np.linspace(0.5, 0.96, 25), np.full(5, 0.96)]
    bal = np.r_[np.linspace(0.45, 0.90, 25), np.full(5, 0.90)]
    (f,) = c.findings(ClassImbalance, _balanced_run(acc, bal, names))
    assert f.severity == Severity.WARNING and f.metric == names[1] and "2.5x the plain error" in f.message


@pytest.mark.parametrize("case", ["equal", "close", "small-gap", "perfect"])
def test_a_balanced_accuracy_that_agrees_with_the_accuracy_is_quiet(case):
    """Equal classes (the two are equal), unequal classes recalled alike (close), a ratio above 2 on
    errors too small to matter (0.995 against 0.99), and a perfect model."""
    acc = np.linspace(0.5, 0.96, 30)
    bal = {"equal": acc, "close": acc - 0.01, "small-gap": None, "perfect": None}[case]
    if case == "small-gap":
        acc, bal = np.linspace(0.5, 0.995, 30), np.linspace(0.5, 0.99, 30)
    if case == "perfect":
        acc = bal = np.r_[np.linspace(0.5, 0.99, 27), 1.0, 1.0, 1.0]
    assert c.findings(ClassImbalance, _balanced_run(acc, bal)) == []


def test_balanced_accuracy_logged_by_a_real_summarywriter():
    """fixtures/train: the rare-digit run (2 of 6 rare 8s recalled) is CL301; its healthy twin is quiet."""
    from curvelint.engine import lint

    runs = FIXTURES / "train" / "runs"
    rare = [f for f in lint([str(runs / "class_imbalance_rare_digit")]).findings if f.rule == "CL301"]
    assert [f.metric for f in rare] == ["val/balanced_accuracy"]
    assert not [f for f in lint([str(runs / "healthy_balanced_accuracy")]).findings if f.rule == "CL301"]
