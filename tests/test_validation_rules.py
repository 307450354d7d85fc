"""CL110-CL114 and CL120 on synthetic curves with a known truth (several seeds), plus the real logs."""

from __future__ import annotations

import numpy as np
import pytest

import curves as c
from curvelint.model import Abstention, Finding, Series, Severity
from curvelint_rules.early_stopping_missed import EarlyStoppingMissed
from curvelint_rules.overfitting import Overfitting
from curvelint_rules.plateau_without_lr_decay import PlateauWithoutLrDecay
from curvelint_rules.underfitting import Underfitting
from curvelint_rules.validation_not_improving import ValidationNotImproving
from curvelint_rules.validation_suspicious import ValidationSuspicious

SEEDS = range(5)
VALIDATION_RULES = (Overfitting, EarlyStoppingMissed, ValidationNotImproving, ValidationSuspicious, Underfitting,
                    PlateauWithoutLrDecay)


# -- generators (epoch-level unless stated) -------------------------------------------------------


def epochs(values, name: str) -> Series:
    return Series(name, np.arange(len(values)), np.asarray(values, dtype=float))


def noisy(base, noise: float, seed: int) -> np.ndarray:
    return np.asarray(base) * np.exp(np.random.default_rng(seed).normal(0, noise, len(base)))


def decay(n: int, start: float, end: float, tau: float = 0.2) -> np.ndarray:
    t = np.arange(n) / max(n - 1, 1)
    return end + (start - end) * np.exp(-t / tau)


def train_loss(n: int = 40, seed: int = 0, start: float = 1.2, end: float = 0.05, noise: float = 0.02) -> Series:
    """Training loss that keeps falling to the end (Keras `loss`)."""
    return epochs(noisy(decay(n, start, end * 0.5, 0.35), noise, seed + 100), "loss")


def val_plateau(n: int = 40, seed: int = 0, level: float = 0.3, noise: float = 0.02, at: float = 0.3) -> Series:
    """Validation that improves, then sits on a noisy plateau from `at` of the run on."""
    t = np.arange(n) / n
    base = level + (1.0 - level) * np.exp(-t / (at / 6))
    return epochs(noisy(base, noise, seed + 200), "val_loss")


def worst(rule, run, **options) -> Severity | None:
    sev = [r.severity for r in c.results(rule, run, **options) if isinstance(r, Finding)]
    return max(sev) if sev else None


def quiet(rule, run) -> bool:
    """No warning or error (info notes allowed)."""
    s = worst(rule, run)
    return s is None or s < Severity.WARNING


def abstains(rule, run) -> bool:
    res = c.results(rule, run)
    return bool(res) and all(isinstance(r, Abstention) for r in res)


# -- CL110 overfitting -----------------------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("best_at", [0.0, 0.3, 0.6])
def test_overfitting_found_with_evidence(seed, best_at):
    run = c.run_of(train_loss(40, seed), c.val_overfit(40, seed, best_at=best_at, rise=1.6))
    (f,) = c.findings(Overfitting, run)
    assert f.severity == Severity.WARNING and f.metric == "val_loss"
    ev = f.evidence
    assert ev["relative_rise"] > 0.2 and ev["p_value"] < 0.05 and ev["train_p_value"] < 0.05
    assert ev["best_step"] <= best_at * 40 + 4  # the decay is flat just before the turn
    assert "val_loss" in f.message and "p=" in f.message and "step" in f.message


@pytest.mark.parametrize("seed", SEEDS)
def test_overfitting_with_five_evaluations_and_per_step_training(seed):
    """whisper-ja-like: per-step train loss falling to ~0, eval loss rising monotonically over 5 evals."""
    train = c.healthy(200, seed, start=0.3, end=0.001, stride=25)
    val = Series("eval_loss", np.arange(1, 6) * 1000, noisy([0.321, 0.358, 0.394, 0.412, 0.420], 0.003, seed))
    (f,) = c.findings(Overfitting, c.run_of(train, val))
    assert f.severity == Severity.WARNING and f.evidence["best_step"] == 1000


