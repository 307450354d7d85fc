"""The validation rules (CL110-CL113, CL120) on the shapes real runs nobody tuned for show.

Each shape has a positive fixture and a healthy twin, drawn under several seeds: the end of an
EarlyStopping run, a rise small next to the run's gain, 3-5 evaluation curves, a fine-tune whose
first evaluation is its best, a run with no training loss, a validation loss near zero from the
first evaluation, a curve still falling by more than its noise. The real logs in ../shared
confirm them (skipped when absent).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import curves as c
from curvelint.model import Finding, Series, Severity
from curvelint_rules.early_stopping_missed import EarlyStoppingMissed
from curvelint_rules.overfitting import Overfitting
from curvelint_rules.plateau_without_lr_decay import PlateauWithoutLrDecay
from curvelint_rules.validation_not_improving import ValidationNotImproving
from curvelint_rules.validation_suspicious import ValidationSuspicious

SEEDS = range(6)
RULES = (Overfitting, EarlyStoppingMissed, ValidationNotImproving, ValidationSuspicious, PlateauWithoutLrDecay)


# -- generators -------------------------------------------------------------------------------------


def epochs(values, name: str, start: int = 0, every: int = 1) -> Series:
    v = np.asarray(values, dtype=float)
    return Series(name, start + every * np.arange(len(v)), v)


def jitter(values, noise: float, seed: int) -> np.ndarray:
    return np.asarray(values, dtype=float) * np.exp(np.random.default_rng(seed).normal(0, noise, len(values)))


def falling(n: int, start: float, end: float, seed: int, noise: float = 0.01, tau: float = 0.3,
            name: str = "loss") -> Series:
    """A loss that keeps falling to the end (exponential decay to below `end`)."""
    t = np.arange(n) / max(n - 1, 1)
    return epochs(jitter(end * 0.8 + (start - end * 0.8) * np.exp(-t / tau), noise, seed + 100), name)


def improve_then(seed: int, n_down: int, after: np.ndarray, start: float = 1.0, best: float = 0.3,
                 noise: float = 0.01) -> np.ndarray:
    """Validation falling from `start` to `best` over `n_down` epochs, then `after` (multiples of the best)."""
    t = np.arange(n_down) / max(n_down - 1, 1)
    down = best + (start - best) * (np.exp(-4 * t) - np.exp(-4)) / (1 - np.exp(-4))
    return np.r_[jitter(down, noise, seed + 200), best * np.asarray(after, dtype=float)]


def severities(rule, run, **options) -> list[Severity]:
    return [r.severity for r in c.results(rule, run, **options) if isinstance(r, Finding)]


def worst(rule, run) -> Severity | None:
    s = severities(rule, run)
    return max(s) if s else None


def no_warning(run) -> bool:
    return all((worst(rule, run) or Severity.INFO) < Severity.WARNING for rule in RULES)


# -- CL110: the end of an EarlyStopping run ---------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("patience", [3, 5, 10])
def test_early_stopping_patience_window_is_no_warning(seed, patience):
    """The run stops `patience` evaluations after its best; validation creeps up in the window
    (even at every evaluation) by a few percent while training still falls."""
    rng = np.random.default_rng(seed)
    rise = 1 + np.cumsum(rng.uniform(0.004, 0.015, patience))
    val = improve_then(seed, int(rng.integers(12, 30)), rise)
    run = c.run_of(falling(len(val), 1.1, 0.2, seed), epochs(val, "val_loss"))
    assert (worst(Overfitting, run) or Severity.INFO) == Severity.INFO
    assert no_warning(run)


@pytest.mark.parametrize("seed", SEEDS)
def test_overfitting_past_the_patience_window_is_a_warning(seed):
    """The twin that kept going: the rise continues for 25 evaluations (a fifth of the gain given back)."""
    rng = np.random.default_rng(seed)
    rise = 1 + np.cumsum(rng.uniform(0.01, 0.03, 25))
    val = improve_then(seed, 20, rise)
    run = c.run_of(falling(len(val), 1.1, 0.05, seed), epochs(val, "val_loss"))
    (f,) = c.findings(Overfitting, run)
    assert f.severity == Severity.WARNING and f.evidence["evaluations_after_best"] > 10


@pytest.mark.parametrize("seed", SEEDS)
def test_a_short_rise_that_gives_back_most_of_a_small_gain_is_a_warning(seed):
    """tweets-like: 10 epochs, validation gains 9% by epoch 5 and gives most of it back in 4 rising epochs."""
    rng = np.random.default_rng(seed)
    down = np.r_[0.512, 0.477, 0.472, 0.477, 0.475, 0.465] * np.exp(rng.normal(0, 0.002, 6))
    up = down[-1] * (1 + np.cumsum(rng.uniform(0.015, 0.025, 4)))
    train = epochs(np.linspace(0.52, 0.31, 10) * np.exp(rng.normal(0, 0.003, 10)), "loss")
    (f,) = c.findings(Overfitting, c.run_of(train, epochs(np.r_[down, up], "val_loss")))
    assert f.severity == Severity.WARNING and f.evidence["evidence"] == "rising"
    assert f.evidence["p_value"] == pytest.approx(1 / 24)


# -- CL110: a rise small next to what the run gained ------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_a_rise_small_next_to_the_gain_is_info(seed):
    """2.0 -> 0.30, then a slow significant rise to ~0.33 over 30 evaluations: true, but no story."""
    up = np.linspace(1.0, 1.1, 30) * np.exp(np.random.default_rng(seed).normal(0, 0.005, 30))
    val = improve_then(seed, 15, up, start=2.0, best=0.30)
    run = c.run_of(falling(len(val), 2.2, 0.1, seed), epochs(val, "val_loss"))
    (f,) = c.findings(Overfitting, run)
    assert f.severity == Severity.INFO and f.evidence["given_back"] < 0.1
    assert "small next to what the run gained" in f.message


@pytest.mark.parametrize("seed", SEEDS)
def test_the_same_rise_doubling_the_loss_is_a_warning(seed):
    up = np.linspace(1.0, 2.0, 30) * np.exp(np.random.default_rng(seed).normal(0, 0.005, 30))
    val = improve_then(seed, 15, up, start=2.0, best=0.30)
    run = c.run_of(falling(len(val), 2.2, 0.1, seed), epochs(val, "val_loss"))
    assert severities(Overfitting, run) == [Severity.WARNING]


# -- CL110: an early minimum on a long run that a wide median would erase ------------------------------


def early_dip(seed: int, n: int = 300, lucky: bool = False) -> np.ndarray:
    """Validation at its best at epoch 3 (0.53), up 30% by epoch 13, then a long flat plateau
    (small data, a memorising model). `lucky`: only epoch 3 is low, its neighbours sit on the plateau."""
    rng = np.random.default_rng(seed)
    head = [1.18, 0.65, 0.56, 0.53, 0.54, 0.56, 0.58, 0.61, 0.64, 0.67, 0.68, 0.69, 0.70]
    if lucky:
        head = [1.18, 0.72, 0.70, 0.53] + [0.70] * 9
    tail = 0.70 - 0.02 * np.linspace(0, 1, n - len(head))
    return np.r_[head, tail] * np.exp(rng.normal(0, 0.002, n))


@pytest.mark.parametrize("seed", SEEDS)
def test_an_early_minimum_is_not_smoothed_away(seed):
    """A 31-point median over 300 epochs puts the best level near 0.65 (the mirrored start plus
    the plateau): the rise looks 4%. The 3-point median keeps the dip: a 25-30% rise, a warning."""
    val = early_dip(seed)
    run = c.run_of(falling(len(val), 1.9, 1e-5, seed, tau=0.02), epochs(val, "val_loss"))
    (f,) = c.findings(Overfitting, run)
    assert f.severity == Severity.WARNING and f.evidence["best_step"] in (2, 3, 4)
    assert f.evidence["relative_rise"] > 0.2 and f.evidence["best_level"] < 0.56


@pytest.mark.parametrize("seed", SEEDS)
def test_one_lucky_early_evaluation_is_not_a_dip(seed):
    """The same plateau with one low evaluation at epoch 3: a single point is no best stretch."""
    val = early_dip(seed, lucky=True)
    run = c.run_of(falling(len(val), 1.9, 1e-5, seed, tau=0.02), epochs(val, "val_loss"))
    assert all(f.evidence["best_level"] > 0.6 for f in c.findings(Overfitting, run))


@pytest.mark.parametrize("seed", SEEDS)
def test_a_smooth_minimum_keeps_its_smoothed_level(seed):
    """A round minimum at epoch 18 of 150: the 3-point median there is below the 15-point one by
    a rounding, not a dip, and the best is located by the wide window as before."""
    up = np.linspace(1.0, 1.3, 132) * np.exp(np.random.default_rng(seed).normal(0, 0.002, 132))
    val = improve_then(seed, 18, up, start=1.1, best=0.095)
    run = c.run_of(falling(len(val), 1.2, 1e-5, seed), epochs(val, "val_loss"))
    (f,) = c.findings(Overfitting, run)
    assert abs(f.evidence["best_step"] - 18) <= 4


# -- CL110: 3-5 evaluations -------------------------------------------------------------------------


def short_run(seed: int, val: list[float], per_step: bool = True) -> tuple:
    """Training halving (per step, or per evaluation) beside a few evaluations every 1000 steps."""
    steps = 1000 * np.arange(1, len(val) + 1)
    if per_step:
        train = c.healthy(len(val) * 40, seed, start=0.6, end=0.1, stride=25)
    else:
        train = Series("loss", steps, jitter(np.geomspace(0.6, 0.2, len(val)), 0.01, seed))
    return train, Series("eval_loss", steps, jitter(val, 0.004, seed + 1))


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("n", [4, 5])
@pytest.mark.parametrize("per_step", [True, False])
def test_a_few_evaluations_rising_at_every_one_is_overfitting(seed, n, per_step):
    val = list(0.32 * np.geomspace(1, 1.3, n))
    (f,) = c.findings(Overfitting, c.run_of(*short_run(seed, val, per_step)))
    assert f.severity == Severity.WARNING and f.evidence["evidence"] == "rising"
    assert f.evidence["best_step"] == 1000
    assert "1/24" in f.message if n == 4 else "1/120" in f.message


@pytest.mark.parametrize("seed", SEEDS)
def test_three_rising_evaluations_are_info_too_few_to_be_sure(seed):
    (f,) = c.findings(Overfitting, c.run_of(*short_run(seed, [0.32, 0.36, 0.41])))
    assert f.severity == Severity.INFO and "too few to be sure" in f.message and "1/6" in f.message


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("n", [3, 4, 5])
def test_a_few_evaluations_that_improve_or_wobble_get_nothing(seed, n):
    improving = list(0.5 * np.geomspace(1, 0.6, n))
    wobbling = list(0.5 * np.geomspace(1, 0.8, n) * (1 + 0.03 * np.random.default_rng(seed).standard_normal(n)))
    for val in (improving, wobbling):
        run = c.run_of(*short_run(seed, val))
        assert c.findings(Overfitting, run) == []
        assert no_warning(run)


# -- CL110: the first evaluation is the best (forgetting) -------------------------------------------


def first_best(seed: int, later: float, noise: float = 0.03, n: int = 6) -> tuple:
    """byerenozer-like: eval every 250 steps, the first at 0.22, the next `n - 1` around `later`."""
    rng = np.random.default_rng(seed)
    steps = 250 * np.arange(1, n + 1)
    val = np.r_[0.219, later * np.exp(rng.normal(0, noise, n - 1))]
    train = c.healthy(n * 25, seed, start=0.8, end=0.17, stride=10)
    return train, Series("eval_loss", steps, val)


@pytest.mark.parametrize("seed", SEEDS)
def test_best_at_the_first_evaluation_and_every_later_one_far_above_is_overfitting(seed):
    (f,) = c.findings(Overfitting, c.run_of(*first_best(seed, 0.42)))
    assert f.severity == Severity.WARNING and f.evidence["best_step"] == 250
    assert f.evidence["evidence"] in ("step", "trend", "rising") and f.evidence["relative_rise"] > 0.5


@pytest.mark.parametrize("seed", SEEDS)
def test_best_at_the_first_evaluation_within_the_noise_is_not_overfitting(seed):
    """The twin: later evaluations hover a little above the first, within the evaluation noise
    (validation-not-improving may say the curve is flat; overfitting must not warn)."""
    run = c.run_of(*first_best(seed, 0.225, noise=0.02))
    assert (worst(Overfitting, run) or Severity.INFO) == Severity.INFO


# -- CL110: no training loss ------------------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_validation_rising_without_a_training_loss_is_info(seed):
    """hosein-like: validation only, 20 epochs, +30% over the 7 evaluations after its best."""
    up = np.linspace(1.04, 1.3, 7) * np.exp(np.random.default_rng(seed).normal(0, 0.01, 7))
    val = improve_then(seed, 13, up, start=0.22, best=0.068, noise=0.02)
    (f,) = c.findings(Overfitting, c.run_of(epochs(val, "val_loss")))
    assert f.severity == Severity.INFO and "no training loss logged" in f.message
    assert f.evidence["relative_rise"] > 0.15


@pytest.mark.parametrize("seed", SEEDS)
def test_validation_only_that_improves_gets_nothing(seed):
    val = improve_then(seed, 20, np.ones(0), start=0.22, best=0.068, noise=0.02)
    assert c.findings(Overfitting, c.run_of(epochs(val, "val_loss"))) == []


# -- CL113: near zero from the first evaluation ------------------------------------------------------


def saturating(n: int, seed: int, zero_from: int | None) -> Series:
    """HF-Trainer-like per-step classifier loss from 0.85, exactly 0 from `zero_from` on (None: never)."""
    v = 0.85 * np.exp(-np.arange(n) / 8) * np.exp(np.random.default_rng(seed).normal(0, 0.2, n))
    if zero_from is not None:
        v[zero_from:] = 0.0
    return Series("train/loss", 10 * np.arange(1, n + 1), v)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("evals", [1, 2, 5])
def test_validation_near_zero_from_the_first_evaluation_with_training_exactly_zero(seed, evals):
    steps = np.linspace(1500, 3000, evals).astype(int)
    val = Series("eval/loss", steps, jitter(np.full(evals, 2e-5), 0.3, seed))
    (f,) = c.findings(ValidationSuspicious, c.run_of(saturating(300, seed, 97), val))
    assert f.severity == Severity.INFO and f.evidence["ratio"] < 1e-3
    assert "at its first evaluation (step 1500" in f.message and "exactly 0" in f.message


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("case", ["train_never_zero", "val_not_near_zero", "zero_from_the_start"])
def test_near_zero_twins_get_nothing(seed, case):
    """smolvlm-like templated answers (eval 0.05 -> 0.002, training never exactly 0); a normal
    validation loss beside a saturated training loss; a loss term exactly 0 from the start."""
    steps = np.linspace(50, 3000, 10).astype(int)
    if case == "train_never_zero":
        train, val = saturating(300, seed, None), np.geomspace(0.0536, 0.00217, 10)
    elif case == "val_not_near_zero":
        train, val = saturating(300, seed, 97), np.geomspace(0.4, 0.3, 10)
    else:
        train, val = Series("train/loss", 10 * np.arange(1, 301), np.zeros(300)), np.full(10, 1e-6)
    run = c.run_of(train, Series("eval/loss", steps, jitter(val, 0.05, seed)))
    assert c.findings(ValidationSuspicious, run) == []


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("n", [3, 5, 8])
def test_validation_accuracy_one_on_a_tiny_set_stays_info(seed, n):
    rng = np.random.default_rng(seed)
    loss = epochs(np.geomspace(0.55, 0.05, n) * np.exp(rng.normal(0, 0.1, n)), "loss")
    acc = epochs(np.linspace(0.78, 1.0, n), "accuracy")
    val = epochs(np.geomspace(0.22, 0.02, n) * np.exp(rng.normal(0, 0.05, n)), "val_loss")
    run = c.run_of(loss, acc, val, epochs(np.ones(n), "val_accuracy"))
    assert severities(ValidationSuspicious, run) == [Severity.INFO]
    assert no_warning(run)


# -- CL111: a curve still falling by more than its noise -----------------------------------------------


def slow_tail(n: int, seed: int, fall: float, noise: float = 0.01) -> Series:
    """Validation that converges fast, then keeps falling linearly by `fall` noise scales over its second half."""
    t = np.arange(n)
    base = 0.3 * (1 + 2.0 * np.exp(-t / (0.06 * n)))
    base *= 1 - fall * noise * np.clip((t - n / 2) / (n / 2), 0, 1)
    return epochs(jitter(base, noise, seed + 300), "val_loss")


def converged(n: int, seed: int) -> Series:
    """A training loss that converges as fast as the validation loss (no widening gap)."""
    return falling(n, 0.9, 0.28, seed, tau=0.06)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("n", [30, 40, 60])
def test_still_falling_by_more_than_its_noise_is_not_wasted_epochs(seed, n):
    run = c.run_of(converged(n, seed), slow_tail(n, seed, fall=6.0))
    assert c.findings(EarlyStoppingMissed, run) == []


@pytest.mark.parametrize("seed", SEEDS)
def test_a_flat_tail_is_still_wasted_epochs(seed):
    run = c.run_of(converged(50, seed), slow_tail(50, seed, fall=0.0, noise=0.004))
    (f,) = c.findings(EarlyStoppingMissed, run)
    assert f.severity == Severity.INFO


@pytest.mark.parametrize("seed", SEEDS)
def test_a_curve_that_arrived_in_its_first_evaluations_improved_on_its_first_value(seed):
    """1.18 -> 0.53 in three evaluations, then 296 flat ones: the mirrored 31-point median puts
    the plateau's level at the start too; the stall is at the arrival, not 'never improved'."""
    rng = np.random.default_rng(seed)
    val = np.r_[[1.18, 0.65, 0.56, 0.53, 0.535], np.full(295, 0.545)] * np.exp(rng.normal(0, 0.002, 300))
    train = epochs(1.9 * np.exp(-np.arange(300) / 10) + 1e-3 * np.exp(-np.arange(300) / 100), "loss")
    (f,) = c.findings(EarlyStoppingMissed, c.run_of(train, epochs(val, "val_loss")))
    assert f.severity == Severity.INFO and 1 <= f.step <= 5


