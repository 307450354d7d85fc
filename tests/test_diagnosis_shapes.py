"""Shapes the realbench development split showed, each with a healthy twin over several seeds.

- saturated outputs (CL115): Keras clips probabilities at 1e-7, so a model whose outputs are
  pinned at 0/1 logs loss = (1 - accuracy) x 16.118 (PyTorch's BCELoss: x 100); short of the clip,
  a mostly wrong RNN whose every wrong answer costs 6+ nats (its weights blew up without clipping);
- a pinned accuracy that is a confident, mostly right model on a small validation set, not a
  one-class predictor (CL103 stays quiet; three equal evaluations need a loss not below the entropy), and two equal evaluations at the entropy of the
  split they imply (a majority predictor on imbalanced data, CL103);
- a validation loss above ln C with the accuracy at chance (memorised noise, CL103);
- a loss named after its kind (``train/dice_loss``) while a bounded metric climbs (CL114 quiet);
- a slow, linear decline that another run would extend by 5-10% (CL107);
- a fit that falls fast, then creeps down with validation beside it at a high level while the
  accuracy closes little of its headroom (CL114 at info; 4 evaluations are enough);
- heavy-tailed per-step noise of a loss near 0 (CL106 quiet).
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import curves as C
from curvelint.config import Config
from curvelint.engine import check_run, select_rules
from curvelint.model import Finding, Run, Series, Severity
from curvelint.roles import assign_roles

SEEDS = range(5)
KERAS_CLIP = -math.log(1e-7)


def findings(run: Run) -> list[Finding]:
    return check_run(run, select_rules(Config()), Config())[0]


def codes(run: Run, at_least: Severity = Severity.INFO) -> set[str]:
    return {f.rule for f in findings(run) if f.severity >= at_least}


def epochs(name: str, values) -> Series:
    v = np.asarray(values, float)
    return Series(name, np.arange(len(v)), v)


def rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


# -- CL115 saturated-outputs -------------------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_keras_outputs_saturated_at_the_clip_are_named(seed):
    """Binary, raw features: accuracy stuck at the majority share, the loss exactly (1 - acc) x 16.12."""
    n = 30
    acc = np.full(n, 0.627635)
    val_acc = np.full(n, 0.626761)
    run = C.run_of(epochs("loss", (1 - acc) * KERAS_CLIP * 0.99), epochs("accuracy", acc),
                   epochs("val_loss", (1 - val_acc) * KERAS_CLIP), epochs("val_accuracy", val_acc))
    found = findings(run)
    assert {f.metric for f in found if f.rule == "CL115"} == {"loss", "val_loss"}
    assert not [f for f in found if f.rule in ("CL101", "CL102")], "the clip is the cause, not a frozen model"


@pytest.mark.parametrize("seed", SEEDS)
def test_saturated_multiclass_outputs_whose_accuracy_moves(seed):
    """10 classes, lr far too high: the accuracy wanders 0.1..0.2, every wrong answer costs 16.12."""
    acc = np.clip(0.15 + rng(seed).normal(0, 0.03, 25), 0.08, 0.25)
    run = C.run_of(epochs("loss", (1 - acc) * KERAS_CLIP * np.exp(rng(seed + 1).normal(0, 0.004, 25))),
                   epochs("accuracy", acc))
    (f,) = [f for f in findings(run) if f.rule == "CL115"]
    assert f.severity == Severity.ERROR and "16.12" in f.message


def test_pytorch_bce_clamp_is_recognised():
    acc = np.full(12, 0.7)
    run = C.run_of(epochs("train_loss", (1 - acc) * 100.0), epochs("train_acc", acc))
    (f,) = [f for f in findings(run) if f.rule == "CL115"]
    assert "BCELoss" in f.message


@pytest.mark.parametrize("seed", SEEDS)
def test_a_learning_classifier_is_not_saturated(seed):
    n = 30
    t = np.arange(n) / n
    acc = 0.5 + 0.45 * (1 - np.exp(-4 * t)) + rng(seed).normal(0, 0.005, n)
    loss = 0.7 * np.exp(-3 * t) + 0.05
    run = C.run_of(epochs("loss", loss), epochs("accuracy", acc), epochs("val_loss", loss * 1.1),
                   epochs("val_accuracy", acc - 0.02))
    assert "CL115" not in codes(run)


def blown_up_rnn(seed: int, n: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """A character model (27 symbols, ln 27 = 3.3) whose weights blew up in its first epoch: the
    accuracy creeps 0.10 -> 0.25 while each wrong answer costs 9-12 nats."""
    r = rng(seed)
    acc = np.linspace(0.10, 0.25, n) + r.normal(0, 0.01, n)
    cost = np.linspace(12.0, 9.0, n) + r.normal(0, 0.3, n)
    return acc, (1 - acc) * cost


@pytest.mark.parametrize("seed", SEEDS)
def test_a_mostly_wrong_model_that_is_sure_of_its_wrong_answers_is_saturated(seed):
    """Keras history of an RNN without gradient clipping: no gradient norm, no clip value hit."""
    acc, loss = blown_up_rnn(seed)
    val_acc, val_loss = blown_up_rnn(seed + 10)
    run = C.run_of(epochs("loss", loss), epochs("accuracy", acc), epochs("val_loss", val_loss),
                   epochs("val_accuracy", val_acc))
    found = [f for f in findings(run) if f.rule == "CL115"]
    assert {f.metric for f in found} == {"loss", "val_loss"}
    assert all("exploding gradients" in f.message and "word-level" in f.message for f in found)
    assert all(f.severity == Severity.INFO for f in found), "below 10 nats: a huge vocabulary could explain it"
    assert "CL114" not in codes(run), "saturated outputs, not too little capacity"


@pytest.mark.parametrize("seed", SEEDS)
def test_wrong_answers_beyond_any_vocabulary_are_a_warning(seed):
    acc, loss = blown_up_rnn(seed)
    run = C.run_of(epochs("loss", loss * 1.4), epochs("accuracy", acc))
    (f,) = [f for f in findings(run) if f.rule == "CL115"]
    assert f.severity == Severity.WARNING and "word-level" not in f.message


@pytest.mark.parametrize("run", ["k-rnn-chars2-d3c912/training.log", "pl-lstm-chars-90c19b/lightning_logs/version_0"])
def test_real_rnns_without_clipping_written_by_keras_and_lightning(run):
    """The dev split's RNNs trained without gradient clipping (Keras CSVLogger; Lightning CSVLogger), and
    every healthy character model beside them (Keras history and CSVLogger, Lightning, PyTorch)."""
    from conftest import FIXTURES
    from curvelint.engine import lint

    runs = FIXTURES / "realbench" / "runs"
    found = lint([str(runs / run)]).findings
    assert any(f.rule == "CL115" and "exploding gradients" in f.message for f in found)
    assert not any(f.rule == "CL114" for f in found)
    labels = json.loads((FIXTURES / "realbench" / "labels.json").read_text())
    healthy = [e["run"] for e in labels if e["labels"] == ["healthy"] and "chars" in e["config"]]
    assert len(healthy) >= 10
    assert not [r for r in healthy if any(f.rule == "CL115" for f in lint([str(runs / r)]).findings)]


@pytest.mark.parametrize("seed", SEEDS)
def test_mostly_wrong_but_uncertain_models_are_not_saturated(seed):
    """A healthy character model (loss from ln 27 down, about ln C per wrong answer), a 1000-class
    model trained from scratch (7 nats per wrong answer at first, then less), a validation loss that
    grows overconfident late (overfitting, cheap at first), and a regression 'accuracy' beside an MSE."""
    r = rng(seed)
    t = np.arange(10) / 10
    char_acc = 0.05 + 0.55 * (1 - np.exp(-3 * t)) + r.normal(0, 0.005, 10)
    char_loss = 1.2 + 2.1 * np.exp(-3 * t)
    wide_acc = 0.001 + 0.45 * (1 - np.exp(-2 * t))
    wide_loss = 2.5 + 4.4 * np.exp(-2 * t)
    late_acc = np.full(10, 0.4) + r.normal(0, 0.005, 10)
    late_loss = np.linspace(1.8, 5.0, 10)
    runs = [C.run_of(epochs("loss", char_loss), epochs("accuracy", char_acc)),
            C.run_of(epochs("loss", wide_loss), epochs("accuracy", wide_acc)),
            C.run_of(epochs("loss", char_loss), epochs("accuracy", char_acc),
                     epochs("val_loss", late_loss), epochs("val_accuracy", late_acc)),
            C.run_of(epochs("mse", np.linspace(900, 400, 10)), epochs("accuracy", np.linspace(0.001, 0.004, 10))),
            C.run_of(epochs("loss", np.linspace(900, 400, 10)), epochs("accuracy", np.linspace(0.0, 0.004, 10)))]
    for run in runs:
        assert "CL115" not in codes(run)


# -- CL103 pinned accuracy: one class, or a confident model on a small set ----------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_a_pinned_accuracy_with_a_loss_below_any_one_class_model_is_quiet(seed):
    """142 validation examples: 138 right at 280 of 300 evaluations (0.9718), val loss 0.05 << H(0.97/0.03)."""
    n = 300
    r = rng(seed)
    val_acc = np.full(n, 0.971831)
    val_acc[r.choice(n, 18, replace=False)] = r.choice([0.9648, 0.9789, 0.9859], 18)
    val_loss = 0.05 + 0.1 * np.exp(-np.arange(n) / 20) + r.normal(0, 0.002, n)
    train = 0.6 * np.exp(-np.arange(n) / 15) + 1e-4
    run = C.run_of(epochs("train_loss", train), epochs("val_loss", val_loss), epochs("val_acc", val_acc))
    assert "CL103" not in codes(run, Severity.WARNING)


@pytest.mark.parametrize("seed", SEEDS)
def test_three_equal_evaluations_of_a_converged_model_are_not_one_class(seed):
    """A 3-epoch Keras run on breast cancer: 139 of 142 right at every evaluation (0.978873) while
    val_loss falls below H(0.979 / 0.021) = 0.102; the same three accuracies with the loss at that
    entropy are a one-class predictor."""
    r = rng(seed)
    val_acc = np.full(3, 0.978873)
    train = epochs("loss", np.r_[0.37, 0.12, 0.08] * np.exp(r.normal(0, 0.02, 3)))
    acc = epochs("accuracy", np.r_[0.84, 0.96, 0.979])
    confident = C.run_of(train, acc, epochs("val_loss", np.r_[0.119, 0.079, 0.071] * np.exp(r.normal(0, 0.02, 3))),
                         epochs("val_accuracy", val_acc))
    assert "CL103" not in codes(confident)
    floor = -(0.978873 * math.log(0.978873) + 0.021127 * math.log(0.021127))
    one_class = C.run_of(train, acc, epochs("val_loss", floor * np.r_[1.3, 1.1, 1.02]), epochs("val_accuracy", val_acc))
    assert "CL103" in codes(one_class, Severity.WARNING)


@pytest.mark.parametrize("seed", SEEDS)
def test_a_pinned_accuracy_at_the_entropy_of_its_split_is_one_class(seed):
    n = 40
    val_acc = np.full(n, 0.626761)
    entropy = -(0.626761 * math.log(0.626761) + 0.373239 * math.log(0.373239))
    val_loss = entropy * (1 + 0.01 * np.exp(-np.arange(n) / 5)) * np.exp(rng(seed).normal(0, 0.001, n))
    run = C.run_of(epochs("loss", val_loss * 1.005), epochs("val_loss", val_loss), epochs("val_accuracy", val_acc))
    assert "CL103" in codes(run, Severity.WARNING)


def _hf_two_evals(eval_loss: list[float], train_end: float) -> Run:
    train = np.r_[0.685, 0.618, 0.457, 0.298, 0.21, 0.197, 0.189, train_end]
    return C.run_of(Series("loss", np.arange(10, 90, 10), train), Series("eval_loss", [50, 87], eval_loss),
                    Series("eval_accuracy", [50, 87], [0.9608, 0.9608]))


def test_two_equal_evaluations_at_the_entropy_of_their_split_are_a_majority_predictor():
    """HF Trainer, 4% minority: eval_accuracy 0.9608 twice = the majority rate, eval_loss at H(0.96/0.04)."""
    (f,) = [f for f in findings(_hf_two_evals([0.1944, 0.1723], 0.1608)) if f.rule == "CL103"]
    assert f.severity == Severity.WARNING and "entropy of a 96.1% / 3.9% split" in f.message


def test_two_equal_evaluations_alone_are_no_evidence():
    assert "CL103" not in codes(_hf_two_evals([0.09, 0.07], 0.05))
    (f,) = [f for f in findings(_hf_two_evals([0.1944, 0.1723], 0.05)) if f.rule == "CL103"]
    assert f.severity == Severity.INFO  # the validation loss agrees, the training loss fell far below it


# -- CL103 validation worse than chance ------------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_a_validation_loss_above_ln_c_with_the_accuracy_at_chance(seed):
    """Random training labels, 4 classes, 4 evaluations: the held-out loss climbs past ln 4."""
    r = rng(seed)
    val_loss = math.log(4) * np.r_[1.018, 1.027, 1.037, 1.071] * np.exp(r.normal(0, 0.002, 4))
    run = C.run_of(Series("Loss/train", np.arange(5, 480, 5), np.linspace(1.39, 1.22, 95) * np.exp(r.normal(0, 0.02, 95))),
                   Series("Loss/val", [100, 200, 300, 400], val_loss),
                   Series("Accuracy/val", [100, 200, 300, 400], [0.2, 0.2625, 0.27, 0.2575]))
    assert "CL103" in codes(run, Severity.WARNING)


def test_a_validation_loss_far_above_ln_c_is_not_chance():
    run = C.run_of(Series("Loss/val", [100, 200, 300, 400], [2.0, 2.1, 2.2, 2.3]),
                   Series("Accuracy/val", [100, 200, 300, 400], [0.2, 0.26, 0.27, 0.25]))
    assert "CL103" not in codes(run)


# -- roles and bounded metrics -----------------------------------------------------------------------------


def test_a_split_s_one_loss_named_after_its_kind_is_that_split_s_loss():
    r = assign_roles(["train/dice_loss", "val/dice_loss", "train/pixel_acc", "val/pixel_acc"])
    assert (r.train_loss, r.val_loss) == ("train/dice_loss", "val/dice_loss")
    components = assign_roles(["train/kl_loss", "train/recon_loss", "val/kl_loss", "val/recon_loss"])
    assert (components.train_loss, components.val_loss) == (None, None)  # parts of a loss, not the loss


@pytest.mark.parametrize("seed", SEEDS)
def test_a_dice_loss_that_settles_while_pixel_accuracy_climbs_is_not_underfitting(seed):
    n = 50
    t = np.arange(n)
    r = rng(seed)
    dice = (0.53 + 0.24 * np.exp(-t / 4)) * np.exp(r.normal(0, 0.004, n))
    acc = 0.84 - 0.54 * np.exp(-t / 2) + r.normal(0, 0.003, n)
    run = C.run_of(epochs("train/dice_loss", dice), epochs("val/dice_loss", dice * 1.02),
                   epochs("train/pixel_acc", acc), epochs("val/pixel_acc", acc - 0.01))
    assert "CL114" not in codes(run)


# -- CL107: slow and linear ----------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_a_slow_linear_decline_is_slow_convergence(seed):
    """Character RNN with SGD at 0.01 where 20 is the recipe: 3.27 -> 3.06, still straight at the end."""
    steps = np.arange(2, 172, 2)
    loss = np.linspace(3.27, 3.06, len(steps)) * np.exp(rng(seed).normal(0, 0.002, len(steps)))
    run = C.run_of(Series("train_loss", steps, loss))
    assert "CL107" in codes(run, Severity.WARNING)


@pytest.mark.parametrize("seed", SEEDS)
def test_a_decelerating_decline_is_not_slow_convergence(seed):
    steps = np.arange(2, 172, 2)
    t = (steps - 2) / 170
    loss = (1.2 + 2.1 * np.exp(-5 * t)) * np.exp(rng(seed).normal(0, 0.002, len(steps)))
    assert "CL107" not in codes(C.run_of(Series("train_loss", steps, loss)))


# -- CL106: per-step noise near zero -------------------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_heavy_tailed_per_step_noise_of_a_converged_loss_is_no_warning(seed):
    """Batch of 16, loss ~0.025 after 0.69: a batch with one hard example reads 0.09-0.14."""
    r = rng(seed)
    n = 171
    t = np.arange(n)
    level = 0.02 + 0.67 / (1 + np.exp((t - 65) / 8))
    loss = level * np.exp(r.normal(0, 0.05, n))
    hard = r.choice(np.arange(100, n), 7, replace=False)
    loss[hard] += r.uniform(0.06, 0.11, 7)
    run = C.run_of(Series("loss", t + 1, loss))
    assert "CL106" not in codes(run, Severity.WARNING)


# -- CL121: plausible, but too low for this run ------------------------------------------------------------


def _adam(lr: float, loss) -> Run:
    n = len(loss)
    return C.run_of(epochs("train_loss", loss), epochs("lr-Adam", np.full(n, lr)), hparams={"optimizer": "adam"})


@pytest.mark.parametrize("seed", SEEDS)
def test_a_rate_below_the_usual_range_on_a_loss_that_barely_moved(seed):
    loss = np.linspace(2.324, 2.299, 30) * np.exp(rng(seed).normal(0, 0.001, 30))
    (f,) = [f for f in findings(_adam(1e-6, loss)) if f.rule == "CL121"]
    assert f.severity == Severity.WARNING and "moved only" in f.message


@pytest.mark.parametrize("seed", SEEDS)
def test_a_rate_below_the_usual_range_that_fine_tunes_is_quiet(seed):
    loss = (0.6 + 0.8 * np.exp(-np.arange(30) / 6)) * np.exp(rng(seed).normal(0, 0.01, 30))
    assert "CL121" not in codes(_adam(1e-6, loss))


# -- Lightning's per-step twin of a short epoch series -------------------------------------------------------


def test_a_blow_up_inside_the_first_epoch_is_seen_in_the_per_step_loss():
    """SGD at 20 without clipping: 3.08 at step 1, 17.7 at step 15, 4.2 at the end; the 8 epoch means fall."""
    steps = np.arange(1, 136, 2)
    r = rng(0)
    step_loss = np.r_[3.08, 12.0 * np.exp(-np.linspace(0, 1, len(steps) - 1)) + 4.0] * np.exp(r.normal(0, 0.03, len(steps)))
    epoch_steps = np.arange(16, 136, 17)
    run = C.run_of(Series("train_loss_step", steps, step_loss),
                   Series("train_loss_epoch", epoch_steps, np.r_[33.9, 12.7, 9.0, 7.2, 5.9, 5.7, 5.2, 5.0][:len(epoch_steps)]))
    (f,) = [f for f in findings(run) if f.rule == "CL104"]
    assert f.metric == "train_loss_step"


def test_enough_epoch_means_stay_the_training_loss():
    from curvelint.roles import prefer_steps
    roles = assign_roles(["train_loss_epoch", "train_loss_step"])
    assert prefer_steps(roles, {"train_loss_epoch": 30, "train_loss_step": 600}).train_loss == "train_loss_epoch"
    assert prefer_steps(roles, {"train_loss_epoch": 8, "train_loss_step": 68}).train_loss == "train_loss_step"


# -- CL108 with the number of classes unknown ------------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_a_classifier_starting_above_ln_1000_started_absurdly_high(seed):
    """Raw breast-cancer features (up to ~4000): the first epoch's mean loss is 143, then the prior."""
    loss = np.r_[143.0, 0.6625 * np.exp(rng(seed).normal(0, 0.002, 59))]
    acc = np.r_[0.53, np.full(59, 0.6288)]
    (f,) = [f for f in findings(C.run_of(epochs("loss", loss), epochs("accuracy", acc))) if f.rule == "CL108"]
    assert f.severity == Severity.WARNING and "ln(1000)" in f.message


