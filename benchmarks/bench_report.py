"""Benchmark: building the HTML report of many big runs (issue 12: 1,000 runs x 10 series x 100,000 points).

Runs are made in memory one at a time (`bench_rules.build_run`: per-step losses, accuracies, F1,
lr, gradient norm, throughput; healthy, overfitting and diverging shapes, each run scaled and
shifted a little so no two are equal) and go through what `curvelint report` does with each run
once its findings are known: `curvelint.plot.curves.extract` (min/max downsampling of every
series), the curve spool on disk, and at the end `curvelint.reporters.html.write`, which reads the
spool back one run at a time. The findings are the real rules' findings on the three base runs
(`check_run`, timed once), given to every run of that shape: the rule stage is `bench_rules.py`'s
subject, not this one's. Generating the runs is timed apart and left out of the build time.

Prints the time per stage, the total build time, the file size and the peak RSS (the process
holds one run's points at a time, so it should not grow with --runs).

    python benchmarks/bench_report.py                               # 1,000 x 10 x 100,000
    python benchmarks/bench_report.py --runs 50 --points 10000 --out /tmp/r.html
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_rules import build_run  # noqa: E402

from curvelint.config import Config  # noqa: E402
from curvelint.engine import Report, RunSummary, check_run, run_roles, select_rules  # noqa: E402
from curvelint.model import Run, Series  # noqa: E402
from curvelint.plot.curves import CurveSpool, extract  # noqa: E402
from curvelint.reporters import CURVE_BINS, Options  # noqa: E402
from curvelint.reporters.html import write  # noqa: E402

SHAPES = ("healthy", "overfit", "diverging")


def variant(base: Run, i: int) -> Run:
    """Run `i`: the base run's series scaled and shifted a little (a fresh array per series)."""
    k = 1.0 + 0.01 * (i % 17)
    name = f"runs/{base.name}/seed-{i:04d}"
    series = {n: Series(n, s.steps, s.values * k + 0.001 * (i % 5)) for n, s in base.series.items()}
    return Run(name=name, path=name, format="bench", series=series)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--points", type=int, default=100_000, help="points per series (10 series per run)")
    parser.add_argument("--out", help="where to write the page (default: a temporary file, removed)")
    a = parser.parse_args()
    bins = CURVE_BINS["html"][0]
    config = Config()
    t = time.perf_counter()
    bases = [build_run(a.points, shape, seed) for seed, shape in enumerate(SHAPES)]
    t_base = time.perf_counter() - t
    t = time.perf_counter()
    findings = {b.name: check_run(b, select_rules(config), config)[0] for b in bases}
    t_rules = time.perf_counter() - t

    report = Report(curves=CurveSpool())
    made = extracted = 0.0
    points = 0
    for i in range(a.runs):
        t0 = time.perf_counter()
        base = bases[i % len(bases)]
        run = variant(base, i)
        t1 = time.perf_counter()
        curves = extract(run, run_roles(run, config), bins)
        report.curves[(run.path, run.name)] = curves
        t2 = time.perf_counter()
        made += t1 - t0
        extracted += t2 - t1
        points += run.points
        report.runs.append(RunSummary(run.path, run.name, run.format, len(run.series), run.points))
        report.findings.extend(replace(f, path=run.path, run=run.name) for f in findings[base.name])
        del run, curves
    spooled = report.curves.size
    out = a.out or tempfile.mkstemp(suffix=".html")[1]
    t = time.perf_counter()
    with open(out, "w", encoding="utf-8") as fh:
        write(report, Options(), fh)
    written = time.perf_counter() - t
    size = os.path.getsize(out)
    if not a.out:
        os.remove(out)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{a.runs} runs x 10 series x {a.points} points = {points:,} points, {len(report.findings)} findings")
    print(f"  generating the runs (not part of the build)  {made:8.2f} s  (+ {t_base:.2f} s for the 3 base runs)")
    print(f"  rules on the 3 base runs (not part of it)    {t_rules:8.2f} s")
    print(f"  extract: min/max downsampling + spool        {extracted:8.2f} s  ({extracted / a.runs * 1e3:.1f} ms per run;"
          f" spool {spooled / 2**20:.1f} MB)")
    print(f"  write the HTML page                          {written:8.2f} s  ({written / a.runs * 1e3:.1f} ms per run)")
    print(f"  build time (extract + write)                 {extracted + written:8.2f} s")
    print(f"  file size                                    {size / 2**20:8.1f} MB  ({size / a.runs / 1024:.1f} KB per run)")
    print(f"  peak RSS                                     {peak:8.0f} MB")


if __name__ == "__main__":
    main()