# -- CL112: short runs ----------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("n", [3, 4])
def test_a_short_flat_validation_while_training_halves_is_info(seed, n):
    train = Series("loss", np.arange(n * 50), c.healthy(n * 50, seed, start=0.8, end=0.3, stride=1).values)
    val = Series("val_loss", 50 * np.arange(1, n + 1) - 1, jitter(np.full(n, 1.9), 0.004, seed))
    (f,) = c.findings(ValidationNotImproving, c.run_of(train, val))
    assert f.severity == Severity.INFO and f"only {n} evaluations" in f.message


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("n", [3, 4])
def test_a_short_run_that_improves_gets_nothing(seed, n):
    train = Series("loss", np.arange(n * 50), c.healthy(n * 50, seed, start=0.8, end=0.3, stride=1).values)
    val = Series("val_loss", 50 * np.arange(1, n + 1) - 1, jitter(np.geomspace(0.7, 0.4, n), 0.01, seed))
    run = c.run_of(train, val)
    assert [f for rule in RULES for f in c.findings(rule, run)] == []


# -- messages -------------------------------------------------------------------------------------------


def test_messages_quote_logged_values_with_steps_and_call_smoothed_values_levels():
    runs = [c.run_of(*first_best(0, 0.42)), c.run_of(*short_run(0, [0.32, 0.36, 0.41, 0.45])),
            c.run_of(converged(50, 0), slow_tail(50, 0, fall=0.0, noise=0.004)),
            c.run_of(c.healthy(200, 0, start=0.8, end=0.3, stride=1),
                     Series("val_loss", [49, 99, 149, 199], [1.9, 1.91, 1.89, 1.9]))]
    found = [f for run in runs for rule in RULES for f in c.findings(rule, run)]
    assert {f.rule for f in found} >= {"CL110", "CL111", "CL112"}
    for f in found:
        assert "smoothed" not in f.message, f.message
        assert re.search(r"\d at step \d", f.message), f.message


