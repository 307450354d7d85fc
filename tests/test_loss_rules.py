"""CL102-CL107 on synthetic curves with a known truth (tests/curves.py), several seeds each.

Healthy patterns must get no warning or error from any loss rule; each problem pattern
must get its own rule and no other loss rule (one symptom per series).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import curves as C
from curvelint.config import Config
from curvelint.engine import check_run, select_rules
from curvelint.model import Abstention, Finding, Run, Series, Severity
from curvelint.registry import find_rule

LOSS_RULES = ("CL102", "CL103", "CL104", "CL105", "CL106", "CL107")
SEEDS = range(4)


def check(run: Run, select=LOSS_RULES) -> tuple[list[Finding], list[Abstention]]:
    return check_run(run, select_rules(Config(select=list(select))), Config())


def codes(run: Run, select=LOSS_RULES) -> list[str]:
    return sorted(f.rule for f in check(run, select)[0] if f.severity >= Severity.WARNING)


# -- healthy runs stay quiet ---------------------------------------------------------------------

HEALTHY = {
    "noisy per-step decay": lambda s: C.healthy(seed=s),
    "very noisy per-step decay": lambda s: C.healthy(n=3000, seed=s, noise=0.4),
    "decay to ~0 with heavy noise": lambda s: C.healthy(n=3000, seed=s, end=1e-3, noise=0.5, tau=0.1),
    "epoch-level decay": lambda s: C.healthy(n=50, seed=s, noise=0.03, stride=1),
    "converged plateau": lambda s: C.plateau(seed=s),
    "long noisy plateau": lambda s: C.plateau(n=400, seed=s, noise=0.1),
    "step lr drops": lambda s: C.step_lr(seed=s),
    "step lr drops, epochs": lambda s: C.step_lr(n=90, seed=s, noise=0.02, stride=1),
    "cosine schedule": lambda s: C.cosine(seed=s),
    "warmup bump": lambda s: C.warmup(seed=s),
    "strong warmup bump": lambda s: C.warmup(seed=s, rise=0.8, warm=0.08),
    "early-stopped": lambda s: C.early_stopped(seed=s),
    "early-stopped, 10 epochs": lambda s: C.early_stopped(n=10, seed=s),
    "loss that can be negative": lambda s: Series("loss", C.healthy(seed=s).steps, C.healthy(seed=s).values - 1.5),
    "loss with an offset": lambda s: Series("loss", C.healthy(seed=s).steps, C.healthy(seed=s).values + 10),
}


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("pattern", sorted(HEALTHY))
def test_healthy_patterns_get_no_loss_findings(pattern, seed):
    run = C.run_of(HEALTHY[pattern](seed))
    assert codes(run) == []


@pytest.mark.parametrize("seed", SEEDS)
def test_healthy_run_with_validation_and_accuracy(seed):
    train = C.healthy(n=40, seed=seed, noise=0.03, stride=1)
    run = C.run_of(train, C.val_following(train, seed=seed), C.rising_accuracy(n=40, seed=seed),
                   hparams={"num_classes": 10})
    assert codes(run) == []


@pytest.mark.parametrize("n", [1, 3, 4, 5])
def test_very_short_runs_abstain(n):
    findings, abstentions = check(C.run_of(C.short(n=n)))
    assert findings == []
    judged_from_4 = {"CL104"}  # a lasting jump is clear on 4 points (tests/test_diagnosis_loss.py)
    expected = {"CL102"} | (judged_from_4 if n < 4 else set())
    assert {a.rule for a in abstentions} >= expected
    assert all("finite points" in a.reason for a in abstentions if a.rule in expected)


def test_runs_without_a_loss_role_abstain():
    rl = Series("episode/Return", np.arange(500), np.random.default_rng(0).normal(0, 50, 500).cumsum())
    rl_loss = Series("episode/MSE Loss", np.arange(500), C.diverging(n=500).values)  # RL: rising loss is normal
    findings, abstentions = check(C.run_of(rl, rl_loss))
    assert findings == []
    assert any("no train loss series" in a.reason for a in abstentions)


def test_bounded_loss_that_falls_slightly_while_accuracy_rises():
    """realworld row 24: a Dice-style loss 1.00 -> 0.91 with accuracy 0.54 -> 0.85 is learning."""
    t = np.arange(20)
    loss = 0.912 + 0.092 * np.exp(-t / 5.0)
    run = C.run_of(Series("loss", t, loss), Series("val_loss", t, loss + 0.01),
                   C.rising_accuracy(n=20, start=0.54, end=0.86))
    assert codes(run) == []


def test_converged_at_a_high_level_is_not_slow_or_stalled():
    """realworld row 8: 332 -> 235 in 5 epochs, then flat: converged, not slow."""
    loss = [332.7, 297.6, 270.3, 248.3, 239.0, 238.0, 235.7, 235.4, 235.1, 234.8]
    assert codes(C.run_of(Series("loss", np.arange(10), np.array(loss)))) == []


def test_one_big_drop_after_the_first_epoch_counts_as_a_decrease():
    """realworld row 9: epoch 0 at 0.999, then 0.031 -> 0.0268 for 47 epochs."""
    v = np.r_[0.999, 0.027 + 0.004 * np.exp(-np.arange(47) / 3)]
    assert codes(C.run_of(Series("loss", np.arange(48), v))) == []


def test_short_finite_part_before_a_blow_up_is_not_called_stalled():
    """6 finite points falling 2.0 -> 0.7, then a 20x jump right before NaN (CL100's business)."""
    v = np.array([2.0, 1.7, 1.2, 0.9, 0.73, 15.0, np.nan, np.nan])
    assert codes(C.run_of(Series("loss", np.arange(8), v))) == []


def test_erratic_flat_loss_says_the_learning_rate_may_be_too_high():
    r = np.random.default_rng(0)
    v = 15 * np.exp(r.normal(0, 0.6, 30))  # lr 10-100: the loss jumps around a level, no trend
    f = only(C.run_of(Series("loss", np.arange(30), v)), "CL102")
    assert f.evidence["erratic"] and "too HIGH" in f.message


@pytest.mark.parametrize("acc_end, expected", [(0.97, []), (0.6, []), (0.31, ["CL102"])])
def test_flat_loss_with_an_accuracy_that_learns_or_is_already_high(acc_end, expected):
    """A resumed, already-trained model logs a flat loss; an accuracy rising from 0.3 shows learning."""
    flat = C.flat(n=40, seed=1, level=0.08, stride=1)
    acc = C.rising_accuracy(n=40, seed=1, start=min(0.3, acc_end), end=acc_end)
    if acc_end == 0.97:
        acc = Series("accuracy", acc.steps, np.full(40, 0.97) + np.random.default_rng(0).normal(0, 0.002, 40))
    assert codes(C.run_of(flat, acc)) == expected


def test_a_loss_creeping_up_slightly_is_not_decreasing_and_a_rising_one_diverging():
    t = np.arange(200)
    noise = np.exp(np.random.default_rng(0).normal(0, 0.005, 200))
    assert codes(C.run_of(Series("loss", t, (1.0 + 0.0001 * t) * noise))) == ["CL102"]  # +2%
    assert codes(C.run_of(Series("loss", t, (1.0 + 0.005 * t) * noise))) == ["CL104"]  # doubles


# -- each problem gets its rule, and only that one ------------------------------------------------

PROBLEMS = {
    "flat": ("CL102", lambda s: C.flat(seed=s)),
    "flat, epochs": ("CL102", lambda s: C.flat(n=30, seed=s, noise=0.01, stride=1)),
    "flat, very noisy per-step": ("CL102", lambda s: C.flat(n=5000, seed=s, noise=0.3)),
    "diverging": ("CL104", lambda s: C.diverging(seed=s)),
    "diverging, mild": ("CL104", lambda s: C.diverging(seed=s, growth=1.6)),
    "diverging, epochs": ("CL104", lambda s: C.diverging(n=40, seed=s, noise=0.03, stride=1)),
    "exploding": ("CL104", lambda s: C.exploding(seed=s)),
    "oscillating waves": ("CL105", lambda s: C.oscillating(seed=s)),
    "oscillating, epochs": ("CL105", lambda s: C.oscillating(n=60, seed=s, period=6, stride=1)),
    "spiky": ("CL106", lambda s: C.spiky(seed=s)),
    "two spikes, epochs": ("CL106", lambda s: C.spiky(n=100, seed=s, count=2, stride=1)),
    "slow": ("CL107", lambda s: C.slow(seed=s)),
    "slow, per-step": ("CL107", lambda s: C.slow(n=200, seed=s, noise=0.02)),
}


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("pattern", sorted(PROBLEMS))
def test_problem_patterns_get_exactly_their_rule(pattern, seed):
    code, make = PROBLEMS[pattern]
    assert codes(C.run_of(make(seed))) == [code]


@pytest.mark.parametrize("seed", range(4))
def test_one_spike_the_run_recovered_from_is_info(seed):
    (f,) = check(C.run_of(C.spiky(n=100, seed=seed, count=1, stride=1)), ["CL106"])[0]
    assert f.severity == Severity.INFO and f.evidence["count"] == 1


def test_zigzag_is_oscillating():
    t = np.arange(60)
    v = 1.2 * np.exp(0.4 * (-1.0) ** t) * np.exp(np.random.default_rng(0).normal(0, 0.02, 60))
    assert codes(C.run_of(Series("loss", t, v))) == ["CL105"]


@pytest.mark.parametrize("seed", range(8))
def test_twelve_sampled_batch_losses_are_noise_not_waves(seed):
    """Lightning logs one batch's loss per epoch: 12 points that fall 2.3 -> 0.1, then scatter by
    batch (x/2..x2) for the last six; six points of noise reach |r| 0.4 at one of four lags, which
    is no evidence of waves (the white-noise band of 6 points is 2/sqrt(6) = 0.82)."""
    r = np.random.default_rng(seed)
    level = np.r_[2.29, 1.96, 1.54, 1.18, 0.40, 0.20, np.full(6, 0.15)]
    v = level * np.exp(np.r_[np.zeros(6), r.uniform(-0.7, 0.7, 6)])
    assert codes(C.run_of(Series("train/loss", 22 * np.arange(1, 13) - 1, v))) == []


def test_a_swinging_loss_that_still_falls_is_not_oscillating():
    s = C.healthy(n=2000, seed=0, noise=0.05)
    t = np.arange(2000)
    wavy = Series("loss", s.steps, s.values * np.exp(0.08 * np.sin(2 * np.pi * t / 100)))
    assert codes(C.run_of(wavy)) == []


# -- findings carry the numbers ----------------------------------------------------------------


def only(run: Run, code: str) -> Finding:
    findings = [f for f in check(run)[0] if f.rule == code]
    assert len(findings) == 1, findings
    return findings[0]


def test_not_decreasing_message_and_evidence():
    f = only(C.run_of(C.flat(seed=1)), "CL102")
    assert f.metric == "loss" and f.severity == Severity.ERROR and f.hint
    assert "p=" in f.message and "steps 10..10000" in f.message
    assert {"slope", "p_value", "start", "end", "best", "relative_change"} <= set(f.evidence)
    assert f.evidence["p_value"] > 0.01 or abs(f.evidence["relative_change"]) < 0.05


def test_diverging_message_and_evidence():
    f = only(C.run_of(C.diverging(seed=2)), "CL104")
    e = f.evidence
    assert e["end"] > e["best"] and e["end_over_best"] > 2 and e["p_value"] < 0.01
    assert f.step == e["best_step"] and "minimum" in f.message and "Mann-Kendall" in f.message


def test_spikes_message_lists_the_spikes():
    f = only(C.run_of(C.spiky(seed=3, count=3)), "CL106")
    assert f.evidence["count"] == 3 and len(f.evidence["spikes"]) == 3
    assert all(s["jump"] > 4 for s in f.evidence["spikes"]) and "clip" in f.hint


def test_slow_and_oscillating_evidence():
    f = only(C.run_of(C.slow(seed=0)), "CL107")
    assert f.evidence["linearity"] >= 0.5 and f.evidence["projected_drop"] >= 0.1
    g = only(C.run_of(C.oscillating(seed=0)), "CL105")
    assert g.evidence["swing_late"] >= 0.2 and g.evidence["swing_ratio"] >= 0.8


def test_rule_options_change_the_verdict():
    run = C.run_of(C.slow(seed=0))
    sel = select_rules(Config(select=["CL107"], rule_options={"slow-convergence": {"max_drop": 0.05}}))
    assert check_run(run, sel, Config())[0] == []


# -- chance level --------------------------------------------------------------------------------


def stuck_at(level: float, n: int = 40, seed: int = 0, name: str = "loss") -> Series:
    """A loss that drops from a bad init to `level` within a few epochs, then stays there."""
    v = level + 2.0 * np.exp(-np.arange(n) / 3)
    return Series(name, np.arange(n), v * np.exp(np.random.default_rng(seed).normal(0, 0.005, n)))


@pytest.mark.parametrize("seed", SEEDS)
def test_chance_loss_with_classes_from_hparams_or_labels(seed):
    hp = C.run_of(stuck_at(math.log(10), seed=seed), hparams={"model": {"num_classes": 10}})
    assert codes(hp) == ["CL103"]
    f = only(hp, "CL103")
    assert f.evidence["classes"] == 10 and "num_classes" in f.evidence["classes_from"]
    labels = C.run_of(stuck_at(math.log(10), seed=seed), labels={str(i): 50 for i in range(10)})
    assert codes(labels) == ["CL103"]
    assert codes(C.run_of(stuck_at(math.log(10), seed=seed))) == []  # C unknown, no accuracy: silent


@pytest.mark.parametrize("seed", SEEDS)
def test_chance_prior_entropy_and_majority_rate(seed):
    counts = {"a": 900, "b": 100}
    prior_h = -(0.9 * math.log(0.9) + 0.1 * math.log(0.1))
    assert codes(C.run_of(stuck_at(prior_h, seed=seed), labels=counts)) == ["CL103"]
    acc = Series("val_accuracy", np.arange(40), 0.9 + np.random.default_rng(seed).normal(0, 0.003, 40))
    f = only(C.run_of(C.healthy(n=40, seed=seed, noise=0.03, stride=1), acc, labels=counts), "CL103")
    assert f.metric == "val_accuracy" and f.evidence["accuracy_chance_kind"] == "majority-class rate"


@pytest.mark.parametrize("classes", [2, 3, 10, 100])
def test_chance_inferred_only_from_loss_and_accuracy_together(classes):
    flat = C.flat(n=40, stride=1, level=math.log(classes), seed=classes)
    acc = C.chance_accuracy(n=40, classes=classes, noise=0.1 / classes, seed=classes)
    findings = check(C.run_of(flat, acc))[0]
    assert sorted(f.rule for f in findings) == ["CL102", "CL103"]  # the flat loss is CL102's
    f = next(f for f in findings if f.rule == "CL103")
    assert f.metric == "accuracy" and "inferred" in f.evidence["classes_from"]
    assert abs(f.evidence["classes"] - classes) <= 0.1 * classes  # ln C barely separates 100 from 103


def test_chance_not_claimed_for_a_learning_classifier_or_accuracy_in_percent():
    train = C.healthy(n=40, seed=1, noise=0.03, stride=1)
    acc = C.rising_accuracy(n=40, start=0.3, end=0.95)
    pct = Series("val_accuracy", acc.steps, acc.values * 100)
    run = C.run_of(train, acc, pct, hparams={"num_classes": 2})
    assert codes(run) == []
    stuck_pct = Series("val_accuracy", np.arange(40), 10 + np.random.default_rng(0).normal(0, 0.3, 40))
    assert codes(C.run_of(train, stuck_pct, hparams={"num_classes": 10})) == ["CL103"]


def test_chance_not_inferred_for_a_slowly_learning_many_class_model():
    """1000 classes early in training: loss passes ln(100) ~ 4.6 and accuracy ~1%, both still improving."""
    t = np.arange(60)
    loss = Series("loss", t, 4.8 - 0.006 * t)
    acc = Series("accuracy", t, 0.008 + 0.0001 * t)
    assert "CL103" not in codes(C.run_of(loss, acc))


def test_chance_abstains_without_series():
    findings, abstentions = check(C.run_of(Series("lr", np.arange(10), np.full(10, 1e-3))), ["CL103"])
    assert findings == [] and abstentions


# -- precedence and docs ---------------------------------------------------------------------


def test_one_symptom_per_series_across_the_loss_rules():
    for make in (lambda: C.exploding(seed=1), lambda: C.diverging(seed=3, noise=0.3)):
        assert codes(C.run_of(make())) == ["CL104"]


@pytest.mark.parametrize("code", LOSS_RULES)
def test_rules_are_registered_and_documented(code):
    rule = find_rule(code)
    assert rule is not None and rule.hint and rule.summary
    doc = rule.doc()
    assert "Keras" in doc and "PyTorch" in doc and len(doc) > 600
    assert all(o.doc for o in rule.options.values())


def test_loss_rules_on_100k_points():
    """Per-step logs with 100k points run through every loss rule (no timing assertion)."""
    s = C.healthy(n=100_000, seed=0, stride=1)
    assert codes(C.run_of(s)) == []
    v = s.values.copy()
    v[[20_000, 70_000]] *= 30
    assert codes(C.run_of(Series("loss", s.steps, v))) == ["CL106"]


# -- real-world logs (../shared/realworld, skipped when absent) -----------------------------------

REALWORLD_EXPECTED = {
    # row 12: swings over 12 decades: oscillating (its late swings are tiny next to its 4e8 start, so
    # no lasting rise at the run's scale)
    "best1cookie1_nn-oedometer/tensorboard_logs": {"CL105"},
    "macro1027_pendulum-pinn/lightning_logs/version_18": {"CL106"},  # row 31: isolated spikes on a plateau
    "macro1027_pendulum-pinn/lightning_logs/version_9": set(),  # drops in one epoch, then flat: converged
    "abdul-aa_text-gen-lstm": set(),  # row 1: healthy, 7,691 per-step points
    "coralreeffish_whisper-tiny": set(),  # row 16: healthy long run
    "dheena731_tinyllama": set(),  # row 22: healthy, still improving
    "vivakanand_unet-satellite": set(),  # row 24: bounded loss 1.00 -> 0.91 while accuracy rises
    "10academy_swahili-stt": set(),  # row 8: converged at a high loss; no reference to call it slow
    "meghdad-dtu_bixi-od": set(),  # row 9: big first-epoch drop, then flat
    "hcdescamps_cv-image-cls": set(),  # rows 4/5: per-step loss near 0 is noisy in log terms, not oscillating
    "anaccount_dlgn": set(),  # row 11: memorisation (a validation problem), noisy fast descent
    "akshaykulkarni3467_naf-dqn": set(),  # row 2: RL loss rises, not a loss role
    "bvoja_gpttt": set(),  # row 33: short and healthy
}


@pytest.mark.parametrize("where", sorted(REALWORLD_EXPECTED))
def test_realworld_loss_rules(realworld, where):
    from curvelint.engine import lint

    report = lint([str(realworld / where)], Config(select=list(LOSS_RULES)))
    got = {f.rule for f in report.findings if f.severity >= Severity.WARNING}
    assert got == REALWORLD_EXPECTED[where], [f.message for f in report.findings]


def test_a_change_that_rounds_to_nothing_reads_0_0_percent_not_minus_0_0():
    from curvelint_rules._loss import pct

    assert [pct(x) for x in (-9.2e-5, 4e-4, -0.065, 0.0006)] == ["0.0%", "0.0%", "-6.5%", "+0.1%"]


@pytest.mark.parametrize("seed", range(4))
def test_spikes_of_an_early_transient_are_info(seed):
    """An RNN whose loss jumps twice in its first 7% of steps (4x its local level) while it is still far
    above where it ends, then trains normally: info. The same spikes late in the run: a warning."""
    r = np.random.default_rng(seed)
    t = np.arange(2, 172, 2)
    level = 1.4 + 4.8 * np.exp(-(t - 2) / 40.0)
    noise = np.exp(r.normal(0, 0.03, len(t)))
    early, late = level * noise, level * noise
    early[[3, 5]] *= 4.2
    late[[60, 75]] *= 4.2
    (f,) = check(C.run_of(Series("train_loss", t, early)), ["CL106"])[0]
    assert f.severity == Severity.INFO and "early transient" in f.message
    (g,) = check(C.run_of(Series("train_loss", t, late)), ["CL106"])[0]
    assert g.severity == Severity.WARNING
