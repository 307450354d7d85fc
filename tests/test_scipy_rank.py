"""curvelint/stats/_scipy_rank.py, the adapter for scipy's private 1-D rank filter: it gives
``scipy.ndimage.median_filter``'s values when this scipy ships a filter that passes the probe, and None
(the caller then uses the public median_filter) when the module is absent, its signature changed or its
results disagree. tests/test_stats.py checks rolling_median's bits on both paths over long series."""

from __future__ import annotations

import importlib.util
import sys
import types

import numpy as np
import pytest

from curvelint.stats import _scipy_rank


@pytest.fixture(autouse=True)
def _fresh() -> None:
    _scipy_rank.compiled_rank_filter.cache_clear()
    yield
    _scipy_rank.compiled_rank_filter.cache_clear()


def test_the_loaded_filter_equals_the_public_median_filter() -> None:
    from scipy.ndimage import median_filter

    if importlib.util.find_spec(_scipy_rank._MODULE) is None:
        pytest.skip("this scipy has no scipy.ndimage._rank_filter_1d")
    rank_filter = _scipy_rank.compiled_rank_filter()
    assert rank_filter is not None
    v = np.round(np.random.default_rng(1).normal(size=301), 1)
    for mode, code in _scipy_rank.PAD_MODES.items():
        for h in (1, 7, 60):
            out = np.empty_like(v)
            rank_filter(v, h, 2 * h + 1, out, code, 0.0, 0)
            assert np.array_equal(out, median_filter(v, size=2 * h + 1, mode=mode)), (mode, h)


def test_a_scipy_without_the_module_gives_none(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(sys.modules, _scipy_rank._MODULE, raising=False)
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    assert _scipy_rank.compiled_rank_filter() is None


@pytest.mark.parametrize("fake", [
    lambda x, h, w, out, mode, cval, origin: out.fill(0.0),  # results that disagree with the reference
    lambda x, h, out: None,  # another signature
])
def test_a_filter_that_fails_the_probe_gives_none(monkeypatch: pytest.MonkeyPatch, fake) -> None:
    monkeypatch.setitem(sys.modules, _scipy_rank._MODULE, types.SimpleNamespace(rank_filter=fake))
    assert _scipy_rank.compiled_rank_filter() is None