@pytest.mark.parametrize("seed", SEEDS)
def test_overfitting_on_a_validation_accuracy_without_val_loss(seed):
    acc = c.rising_accuracy(40, seed, 0.5, 0.99)
    t = np.arange(40) / 40
    val_acc = epochs(np.clip(np.where(t < 0.3, 0.5 + t, 0.8 - 0.5 * (t - 0.3)), 0, 1)
                     + np.random.default_rng(seed).normal(0, 0.003, 40), "val_accuracy")
    (f,) = c.findings(Overfitting, c.run_of(acc, val_acc))
    assert f.metric == "val_accuracy" and f.evidence["best_value"] > f.evidence["end_value"]


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("case", ["converged", "dropout_gap", "step_lr", "early_stopped", "healthy_per_step"])
def test_overfitting_quiet_on_healthy_runs(seed, case):
    if case == "converged":  # both converge on a low plateau
        train = c.plateau(60, seed)
        run = c.run_of(train, c.val_following(train, seed=seed, gap=1.2))
    elif case == "dropout_gap":  # validation below training
        train = train_loss(40, seed)
        run = c.run_of(train, c.val_following(train, seed=seed, gap=0.8))
    elif case == "step_lr":
        train = c.step_lr(3000, seed)
        run = c.run_of(train, c.val_following(train, every=100, seed=seed, gap=1.1))
    elif case == "early_stopped":
        train = c.early_stopped(25, seed)
        run = c.run_of(train, c.val_following(train, seed=seed, gap=1.15))
    else:
        train = c.healthy(2000, seed)
        run = c.run_of(train, c.val_following(train, every=100, seed=seed, gap=1.1))
    assert quiet(Overfitting, run)


@pytest.mark.parametrize("seed", SEEDS)
def test_overfitting_quiet_on_a_noisy_plateau_whose_minimum_is_an_outlier(seed):
    train = c.plateau(60, seed, end=0.3)
    val = epochs(noisy(decay(60, 1.0, 0.32, 0.05), 0.06, seed + 5), "val_loss")
    assert quiet(Overfitting, c.run_of(train, val))


@pytest.mark.parametrize("seed", SEEDS)
def test_overfitting_not_reported_when_both_diverge(seed):
    train = c.diverging(40, seed, stride=1)
    val = c.val_following(train, seed=seed, gap=1.1)
    assert worst(Overfitting, c.run_of(train, val)) is None


@pytest.mark.parametrize("seed", SEEDS)
def test_mild_overfitting_is_info_only(seed):
    """Validation stalls over the second half while training keeps falling: the gap widens."""
    train = train_loss(40, seed, start=0.5, end=0.1)
    val = val_plateau(40, seed, level=0.3, noise=0.01, at=0.4)
    assert worst(Overfitting, c.run_of(train, val)) == Severity.INFO


def test_overfitting_abstains_without_validation_short_runs_or_training():
    assert abstains(Overfitting, c.run_of(train_loss()))
    assert abstains(Overfitting, c.run_of(c.short(4), c.short(4, name="val_loss")))
    # validation only: a clear rise is an info note (overfitting cannot be told from instability)
    assert [f.severity for f in c.findings(Overfitting, c.run_of(c.val_overfit(40)))] == [Severity.INFO]


def test_rl_loss_rising_while_return_improves_is_not_a_validation_problem():
    loss = Series("episode/MSE Loss", np.arange(100), np.linspace(1, 5, 100))
    ret = Series("episode/Return", np.arange(100), np.linspace(-300, 300, 100))
    run = c.run_of(loss, ret)
    for rule in VALIDATION_RULES:
        assert worst(rule, run) is None


# -- CL111 early-stopping-missed / CL120 plateau-without-lr-decay ------------------------------------


def lr_series(n: int, values) -> Series:
    return Series("lr", np.arange(n), np.broadcast_to(np.asarray(values, dtype=float), (n,)).copy())


@pytest.mark.parametrize("seed", SEEDS)
def test_wasted_epochs_reported_as_info_when_no_lr_is_logged(seed):
    train = val_plateau(40, seed, level=0.28, at=0.3)
    train = Series("loss", train.steps, train.values * 0.95)
    run = c.run_of(train, val_plateau(40, seed, level=0.3, at=0.3))
    assert c.findings(Overfitting, run) == []
    (f,) = c.findings(EarlyStoppingMissed, run)
    assert f.severity == Severity.INFO and f.evidence["evaluations_since"] >= 10
    assert "EarlyStopping" in f.hint and "restore_best_weights" in f.hint
    assert abstains(PlateauWithoutLrDecay, run)


