"""Rules on a growing prefix: flapping and detection delay on the labelled benchmark (issue 13).

    python benchmarks/watch_prefix.py                 # every run of fixtures/realbench; last column set: the defaults (3/2)
    python benchmarks/watch_prefix.py --split dev --settings 1/1,3/1,3/2,3/3 --jobs 2

Every run of ``fixtures/realbench/labels.json`` is replayed as `curvelint watch` would see it
while it trains: at evaluation k the run holds the points of every series up to the k-th
cut-off step (all its logged steps, or `--max-evals` evenly spaced ones for longer runs; the
last evaluation is the whole run). Cutting by step keeps the series of one run aligned in
time (a per-step loss beside a per-epoch validation loss); for a run whose series share one
grid it is "each series truncated to its first k points". Each prefix is linted with the
default configuration (CL002/CL004 are off, as in `curvelint watch`) and the findings go
through `curvelint.tracking.Tracker` with each `--settings` pair hold/confirm (1/1: every
evaluation shown as it is, no hysteresis); the last evaluation settles (the run ended).

Per rule it prints:

* runs: runs where the rule was reported at some evaluation;
* flips/run: how often a shown finding of the rule disappeared or reappeared after it was
  first shown (a finding is a run + rule + metric), per such run, for each hold;
* delay: over the runs whose label the rule diagnoses (`fixtures/taxonomy.py`) and where it
  fires on the whole run: evaluations between the fault's visible onset (the first prefix that
  reaches the step the whole-run finding names; the first prefix where it is reported when it
  names none) and the first shown finding of the rule. Median and max, for the first and the
  last hold;
* stale: findings still shown at the last evaluation (the whole run) that the whole run does
  not have (held by the hysteresis), for the last hold.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "fixtures"))
BENCH = os.path.join(ROOT, "fixtures", "realbench")


@dataclass
class Replay:
    """One run replayed: its findings at every evaluation, and on the whole run."""

    run: str
    labels: tuple[str, ...]
    cutoffs: list[int]
    per_eval: list[list] = field(default_factory=list)  # Finding lists
    seconds: float = 0.0


def cutoffs(run, max_evals: int) -> list[int]:
    steps = np.unique(np.concatenate([s.steps for s in run.series.values()])) if run.series else np.zeros(0, int)
    if len(steps) <= max_evals:
        return steps.tolist()
    picks = np.unique(np.round(np.linspace(0, len(steps) - 1, max_evals)).astype(int))
    return steps[picks].tolist()


def prefix(run, cut: int):
    from curvelint.model import Run

    series = {}
    for name, s in run.series.items():
        n = int(np.searchsorted(s.steps, cut, side="right"))
        if n:
            series[name] = s.slice(0, n)
    return Run(run.name, run.path, run.format, series, dict(run.hparams), list(run.sources), list(run.notes),
               list(run.problems), run.graph, list(run.inputs), run.labels, run.unfinished)


def replay(entry: dict, max_evals: int) -> list[Replay]:
    from curvelint import readers
    from curvelint.config import Config
    from curvelint.discovery import discover
    from curvelint.engine import check_run, select_rules
    from curvelint.tracking import LIVE_RULES

    config = Config(ignore=list(LIVE_RULES))
    selected = select_rules(config)
    sources, _ = discover([os.path.join(BENCH, "runs", entry["run"])])
    out = []
    for source in sources:
        for run in readers.read(source):
            start = time.perf_counter()
            r = Replay(entry["run"] + ("" if run.name == source.path else run.name[len(source.path):]),
                       tuple(entry["labels"]), cutoffs(run, max_evals))
            for cut in r.cutoffs:
                r.per_eval.append(check_run(prefix(run, cut), selected, config)[0])
            r.seconds = time.perf_counter() - start
            out.append(r)
    return out


Setting = tuple[int, int]  # (hold, confirm) of the Tracker


@dataclass
class RuleStats:
    runs: set = field(default_factory=set)
    flips: dict = field(default_factory=lambda: defaultdict(int))  # setting -> shows and clears after the first
    back: dict = field(default_factory=lambda: defaultdict(int))  # setting -> shows after a clear (on-off-on)
    delays: dict = field(default_factory=lambda: defaultdict(list))  # setting -> evaluations after the onset
    stale: dict = field(default_factory=lambda: defaultdict(int))  # setting -> shown at the end, not in the run
    missed: dict = field(default_factory=lambda: defaultdict(int))  # setting -> onsets never shown


@dataclass
class Stops:
    """What a callback with stop_on="error" (or `watch --exit-on error`) would have stopped."""

    healthy: int = 0
    healthy_stopped: Counter = field(default_factory=Counter)  # rule of the first error shown
    erring: int = 0  # runs whose whole run has an error
    erring_stopped: int = 0


def score(replays: list[Replay], settings: list[Setting]) -> tuple[dict[str, RuleStats], dict[Setting, Stops]]:
    from taxonomy import HEALTHY, diagnosing_rules

    from curvelint.model import Severity
    from curvelint.tracking import Tracker

    stats: dict[str, RuleStats] = defaultdict(RuleStats)
    stops = {setting: Stops() for setting in settings}
    for r in replays:
        if not r.per_eval:
            continue
        full = r.per_eval[-1]
        for f in (f for fs in r.per_eval for f in fs):
            stats[f.rule].runs.add(r.run)
        onset = {rule: _onset(r, rule) for rule in {f.rule for f in full} & diagnosing_rules(list(r.labels))}
        for setting in settings:
            tracker = Tracker(hold=setting[0], confirm=setting[1])
            first: dict[str, int] = {}
            appeared: set = set()
            error_at = None
            for k, findings in enumerate(r.per_eval):
                changes = tracker.update(r.run, findings)
                if k == len(r.per_eval) - 1:
                    changes += tracker.settle(r.run)  # the run ended
                for change in changes:
                    if change.kind != "cleared" and change.finding.severity == Severity.ERROR and error_at is None:
                        error_at = (k, change.finding.rule)
                    rule, key = change.finding.rule, (change.finding.rule, change.finding.metric)
                    if change.kind == "new":
                        first.setdefault(rule, k)
                        if key in appeared:
                            stats[rule].flips[setting] += 1
                            stats[rule].back[setting] += 1
                        appeared.add(key)
                    elif change.kind == "cleared":
                        stats[rule].flips[setting] += 1
            for rule, k0 in onset.items():
                if rule in first:
                    stats[rule].delays[setting].append(first[rule] - k0)
                else:  # never shown (cannot happen: the last evaluation settles)
                    stats[rule].missed[setting] += 1
            final = {(f.rule, f.metric) for f in full}
            for f in tracker.shown(r.run):
                if (f.rule, f.metric) not in final:
                    stats[f.rule].stale[setting] += 1
            stop = stops[setting]
            if r.labels == (HEALTHY,):
                stop.healthy += 1
                if error_at is not None:
                    stop.healthy_stopped[error_at[1]] += 1
            if any(f.severity == Severity.ERROR for f in full):
                stop.erring += 1
                stop.erring_stopped += error_at is not None
    return stats, stops


def stop_lines(stops: dict[Setting, Stops]) -> str:
    lines = ["stop on the first error shown (a callback's stop_on='error', watch --exit-on error):"]
    for (hold, confirm), s in stops.items():
        rules = ", ".join(f"{r} {n}" for r, n in s.healthy_stopped.most_common())
        lines.append(f"  h{hold}c{confirm}: healthy runs stopped {sum(s.healthy_stopped.values())}/{s.healthy}"
                     f"{f' ({rules})' if rules else ''}; runs with an error on the whole run stopped "
                     f"{s.erring_stopped}/{s.erring}")
    return "\n".join(lines)


def _onset(r: Replay, rule: str) -> int:
    """The first evaluation whose prefix reaches the step a whole-run finding of `rule` names (the
    first one reporting the rule, for findings that name no step)."""
    ks = []
    for f in (f for f in r.per_eval[-1] if f.rule == rule):
        if f.step is not None:
            ks.append(int(np.searchsorted(r.cutoffs, f.step, side="left")))
        else:
            ks.append(next(k for k, fs in enumerate(r.per_eval) if any(g.rule == rule for g in fs)))
    return min(ks)


def table(stats: dict[str, RuleStats], settings: list[Setting], n_runs: int) -> str:
    """Flips per run for every setting; on-off-on, delay and stale for the first and the last."""
    a, b = settings[0], settings[-1]
    name = lambda s: f"h{s[0]}c{s[1]}"
    head = (f"{'rule':6s} {'runs':>4s} | flips/run " + " ".join(f"{name(s):>6s}" for s in settings)
            + f" | on-off-on {name(a):>5s} {name(b):>5s} | delay runs | delay med/max {name(a):>7s} {name(b):>7s}"
            f" | early | stale {name(b):>5s} | missed {name(b):>5s}")
    lines = [head, "-" * len(head)]
    for rule in sorted(stats):
        s = stats[rule]
        n = len(s.runs)
        d = {x: [max(v, 0) for v in s.delays.get(x, [])] for x in (a, b)}
        early = sum(v < 0 for v in s.delays.get(b, []))
        md = lambda x, d=d: f"{statistics.median(d[x]):g}/{max(d[x])}" if d[x] else "-"
        lines.append(f"{rule:6s} {n:4d} | {'':9s} " + " ".join(f"{s.flips[x] / n:6.2f}" for x in settings)
                     + f" | {'':9s} {s.back[a] / n:5.2f} {s.back[b] / n:5.2f} | {len(d[b]):10d} | {'':13s} "
                     f"{md(a):>7s} {md(b):>7s} | {early:5d} | {'':5s} {s.stale[b]:5d} | {'':6s} {s.missed[b]:5d}")
    lines.append("-" * len(head))
    total = lambda attr, x: sum(getattr(s, attr)[x] for s in stats.values()) / n_runs
    lines.append(f"{'all':6s} {n_runs:4d} | {'':9s} " + " ".join(f"{total('flips', x):6.2f}" for x in settings)
                 + f" | {'':9s} {total('back', a):5.2f} {total('back', b):5.2f} |  (per replayed run)")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--split", choices=["all", "dev", "test"], default="all")
    parser.add_argument("--max-evals", type=int, default=40, help="evaluations per run at most (default 40)")
    parser.add_argument("--settings", default="1/1,3/1,5/1,3/3,3/2",
                        help="Tracker hold/confirm pairs to compare; the first and the last get the detail columns")
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--limit", type=int, default=None, help="only the first N runs (a quick look)")
    parser.add_argument("--json", help="also write the per-rule figures to this file")
    args = parser.parse_args()
    settings = [tuple(int(v) for v in x.split("/")) for x in args.settings.split(",")]
    with open(os.path.join(BENCH, "labels.json"), encoding="utf-8") as fh:
        entries = [e for e in json.load(fh) if args.split == "all" or e.get("split") == args.split]
    entries = entries[:args.limit] if args.limit else entries
    start = time.perf_counter()
    if args.jobs > 1:
        from multiprocessing import Pool

        with Pool(args.jobs) as pool:
            parts = pool.starmap(replay, [(e, args.max_evals) for e in entries], chunksize=4)
    else:
        parts = [replay(e, args.max_evals) for e in entries]
    replays = [r for part in parts for r in part]
    evals = sum(len(r.per_eval) for r in replays)
    print(f"{len(replays)} runs of fixtures/realbench ({args.split}), {evals} evaluations "
          f"(at most {args.max_evals} per run), {time.perf_counter() - start:.0f} s\n")
    stats, stops = score(replays, settings)
    print(table(stats, settings, len(replays)))
    print()
    print(stop_lines(stops))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            key = lambda d: {f"h{h}c{c}": v for (h, c), v in d.items()}
            json.dump({rule: {"runs": len(s.runs), "flips": key(s.flips), "on_off_on": key(s.back),
                              "delays": key(s.delays), "stale": key(s.stale)} for rule, s in stats.items()}, fh, indent=1)


if __name__ == "__main__":
    main()