@pytest.mark.parametrize("seed", SEEDS)
def test_a_classifier_starting_near_chance_is_quiet(seed):
    t = np.arange(30)
    loss = (0.05 + 2.25 * np.exp(-t / 5)) * np.exp(rng(seed).normal(0, 0.01, 30))
    acc = 0.98 - 0.88 * np.exp(-t / 4)
    assert "CL108" not in codes(C.run_of(epochs("loss", loss), epochs("accuracy", acc)))


def _first_epoch_mean_loss(classes: int, spread: float, seed: int) -> float:
    """The cross-entropy of a fresh classifier whose logits have standard deviation `spread`."""
    z = rng(seed).normal(0, spread, (4000, classes))
    top = z.max(axis=1)
    return float(np.mean(top + np.log(np.exp(z - top[:, None]).sum(axis=1)) - z[:, 0]))


@pytest.mark.parametrize("classes", (2, 10, 100))
@pytest.mark.parametrize("seed", SEEDS)
def test_a_first_loss_twice_ln_c_is_an_absurd_start(classes, seed):
    """Raw 0-255 pixels: logits of spread 4 at the first log (2-3x ln C), then the network collapses to
    the uniform prediction ln C. The start is named whether or not the chance level is too."""
    first = _first_epoch_mean_loss(classes, 4.0, seed)
    loss = np.r_[first, math.log(classes) * (1 + 0.002 * rng(seed).normal(size=14))]
    run = C.run_of(epochs("loss", loss), epochs("val_loss", loss[1:] * 1.001), hparams={"num_classes": classes})
    (f,) = [f for f in findings(run) if f.rule == "CL108"]
    assert f.severity == Severity.WARNING and f.evidence["first"] / math.log(classes) >= 2