@pytest.mark.parametrize("seed", SEEDS)
def test_plateau_at_constant_lr_goes_to_cl120_not_cl111(seed):
    train = Series("loss", np.arange(40), val_plateau(40, seed, level=0.28).values * 0.95)
    run = c.run_of(train, val_plateau(40, seed, level=0.3), lr_series(40, 1e-3))
    (f,) = c.findings(PlateauWithoutLrDecay, run)
    assert f.severity == Severity.INFO and f.evidence["lr"] == pytest.approx(1e-3)
    assert "ReduceLROnPlateau" in f.hint
    assert c.findings(EarlyStoppingMissed, run) == []


@pytest.mark.parametrize("seed", SEEDS)
def test_lr_decayed_during_the_plateau_is_not_cl120(seed):
    train = Series("loss", np.arange(40), val_plateau(40, seed, level=0.28).values * 0.95)
    lr = lr_series(40, np.where(np.arange(40) < 25, 1e-3, 1e-4))
    run = c.run_of(train, val_plateau(40, seed, level=0.3), lr)
    assert c.findings(PlateauWithoutLrDecay, run) == []
    assert len(c.findings(EarlyStoppingMissed, run)) == 1


@pytest.mark.parametrize("seed", SEEDS)
def test_overfitting_is_reported_once(seed):
    run = c.run_of(train_loss(40, seed), c.val_overfit(40, seed), lr_series(40, 1e-3))
    reported = [r for rule in VALIDATION_RULES for r in c.findings(rule, run)]
    assert [f.rule for f in reported] == ["CL110"]


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("case", ["early_stopped", "improving", "short", "no_val"])
def test_wasted_epochs_quiet(seed, case):
    if case == "early_stopped":
        train = c.early_stopped(25, seed)
        run = c.run_of(train, c.val_following(train, seed=seed, gap=1.1), lr_series(25, 1e-3))
    elif case == "improving":
        train = c.healthy(2000, seed)
        run = c.run_of(train, c.val_following(train, every=100, seed=seed), lr_series(2000, 1e-3))
    elif case == "short":
        run = c.run_of(c.short(4, seed), c.short(4, seed, name="val_loss"))
    else:
        run = c.run_of(train_loss(40, seed), lr_series(40, 1e-3))
    for rule in (EarlyStoppingMissed, PlateauWithoutLrDecay):
        assert c.findings(rule, run) == []


# -- CL112 validation-not-improving --------------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_flat_validation_loss_while_training_improves(seed):
    run = c.run_of(train_loss(30, seed), epochs(noisy(np.full(30, 2.3), 0.01, seed), "val_loss"))
    (f,) = c.findings(ValidationNotImproving, run)
    assert f.severity == Severity.WARNING and f.evidence["val_improvement"] < 0.03
    assert f.evidence["train_improvement"] > 0.5 and "preprocessing" in f.hint


@pytest.mark.parametrize("seed", SEEDS)
def test_validation_accuracy_at_chance_while_training_accuracy_rises(seed):
    run = c.run_of(c.rising_accuracy(30, seed, 0.3, 0.95), c.chance_accuracy(30, seed, name="val_accuracy"))
    (f,) = c.findings(ValidationNotImproving, run)
    assert f.metric == "val_accuracy"


@pytest.mark.parametrize("seed", SEEDS)
def test_validation_not_improving_quiet_when_validation_follows(seed):
    train = train_loss(30, seed)
    assert c.findings(ValidationNotImproving, c.run_of(train, c.val_following(train, seed=seed, gap=0.9))) == []
    acc = c.rising_accuracy(30, seed, 0.4, 0.9)
    val_acc = c.rising_accuracy(30, seed + 1, 0.45, 0.85, name="val_accuracy")
    assert c.findings(ValidationNotImproving, c.run_of(acc, val_acc)) == []