# -- real logs (../shared, skipped when absent) -----------------------------------------------------------

SHARED = Path(__file__).resolve().parents[2] / "shared"
MINE = ["CL110", "CL111", "CL112", "CL113", "CL120"]


def lint_mine(path: Path, **metrics):
    from curvelint.config import Config
    from curvelint.engine import lint

    if not path.exists():
        pytest.skip(f"{path} is not present")
    return lint([str(path)], Config(select=MINE, metrics=metrics), jobs=1).findings


@pytest.mark.parametrize("run, rule, severity", [
    ("realworld2/byerenozer_whisper/trainer_state.json", "CL110", Severity.WARNING),  # best at the first eval
    ("realworld2/isomorphicalgo_tweets/training_history.json", "CL110", Severity.WARNING),  # 4 rising epochs
    ("realworld/p4p4n1ck_whisper-ja/trainer_state.json", "CL110", Severity.WARNING),  # 5 evals, monotone
    ("realworld2/aryan1112003_hate-speech/logs", "CL113", Severity.INFO),  # eval loss 2e-5, train exactly 0
    ("realworld/alperclk_video-lstm/model_history.json", "CL113", Severity.INFO),  # val_acc 1.0 from epoch 0
])
def test_real_problem_runs_are_diagnosed(run, rule, severity):
    found = lint_mine(SHARED / run)
    assert [(f.rule, f.severity) for f in found] == [(rule, severity)], [f.message for f in found]