@pytest.mark.parametrize("classes", (2, 10, 100))
@pytest.mark.parametrize("seed", SEEDS)
def test_a_first_loss_of_a_standard_initialisation_is_quiet(classes, seed):
    """Logits of spread 1.5 at the first log (a standard initialisation on standardised inputs gives <= 1):
    1.1-1.5x ln C, then learning."""
    first = _first_epoch_mean_loss(classes, 1.5, seed)
    t = np.arange(20)
    loss = first * (0.1 + 0.9 * np.exp(-t / 4)) * np.exp(0.01 * rng(seed).normal(size=20))
    run = C.run_of(epochs("loss", loss), epochs("val_loss", loss * 1.05), hparams={"num_classes": classes})
    assert "CL108" not in codes(run)


# -- CL114: a slowing tail is converging -----------------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_underfitting_whose_tail_still_creeps_but_slows(seed):
    """One hidden unit: 2.24 -> 1.51 over 60 epochs, the last 30% still falling 2-3% (significant)."""
    t = np.arange(60)
    r = rng(seed)
    train = (1.45 + 0.8 * np.exp(-t / 14)) * np.exp(r.normal(0, 0.002, 60))
    val = (1.53 + 0.65 * np.exp(-t / 14)) * np.exp(r.normal(0, 0.003, 60))
    acc = 0.31 - 0.14 * np.exp(-t / 10) + r.normal(0, 0.005, 60)
    run = C.run_of(epochs("loss", train), epochs("val_loss", val), epochs("val_accuracy", acc))
    (f,) = [f for f in findings(run) if f.rule == "CL114"]
    assert f.severity == Severity.WARNING


