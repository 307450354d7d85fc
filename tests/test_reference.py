"""The reference-run gate (CL400-CL402, `--reference`, `[tool.curvelint.reference]`, `compare`).

Synthetic curves with known truth (a seed twin stays quiet; a slower, worse or flat run is
caught; steps that do not overlap are compared by fraction with a note), logs written by the
real frameworks (realbench: healthy seeds against each other, faults against a healthy seed),
and the false-alarm and catch rates over realbench's seed pairs (fixtures/reference_pairs.py).
"""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

import curves as C
from curvelint.config import Config, ConfigError, parse_config
from curvelint.engine import check_run, select_rules
from curvelint.model import ReferenceSet, Run, Series, Severity
from curvelint.reference import band, choose_axis

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUNS = os.path.join(ROOT, "fixtures", "realbench", "runs")
SEEDS = range(5)


def learning(n: int, seed: int, start=2.3, end=0.1, tau=6.0, noise=0.01, stride=1) -> Series:
    t = np.arange(n)
    v = (end + (start - end) * np.exp(-t / tau)) * np.exp(np.random.default_rng(seed).normal(0, noise, n))
    return Series("loss", t * stride, v)


def accuracy(n: int, seed: int, start=0.1, end=0.97, tau=5.0) -> Series:
    t = np.arange(n)
    v = end - (end - start) * np.exp(-t / tau) + np.random.default_rng(seed).normal(0, 0.004, n)
    return Series("val_accuracy", t, np.clip(v, 0, 1))


def gate(run: Run, *refs: Run, **settings) -> dict[str, Severity]:
    run.references = ReferenceSet(tuple(refs), **settings)
    found, _ = check_run(run, select_rules(Config(select=["CL400", "CL401", "CL402"])), Config())
    return {f.rule: f.severity for f in found}


def warned(result: dict[str, Severity]) -> set[str]:
    return {code for code, sev in result.items() if sev >= Severity.WARNING}


@pytest.mark.parametrize("seed", SEEDS)
def test_a_seed_twin_stays_quiet(seed):
    ref = C.run_of(learning(40, 100 + seed), accuracy(40, 200 + seed))
    run = C.run_of(learning(40, seed, end=0.12), accuracy(40, seed, end=0.96))
    assert not warned(gate(run, ref))


@pytest.mark.parametrize("seed", SEEDS)
def test_a_learning_rate_too_low_ends_worse(seed):
    ref = C.run_of(learning(40, 100 + seed), accuracy(40, 200 + seed))
    run = C.run_of(learning(40, seed, end=1.9, tau=60), accuracy(40, seed, end=0.3, tau=60))
    assert "CL402" in warned(gate(run, ref))


@pytest.mark.parametrize("seed", SEEDS)
def test_slower_to_the_same_end_is_an_info(seed):
    ref = C.run_of(learning(60, 100 + seed, tau=4))
    run = C.run_of(learning(60, seed, tau=14))
    result = gate(run, ref)
    assert result.get("CL401") == Severity.INFO and "CL402" not in result


@pytest.mark.parametrize("seed", SEEDS)
def test_one_reference_an_accuracy_alone_is_an_info_a_loss_confirms_it(seed):
    """Seeds that reshuffle a small task's split end 0.15-0.3 apart in accuracy with the same loss:
    one reference cannot show that spread, so an accuracy alone below its band is an info; the
    same accuracy with a loss that ends above its band is a warning, and two references decide."""
    ref = C.run_of(learning(40, 100 + seed), accuracy(40, 200 + seed, end=0.85))
    low = C.run_of(learning(40, seed), accuracy(40, seed, end=0.6))
    assert gate(low, ref).get("CL402") == Severity.INFO
    worse = C.run_of(learning(40, seed, end=0.9), accuracy(40, seed, end=0.6))
    assert gate(worse, ref).get("CL402") == Severity.WARNING
    other = C.run_of(learning(40, 300 + seed), accuracy(40, 400 + seed, end=0.83))
    assert gate(C.run_of(learning(40, seed), accuracy(40, seed, end=0.6)), ref, other).get("CL402") == Severity.WARNING


def test_steps_that_do_not_overlap_are_compared_by_fraction():
    ref, run = learning(50, 1, stride=10), learning(50, 2, stride=1000)
    axis, note = choose_axis(run, [ref])
    assert axis == "fraction" and "fraction of training" in note
    assert band("loss", run, [ref], "min", 0.2).axis == "fraction"


