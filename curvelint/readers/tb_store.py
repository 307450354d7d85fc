"""The series of one event file as they are read, window by window, within a number of points.

Each series keeps the arrays of the record windows it appeared in, joined once the file is
done (no second copy of every series while reading). A file whose series hold more than
`Store.most` points in all (from the ``memory-budget`` limit) has its long series reduced
by buckets of consecutive points (`curvelint.buckets`: the first, lowest, highest and first
non-finite point of each bucket, and the series' last point), each at the level `levels`
gives for the points read. While reading, whenever more than 1.25 times `most` points are held,
the long series are reduced at the level for the points read so far (never above the final
one); the file's end reduces them at the final level. Reductions compose, so the result
depends only on the points of the file and the budget, never on how it was cut into
windows or parts.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import cast

import numpy as np

from curvelint import buckets

Arrays = tuple[np.ndarray, np.ndarray, np.ndarray]  # steps, values, wall times
BYTES_PER_POINT = 160  # of the budget per point a file may keep: its arrays (24-32 B), 1.25 times as many while
# reading, the merge's copy and the rules' temporaries


def most_points(budget: int) -> int:
    """The points a file may keep within a memory budget of `budget` bytes."""
    return max(budget // BYTES_PER_POINT, 1 << 14)


def levels(reads: list[int], most: int) -> list[int]:
    """The level of each series of `reads` points so that they keep at most about `most` points in all.

    Every series may keep up to a common number of points, the largest with which they fit (the
    shorter series keep every point); a longer series is reduced at the lowest level at which its
    buckets (four points each at most) fit in it. The more points read, the higher the levels.
    """
    if sum(reads) <= most:
        return [0] * len(reads)
    cap, left, count = 0, most, len(reads)
    for i, r in enumerate(sorted(reads)):
        if r * (count - i) > left:
            cap = left // (count - i)
            break
        left -= r
    out = []
    for r in reads:
        at = 0
        while r > cap and at < 62 and 4 * -(-r >> at) > cap:
            at += 1
        out.append(at)
    return out


@dataclass
class _Series:
    parts: list[tuple[Arrays, np.ndarray | None]] = field(default_factory=list)  # arrays, point numbers (None: raw)
    held: int = 0  # points held
    read: int = 0  # points read: the next point's number
    level: int = 0  # buckets of 2**level points
    mark: int = 0  # points read at the last reduction

    def add(self, arrays: Arrays) -> None:
        arrays = (_own(arrays[0]), _own(arrays[1]), _own(arrays[2]))
        self.parts.append((arrays, None if not self.level else np.arange(self.read, self.read + len(arrays[0]))))
        self.held += len(arrays[0])
        self.read += len(arrays[0])

    def joined(self) -> Arrays:
        """The arrays held, joined into one part."""
        if len(self.parts) > 1:
            steps, values, walls = (np.concatenate(c) for c in zip(*(a for a, _ in self.parts)))
            arrays = (steps, values, walls)
            self.parts = [(arrays, np.concatenate([n for _, n in self.parts]) if self.level else None)]
        return self.parts[0][0]

    def reduce(self, at: int) -> None:
        """Keep the points selected at level `at` (>= the level reached so far) and the last point read.

        At the level reached, only the points since the start of the last bucket are selected again
        (the ones before are selected already): each point costs about once per level."""
        head: list[tuple[Arrays, np.ndarray]] = []
        if at == self.level:
            start = ((self.mark - 1) >> at) << at  # the first number of the last bucket selected so far
            numbered = cast("list[tuple[Arrays, np.ndarray]]", self.parts)  # at a level > 0 every part has numbers
            while int(numbered[0][1][-1]) < start:
                head.append(numbered.pop(0))
            (s, v, w), n = numbered[0]
            cut = int(np.searchsorted(n, start))
            if cut:
                head.append(((s[:cut], v[:cut], w[:cut]), n[:cut]))
                self.parts[0] = ((s[cut:], v[cut:], w[cut:]), n[cut:])
        steps, values, walls = self.joined()
        numbers = self.parts[0][1]
        numbers = np.arange(self.read) if numbers is None else numbers  # level 0: every point read is held
        keep = buckets.select(numbers, values, at)
        keep[-1] = True
        kept = ((steps[keep], values[keep], walls[keep]), numbers[keep])
        self.parts = [*head, kept]
        self.held, self.level, self.mark = sum(len(n) for _, n in head) + len(kept[1]), at, self.read


def _own(a: np.ndarray) -> np.ndarray:
    """`a`, copied when it is a small view of a window's array (a series logged now and then would keep
    every window's arrays alive)."""
    return a.copy() if a.base is not None and a.nbytes * 8 < a.base.nbytes else a


@dataclass
class Store:
    """Per-series arrays of consecutive record windows (see the module's docstring)."""

    most: int = sys.maxsize  # points the file may keep
    series: dict[str, _Series] = field(default_factory=dict)
    held: int = 0

    def add(self, prefix: str, series: dict[str, Arrays]) -> None:
        for tag, arrays in series.items():  # first appearance in the window: file order kept
            if not len(arrays[0]):
                continue
            self.series.setdefault(prefix + tag, _Series()).add(arrays)
            self.held += len(arrays[0])
        if self.held * 4 > self.most * 5:
            self._reduce()

    def _reduce(self, final: bool = False) -> None:
        """Reduce the series at their levels for the points read (at the end: every one, at its final level)."""
        series = list(self.series.values())
        for s, at in zip(series, levels([s.read for s in series], self.most)):
            if at and (s.level < at or s.held > 4 * -(-s.read >> at) + 1 or (final and s.mark < s.read)):
                self.held -= s.held
                s.reduce(at)
                self.held += s.held

    def join(self) -> tuple[dict[str, Arrays], dict[str, tuple[int, int, int]]]:
        """Every series as one set of arrays, reduced at the final level, and the reduced ones: name -> (points
        read, points kept, level). The store is emptied."""
        self._reduce(final=True)
        reduced = {name: (s.read, s.held, s.level) for name, s in self.series.items() if s.level}
        out = {}
        for name in list(self.series):
            out[name] = self.series.pop(name).joined()  # freed as it goes: no second copy of every series
        return out, reduced
