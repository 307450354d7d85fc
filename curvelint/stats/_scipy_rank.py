"""Adapter for scipy's compiled 1-D rank filter, a private scipy module.

`compiled_rank_filter()` loads ``scipy.ndimage._rank_filter_1d.rank_filter`` from its file on
its own (importing scipy.ndimage costs ~0.3 s, more than the filter on a 100k-point series) and
checks it against a reference on a probe; None when this scipy has none or it disagrees, and the
caller then uses the public ``scipy.ndimage.median_filter``. tests/test_stats.py holds the
equivalence tests (both paths give median_filter's exact bits).
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import sys
from functools import lru_cache
from typing import Callable

import numpy as np

PAD_MODES = {"nearest": 0, "mirror": 3}  # scipy.ndimage modes rolling_median pads itself: their C codes
_MODULE = "scipy.ndimage._rank_filter_1d"


def _reference(v: np.ndarray, h: int, mode: str) -> np.ndarray:
    """Medians of the 2h+1 windows of a short finite series, padded as scipy.ndimage pads."""
    padded = np.pad(v, h, mode="reflect" if mode == "mirror" else "edge")
    return np.array([np.median(padded[i:i + 2 * h + 1]) for i in range(len(v))])


@lru_cache(maxsize=1)
def compiled_rank_filter() -> Callable[..., None] | None:
    """scipy's compiled 1-D rank filter, loaded on its own and probed; None when unavailable."""
    try:
        module = sys.modules.get(_MODULE)
        if module is None:
            scipy_spec = importlib.util.find_spec("scipy")  # finds the package without importing it
            roots = (scipy_spec.submodule_search_locations or []) if scipy_spec else []
            paths = [os.path.join(root, "ndimage", "_rank_filter_1d" + suffix)
                     for root in roots for suffix in importlib.machinery.EXTENSION_SUFFIXES]
            path = next((p for p in paths if os.path.isfile(p)), None)
            if path is None:
                return None
            loader = importlib.machinery.ExtensionFileLoader(_MODULE, path)
            spec = importlib.util.spec_from_loader(_MODULE, loader)
            if spec is None:
                return None
            module = importlib.util.module_from_spec(spec)
            loader.exec_module(module)
            sys.modules.pop(_MODULE, None)  # a later scipy.ndimage import loads it as usual
        rank_filter = module.rank_filter
        probe = np.array([5.0, 1.0, 4.0, 2.0, 3.0, 0.0, 6.0, -1.0, 2.5])
        for mode, code in PAD_MODES.items():  # a private API: check its signature and results
            out = np.empty_like(probe)
            rank_filter(probe, 2, 5, out, code, 0.0, 0)
            if not np.array_equal(out, _reference(probe, 2, mode)):
                return None
        return rank_filter
    except Exception:  # noqa: BLE001 - any failure means: use the public median_filter
        return None
