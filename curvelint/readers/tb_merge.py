"""Run assembly of the TensorBoard reader: the series of a run's event files merged per name.

Files are merged in file-name (= creation time) order, like TensorBoard's "purge orphaned
data" on restart: a point is dropped when a later point of the same series has a step <= its
own. A later file that only adds ONE point to series earlier files hold as curves (a
validate/test call after ``fit()``) is not appended to them. Decisions go to ``run.notes``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from curvelint import limits
from curvelint.model import Run, Series


@dataclass
class FileData:
    path: str
    prefix: str
    series: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]  # full name -> (steps, values, walls)
    increasing: bool = False  # every series' steps strictly increase (nothing to purge within the file)
    reduced: dict[str, tuple[int, int, int]] = field(default_factory=dict)  # name -> points read, kept, level


def _keep_last_per_step(steps: np.ndarray) -> np.ndarray:
    """Mask of points no later point overrides (a later step <= this step purges it)."""
    if len(steps) < 2:
        return np.ones(len(steps), dtype=bool)
    later_min = np.minimum.accumulate(steps[::-1])[::-1]
    keep = np.ones(len(steps), dtype=bool)
    keep[:-1] = steps[:-1] < later_min[1:]
    return keep


def _same_as_kept(steps: np.ndarray, values: np.ndarray, keep: np.ndarray) -> bool:
    """Every dropped point repeats the value kept at its step (Lightning logs `epoch` once per
    logging call at the same step): nothing was lost. NaN repeats NaN."""
    kept_steps, kept_values = steps[keep], values[keep]
    order = np.argsort(kept_steps, kind="stable")
    at = np.searchsorted(kept_steps[order], steps[~keep])
    if np.any(at >= len(order)) or np.any(kept_steps[order][at] != steps[~keep]):
        return False
    kept = kept_values[order][at]
    dropped = values[~keep]
    return bool(np.all((kept == dropped) | (np.isnan(kept) & np.isnan(dropped))))


def merge(files: list[FileData], run: Run) -> None:
    """Series of all files, merged per name; decisions go to run.notes."""
    chunks: dict[str, list[tuple[int, tuple[np.ndarray, np.ndarray, np.ndarray]]]] = {}
    for k, f in enumerate(files):
        for name, arrays in f.series.items():
            chunks.setdefault(name, []).append((k, arrays))
    # a later file with one point per series, all already curves of earlier files: a validate/test call
    for k, f in enumerate(files):
        shared = [n for n in f.series if chunks[n][0][0] < k and sum(len(a[0]) for j, a in chunks[n] if j < k) >= 2]
        if shared and all(len(a[0]) == 1 for a in f.series.values()):
            for name in shared:
                chunks[name] = [(j, a) for j, a in chunks[name] if j != k]
            run.notes.append(f"{os.path.basename(f.path)} adds a single point to {_names(shared)} after "
                             "earlier files logged their curves (a separate validate/test call); "
                             "not appended to those curves")
    for f in files:
        if f.reduced:
            run.notes.append(_reduced_note(f))
    purged: dict[tuple[int, str], list[str]] = {}  # (file, kind) -> series names
    cut: list[str] = []  # series over the series-points limit
    most = limits.current().series_points
    for name, parts in chunks.items():
        steps, values, walls = parts[0][1] if len(parts) == 1 else \
            (np.concatenate([a[i] for _, a in parts]) for i in range(3))
        keep = None if len(parts) == 1 and files[parts[0][0]].increasing else _keep_last_per_step(steps)
        if keep is not None and not keep.all():
            origin = np.concatenate([np.full(len(a[0]), j) for j, a in parts])
            back = np.flatnonzero(steps[1:] < steps[:-1]) + 1
            if len(back):
                key = (int(origin[back[0]]), f"step {int(steps[back[0]])}")
            else:
                key = (int(origin[np.flatnonzero(~keep)[0]]), "repeat")
            if key[1] != "repeat" or not _same_as_kept(steps, values, keep):  # a lossless drop goes unsaid
                purged.setdefault(key, []).append(f"{name} ({int((~keep).sum())})")
            steps, values, walls = steps[keep], values[keep], walls[keep]
        if len(steps) > most:
            cut.append(name)
            order = np.argsort(steps, kind="stable")[:most] if np.any(steps[1:] < steps[:-1]) else slice(0, most)
            steps, values, walls = steps[order], values[order], walls[order]
        run.series[name] = Series(name, steps, values, walls)
    if cut:
        run.problems.append(limits.reached(run.path, "series-points", f"series {_names(cut)}",
                                           "the points at the lowest steps were read"))
    for (k, what), names in sorted(purged.items()):
        base = os.path.basename(files[k].path)
        if what == "repeat":
            run.notes.append(f"repeated steps in {base}: kept the last value per step, dropped the earlier "
                             f"points of {_names(names)}")
        else:
            run.notes.append(f"steps restart at {what} in {base}: earlier points at steps >= the restart were "
                             f"dropped (TensorBoard's purge on restart) from {_names(names)}")


def _reduced_note(f: FileData) -> str:
    budget = limits.shown("memory-budget", limits.current().memory_budget)
    shown = [f"{name} ({read:,} -> {kept:,} points, buckets of {1 << level})"
             for name, (read, kept, level) in f.reduced.items()]
    return (f"{os.path.basename(f.path)} holds more points than fit the memory budget ({budget}): series "
            f"{_names(shown)} were reduced by buckets of consecutive points to the first, lowest, highest and first "
            "non-finite point of each and the last point; raise [tool.curvelint.limits] memory-budget to judge "
            "every point")


def _names(names: list[str], limit: int = 6) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")

