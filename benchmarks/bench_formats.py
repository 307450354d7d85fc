"""Benchmark: curvelint's Parquet and Keras-JSON readers vs plain pyarrow / json (product issue 6).

Target: "Parquet and Keras JSON: within 2x of pyarrow / json reading the same data".
Generates (cached in ``benchmarks/out/formats/``, gitignored):

* ``long.parquet``: RUNS x TAGS x POINTS rows of ``run, tag, step, value, wall_time``, one
  block of rows per (run, tag); ``long_steps.parquet``: the same rows in logging order
  (per run, step by step, all tags at each step), which the reader has to sort;
* ``wide.parquet``: POINTS rows of ``step, wall_time`` + TAGS metric columns (a few nulls);
* ``keras_large/history.json``: one ``history.history`` dump, TAGS keys x POINTS epochs;
* ``keras_many/run_*/history.json``: MANY histories of 8 keys x 200 epochs.

Each case is timed in this process (after one warm-up call, so imports are not
counted), best of REPEATS:

* curvelint: ``discover([path])`` + ``curvelint.readers.read`` of every source (series
  built, steps ordered, notes);
* baseline: ``pq.read_table`` + every column to numpy (string columns read as Parquet's
  dictionary, to numpy as their indices: what a reader needs to split by run/tag), or
  ``json.load`` of every file.

    python benchmarks/bench_formats.py
    python benchmarks/bench_formats.py --points 20000 --repeats 3
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Spec:
    runs: int
    tags: int
    points: int
    many: int

    def key(self) -> str:
        return json.dumps(vars(self), sort_keys=True)


def _curves(rng: np.random.Generator, tags: int, points: int) -> list[np.ndarray]:
    x = np.arange(points) / points
    return [2.0 * np.exp(-4 * x) + 0.1 + 0.05 * rng.standard_normal(points) for _ in range(tags)]


def _tag_names(tags: int) -> list[str]:
    return ["loss", "val_loss", "accuracy", "val_accuracy", "lr"][:tags] + \
        [f"metric_{k}" for k in range(max(0, tags - 5))]


def generate(spec: Spec, root: Path) -> None:
    """Write the Parquet tables and the Keras histories (skipped when `root` holds this spec)."""
    marker = root / "spec.json"
    if marker.exists() and marker.read_text() == spec.key():
        return
    import shutil

    import pyarrow as pa
    import pyarrow.parquet as pq

    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    rng = np.random.default_rng(0)
    names = _tag_names(spec.tags)
    steps = np.arange(spec.points, dtype=np.int64)
    long: dict[str, list[np.ndarray]] = {k: [] for k in ("run", "tag", "step", "value", "wall_time")}
    for r in range(spec.runs):
        for name, curve in zip(names, _curves(rng, spec.tags, spec.points)):
            long["run"].append(np.full(spec.points, f"run_{r:03d}"))
            long["tag"].append(np.full(spec.points, name))
            long["step"].append(steps)
            long["value"].append(curve)
            long["wall_time"].append(1.7e9 + r * 1e5 + steps * 0.05)
    table = pa.table({k: np.concatenate(v) for k, v in long.items()})
    pq.write_table(table, root / "long.parquet")
    # the same rows in logging order (per run: step by step, every tag at each step)
    order = np.lexsort((np.tile(np.repeat(np.arange(spec.tags), spec.points), spec.runs),
                        np.tile(np.tile(steps, spec.tags), spec.runs), np.repeat(np.arange(spec.runs), spec.tags * spec.points)))
    pq.write_table(table.take(pa.array(order)), root / "long_steps.parquet")
    wide = {"step": steps, "wall_time": 1.7e9 + steps * 0.05}
    for name, curve in zip(names, _curves(rng, spec.tags, spec.points)):
        mask = np.zeros(spec.points, dtype=bool)
        if name.startswith("val_"):
            mask[np.arange(spec.points) % 10 != 9] = True  # validated every 10th step: nulls elsewhere
        wide[name] = pa.array(curve, mask=mask)
    pq.write_table(pa.table(wide), root / "wide.parquet")
    big = root / "keras_large"
    big.mkdir()
    history = {n: c.tolist() for n, c in zip(names, _curves(rng, spec.tags, spec.points))}
    (big / "history.json").write_text(json.dumps(history))
    for i in range(spec.many):
        folder = root / "keras_many" / f"run_{i:03d}"
        folder.mkdir(parents=True)
        history = {n: c.tolist() for n, c in zip(_tag_names(8), _curves(rng, 8, 200))}
        (folder / "history.json").write_text(json.dumps(history))
    marker.write_text(spec.key())


# ------------------------------------------------------------------------------------------------
# what is timed
# ------------------------------------------------------------------------------------------------
def curvelint_read(path: Path) -> int:
    from curvelint.discovery import discover
    from curvelint.readers import read

    sources, errors = discover([str(path)])
    assert not errors, errors
    runs = [run for s in sources for run in read(s)]
    assert runs and not any(run.problems for run in runs), [run.problems for run in runs]
    return sum(run.points for run in runs)


def pyarrow_read(path: Path) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pq.read_schema(path)
    text = [f.name for f in schema if pa.types.is_string(f.type)]
    table = pq.read_table(path, read_dictionary=text)  # strings as Parquet's dictionary: no hashing
    arrays = []
    for column in table.columns:
        column = column.combine_chunks()
        if pa.types.is_dictionary(column.type):
            column = column.indices
        arrays.append(column.to_numpy(zero_copy_only=False))
    return sum(len(a) for a in arrays)


def json_read(path: Path) -> int:
    total = 0
    for f in sorted(path.rglob("*.json")) if path.is_dir() else [path]:
        with open(f, encoding="utf-8") as fh:
            total += sum(len(v) for v in json.load(fh).values())
    return total


def best(fn: Callable[[Path], int], path: Path, repeats: int) -> tuple[float, int]:
    fn(path)  # warm-up: imports, page cache
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        n = fn(path)
        times.append(time.perf_counter() - t0)
    return min(times), n


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=2, help="runs in long.parquet")
    ap.add_argument("--tags", type=int, default=10, help="metrics per run / columns / history keys")
    ap.add_argument("--points", type=int, default=100_000, help="points per metric")
    ap.add_argument("--many", type=int, default=200, help="number of small Keras histories")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--out", type=Path, default=HERE / "out" / "formats")
    args = ap.parse_args(argv)
    spec = Spec(args.runs, args.tags, args.points, args.many)
    generate(spec, args.out)
    cases = [
        (f"Parquet long ({spec.runs}x{spec.tags}x{spec.points} rows)", args.out / "long.parquet", pyarrow_read,
         "pyarrow"),
        ("Parquet long, rows in logging order", args.out / "long_steps.parquet", pyarrow_read, "pyarrow"),
        (f"Parquet wide ({spec.points} rows x {spec.tags} metrics)", args.out / "wide.parquet", pyarrow_read,
         "pyarrow"),
        (f"Keras JSON, 1 file ({spec.tags} keys x {spec.points} epochs)", args.out / "keras_large", json_read,
         "json.load"),
        (f"Keras JSON, {spec.many} files (8 keys x 200 epochs)", args.out / "keras_many", json_read, "json.load"),
    ]
    print(f"best of {args.repeats}, in-process (imports excluded)")
    print(f"  {'case':<44} {'MB':>6} {'curvelint s':>12} {'points':>9} {'baseline':>10} {'base s':>8} {'ratio':>6}")
    for label, path, baseline, base_name in cases:
        size = sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) if path.is_dir() else path.stat().st_size
        ours, points = best(curvelint_read, path, args.repeats)
        theirs, _ = best(baseline, path, args.repeats)
        print(f"  {label:<44} {size / 1e6:>6.1f} {ours:>12.3f} {points:>9} {base_name:>10} {theirs:>8.3f} "
              f"{ours / theirs:>6.2f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
