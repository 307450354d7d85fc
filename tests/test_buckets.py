"""Bucket reduction of series over the memory budget (curvelint/buckets.py, readers/tb_store.py): the points
kept are real points with the extremes, NaNs and ends, and the result depends only on the series."""

from __future__ import annotations

import numpy as np
import pytest

from curvelint import buckets
from curvelint.readers.tb_store import Store, levels


def _series(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    values = np.exp(-np.arange(n) / n) + 0.05 * rng.standard_normal(n)
    values[rng.integers(0, n, 20)] = np.nan
    values[rng.integers(0, n, 5)] = np.inf
    values[n // 2] = 40.0
    return values


def test_each_bucket_keeps_its_first_lowest_highest_and_first_non_finite_point() -> None:
    values = _series(10_000)
    level = 6
    keep = buckets.select(np.arange(len(values)), values, level)
    for start in range(0, len(values), 1 << level):
        part = values[start:start + (1 << level)]
        kept = set(np.flatnonzero(keep[start:start + (1 << level)]).tolist())
        finite = np.flatnonzero(np.isfinite(part))
        want = {0, int(finite[np.argmin(part[finite])]), int(finite[np.argmax(part[finite])])}
        if len(finite) < len(part):
            want.add(int(np.flatnonzero(~np.isfinite(part))[0]))
        assert kept == want


@pytest.mark.parametrize("chunk", [7, 1000, 1 << 20])
def test_selection_composes_over_parts_levels_and_chunks(chunk: int, monkeypatch: pytest.MonkeyPatch) -> None:
    values = _series(50_000, seed=1)
    number = np.arange(len(values))
    whole = buckets.select(number, values, 9)
    monkeypatch.setattr(buckets, "CHUNK", chunk)
    kept = np.concatenate([p[buckets.select(number[p], values[p], 4)] for p in np.array_split(number, 13)])
    assert np.array_equal(kept[buckets.select(number[kept], values[kept], 9)], np.flatnonzero(whole))


def test_levels_spare_short_series_and_fit_the_points() -> None:
    reads = [10_000_000, 10_000_000, 10_000, 50]
    at = levels(reads, 1_000_000)
    assert at[2:] == [0, 0] and min(at[:2]) > 0
    assert sum(min(r, 4 * -(-r >> a)) for r, a in zip(reads, at)) <= 1_000_000
    assert levels([100, 200], 300) == [0, 0]
    assert levels([20_000_000, 10], 1_000_000) >= levels([10_000_000, 10], 1_000_000)  # more points, higher


def _store(values: np.ndarray, sizes: list[int], most: int) -> tuple[dict, dict]:
    store = Store(most)
    steps, walls = np.arange(len(values)) * 10, 1.7e9 + np.arange(len(values), dtype=np.float64)
    a = 0
    for k, size in enumerate(sizes):
        b = min(a + size, len(values))
        store.add("", {"loss": (steps[a:b], values[a:b], walls[a:b])})
        if k < 3:  # a short series, beside
            store.add("val/", {"loss": (steps[k:k + 1], values[k:k + 1], walls[k:k + 1])})
        a = b
    return store.join()


def test_the_store_result_depends_only_on_the_points_read() -> None:
    values = _series(200_000, seed=2)
    rng = np.random.default_rng(3)
    one, reduced = _store(values, [len(values), 0, 0], 20_000)
    many, again = _store(values, list(rng.integers(1, 9000, 100)) + [len(values)], 20_000)
    assert reduced == again and set(reduced) == {"loss"}
    for name in one:
        assert all(np.array_equal(x, y, equal_nan=True) for x, y in zip(one[name], many[name]))
    steps, kept_values, _ = one["loss"]
    level = reduced["loss"][2]
    want = buckets.select(np.arange(len(values)), values, level)
    want[-1] = True
    assert np.array_equal(steps, np.flatnonzero(want) * 10) and len(steps) == reduced["loss"][1] < 20_000
    assert np.array_equal(kept_values, values[want], equal_nan=True)


def test_a_store_below_its_points_keeps_every_point() -> None:
    values = _series(5_000)
    series, reduced = _store(values, [700] * 8, 20_000)
    assert not reduced and np.array_equal(series["loss"][1], values, equal_nan=True)