def test_real_validation_only_run_rising_after_its_best_is_info():
    """hosein_dl version_8 logs only `validation_epoch_average` (named here as the validation loss)."""
    found = lint_mine(SHARED / "realworld2/hosein_dl/lightning_logs/version_8/metrics.csv",
                      val_loss=["validation_epoch_average"])
    assert [(f.rule, f.severity) for f in found] == [("CL110", Severity.INFO)]
    assert "no training loss logged" in found[0].message


def healthy_runs() -> list[str]:
    import json

    out = []
    for name in ("realworld", "realworld2"):
        labels = SHARED / name / "labels.json"
        if labels.exists():
            data = json.loads(labels.read_text(encoding="utf-8"))
            rows = data if isinstance(data, list) else data.get("runs", [])
            out += [f"{name}/{r['run']}" for r in rows if r["labels"] == ["healthy"]]
    return out


@pytest.mark.parametrize("run", healthy_runs() or ["(no labelled runs)"])
def test_real_healthy_runs_get_no_warning_from_the_validation_rules(run):
    if not healthy_runs():
        pytest.skip("../shared labelled sets are not present")
    found = lint_mine(SHARED / run)
    assert [f for f in found if f.severity >= Severity.WARNING] == [], [f.message for f in found]


@pytest.mark.parametrize("run", [
    "realworld/abdul-aa_text-gen-lstm/lightning_logs/version_0",  # flat last ~10 epochs (+1%)
    "realworld/meghdad-dtu_bixi-od",
    "realworld/4hmetcakmak_brats2020/training.log",
    "realworld2/anthonyrathe_whisper-flemish/trainer_state.json",
    "realworld2/junhwipark_seatbelt/runs/train/exp/results.csv",
])
def test_real_wasted_epoch_notes_are_on_curves_that_stopped_falling(run):
    """CL111 may note these healthy runs (info), but only where validation no longer falls by more than its noise."""
    for f in lint_mine(SHARED / run):
        assert f.severity == Severity.INFO, f.message
        if f.rule == "CL111":
            assert f.evidence["relative_to_best"] > -0.005, f.message