# -- CL114: still falling, together and slowing, at a high level -------------------------------------------------


def _capacity_limited(seed: int, n: int = 30, evals: int | None = None) -> Run:
    """Two hidden units on 10 classes: a fast first drop, then both losses creep down together at
    ~60% of ln 10 while the accuracy closes a third of its headroom (still falling at the end)."""
    t = np.arange(n)
    r = rng(seed)
    train = (1.25 + 1.1 * np.exp(-t / (n / 3))) * np.exp(r.normal(0, 0.004, n))
    val = train * 1.02 * np.exp(r.normal(0, 0.004, n))
    acc = 0.42 - 0.32 * np.exp(-t / (n / 3)) + r.normal(0, 0.005, n)
    if evals is None:
        return C.run_of(epochs("train/loss", train), epochs("val/loss", val), epochs("val/acc", acc))
    at = np.linspace(n // evals, n - 1, evals).astype(int)
    return C.run_of(epochs("train/loss", train), Series("val/loss", at, val[at]), Series("val/acc", at, acc[at]))


@pytest.mark.parametrize("seed", SEEDS)
def test_capacity_limited_fit_still_creeping_is_underfitting_at_info(seed):
    found = [f for f in findings(_capacity_limited(seed)) if f.rule in ("CL114", "CL107")]
    assert [(f.rule, f.severity) for f in found] == [("CL114", Severity.INFO)]


@pytest.mark.parametrize("seed", SEEDS)
def test_capacity_limited_fit_with_four_evaluations(seed):
    assert "CL114" in codes(_capacity_limited(seed, n=100, evals=4))


@pytest.mark.parametrize("seed", SEEDS)
def test_a_learning_rate_too_low_is_not_called_underfitting(seed):
    """A straight decline that moved 10%: CL107's shape, not a fit that levelled off."""
    t = np.arange(60)
    r = rng(seed)
    train = (2.3 - 0.004 * t) * np.exp(r.normal(0, 0.002, 60))
    acc = 0.10 + 0.002 * t + r.normal(0, 0.003, 60)
    run = C.run_of(epochs("train/loss", train), epochs("val/loss", train * 1.01), epochs("val/acc", acc))
    assert "CL114" not in codes(run)
    assert "CL107" in codes(run, Severity.WARNING)


@pytest.mark.parametrize("seed", SEEDS)
def test_healthy_fits_that_level_off_low_or_learn_stay_quiet(seed):
    """The healthy twin (loss to 0.2, accuracy 0.95), and a 4-epoch run that improves."""
    t = np.arange(30)
    r = rng(seed)
    train = (0.2 + 2.1 * np.exp(-t / 6)) * np.exp(r.normal(0, 0.004, 30))
    acc = 0.95 - 0.85 * np.exp(-t / 5)
    healthy = C.run_of(epochs("train/loss", train), epochs("val/loss", train * 1.05), epochs("val/acc", acc))
    short = C.run_of(epochs("train/loss", [2.3, 1.6, 1.3, 1.2]), epochs("val/loss", [2.2, 1.65, 1.35, 1.25]),
                     epochs("val/acc", [0.3, 0.55, 0.62, 0.66]))
    assert "CL114" not in codes(healthy) | codes(short)


@pytest.mark.parametrize("seed", SEEDS)
def test_a_binary_classifier_logged_after_its_fast_drop_is_judged_against_ln_2(seed):
    """The first logged loss (0.54, an epoch in) is already below ln 2: 0.32 at the end is under half
    of what a binary classifier that learned nothing scores, though 59% of the first logged loss."""
    t = np.arange(30)
    r = rng(seed)
    train = (0.30 + 0.24 * np.exp(-t / 8)) * np.exp(r.normal(0, 0.004, 30))
    acc = 0.85 - 0.03 * np.exp(-t / 8) + r.normal(0, 0.002, 30)
    run = C.run_of(epochs("train_loss", train), epochs("val_loss", train * 1.01), epochs("val_accuracy", acc))
    assert "CL114" not in codes(run)


@pytest.mark.parametrize("seed", SEEDS)
def test_a_high_auc_shows_learning_when_the_accuracy_does_not(seed):
    """Both losses level off at 60% of their start and the thresholded accuracy closes little of its
    headroom, but the AUC ends at 0.93: the model ranks well, it did learn."""
    run = _capacity_limited(seed)
    t = np.arange(30)
    run.series["val/auc"] = epochs("val/auc", 0.93 - 0.4 * np.exp(-t / 6))
    assert "CL114" not in codes(C.run_of(*run.series.values()))


# -- CL110: a rise, then a plateau -------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_validation_that_rose_then_stayed_up_while_training_memorised(seed):
    """100 training examples, 200 epochs: val 1.15 -> 0.41 at epoch 3 -> 0.80 by epoch 18, then 0.77 flat."""
    t = np.arange(200)
    r = rng(seed)
    val = np.where(t <= 3, 1.15 - 0.185 * t, 0.41 + 0.39 * (1 - np.exp(-(t - 3) / 4)) - 0.0002 * np.maximum(t - 18, 0))
    val = val * np.exp(r.normal(0, 0.003, 200))
    train = 2.0 * np.exp(-t / 2) + 1.5e-6
    run = C.run_of(epochs("loss", train), epochs("val_loss", val))
    (f,) = [f for f in findings(run) if f.rule == "CL110"]
    assert f.severity == Severity.WARNING and "the last" in f.message


@pytest.mark.parametrize("seed", SEEDS)
def test_validation_that_settles_below_an_early_noisy_best_is_no_rise(seed):
    t = np.arange(60)
    val = (0.3 + 0.9 * np.exp(-t / 6)) * np.exp(rng(seed).normal(0, 0.01, 60))
    run = C.run_of(epochs("loss", 1.5 * np.exp(-t / 8) + 0.1), epochs("val_loss", val))
    assert "CL110" not in codes(run, Severity.WARNING)


# -- CL103: an accuracy above chance overrules a loss at ln C ------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_a_loss_at_ln_c_with_a_high_accuracy_is_not_chance(seed):
    """Inputs x1000: the model is right on 90% and absurdly confident on the rest, val loss ~ 2.3."""
    r = rng(seed)
    run = C.run_of(epochs("train_loss", 2.0 * np.exp(-np.arange(30) / 3) + 1e-7),
                   epochs("val_loss", 2.33 * np.exp(r.normal(0, 0.03, 30))),
                   epochs("val_acc", np.clip(0.9 + r.normal(0, 0.01, 30), 0, 1)), hparams={"num_classes": 10})
    assert "CL103" not in codes(run)


# -- CL131: tiny norms ------------------------------------------------------------------------------------------


def test_a_jump_of_a_vanishing_gradient_norm_is_no_explosion():
    v = np.r_[np.geomspace(0.6, 1e-13, 130), 2.5e-9]
    run = C.run_of(Series("grad_norm", np.arange(131) * 5, v),
                   Series("train_loss", np.arange(131) * 5, np.geomspace(2.0, 1e-7, 131)))
    assert "CL131" not in codes(run, Severity.WARNING)
