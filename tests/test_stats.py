"""curvelint.stats: the primitives on known-truth data, edge cases, and 100k-point series."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest

from curvelint import stats


def noisy_line(n: int, slope: float, seed: int, noise: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    x = np.arange(n)
    return x, 10 + slope * x + np.random.default_rng(seed).normal(0, noise, n)


# -- trend -------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(5))
def test_trend_finds_a_decrease_and_its_slope(seed):
    x, y = noisy_line(300, -0.02, seed)
    t = stats.trend(x, y)
    assert t.p_value < 1e-6 and t.tau < 0 and t.significant(0.01, "down")
    assert t.slope == pytest.approx(-0.02, rel=0.2)
    assert t.change == pytest.approx(t.slope * 299)
    assert (t.n, t.bins, t.start, t.stop) == (300, 300, 0.0, 299.0)


@pytest.mark.parametrize("seed", range(5))
def test_trend_on_pure_noise_is_not_significant(seed):
    x, y = noisy_line(300, 0.0, seed)
    t = stats.trend(x, y)
    assert t.p_value > 0.01 and not t.significant(0.01, "down") and not t.significant(0.01, "up")


def test_mann_kendall_matches_kendalltau_without_ties():
    from scipy.stats import kendalltau

    y = np.random.default_rng(3).normal(size=60).cumsum()
    s, p, tau = stats.mann_kendall(y)
    ref = kendalltau(np.arange(60), y)
    assert tau == pytest.approx(ref.statistic, abs=1e-12)
    assert p == pytest.approx(ref.pvalue, rel=0.15)  # continuity correction differs slightly


def test_sen_slope_is_exact_on_a_line_and_robust_to_outliers():
    x = np.arange(50, dtype=float)
    y = 3 - 0.5 * x
    y[[5, 17, 40]] = 1e6
    assert stats.sen_slope(x, y) == pytest.approx(-0.5)


def test_trend_degenerate_inputs():
    assert stats.trend(np.array([]), np.array([])).p_value == 1.0
    assert stats.trend(np.arange(2), np.array([1.0, 2.0])).p_value == 1.0
    t = stats.trend(np.arange(10), np.ones(10))
    assert t.p_value == 1.0 and t.slope == 0.0


def test_bin_medians_bounds_the_points_and_keeps_order():
    x = np.arange(10_001)
    xb, yb = stats.bin_medians(x, x * 2.0, max_bins=100)
    assert len(xb) == len(yb) == 100
    assert np.all(np.diff(xb) > 0) and np.allclose(yb, 2 * xb)
    same = stats.bin_medians(x[:50], x[:50], max_bins=100)
    assert len(same[0]) == 50


# -- spread, shift, autocorrelation -------------------------------------------------------------


def test_compare_spread_sees_a_larger_late_variance():
    r = np.random.default_rng(0)
    res = stats.compare_spread(r.normal(0, 1, 400), r.normal(0, 3, 400))
    assert res.ratio == pytest.approx(3, rel=0.25) and res.p_value < 1e-6
    same = stats.compare_spread(r.normal(0, 1, 400), r.normal(0, 1, 400))
    assert 0.75 < same.ratio < 1.3 and same.p_value > 0.01
    flat = stats.compare_spread(np.zeros(10), np.zeros(10))
    assert flat.p_value == 1.0 and flat.ratio == 1.0


def test_shift_down():
    r = np.random.default_rng(1)
    res = stats.shift_down(r.normal(10, 1, 20), r.normal(5, 1, 30))
    assert res.p_value < 1e-6 and res.drop == pytest.approx(0.5, abs=0.1)
    assert stats.shift_down(r.normal(10, 1, 20), r.normal(10, 1, 30)).p_value > 0.01


def test_autocorr_tells_waves_and_zigzags_from_noise():
    t = np.arange(400)
    assert stats.autocorr(np.sin(2 * np.pi * t / 40)) > 0.9
    assert stats.autocorr((-1.0) ** t) < -0.9
    assert abs(stats.autocorr(np.random.default_rng(0).normal(size=400))) < 0.15
    assert stats.autocorr(np.ones(3)) == 0.0


# -- spikes ------------------------------------------------------------------------------------


def decay(n: int, seed: int, noise: float = 0.1) -> np.ndarray:
    r = np.random.default_rng(seed)
    return (0.2 + 2 * np.exp(-np.arange(n) / (0.3 * n))) * np.exp(r.normal(0, noise, n))


@pytest.mark.parametrize("seed", range(4))
def test_spikes_finds_isolated_jumps_only(seed):
    v = decay(2000, seed)
    assert stats.spikes(np.arange(2000), v) == []
    v[[300, 1200, 1201]] *= 10
    found = stats.spikes(np.arange(2000), v)
    assert [p.index for p in found] in ([300, 1200], [300, 1201])  # adjacent points merge
    assert all(p.jump > 5 and p.z > 8 for p in found)


def test_spikes_ignore_level_shifts_and_lr_drops():
    v = np.r_[np.full(300, 1.0), np.full(300, 3.0), np.full(300, 0.3)]
    v *= np.exp(np.random.default_rng(0).normal(0, 0.05, len(v)))
    assert stats.spikes(np.arange(len(v)), v) == []


def test_spikes_on_series_that_cross_zero():
    v = decay(1000, 0) - 1.0
    assert stats.spikes(np.arange(1000), v) == []
    v[500] += 5
    assert [p.index for p in stats.spikes(np.arange(1000), v)] == [500]


def test_spikes_downward():
    v = np.full(200, 2.0) * np.exp(np.random.default_rng(0).normal(0, 0.02, 200))
    v[100] = 0.2
    assert stats.spikes(np.arange(200), v) == []
    assert [p.index for p in stats.spikes(np.arange(200), v, up=False, min_jump=1.0)] == [100]


# -- smoothing, windows, levels ----------------------------------------------------------------


def test_smoothing():
    v = np.r_[np.zeros(50), np.ones(50)]
    assert np.array_equal(stats.rolling_median(v, 9), v)  # edges preserved
    noisy = v + np.random.default_rng(0).normal(0, 0.1, 100)
    assert np.abs(stats.smooth(noisy, 9) - v).mean() < np.abs(noisy - v).mean()
    e = stats.ema(np.ones(20) * 3.0, 0.1)
    assert np.allclose(e, 3.0)  # debiased from the first point
    assert stats.auto_window(10) == 1 and stats.auto_window(1000) == 21 and stats.auto_window(10**6) == 201
    assert len(stats.residuals(noisy)) == 100


def test_windows_levels_and_extremes():
    assert stats.tail(100) == slice(75, 100) and stats.tail(100, last=10) == slice(90, 100)
    assert stats.tail(4, min_points=3) == slice(1, 4) and stats.head(100, 0.1) == slice(0, 10)
    steps = np.arange(0, 100, 10)
    assert stats.after_step(steps, 35) == slice(4, 10)
    v = np.array([5.0, 4, 3, 1, 2, 2, 2, 2, 2, 2])
    assert stats.best(steps, v) == stats.Extremum(3, 30, 1.0)
    assert stats.best(steps, v, "max").value == 5.0
    assert stats.level(v, "end") == 2.0 and stats.level(v, "start", min_points=3) == 4.0
    p = stats.progress(steps, v, smooth_window=1)
    assert (p.start, p.end, p.minimum, p.min_step) == (4.0, 2.0, 1.0, 30)
    assert p.drop == pytest.approx(0.5) and p.retained == pytest.approx(1 / 3)
    assert stats.as_dict(stats.best(steps, v)) == {"index": 3, "step": 30, "value": 1.0}


def test_relative_measures():
    assert stats.rel_change(2.0, 1.0) == -0.5
    assert stats.rel_change(0.0, 0.0) == 0.0 and stats.rel_change(0.0, 1.0) == math.inf
    assert stats.ratio(1.0, 0.0) == math.inf and stats.ratio(0.0, 0.0) == 1.0
    assert stats.to_log(np.array([1.0, math.e]))[1] and not stats.to_log(np.array([0.0, 1.0]))[1]
    assert stats.mad(np.array([1.0, 2, 3, 4, 100])) == pytest.approx(1.4826)
    assert stats.log_diff_z(np.array([1.0])).size == 0


# -- scale ---------------------------------------------------------------------------------------


def test_primitives_run_on_100k_points():
    """Per-step logs can hold 100k+ points: every primitive must stay near-linear (no timing asserts)."""
    n = 100_000
    x = np.arange(n) * 10
    v = decay(n, 0, noise=0.3)
    v[[12_345, 67_890]] *= 50
    t = stats.trend(x, v)
    assert t.bins == stats.MAX_TREND_POINTS and t.p_value < 1e-10 and t.slope < 0
    assert {p.index for p in stats.spikes(x, v)} == {12_345, 67_890}
    res = stats.residuals(np.log(v))
    assert stats.compare_spread(res[: n // 2], res[n // 2:]).n_early == 20_000
    assert stats.shift_down(v[:1000], v[-1000:]).p_value < 1e-6
    assert len(stats.smooth(v)) == n and len(stats.ema(v, 0.01)) == n
    assert stats.progress(x, v).drop > 0.5
    assert stats.best(x, v).index > n // 2
    assert -1 < stats.autocorr(v) < 1
    assert len(stats.log_diff_z(v)) == n - 1
    assert stats.mann_kendall(v)[1] < 1e-10 and stats.sen_slope(x, v) < 0  # binned, not O(n^2)


# -- scipy/numpy equivalents (start-up and per-call cost; same numbers) ---------------------------


def _same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) == math.copysign(1, b))


def _samples(seed: int):
    r = np.random.default_rng(seed)
    for k in range(600):
        n = int(r.integers(1, 50))
        v = r.normal(size=n)
        if k % 4 == 1:
            v = np.round(v, 1)  # ties
        elif k % 4 == 2:
            v = np.where(r.random(n) < 0.5, -0.0, 0.0) + r.integers(-2, 3, n)  # signed zeros
        elif k % 4 == 3 and n > 2:
            v[int(r.integers(0, n))] = np.nan
        yield v


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_median_and_percentiles_are_numpys():
    qs = (0, 2.5, 5, 10, 25, 50, 75, 90, 95, 100)
    for v in _samples(0):
        assert _same(stats.median(v), float(np.median(v)))
        assert all(_same(a, float(b)) for a, b in zip(stats.percentiles(v, *qs), np.percentile(v, qs)))
    assert math.isnan(stats.median(np.array([]))) and math.isnan(stats.percentiles(np.array([]), 50)[0])


def _reference_rolling_median(v: np.ndarray, w: int, mode: str) -> np.ndarray:
    """Sorted windows over the series padded by np.pad (the ndimage modes: mirror = reflect)."""
    h = w // 2
    padded = np.pad(v, h, mode="reflect" if mode == "mirror" else "edge")
    return np.sort(np.lib.stride_tricks.sliding_window_view(padded, w), axis=1)[:, h]


def _bits(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=np.float64).view(np.int64)


def test_rolling_median_numpy_path_equals_scipy():
    from scipy.ndimage import median_filter

    r = np.random.default_rng(1)
    for n in (3, 4, 7, 20, 61, 200, 301):
        v = r.normal(size=n)
        for w in (1, 3, 5, 9, 41, 2 * n - 1, 2 * n + 1, 2 * n + 3, 6 * n + 1):
            for mode in ("mirror", "nearest"):
                got = stats.rolling_median(v, w, mode)
                if w > 1:
                    assert np.array_equal(got, _reference_rolling_median(v, w | 1, mode))
                if not (mode == "mirror" and w // 2 == n):  # there scipy reads one value past the array
                    assert np.array_equal(got, median_filter(v, size=w | 1, mode=mode))


def _adversarial(n: int, r: np.random.Generator) -> dict[str, np.ndarray]:
    t = np.arange(n)
    cases = {
        "noise": r.normal(size=n),
        "ties": np.round(r.normal(size=n), 1),
        "few levels": r.integers(0, 3, n).astype(float),
        "constant": np.full(n, 2.5),
        "signed zeros": np.where(r.random(n) < 0.5, -0.0, 0.0) + r.integers(-1, 2, n),
        "increasing": np.exp(t / n),
        "decreasing": 2.3 * np.exp(-6 * t / n) + 0.15 + 1e-3 * r.normal(size=n),
        "zigzag": np.where(t % 2, 1.0, -1.0) * (1 + t / n),
        "two levels": np.where((t // 97) % 2 == 0, 1e9, -1e9) + r.normal(size=n),
        "spikes": np.where(r.random(n) < 0.01, 1e6, 1.0) * r.random(n),
        "infinities": np.where(r.random(n) < 0.1, np.inf, np.where(r.random(n) < 0.1, -np.inf, r.normal(size=n))),
        "tiny and huge": r.normal(size=n) * 10.0 ** r.integers(-300, 300, n),
    }
    nans = r.normal(size=n)
    nans[r.random(n) < 0.05] = np.nan
    cases["nans"] = nans
    return cases


def _has_compiled_filter() -> bool:
    """Whether this scipy ships the private 1-D filter that rolling_median loads on its own."""
    import importlib.util

    return importlib.util.find_spec("scipy.ndimage._rank_filter_1d") is not None


@pytest.mark.parametrize("n", [700, 5000, 30_001])
def test_rolling_median_of_long_series_equals_scipys_filter(n):
    """Long series: the compiled 1-D filter loaded on its own gives median_filter's exact bits,
    on random and adversarial inputs (ties, signed zeros, infinities, NaN, trends), both modes."""
    from scipy.ndimage import median_filter

    r = np.random.default_rng(n)
    assert (stats._scipy_rank.compiled_rank_filter() is not None) == _has_compiled_filter()  # loaded when shipped
    if not _has_compiled_filter():  # scipy < 1.15: both sides would be median_filter, O(n * w): minutes here
        pytest.skip("this scipy has no scipy.ndimage._rank_filter_1d: rolling_median is median_filter itself")
    for name, v in _adversarial(n, r).items():
        for w in (95, 201, 1005, max(9, int(0.2 * n)) | 1, 2 * n - 1):
            for mode in ("mirror", "nearest"):
                got = stats.rolling_median(v, w, mode)
                assert np.array_equal(_bits(got), _bits(median_filter(v, size=w, mode=mode))), (name, w, mode)


def test_rolling_median_without_the_compiled_filter(monkeypatch):
    """If scipy has no loadable 1-D filter, scipy.ndimage.median_filter gives the same numbers."""
    r = np.random.default_rng(5)
    v = np.round(r.normal(size=4000), 2)
    fast = [stats.rolling_median(v, w, mode) for w in (51, 401) for mode in ("mirror", "nearest")]
    monkeypatch.setattr(stats.smoothing, "compiled_rank_filter", lambda: None)
    slow = [stats.rolling_median(v, w, mode) for w in (51, 401) for mode in ("mirror", "nearest")]
    assert all(np.array_equal(_bits(a), _bits(b)) for a, b in zip(fast, slow))


def test_linting_long_series_imports_no_scipy_package():
    """scipy.ndimage (~0.3 s) and scipy.stats (~0.6 s) stay out of a lint of 100k-point series."""
    if not _has_compiled_filter():
        pytest.skip("this scipy has no scipy.ndimage._rank_filter_1d: median_filter is imported")
    code = """if True:
        import sys
        import numpy as np
        from curvelint.config import Config
        from curvelint.engine import check_run, select_rules
        from curvelint.model import Run, Series
        from curvelint import stats
        n = 100_000
        r = np.random.default_rng(0)
        t = np.arange(n) / n
        steps = np.arange(n)
        run = Run(name="r", path="r", format="test")
        for name, v in {"train/loss": (2.3 * np.exp(-6 * t) + 0.15) * np.exp(0.12 * r.normal(size=n)),
                        "val/loss": 2.3 * np.exp(-5.5 * t) + 0.22 + 0.004 * r.normal(size=n),
                        "grad_norm": np.exp(0.7 - 1.5 * t + 0.3 * r.normal(size=n)),
                        "lr": 3e-4 * (1 + np.cos(np.pi * t)) / 2}.items():
            run.series[name] = Series(name, steps.copy(), v)
        config = Config()
        check_run(run, select_rules(config), config)
        assert stats._scipy_rank.compiled_rank_filter.cache_info().currsize == 1  # the long-series path ran
        print(sorted(m for m in sys.modules if m == "scipy" or m.startswith("scipy.")))
    """
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_p_values_match_scipy():
    from scipy.special import fdtrc
    from scipy.stats import levene, mannwhitneyu

    r = np.random.default_rng(2)
    for k in range(300):
        n1, n2 = int(r.integers(1, 14)), int(r.integers(1, 40))
        if k % 2:
            n1, n2 = n2, n1
        a, b = r.normal(0.5 * r.random(), 1, n1), r.normal(0, 1, n2)
        if k % 3 == 0:
            a, b = np.round(a, 1), np.round(b, 1)  # ties: normal approximation
        if np.ptp(np.concatenate([a, b])) > 0:
            ref = float(mannwhitneyu(a, b, alternative="greater").pvalue)
            assert stats.mann_whitney_greater(a, b) == pytest.approx(ref, rel=1e-9, abs=1e-300)
        if n1 >= 3 and n2 >= 3:
            ref = float(levene(a, b, center="median").pvalue)
            assert stats.brown_forsythe(a, b) == pytest.approx(ref if math.isfinite(ref) else 1.0, rel=1e-9)
    for f in (1e-3, 0.5, 3.0, 40.0):
        for d in (1, 7, 400, 40_000):
            assert stats.f_sf(f, 1, d) == pytest.approx(float(fdtrc(1, d, f)), rel=1e-9, abs=1e-300)
    assert sum(stats.significance._mwu_counts(8, 300)) == math.comb(308, 8)


def test_trend_equals_the_separate_estimators():
    x, y = noisy_line(333, -0.01, 4)
    t = stats.trend(x, y)
    assert (t.slope, t.tau) == (stats.sen_slope(x, y), stats.mann_kendall(y)[2])
    assert t.p_value == stats.mann_kendall(y)[1]