@pytest.mark.parametrize("seed", SEEDS)
def test_validation_not_improving_defers_to_a_perfect_validation_metric(seed):
    """Leaked labels: val loss flat near 0 and val accuracy ~1.0 from epoch 0 is CL113's, not CL112's."""
    rng = np.random.default_rng(seed)
    run = c.run_of(train_loss(30, seed), c.rising_accuracy(30, seed, 0.5, 0.9),
                   epochs(noisy(np.full(30, 0.005), 0.05, seed), "val_loss"),
                   epochs(np.clip(1.0 - np.abs(rng.normal(0, 0.001, 30)), 0, 1), "val_accuracy"))
    assert c.findings(ValidationNotImproving, run) == []
    assert [f.rule for f in c.findings(ValidationSuspicious, run)] == ["CL113"]


@pytest.mark.parametrize("seed", SEEDS)
def test_random_labels_overfit_loss_and_flat_accuracy_are_both_reported(seed):
    """Memorisation without any generalisation: val loss rises (CL110), val accuracy stays at chance (CL112)."""
    run = c.run_of(train_loss(40, seed), c.val_overfit(40, seed, best_at=0.0, rise=2.0),
                   c.rising_accuracy(40, seed, 0.1, 0.97), c.chance_accuracy(40, seed, name="val_accuracy"))
    assert [f.metric for f in c.findings(Overfitting, run)] == ["val_loss"]
    assert [f.metric for f in c.findings(ValidationNotImproving, run)] == ["val_accuracy"]


def test_validation_after_the_losses_turn_nan_is_not_judged():
    """rnn_exploding: NaN from epoch 5 on; val accuracy logged at chance afterwards is no plateau."""
    n = 40
    loss = train_loss(n).values.copy()
    loss[5:] = np.nan
    val = val_plateau(n).values.copy()
    val[5:] = np.nan
    acc = np.r_[np.linspace(0.1, 0.3, 5), np.full(n - 5, 0.1)]
    run = c.run_of(epochs(loss, "loss"), epochs(val, "val_loss"), epochs(acc, "val_accuracy"), lr_series(n, 0.1))
    for rule in VALIDATION_RULES:
        assert c.findings(rule, run) == []


def test_validation_not_improving_defers_to_overfitting():
    run = c.run_of(train_loss(40), c.val_overfit(40, best_at=0.0))
    assert c.findings(ValidationNotImproving, run) == []


# -- CL113 validation-suspicious -------------------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("with_accuracy", [True, False])
def test_validation_tracking_a_memorising_training_curve(seed, with_accuracy):
    tau = 6 if with_accuracy else 3  # loss only: memorisation must be deeper (1e-4) to be told from a regression
    train = epochs(noisy(2.3 * np.exp(-np.arange(40) / tau), 0.05, seed), "loss")
    val = epochs(noisy(train.values * 0.97, 0.05, seed + 1), "val_loss")
    extra = [c.rising_accuracy(40, seed, 0.3, 1.0)] if with_accuracy else []
    (f,) = c.findings(ValidationSuspicious, c.run_of(train, val, *extra))
    assert f.severity == Severity.INFO and f.evidence["train_ratio"] < 0.01
    assert 0.7 < f.evidence["median_val_train_ratio"] < 1.4


@pytest.mark.parametrize("seed", SEEDS)
def test_a_regression_fitting_both_splits_100x_better_is_not_leakage(seed):
    train = epochs(noisy(0.005 + np.exp(-np.arange(40) / 5), 0.05, seed), "loss")
    val = epochs(noisy(train.values * 1.05, 0.05, seed + 1), "val_loss")
    assert c.findings(ValidationSuspicious, c.run_of(train, val)) == []


@pytest.mark.parametrize("seed", SEEDS)
def test_validation_near_perfect_from_the_start(seed):
    acc = c.rising_accuracy(20, seed, 0.6, 0.95)
    val = epochs(np.clip(0.996 + np.random.default_rng(seed).normal(0, 0.001, 20), 0, 0.9999), "val_accuracy")
    (f,) = c.findings(ValidationSuspicious, c.run_of(acc, val))
    assert f.severity == Severity.INFO and not f.evidence["pinned"]


