"""Chance level beyond uniform priors (CL103), constant metrics that defer or group (CL101), and
learning rates judged with what the log says about the optimizer (CL121).

Every shape has a positive case and a healthy twin, over several seeds; the curves are small
generators here (epoch-level, as real short runs log them).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import curves as C
from curvelint.config import Config
from curvelint.engine import check_run, select_rules
from curvelint.model import Finding, Run, Series, Severity

SEEDS = range(5)
RULES = ("CL101", "CL102", "CL103", "CL104", "CL105", "CL106", "CL107", "CL121")


def findings(run: Run, select=RULES) -> list[Finding]:
    return check_run(run, select_rules(Config(select=list(select))), Config())[0]


def by_rule(run: Run, code: str, select=RULES) -> list[Finding]:
    return [f for f in findings(run, select) if f.rule == code]


def warned(run: Run, select=RULES) -> list[str]:
    return sorted(f.rule for f in findings(run, select) if f.severity >= Severity.WARNING)


def rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def epochs(name: str, values) -> Series:
    v = np.asarray(values, float)
    return Series(name, np.arange(len(v)), v)


def around(level: float, n: int, seed: int, noise: float = 0.004) -> np.ndarray:
    return level * np.exp(rng(seed).normal(0, noise, n))


def entropy(p) -> float:
    p = np.asarray(p, float)
    return float(-(p * np.log(p)).sum())


def learning(n: int, seed: int, start: float, end: float) -> np.ndarray:
    t = np.arange(n) / max(n - 1, 1)
    return (end + (start - end) * np.exp(-3 * t)) * np.exp(rng(seed).normal(0, 0.01, n))


# -- (a) the loss at the entropy of the label priors ---------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("priors", [(0.7, 0.3), (0.6, 0.25, 0.15), (0.85, 0.1, 0.05)])
def test_loss_at_the_prior_entropy_from_hparams_class_counts(seed, priors):
    n = 30
    counts = [int(1000 * p) for p in priors]
    loss = epochs("loss", np.r_[learning(6, seed, 1.2, entropy(priors)), around(entropy(priors), n - 6, seed)])
    run = C.run_of(loss, hparams={"data": {"class_counts": counts}})
    (f,) = by_rule(run, "CL103")
    assert f.evidence["loss_chance_kind"] == "label-prior entropy" and "class_counts" in f.evidence["classes_from"]
    # healthy twin: the same classes, a loss that goes on well below the prior entropy
    twin = C.run_of(epochs("loss", learning(n, seed, 1.2, 0.3 * entropy(priors))),
                    hparams={"data": {"class_counts": counts}})
    assert "CL103" not in warned(twin)


@pytest.mark.parametrize("seed", SEEDS)
def test_short_run_at_the_prior_entropy_and_majority_rate(seed):
    counts = {"neg": 640, "pos": 360}
    h = entropy([0.64, 0.36])
    loss = epochs("val_loss", around(h, 3, seed, 0.01))
    acc = epochs("val_accuracy", 0.64 + rng(seed).normal(0, 0.004, 3))
    run = C.run_of(epochs("loss", learning(3, seed, 0.8, 0.6)), loss, acc, labels=counts)
    (f,) = by_rule(run, "CL103")
    assert f.severity == Severity.WARNING and f.metric == "val_loss"
    assert f.evidence["accuracy_chance_kind"] == "majority-class rate"
    twin = C.run_of(epochs("loss", learning(3, seed, 0.8, 0.6)), epochs("val_loss", [h, 0.52, 0.41]),
                    epochs("val_accuracy", [0.64, 0.74, 0.81]), labels=counts)
    assert by_rule(twin, "CL103") == []


# -- (b) an accuracy pinned at one value while the loss moves: one class predicted ---------------------------


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("n", [3, 5, 20])
def test_pinned_accuracy_is_a_one_class_predictor_not_a_frozen_model(seed, n):
    share = float(rng(seed).uniform(0.55, 0.95))
    loss = epochs("loss", learning(n, seed, 0.75, entropy([share, 1 - share])))
    val_loss = epochs("val_loss", loss.values * 1.02)
    acc = epochs("val_accuracy", np.full(n, share))
    run = C.run_of(loss, val_loss, acc)
    assert by_rule(run, "CL101") == []  # CL101 defers...
    (f,) = by_rule(run, "CL103")  # ...to CL103, which says what it is
    assert f.metric == "val_accuracy" and "predicts one class" in f.message and f.severity >= Severity.WARNING
    # the same with CL103 deselected: CL101 still defers (deselecting hides, it changes no other rule)
    assert by_rule(run, "CL101", select=("CL101",)) == []
    # known priors name the majority rate and make it an error
    counted = C.run_of(loss, val_loss, acc, labels={"a": round(share * 1000), "b": 1000 - round(share * 1000)})
    (g,) = [f for f in by_rule(counted, "CL103") if f.metric == "val_accuracy"]
    assert g.severity == Severity.ERROR and g.evidence["chance_kind"] == "majority-class rate"


@pytest.mark.parametrize("seed", SEEDS)
def test_frozen_model_stays_constant_metric(seed):
    """Healthy-twin boundary: loss and accuracy both exactly constant is a model not updating (CL101)."""
    n = 12
    run = C.run_of(epochs("loss", np.full(n, 0.6931)), epochs("val_loss", np.full(n, 0.70)),
                   epochs("val_accuracy", np.full(n, float(rng(seed).uniform(0.5, 0.9)))))
    assert {f.metric for f in by_rule(run, "CL101")} == {"loss", "val_accuracy", "val_loss"}
    assert by_rule(run, "CL103") == []


@pytest.mark.parametrize("seed", SEEDS)
def test_accuracy_on_a_small_validation_set_that_moves_is_not_pinned(seed):
    """Healthy: 25 validation examples make accuracy coarse (repeats), but it still changes."""
    n = 15
    acc = np.minimum(np.round((0.6 + 0.3 * (1 - np.exp(-np.arange(n) / 4)) + rng(seed).normal(0, 0.03, n)) * 25)
                     / 25, 0.96)
    run = C.run_of(epochs("loss", learning(n, seed, 0.7, 0.25)), epochs("val_loss", learning(n, seed + 1, 0.7, 0.3)),
                   epochs("val_accuracy", acc))
    assert warned(run) == []


def test_one_class_predictor_that_flips_once_in_many_evaluations():
    acc = np.full(19, 157 / 298)
    acc[14] = 142 / 298
    run = C.run_of(epochs("cls_val_loss", around(math.log(2), 19, 0, 0.002)), epochs("cls_val_accuracy", acc))
    (f,) = by_rule(run, "CL103")
    assert "18 of 19" in f.message and f.metric == "cls_val_accuracy"


def test_pinned_at_one_over_c_with_the_loss_at_ln_c_even_if_hparams_overstate_c():
    """num_classes=200 in the config, CIFAR-10's 10 labels in the data: ln 10 and 1/10 name C=10."""
    val_loss = epochs("val_loss", [2.3031, 2.3028, 2.3029, 2.3026, 2.3026])
    run = C.run_of(epochs("train_loss", [2.3149, 2.3036, 2.3030, 2.3029, 2.3028]), val_loss,
                   epochs("val_acc", [10.0] * 5), epochs("max_val_acc", [10.0] * 5), hparams={"num_classes": 200})
    (f,) = [f for f in by_rule(run, "CL103") if f.metric in ("val_acc", "max_val_acc")]
    assert f.severity == Severity.ERROR and f.evidence["chance_kind"] == "1/10"
    assert set(f.evidence["pinned"]) == {"val_acc", "max_val_acc"}  # one finding for both
    assert by_rule(run, "CL101") == []