def test_several_references_form_a_band():
    refs = [learning(40, s, end=e) for s, e in ((1, 0.08), (2, 0.14))]
    b = band("loss", learning(40, 3, end=0.11), refs, "min", 0.0, noise_k=0.0)
    assert np.all(b.lo[-5:] <= 0.09) and np.all(b.hi[-5:] >= 0.14) and b.references == 2


def test_no_reference_abstains_saying_how_to_give_one():
    run = C.run_of(learning(20, 0))
    _, abstentions = check_run(run, select_rules(Config(select=["CL402"])), Config())
    assert any("--reference" in a.reason for a in abstentions)


def test_reference_configuration_is_validated(tmp_path):
    cfg = tmp_path / "curvelint.toml"
    config = parse_config({"reference": {"path": "runs/base", "metrics": ["val_loss"], "tolerance": 0.3}}, str(cfg))
    assert config.reference_paths == (str(tmp_path / "runs" / "base"),)
    assert config.reference.metrics == ("val_loss",) and config.reference.tolerance == 0.3
    with pytest.raises(ConfigError, match="reference.align"):
        parse_config({"reference": {"path": "x", "align": "time"}}, str(cfg))
    with pytest.raises(ConfigError, match="reference.colour: unknown key"):
        parse_config({"reference": {"colour": 1}}, str(cfg))


# -- logs written by the frameworks' own writers (realbench) ---------------------------------------------------

needs_bench = pytest.mark.skipif(not os.path.isdir(RUNS), reason="fixtures/realbench/runs is absent")


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "curvelint", *args], capture_output=True, text=True, timeout=120,
                          cwd=ROOT)


@needs_bench
def test_cli_gate_on_real_runs():
    healthy0, healthy1 = os.path.join(RUNS, "pt-mlp-digits-0c5483"), os.path.join(RUNS, "pt-mlp-digits-942d41")
    too_low = os.path.join(RUNS, "pt-mlp-digits-9f1d88")  # the same family with lr 1e-6
    quiet = cli("lint", "--select", "CL4", "--fail-on", "warning", "--reference", healthy0, healthy1)
    assert quiet.returncode == 0, quiet.stdout + quiet.stderr
    caught = cli("lint", "--select", "CL4", "--fail-on", "warning", "--reference", healthy0, too_low)
    assert caught.returncode == 1 and "CL402 reference-worse-end" in caught.stdout
    assert "1 reference run, aligned by step" in caught.stdout
    side = cli("compare", healthy0, too_low)
    assert side.returncode == 0 and "B vs A" in side.stdout
    rows = {line.split()[0]: line for line in side.stdout.splitlines() if line.split()[:2] in (["val/acc", "A"],
                                                                                             ["train/loss", "A"])}
    assert set(rows) == {"val/acc", "train/loss"}  # the names the runs logged, not curvelint's role names
    assert "+1,445x" in side.stdout  # lr 1e-6 ends with 1,445x the training loss: a ratio, not '+144392%'


def test_compare_states_changes_beyond_two_fold_as_ratios():
    from curvelint.compare import _versus

    assert [_versus(1.0, b, "min") for b in (1.12, 0.9, 3.0, 0.25, 2000.0)] == ["+12%", "-10%", "+3x", "-4x",
                                                                                 "+2,000x"]
    assert [_versus(0.9, b, "max") for b in (0.81, 0.09, 0.0)] == ["+10%", "+10x", "+100%"]
    assert _versus(0.0, 0.5, "min") == "+0.5"


@needs_bench
def test_cli_reference_that_is_not_a_log_is_a_usage_error(tmp_path):
    out = cli("lint", "--reference", str(tmp_path), os.path.join(RUNS, "pt-mlp-digits-0c5483"))
    assert out.returncode == 2 and "no reference run could be read" in out.stderr


@needs_bench
def test_false_alarms_and_catches_over_realbench_seed_pairs():
    sys.path.insert(0, os.path.join(ROOT, "fixtures"))
    import reference_pairs

    found = reference_pairs.pairs()
    for split in ("dev", "test"):
        quiet = [p for p in found if p["split"] == split and p["kind"].startswith("seed pair")]
        regress = [p for p in found if p["split"] == split and p["kind"] == "regression"]
        alarms = sum(bool(p["fired"]) for p in quiet) / len(quiet)
        caught = sum(bool(p["fired"]) for p in regress) / len(regress)
        assert alarms <= 0.02 and caught >= 0.95, (split, alarms, caught)