def test_validation_accuracy_pinned_at_one_on_a_tiny_set_is_info_only():
    """Row 25 of the real logs: val_accuracy 1.0 at every epoch, 5 epochs."""
    run = c.run_of(epochs([0.552, 0.305, 0.173, 0.232, 0.051], "loss"),
                   epochs([0.786, 0.857, 0.857, 0.929, 1.0], "accuracy"),
                   epochs([0.221, 0.075, 0.053, 0.046, 0.023], "val_loss"),
                   epochs([1.0] * 5, "val_accuracy"))
    (f,) = c.findings(ValidationSuspicious, run)
    assert f.severity == Severity.INFO and f.evidence["pinned"]


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("case", ["dropout_gap", "memorising_normal_val", "good_but_not_perfect", "easy_task"])
def test_validation_suspicious_quiet(seed, case):
    if case == "dropout_gap":
        train = train_loss(40, seed)
        run = c.run_of(train, c.val_following(train, seed=seed, gap=0.7))
    elif case == "memorising_normal_val":  # textbook: train -> 0, val stays up
        train = epochs(noisy(2.3 * np.exp(-np.arange(40) / 4), 0.05, seed), "loss")
        run = c.run_of(train, val_plateau(40, seed, level=0.4))
    elif case == "good_but_not_perfect":  # MNIST: 0.976 at epoch 0
        run = c.run_of(c.rising_accuracy(10, seed, 0.9, 0.99),
                       c.rising_accuracy(10, seed + 1, 0.976, 0.99, name="val_accuracy"))
    else:  # training is near perfect too
        run = c.run_of(c.rising_accuracy(10, seed, 0.985, 0.99),
                       c.rising_accuracy(10, seed + 1, 0.991, 0.995, name="val_accuracy"))
    assert c.findings(ValidationSuspicious, run) == []


# -- CL114 underfitting ------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_underfitting_both_converge_high_with_a_small_gap(seed):
    train = epochs(noisy(decay(40, 2.3, 1.9, 0.1), 0.005, seed), "loss")
    val = epochs(noisy(decay(40, 2.3, 1.95, 0.1), 0.005, seed + 1), "val_loss")
    (f,) = c.findings(Underfitting, c.run_of(train, val))
    assert f.severity == Severity.WARNING and f.evidence["train_ratio"] > 0.6 and f.evidence["gap"] < 0.15


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("case", ["low_plateau", "slow", "bounded_loss_with_accuracy", "gap", "short"])
def test_underfitting_quiet(seed, case):
    if case == "low_plateau":
        train = c.plateau(60, seed)
        run = c.run_of(train, c.val_following(train, seed=seed, gap=1.1))
    elif case == "slow":  # still improving: slow, not stuck
        train = c.slow(50, seed)
        run = c.run_of(train, c.val_following(train, seed=seed, noise=0.003))
    elif case == "bounded_loss_with_accuracy":  # dice-like loss 1.0 -> 0.91 while accuracy 0.54 -> 0.85
        train = epochs(noisy(decay(20, 1.0, 0.91, 0.3), 0.002, seed), "loss")
        val = epochs(noisy(decay(20, 1.0, 0.925, 0.3), 0.002, seed + 1), "val_loss")
        run = c.run_of(train, val, c.rising_accuracy(20, seed, 0.54, 0.85),
                       c.rising_accuracy(20, seed + 1, 0.55, 0.83, name="val_accuracy"))
    elif case == "gap":
        train = epochs(noisy(decay(40, 2.3, 1.9, 0.1), 0.005, seed), "loss")
        run = c.run_of(train, epochs(noisy(decay(40, 2.6, 2.5, 0.1), 0.005, seed + 1), "val_loss"))
    else:
        run = c.run_of(c.short(4, seed), c.short(4, seed + 1, name="val_loss"))
    assert c.findings(Underfitting, run) == []