# -- (c) short runs: accuracy at or below 1/C with the loss at ln C ----------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("classes, n", [(7, 2), (7, 3), (10, 2), (4, 3), (2, 3)])
def test_short_run_at_chance_with_c_inferred_from_the_loss(seed, classes, n):
    loss = epochs("val_loss", around(math.log(classes) * 0.975, n, seed))  # a little below ln C
    acc = epochs("val_accuracy", np.clip(0.55 / classes + rng(seed).normal(0, 0.003, n), 0, 1))  # below 1/C
    train = epochs("loss", learning(n, seed, math.log(classes), 0.8 * math.log(classes)))
    (f,) = by_rule(C.run_of(train, loss, acc), "CL103")
    # 2.5% below ln C: for C >= 10, ln(C - 1) is as near (ln 9 = 2.197, ln 10 = 2.303)
    assert f.severity == Severity.WARNING and abs(f.evidence["classes"] - classes) <= classes // 10
    assert "every logged value" in f.message and "inferred" in f.evidence["classes_from"]


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("classes, n", [(7, 2), (10, 3), (2, 3), (2, 4), (10, 5)])
def test_short_runs_that_improve_stay_quiet(seed, classes, n):
    """Healthy twin: 2-5 evaluations that start near chance and clearly improve."""
    ln = math.log(classes)
    val = epochs("val_loss", np.linspace(0.97 * ln, 0.55 * ln, n) * np.exp(rng(seed).normal(0, 0.01, n)))
    acc = epochs("val_accuracy", np.linspace(1.2 / classes, min(0.95, 4.0 / classes), n))
    train = epochs("loss", np.linspace(ln, 0.5 * ln, n))
    run = C.run_of(train, val, acc, hparams={"num_classes": classes} if seed % 2 else None)
    assert by_rule(run, "CL103") == []


