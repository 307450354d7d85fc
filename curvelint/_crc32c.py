"""The ``crc32c`` package's C function, loaded without the package's ``__init__``.

The package's ``__init__`` imports importlib.metadata and argparse (for ``__version__`` and
a CLI): 3.9 MB of peak RSS and ~60 ms, more than the TensorBoard reader's own footprint.
`crc32c` loads the extension module ``crc32c._crc32c`` alone; when the package is already
imported, or laid out otherwise, it is the public ``crc32c.crc32c`` (tests/test_crc32c.py
checks that both give the same results).
"""

from __future__ import annotations

import functools
import sys
from typing import Callable


@functools.lru_cache(maxsize=None)
def crc32c() -> Callable[..., int]:
    """The function ``crc32c(data, value=0) -> int`` (CRC-32C of a bytes-like `data`, from `value`)."""
    if "crc32c" not in sys.modules:
        try:
            return _extension()
        except Exception:  # any surprise: the documented import below
            pass
    return _public()


def _extension() -> Callable[..., int]:
    """``crc32c._crc32c.crc32c``, without running ``crc32c/__init__.py``."""
    from importlib.machinery import PathFinder
    from importlib.util import find_spec, module_from_spec

    package = find_spec("crc32c")  # locates the package without importing it
    if package is None:
        raise ImportError("no crc32c package")
    spec = PathFinder.find_spec("crc32c._crc32c", package.submodule_search_locations)
    if spec is None or spec.loader is None:
        raise ImportError("no crc32c._crc32c extension")
    module = module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.crc32c


def _public() -> Callable[..., int]:
    """The package's documented API."""
    import crc32c as package

    return package.crc32c
