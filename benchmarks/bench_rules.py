"""Benchmark: the rule stage on one run of 10 series x 100,000 points (product issues 3 and 6).

Builds a `Run` in memory (`curvelint.model`): per-step training and validation losses
and accuracies, F1 and top-5 accuracy, a warm-up + cosine learning rate, a noisy
gradient norm and a throughput counter, all with realistic noisy shapes (a healthy run
by default; ``--shape`` picks a run with problems instead). Then times:

* the whole rule stage as the engine runs it (`curvelint.engine.check_run`: role
  assignment + every selected rule in code order, sharing one statistics cache);
* each rule in that sequence (its incremental cost: statistics that an earlier rule
  already cached are free);
* each rule alone, on a fresh context and cache (what it costs by itself).

Best of REPEATS, in this process, after one warm-up pass (imports and first-call costs
excluded). Prints one table; the findings of the whole stage follow (a healthy run
should have none).

    python benchmarks/bench_rules.py
    python benchmarks/bench_rules.py --points 10000 --repeats 3 --shape overfit
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass

import numpy as np

from curvelint.config import Config
from curvelint.engine import Selected, check_run, select_rules
from curvelint.model import Finding, Run, Series
from curvelint.roles import assign_roles
from curvelint.rule import Context, run_rule


def _smooth_noise(rng: np.random.Generator, n: int, scale: float, width: int = 200) -> np.ndarray:
    """Correlated noise (a moving average of white noise), as minibatch losses show."""
    white = rng.standard_normal(n + width)
    kernel = np.ones(width) / np.sqrt(width)
    return scale * np.convolve(white, kernel, mode="valid")[:n]


def build_run(points: int, shape: str = "healthy", seed: int = 0) -> Run:
    """One run with 10 per-step series of `points` points each."""
    rng = np.random.default_rng(seed)
    n = points
    steps = np.arange(n, dtype=np.int64)
    t = steps / n
    wall = 1.7e9 + steps * 0.05 + np.cumsum(rng.exponential(0.001, n))
    warm = min(n // 20, 2000)
    lr = 3e-4 * np.where(steps < warm, (steps + 1) / max(warm, 1), 0.5 * (1 + np.cos(np.pi * (steps - warm) / max(n - warm, 1))))
    # minibatch noise is multiplicative (a loss stays positive); validation on a large set is smoother
    train = (2.3 * np.exp(-6 * t) + 0.15) * np.exp(0.12 * rng.standard_normal(n))
    val = 2.3 * np.exp(-5.5 * t) + 0.22 + 0.004 * rng.standard_normal(n) + _smooth_noise(rng, n, 0.002)
    if shape == "overfit":  # validation loss turns up after a third of the run
        val = val + np.clip(t - 0.33, 0, None) * 0.9
    elif shape == "diverging":  # the training loss blows up at 80%
        train = np.where(t > 0.8, train * np.exp((t - 0.8) * 40), train)
    acc = np.clip(0.95 - 0.85 * np.exp(-6 * t) + 0.03 * rng.standard_normal(n), 0, 1)
    val_acc = np.clip(0.93 - 0.83 * np.exp(-5.5 * t) + 0.01 * rng.standard_normal(n), 0, 1)
    grad = np.exp(np.log(2.0) - 1.5 * t + 0.3 * rng.standard_normal(n))
    series = {
        "train/loss": train,
        "val/loss": val,
        "train/accuracy": acc,
        "val/accuracy": val_acc,
        "train/f1": np.clip(acc - 0.05 + 0.02 * rng.standard_normal(n), 0, 1),
        "val/f1": np.clip(val_acc - 0.06 + 0.01 * rng.standard_normal(n), 0, 1),
        "val/top5_accuracy": np.clip(val_acc + 0.05, 0, 1),
        "lr": lr,
        "grad_norm": grad,
        "throughput/samples_per_s": 2400 + 60 * rng.standard_normal(n),
    }
    run = Run(name=f"bench-{shape}", path=f"bench-{shape}", format="bench")
    for name, values in series.items():
        run.series[name] = Series(name, steps.copy(), np.asarray(values, dtype=np.float64), wall.copy())
    return run


def _fresh_context(run: Run, config: Config) -> Context:
    """What `check_run` builds for a run (roles + a cache holding the findings so far)."""
    directions = config.metrics.get("directions", {})
    overrides = {k: v for k, v in config.metrics.items() if k != "directions"}
    ctx = Context(run, assign_roles(list(run.series), overrides, directions))
    ctx.cache["findings"] = []
    return ctx


def _run_one(sel: Selected, base: Context) -> list:
    if sel.rule.needs_graph and base.run.graph is None:
        return []
    out = list(run_rule(sel.rule(), base.for_rule(sel.rule, sel.options, sel.severity)))
    base.cache["findings"].extend(r for r in out if isinstance(r, Finding))
    return out


@dataclass
class Timing:
    code: str
    name: str
    in_sequence: float = float("inf")
    alone: float = float("inf")
    results: int = 0


def measure(run: Run, selected: list[Selected], config: Config, repeats: int) -> tuple[float, list[Timing], list]:
    check_run(run, selected, config)  # warm-up (imports, first calls)
    stage = float("inf")
    findings: list = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        findings, _abstentions = check_run(run, selected, config)
        stage = min(stage, time.perf_counter() - t0)
    timings = [Timing(sel.rule.code, sel.rule.name) for sel in selected]
    for _ in range(repeats):
        base = _fresh_context(run, config)  # the engine's sequence: one cache shared by all rules
        for sel, timing in zip(selected, timings):
            t0 = time.perf_counter()
            timing.results = len(_run_one(sel, base))
            timing.in_sequence = min(timing.in_sequence, time.perf_counter() - t0)
        for sel, timing in zip(selected, timings):  # each rule alone on a fresh cache
            alone = _fresh_context(run, config)
            t0 = time.perf_counter()
            _run_one(sel, alone)
            timing.alone = min(timing.alone, time.perf_counter() - t0)
    return stage, timings, findings


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--points", type=int, default=100_000, help="points per series (10 series)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--shape", choices=("healthy", "overfit", "diverging"), default="healthy")
    args = ap.parse_args(argv)
    config = Config()
    selected = select_rules(config)
    run = build_run(args.points, args.shape)
    stage, timings, findings = measure(run, selected, config, args.repeats)
    total_seq = sum(t.in_sequence for t in timings)
    print(f"rule stage on 1 run x {len(run.series)} series x {args.points} points ({args.shape}), "
          f"{len(selected)} rules, best of {args.repeats}")
    print(f"  whole stage (engine.check_run): {stage * 1000:.1f} ms")
    print(f"  {'rule':<34} {'in sequence ms':>15} {'share':>6} {'alone ms':>9} {'results':>8}  (findings + abstentions)")
    for t in sorted(timings, key=lambda t: -t.in_sequence):
        print(f"  {t.code + ' ' + t.name:<34} {t.in_sequence * 1000:>15.1f} {t.in_sequence / total_seq:>6.0%} "
              f"{t.alone * 1000:>9.1f} {t.results:>8}")
    print(f"  {'sum':<34} {total_seq * 1000:>15.1f}")
    print("findings: " + (", ".join(f"{f.rule} {f.metric or ''}".strip() for f in findings) or "none"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
