"""The fast paths of the trend statistics and of `stats.median` give the old numbers, bit for bit
(issue 18): Mann-Kendall S counted instead of summed signs, Theil-Sen slopes over exact integer
step gaps, and medians of long arrays selected within a sampled bracket.

The reference is the plain formulation the fast paths replaced: every pair from
``np.triu_indices``, ``np.sign(...).sum()``, ``np.median`` of the slopes with ``dx != 0``.
"""

from __future__ import annotations

import math
import struct

import numpy as np
import pytest

from curvelint import stats
from curvelint.stats import basic, trends

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")  # NaN and inf cases


def _bits(value: float) -> bytes:
    """A float's bytes (NaN equal to NaN, +0.0 different from -0.0)."""
    return struct.pack("<d", value)


def _same(a: float, b: float) -> bool:
    return _bits(a) == _bits(b) or (math.isnan(a) and math.isnan(b))


def reference_trend(steps: np.ndarray, values: np.ndarray, max_bins: int = stats.MAX_TREND_POINTS) -> stats.Trend:
    """`stats.trend` as formulated before the fast paths (same binning, same test arithmetic)."""
    x = np.asarray(steps, dtype=np.float64)
    y = np.asarray(values, dtype=np.float64)
    n = len(y)
    if n == 0:
        return stats.Trend(0.0, 1.0, 0.0, 0, 0, math.nan, math.nan, 0.0, math.nan)
    xb, yb = stats.bin_medians(x, y, max_bins)
    if len(yb) >= 3:
        i, j = np.triu_indices(len(yb), k=1)
        dy, dx = yb[j] - yb[i], xb[j] - xb[i]
        _, p, tau = trends._mk_test(float(np.sign(dy).sum()), yb)
        ok = dx != 0
        slopes = dy[ok] / dx[ok]
        slope = float(np.median(slopes)) if ok.any() else 0.0
    else:
        p, tau = 1.0, 0.0
        slope = float(np.median((yb[1] - yb[0]) / (xb[1] - xb[0]))) if len(xb) == 2 and xb[1] != xb[0] else 0.0
    slope = 0.0 + slope
    return stats.Trend(slope=slope, p_value=p, tau=tau, n=n, bins=len(yb), start=float(x[0]), stop=float(x[-1]),
                       change=slope * float(x[-1] - x[0]), level=float(np.median(y)))


def _assert_same_trend(got: stats.Trend, want: stats.Trend) -> None:
    for name in ("slope", "p_value", "tau", "start", "stop", "change", "level"):
        assert _same(getattr(got, name), getattr(want, name)), (name, getattr(got, name), getattr(want, name))
    assert (got.n, got.bins) == (want.n, want.bins)