@pytest.mark.parametrize("seed", SEEDS)
def test_short_run_one_weak_signal_with_known_c_is_info(seed):
    run = C.run_of(epochs("loss", around(math.log(10), 3, seed, 0.01)), hparams={"num_classes": 10})
    (f,) = by_rule(run, "CL103")
    assert f.severity == Severity.INFO
    assert by_rule(C.run_of(epochs("loss", around(math.log(10), 3, seed, 0.01))), "CL103") == []  # C unknown


@pytest.mark.parametrize("seed", SEEDS)
def test_loss_equal_to_ln_c_to_four_digits_over_four_epochs_is_clear(seed):
    jitter = rng(seed).uniform(-4e-5, 4e-5, 5)
    loss = epochs("loss", np.r_[2.41, math.log(10) + jitter[:4]])
    (f,) = by_rule(C.run_of(loss, hparams={"num_classes": 10}), "CL103")
    assert f.severity == Severity.ERROR and f.evidence["signals"] == ["exact"]
    # twin: the same level with epoch-to-epoch change in the 3rd digit is no 4-digit match
    moving = epochs("loss", np.r_[2.41, math.log(10) * (1 + np.array([0.004, -0.003, 0.002, -0.004]))])
    assert all(f.severity < Severity.ERROR for f in by_rule(C.run_of(moving, hparams={"num_classes": 10}), "CL103"))


def test_validation_at_chance_while_training_learns_says_so():
    run = C.run_of(epochs("loss", [1.732, 1.607]), epochs("accuracy", [0.192, 0.3125]),
                   epochs("val_loss", [1.8924, 1.8914]), epochs("val_accuracy", [0.075, 0.0744]))
    (f,) = by_rule(run, "CL103")
    assert f.metric == "val_loss" and f.evidence["classes"] == 7 and "training accuracy" in f.message


# -- a binary classifier that predicts positive for everything -----------------------------------------------


def hf_eval(acc, prec, rec, steps=(43, 87, 130)) -> list[Series]:
    return [Series("eval_accuracy", list(steps), acc), Series("eval_precision", list(steps), prec),
            Series("eval_recall", list(steps), rec)]


