"""Downsampling for drawing (curvelint/plot/downsample.py): extremes survive, non-finite points are marks."""

from __future__ import annotations

import numpy as np
import pytest

from curvelint.plot.downsample import KINDS, minmax


def test_a_one_step_spike_in_a_million_points_survives():
    n = 1_000_000
    rng = np.random.default_rng(0)
    steps = np.arange(n)
    values = 1.0 + 0.01 * rng.standard_normal(n)
    values[654_321] = 50.0  # one step
    values[123_456] = -7.0  # and one dip
    d = minmax(steps, values, 300)
    assert len(d.steps) <= 2 * 300 + 2 and d.points == n and d.reduced
    assert d.values.max() == 50.0 and d.steps[d.values.argmax()] == 654_321
    assert d.values.min() == -7.0 and d.steps[d.values.argmin()] == 123_456
    assert d.steps[0] == 0 and d.steps[-1] == n - 1  # the ends are kept
    assert np.all(np.diff(d.steps) > 0)  # in step order, ready to connect


def test_every_bin_keeps_its_exact_min_and_max():
    rng = np.random.default_rng(1)
    steps = np.sort(rng.choice(10**7, size=50_000, replace=False))  # uneven steps
    values = rng.standard_normal(len(steps)).cumsum()
    bins = 97
    d = minmax(steps, values, bins)
    edges = np.linspace(steps[0], steps[-1] + 1, bins + 1)
    for a, b in zip(edges[:-1], edges[1:]):
        inside = (steps >= a) & (steps < b)
        kept = (d.steps >= a) & (d.steps < b)
        if inside.any():
            assert d.values[kept].max() == values[inside].max()
            assert d.values[kept].min() == values[inside].min()


def test_short_series_are_returned_whole():
    d = minmax(np.array([0, 5, 9]), np.array([3.0, 1.0, 2.0]), 100)
    assert d.steps.tolist() == [0, 5, 9] and d.values.tolist() == [3.0, 1.0, 2.0] and not d.reduced


def test_non_finite_points_are_marks_one_per_bin_and_kind():
    n = 1_000_000
    values = np.linspace(1.0, 2.0, n)
    values[500_000:500_010] = np.nan
    values[700_000] = np.inf
    values[-3:] = -np.inf
    d = minmax(np.arange(n), values, 200)
    assert d.non_finite == 14 and np.isfinite(d.values).all()
    marks = [(int(s), KINDS[k]) for s, k in zip(d.mark_steps, d.mark_kinds)]
    assert marks == [(500_000, "nan"), (700_000, "+inf"), (n - 3, "-inf")]


def test_all_non_finite_and_empty_series():
    d = minmax(np.arange(5), np.full(5, np.nan), 10)
    assert len(d.steps) == 0 and d.non_finite == 5 and len(d.mark_steps) == 5
    empty = minmax(np.array([], dtype=np.int64), np.array([]), 10)
    assert empty.points == 0 and len(empty.steps) == 0


def test_unsorted_steps_are_sorted_and_huge_steps_do_not_overflow():
    d = minmax(np.array([3, 1, 2]), np.array([30.0, 10.0, 20.0]), 2)
    assert d.steps.tolist() == [1, 2, 3] and d.values.tolist() == [10.0, 20.0, 30.0]
    big = np.array([-(2**62), 0, 2**62], dtype=np.int64)
    d = minmax(np.repeat(big, 1000), np.arange(3000.0), 4)
    assert d.values.min() == 0.0 and d.values.max() == 2999.0


def test_bins_must_be_positive():
    with pytest.raises(ValueError):
        minmax(np.arange(3), np.arange(3.0), 0)