def test_the_chance_of_a_rising_order_reads_as_a_number_a_reader_can_take_in():
    from curvelint_rules._validation import order_chance

    assert [order_chance(k) for k in (1, 4, 9)] == ["1/1", "1/24", "1/362880"]
    assert [order_chance(k) for k in (10, 13)] == ["1/3.6e+06", "1/6.2e+09"]  # not 1/6227020800
    assert order_chance(200) == "1/7.9e+374"  # beyond a float


# -- CL112 beside CL110: a flat accuracy next to a validation loss that learned first --------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_a_flat_high_accuracy_beside_a_loss_that_learned_then_overfit_is_no_cl112(seed):
    """Breast cancer in Lightning: val_loss 0.43 -> 0.15 in 5 epochs, then up to 0.26; val_accuracy at
    0.93-0.94 from the first epoch (the first epoch did the learning). Its twin memorises from the
    start: val_loss only rises and val_accuracy sits at the majority rate: that is still CL112."""
    rng = np.random.default_rng(seed)
    train = falling(15, 0.65, 0.012, seed)
    val_loss = epochs(improve_then(seed, 5, 1 + np.cumsum(rng.uniform(0.04, 0.08, 10)), 0.43, 0.15), "val_loss")
    acc = np.r_[0.9366, 0.9437, 0.9437, 0.9437, 0.9366, 0.9296, 0.9296, 0.9366, 0.9366, 0.9296, 0.9296, 0.9225,
                0.9296, 0.9296, 0.9296]
    i = int(rng.integers(5, 14))
    acc[[i, i + 1]] = acc[[i + 1, i]]
    val_acc = epochs(acc, "val_accuracy")
    run = c.run_of(train, val_loss, val_acc)
    assert c.findings(ValidationNotImproving, run) == []
    memorising = c.run_of(train, epochs(0.66 * (1 + np.cumsum(rng.uniform(0.02, 0.05, 15))), "val_loss"),
                          epochs(np.full(15, 0.626761) + rng.choice([0, 0.007], 15), "val_accuracy"))
    assert c.findings(ValidationNotImproving, memorising)