@pytest.mark.parametrize("seed", SEEDS)
def test_recall_one_and_precision_equal_to_accuracy_is_all_positive(seed):
    pos = int(rng(seed).integers(40, 70))
    share = pos / 100
    later = [share, share + 0.01]
    run = C.run_of(epochs("loss", learning(20, seed, 0.71, 0.6)), Series("eval_loss", [43, 87, 130], [0.67, 0.66, 0.64]),
                   *hf_eval([share] + later, [share, share + 0.008, share + 0.02], [1.0, 0.95, 0.9]))
    (f,) = by_rule(run, "CL103")
    assert f.severity == Severity.WARNING and f.evidence["all_positive_steps"] == [43]
    assert abs(f.evidence["positive_share"] - share) < 1e-12
    # the model later beats the majority rate clearly: an early one-class phase, info
    better = C.run_of(*hf_eval([share, 0.8, 0.86], [share, 0.78, 0.85], [1.0, 0.8, 0.87]))
    (g,) = by_rule(better, "CL103")
    assert g.severity == Severity.INFO


@pytest.mark.parametrize("seed", SEEDS)
def test_healthy_binary_classifier_with_precision_and_recall_is_quiet(seed):
    r = rng(seed)
    acc = np.linspace(0.7, 0.9, 4) + r.normal(0, 0.005, 4)
    run = C.run_of(*hf_eval(acc, acc + r.normal(0, 0.02, 4), np.minimum(acc + 0.05, 0.99), steps=(1, 2, 3, 4)))
    assert by_rule(run, "CL103") == []
    # recall 1.0 alone (precision below accuracy) proves nothing
    run = C.run_of(*hf_eval([0.8, 0.85, 0.9], [0.7, 0.8, 0.88], [1.0, 1.0, 1.0]))
    assert by_rule(run, "CL103") == []


# -- CL101: many series stuck alike are one finding; a one-class task's class loss is quiet ----------------


def test_per_entity_f1_stuck_at_zero_is_one_finding():
    n = 5
    entities = [f"E{i:02d}" for i in range(40)]
    stuck = [Series(f"eval_f1_{e}", np.arange(n), np.zeros(n)) for e in entities]
    run = C.run_of(epochs("loss", learning(n, 0, 1.0, 0.3)), epochs("eval_loss", learning(n, 1, 1.0, 0.4)),
                   epochs("eval_f1", np.linspace(0.2, 0.6, n)), *stuck)
    (f,) = by_rule(run, "CL101")
    assert f.evidence["count"] == 40 and "40 series" in f.message and "eval_f1_E00" in f.message
    assert "35 more" in f.message and f.severity == Severity.WARNING


@pytest.mark.parametrize("seed", SEEDS)
def test_class_loss_zero_on_a_one_class_detector_is_quiet(seed):
    n = 30
    run = C.run_of(Series("train/box_loss", np.arange(n), learning(n, seed, 0.1, 0.03)),
                   Series("val/box_loss", np.arange(n), learning(n, seed + 1, 0.09, 0.035)),
                   Series("train/cls_loss", np.arange(n), np.zeros(n)), Series("val/cls_loss", np.arange(n), np.zeros(n)),
                   Series("metrics/mAP_0.5", np.arange(n), np.linspace(0.1, 0.8, n)))
    assert [f for f in findings(run) if f.severity >= Severity.INFO and f.rule in ("CL101", "CL103")] == []


# -- CL121 with what the log says about the optimizer ---------------------------------------------------------


def lr_run(peak: float, name: str = "lr", hparams=None, fmt: str = "synthetic") -> Run:
    n = 40
    lr = np.r_[np.linspace(peak / 10, peak, 4), peak * 0.5 * (1 + np.cos(np.linspace(0, np.pi, n - 4)))]
    run = C.run_of(epochs("loss", learning(n, 0, 2.3, 0.4)), epochs(name, lr), hparams=hparams)
    run.format = fmt
    return run