def _series(rng: np.random.Generator, n: int, case: int) -> tuple[np.ndarray, np.ndarray]:
    """Steps and values of one random case: smooth decays, noise, heavy ties, NaN, infinities, signed
    zeros, integer steps at spacings 1 and 50, float steps, repeated steps."""
    t = np.arange(n, dtype=np.float64)
    kind = case % 8
    if kind == 0:
        y = np.exp(-t / max(n / 4, 1)) + rng.normal(0, 0.05, n)
    elif kind == 1:
        y = rng.integers(0, 3, n).astype(np.float64)  # ties everywhere
    elif kind == 2:
        y = np.round(rng.normal(0, 1, n), 1)
        y[rng.integers(0, n)] = np.nan
    elif kind == 3:
        y = rng.normal(0, 1, n)
        y[rng.integers(0, n, 2)] = [np.inf, -np.inf]
    elif kind == 4:
        y = rng.choice([0.0, -0.0, 1.0, -1.0], n)
    elif kind == 5:
        y = np.full(n, 2.3026)
    elif kind == 6:
        y = rng.normal(0, 1, n).cumsum()
    else:
        y = rng.standard_cauchy(n) * 1e200  # differences overflow to +-inf
    spacing = case % 5
    if spacing == 0:
        x = t
    elif spacing == 1:
        x = 50.0 * t + 100.0
    elif spacing == 2:
        x = np.sort(rng.uniform(0, 1000, n))
    elif spacing == 3:
        x = np.repeat(np.arange((n + 1) // 2, dtype=np.float64), 2)[:n]  # every step logged twice
    else:
        x = t * 0.5  # fractional spacing: the general path
    return x, y


@pytest.mark.parametrize("seed", range(6))
def test_trend_equals_the_plain_formulation(seed):
    rng = np.random.default_rng(seed)
    for case in range(80):
        n = int(rng.choice([3, 4, 5, 7, 20, 64, 101, 200, 257, 499, 500, 501, 1200]))
        x, y = _series(rng, n, case)
        _assert_same_trend(stats.trend(x, y), reference_trend(x, y))


def test_mann_kendall_equals_summed_signs():
    rng = np.random.default_rng(7)
    for case in range(120):
        n = int(rng.integers(3, 500))
        _, y = _series(rng, n, case)
        i, j = np.triu_indices(n, k=1)
        want = trends._mk_test(float(np.sign(y[j] - y[i]).sum()), y)
        got = stats.mann_kendall(y)
        assert all(_same(a, b) for a, b in zip(got, want)), (case, got, want)


def _hard_arrays(rng: np.random.Generator) -> list[np.ndarray]:
    n = 19_900  # the pairwise slopes of 200 points
    sorted_ = np.sort(rng.normal(0, 1, n))
    return [
        rng.normal(0, 1, n), rng.normal(0, 1, n + 1), sorted_, sorted_[::-1].copy(),
        np.full(n, 3.0), rng.choice([-0.0, 0.0], n), rng.choice([-1.0, 0.0, -0.0, 1.0], n + 3),
        np.r_[np.full(n // 2, -np.inf), np.full(n - n // 2, np.inf)], rng.standard_cauchy(4096),
        np.tile(np.r_[np.zeros(1023), 1e9], 20),  # a period that strided samples would line up with
        np.r_[np.full(9000, 1.0), rng.normal(5, 1, 9000)], np.exp(rng.normal(0, 30, 250_000)),
        rng.integers(0, 5, 10_000).astype(np.float64),
    ]


def test_median_of_long_arrays_is_numpys_bit_for_bit():
    rng = np.random.default_rng(3)
    for v in _hard_arrays(rng) + [rng.normal(0, 1, int(m)) for m in rng.integers(4096, 60_000, 40)]:
        got, want = stats.median(v), 0.0 + float(np.median(v))
        assert _bits(got) == _bits(want), (len(v), got, want)
    with_nan = rng.normal(0, 1, 20_000)
    with_nan[17] = np.nan
    assert math.isnan(stats.median(with_nan))


def test_a_bracket_that_misses_falls_back_to_the_whole_array(monkeypatch):
    monkeypatch.setattr(basic, "_MARGIN", 0)  # the bracket is one sample value: it misses nearly always
    rng = np.random.default_rng(5)
    for _ in range(30):
        v = rng.normal(0, 1, int(rng.integers(4096, 30_000)))
        assert _bits(stats.median(v)) == _bits(0.0 + float(np.median(v)))


def test_integer_spacing_is_exact_only():
    assert trends._integer_spacing(np.arange(5, dtype=np.float64)) == 1.0
    assert trends._integer_spacing(100.0 + 50.0 * np.arange(5)) == 50.0
    assert trends._integer_spacing(np.arange(5) * 0.5) is None
    assert trends._integer_spacing(np.array([0.0, 1.0, 3.0])) is None
    assert trends._integer_spacing(np.array([0.5, 1.5, 2.5])) is None
    assert trends._integer_spacing(2.0 ** 53 + np.arange(3.0)) is None
    assert trends._integer_spacing(np.array([3.0, 2.0, 1.0])) is None


def test_median_of_short_arrays_is_numpys_bit_for_bit():
    rng = np.random.default_rng(11)
    for case in range(3000):
        n = int(rng.integers(1, 70))  # both sides of the Python-sort limit
        kind = case % 5
        if kind == 0:
            v = rng.normal(size=n)
        elif kind == 1:
            v = rng.choice([0.0, -0.0, 1.0, -1.0, np.inf, -np.inf], n)
        elif kind == 2:
            v = rng.integers(0, 3, n).astype(np.float64)
        elif kind == 3:
            v = np.round(rng.normal(size=n), 1)
            v[rng.integers(0, n)] = np.nan if case % 2 else v[0]
        else:
            v = rng.standard_cauchy(n) * 1e300  # sums of the middle values overflow
        assert _same(stats.median(v), 0.0 + float(np.median(v))), (case, v)
