"""curvelint/_crc32c.py: the C function loaded alone equals the package's public API."""

from __future__ import annotations

import importlib.util
import sys

import numpy as np
import pytest

from curvelint import _crc32c

CHECK = 0xE3069283  # CRC-32C of b"123456789"


@pytest.fixture(autouse=True)
def _fresh() -> None:
    _crc32c.crc32c.cache_clear()
    yield
    _crc32c.crc32c.cache_clear()


def test_the_extension_alone_equals_the_public_api(monkeypatch: pytest.MonkeyPatch) -> None:
    import crc32c as package

    if importlib.util.find_spec("crc32c").submodule_search_locations is None:
        pytest.skip("this crc32c is one extension module, no package __init__ to leave out: its public API is used")
    data = np.random.default_rng(3).integers(0, 256, 10_000, dtype=np.uint8)
    monkeypatch.delitem(sys.modules, "crc32c")
    fn = _crc32c.crc32c()
    assert "crc32c" not in sys.modules  # the package's __init__ did not run
    assert fn is not package.crc32c
    for value in (0, 12345, 0xFFFFFFFF):
        assert fn(data, value) == package.crc32c(data.tobytes(), value)
        assert fn(memoryview(data.tobytes())[7:5003], value) == package.crc32c(data.tobytes()[7:5003], value)
    assert fn(b"123456789") == CHECK and fn(b"") == 0


def test_an_imported_package_is_used_as_is() -> None:
    import crc32c as package

    assert _crc32c.crc32c() is package.crc32c


def test_an_unexpected_layout_falls_back_to_the_public_api(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(sys.modules, "crc32c")
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    assert _crc32c.crc32c()(b"123456789") == CHECK and "crc32c" in sys.modules