# -- every healthy pattern stays quiet under every validation rule ---------------------------------------------


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("pattern", sorted(c.HEALTHY))
@pytest.mark.parametrize("gap", [0.8, 1.1])  # validation below training (dropout) or a little above
def test_healthy_patterns_get_no_warning_from_any_validation_rule(seed, pattern, gap):
    train = c.HEALTHY[pattern](seed=seed)
    every = max(1, len(train) // 30)
    run = c.run_of(train, c.val_following(train, every=every, seed=seed, gap=gap),
                   Series("lr", train.steps, np.full(len(train), 1e-3)))
    for rule in VALIDATION_RULES:
        assert quiet(rule, run), (rule.code, [f.message for f in c.findings(rule, run)])


# -- every rule: metadata, docs, and no crash on odd input ----------------------------------------------------


@pytest.mark.parametrize("rule", VALIDATION_RULES)
def test_rule_metadata_and_docs(rule):
    doc = rule.doc()
    assert rule.code and rule.name and rule.summary and rule.hint
    assert "Keras" in doc and ("PyTorch" in doc or "torch" in doc)
    for key, opt in rule.options.items():
        assert opt.doc, key


@pytest.mark.parametrize("rule", VALIDATION_RULES)
def test_rules_survive_odd_runs(rule):
    odd = [
        c.run_of(),
        c.run_of(epochs([1.0, np.nan, 0.5], "loss"), epochs([np.inf] * 6, "val_loss")),
        c.run_of(epochs([0.0] * 10, "loss"), epochs(np.linspace(0, -1, 10), "val_loss")),
        c.run_of(Series("loss", [5, 5, 5, 5, 5, 5], [1, 2, 3, 2, 1, 0.5]),
                 Series("val_loss", [5, 5, 5, 5, 5, 5], [1, 2, 3, 4, 5, 6])),
    ]
    for run in odd:
        for r in c.results(rule, run):
            assert isinstance(r, (Finding, Abstention))
            assert not (isinstance(r, Abstention) and r.reason.startswith("internal error"))


# -- real logs (../shared/realworld, skipped when absent) --------------------------------------------------------

MINE = "CL110,CL111,CL112,CL113,CL114,CL120"


def real_findings(root, slug: str):
    from curvelint.config import Config
    from curvelint.engine import lint

    return lint([str(root / slug)], Config(select=MINE.split(",")), jobs=1).findings


@pytest.mark.parametrize("slug", [
    "anaccount_dlgn",                 # row 11: textbook overfit
    "aigoncharov_trainer-state-viz",  # row 17: severe overfit (eval_g0_loss)
    "p4p4n1ck_whisper-ja",            # row 15: eval_loss rising over 5 evals
    "akboles_voice-id",               # row 30: overfit from epoch 0
])
def test_real_overfitting_runs(realworld, slug):
    found = real_findings(realworld, slug)
    assert any(f.rule == "CL110" and f.severity == Severity.WARNING for f in found), found
    assert {f.rule for f in found} == {"CL110"}  # reported once: no CL111/CL112/CL120 echo


@pytest.mark.parametrize("slug", [
    "coralreeffish_whisper-tiny",    # row 16: healthy long run
    "dheena731_tinyllama",           # row 22: healthy, best = last eval
    "abdul-aa_text-gen-lstm",        # row 1: healthy (flat last epochs: info at most)
    "meghdad-dtu_bixi-od",           # row 9: validation below training
    "alperclk_video-lstm",           # row 25: val_accuracy 1.0 on a tiny set
    "hcdescamps_cv-image-cls",       # rows 4-5: healthy MNIST, 5-6 val points
    "akshaykulkarni3467_naf-dqn",    # row 2: RL loss rises while the return improves
    "abdulrahman3e4_fashion-mnist",  # row 23: mild overfit -> info
    "aitzaz-saleem_tomato-leaf",     # row 27: noisy overfit, val rise not significant -> info
])
def test_real_runs_without_validation_warnings(realworld, slug):
    found = real_findings(realworld, slug)
    assert [f for f in found if f.severity >= Severity.WARNING] == [], found


def test_real_tiny_validation_set_gets_an_info_note(realworld):
    found = real_findings(realworld, "alperclk_video-lstm")
    assert [(f.rule, f.severity) for f in found] == [("CL113", Severity.INFO)]


def test_validation_tracking_and_perfect_together_corroborate_each_other():
    """Either leakage shape alone is a note (easy tasks look the same); both together are a warning."""
    train = c.series("loss", np.geomspace(2.0, 1e-4, 40))
    val = c.series("val_loss", np.geomspace(2.0, 1e-4, 40) * 1.1)
    acc = c.series("accuracy", np.r_[np.linspace(0.5, 1.0, 20), np.ones(20)])
    val_acc = c.series("val_accuracy", np.r_[0.995, 0.996, 0.998, np.ones(37)])
    found = c.findings(ValidationSuspicious, c.run_of(train, val, acc, val_acc))
    assert len(found) == 2 and all(f.severity == Severity.WARNING for f in found)
