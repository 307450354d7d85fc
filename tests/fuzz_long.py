"""The long fuzz run of issue 14: random damaged logs of every format until a number of cases or a time.

    python tests/fuzz_long.py --cases 100000 --jobs 2            # the issue's 100,000 cases
    python tests/fuzz_long.py --minutes 15 --jobs 2 --out fuzz.json

Cases are those of tests/test_fuzz.py (tests/fuzzing.py: a small valid log of each format, one kind of
damage, the same checks), drawn at random from ``--seed`` and spread evenly over the formats; every
20th case also runs the command line. A failing case is recorded (kind, format, mutation) and the run goes
on. Each worker runs under an address-space limit (``--memory-mb``), so a memory blow-up is a
MemoryError that is counted, not a machine that swaps. The report gives the cases per format, the
failures by kind with an example each, the rate and each worker's peak memory; the exit status is 1
when any case failed.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import random
import resource
import sys
import time
import traceback
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import fuzzing as F  # noqa: E402


def _worker(job: tuple[int, int, float, int, list[str], int]) -> dict:
    index, cases, deadline, seed, formats, memory_mb = job
    if memory_mb:
        resource.setrlimit(resource.RLIMIT_AS, (memory_mb << 20, memory_mb << 20))
    rng = random.Random(seed * 7919 + index)
    counts: Counter[str] = Counter()
    failures: list[dict] = []
    slowest = (0.0, "")
    for fmt in formats:  # seeds and imports before the clock and the memory baseline
        F.seed(fmt)
    start_rss = F.rss_mb()
    i = 0
    while i < cases and time.time() < deadline:
        fmt = formats[(i + index) % len(formats)]
        mutation = F.random_mutation(fmt, rng)
        began = time.perf_counter()
        try:
            F.check(F.mutate(fmt, mutation), cli=i % 20 == 0)
        except F.Failure as exc:
            failures.append({"format": fmt, "kind": exc.kind, "mutation": mutation.describe(),
                             "message": str(exc)[:500]})
        except MemoryError:
            failures.append({"format": fmt, "kind": "memory", "mutation": mutation.describe(),
                             "message": "MemoryError"})
        except Exception:  # the harness itself: say where
            failures.append({"format": fmt, "kind": "harness", "mutation": mutation.describe(),
                             "message": traceback.format_exc()[-800:]})
        took = time.perf_counter() - began
        if took > slowest[0]:
            slowest = (took, f"{fmt} {mutation.describe()}")
        counts[fmt] += 1
        i += 1
    return {"counts": dict(counts), "failures": failures, "peak_rss_mb": F.rss_mb(), "start_rss_mb": start_rss,
            "slowest": slowest}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=100_000, help="total cases (default 100000)")
    parser.add_argument("--minutes", type=float, default=0, help="stop after this many minutes (0: no limit)")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--seed", type=int, default=int(time.time()), help="random seed (default: the time)")
    parser.add_argument("--formats", default=",".join(F.FORMATS), help="comma-separated (default: all)")
    parser.add_argument("--memory-mb", type=int, default=4096, help="address-space limit per worker (0: none)")
    parser.add_argument("--out", help="write the report as JSON to this file")
    args = parser.parse_args(argv)
    formats = [f for f in args.formats.split(",") if f]
    deadline = time.time() + args.minutes * 60 if args.minutes else float("inf")
    per = [args.cases // args.jobs + (k < args.cases % args.jobs) for k in range(args.jobs)]
    jobs = [(k, per[k], deadline, args.seed, formats, args.memory_mb) for k in range(args.jobs)]
    began = time.time()
    with mp.get_context("spawn").Pool(args.jobs) as pool:
        results = pool.map(_worker, jobs)
    elapsed = time.time() - began
    counts: Counter[str] = Counter()
    failures: list[dict] = []
    for r in results:
        counts.update(r["counts"])
        failures.extend(r["failures"])
    total = sum(counts.values())
    report = {"seed": args.seed, "cases": total, "seconds": round(elapsed, 1), "rate_per_s": round(total / elapsed, 1),
              "per_format": dict(sorted(counts.items())), "failures": len(failures),
              "failures_by_kind": dict(Counter(f"{f['kind']} ({f['format']})" for f in failures)),
              "examples": {f"{f['kind']} ({f['format']})": f for f in reversed(failures)},
              "workers": [{"peak_rss_mb": round(r["peak_rss_mb"]), "start_rss_mb": round(r["start_rss_mb"]),
                           "slowest_case_s": round(r["slowest"][0], 2), "slowest_case": r["slowest"][1]}
                          for r in results]}
    print(f"{total} cases in {elapsed:.0f} s ({report['rate_per_s']}/s), seed {args.seed}")
    for fmt, n in sorted(counts.items()):
        print(f"  {fmt:<14} {n:>7}")
    print(f"failures: {len(failures)}")
    for key, n in report["failures_by_kind"].items():
        print(f"  {key}: {n}\n    e.g. {report['examples'][key]['message'][:300]}")
    for k, w in enumerate(report["workers"]):
        print(f"worker {k}: peak RSS {w['peak_rss_mb']} MB (after imports {w['start_rss_mb']} MB), slowest case "
              f"{w['slowest_case_s']} s: {w['slowest_case']}")
    if args.out:
        Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    return 1 if failures else 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