def lr_findings(run: Run) -> list[Finding]:
    return by_rule(run, "CL121", select=("CL121",))


@pytest.mark.parametrize("peak, name, hparams, severity, words", [
    (60.0, "lr", {"optimizer": "SGD", "momentum": 0.9}, Severity.WARNING, "sgd optimizers"),
    (2.0, "lr", {"optimizer": "SGD", "momentum": 0.9}, Severity.WARNING, "sgd optimizers"),
    (20.0, "lr", {"optimizer": "SGD", "cell": "lstm"}, Severity.INFO, "recurrent network with gradient clipping"),
    (20.0, "lr", {"optimizer": "SGD", "gradient_clip_val": 0.25}, Severity.INFO, "gradient_clip_val=0.25"),
    (2.0, "LearningRate", None, Severity.WARNING, "every common optimizer"),
    (5.0, "train/lr", None, Severity.WARNING, "optimizer unknown"),
    (0.3, "learning-rate", None, Severity.INFO, "Adam-family"),
    (0.3, "lr", None, Severity.INFO, "not named in the log"),
    (0.05, "lr-Adam", None, Severity.WARNING, "adam optimizers"),
    (0.05, "lr", {"adam_beta1": 0.9}, Severity.WARNING, "assumed"),
])
def test_learning_rate_judged_with_what_the_log_says(peak, name, hparams, severity, words):
    (f,) = lr_findings(lr_run(peak, name, hparams))
    assert f.severity == severity and words in f.message and f.metric == name


def test_hf_trainer_state_assumes_adamw():
    (f,) = lr_findings(lr_run(0.05, "learning_rate", fmt="hf-trainer-state"))
    assert f.severity == Severity.WARNING and "AdamW" in f.message and f.evidence["family_sure"] == "assumed"


@pytest.mark.parametrize("peak, name, hparams, fmt", [
    (2e-5, "learning_rate", None, "hf-trainer-state"),
    (5e-5, "learning_rate", None, "hf-trainer-state"),
    (0.1, "lr", {"optimizer": "SGD", "momentum": 0.9}, "synthetic"),
    (0.1, "lr", {"momentum": 0.9, "nesterov": True}, "synthetic"),  # SGD assumed from its hparams
    (0.094, "x/lr0", None, "csv"),  # YOLO bias warmup from 0.1, SGD
    (0.07, "lr/pg0", None, "csv"),
    (1e-3, "LearningRate", None, "synthetic"),
    (0.01, "lr", None, "synthetic"),
])
def test_healthy_learning_rates_stay_quiet(peak, name, hparams, fmt):
    assert lr_findings(lr_run(peak, name, hparams, fmt)) == []


def test_sgds_classic_rate_with_an_unknown_optimizer_is_quiet():
    assert lr_findings(lr_run(0.1, "lr", None)) == []  # ResNet's 0.1 step schedule: plausible for SGD


def test_a_rate_below_zero_inside_configured_bounds_is_no_internal_error():
    """Found by mypy: with the optimizer unknown, a rate below 0 inside bounds configured to allow it
    looked up the usual range of no family (KeyError: None, an internal-error abstention)."""
    from curvelint.model import Abstention
    from curvelint.rule import run_rule
    from curvelint_rules.learning_rate_out_of_range import LearningRateOutOfRange

    run = C.run_of(epochs("train_loss", np.linspace(2.0, 1.99, 20)), hparams={"lr": -0.001})
    ctx = C.context_of(run, LearningRateOutOfRange, default_bounds=[-1.0, 1.0])
    results = list(run_rule(LearningRateOutOfRange(), ctx))
    assert not any(isinstance(r, Abstention) and r.internal for r in results)
    assert results == []  # inside the configured bounds, and no usual range to be below
