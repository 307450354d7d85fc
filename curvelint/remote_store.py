"""The stores behind `curvelint.remote`: one fsspec filesystem per scheme, errors as one line, and the
ranged read of an object (one request each, counted in `STATS`).

fsspec is imported only when a URL is first used. Credentials come from each library's own chain
(``AWS_*`` variables, ``~/.aws``, instance roles; ``GOOGLE_APPLICATION_CREDENTIALS``; ``AZURE_STORAGE_*``;
``HF_TOKEN``), and so does an S3 endpoint (``AWS_ENDPOINT_URL``). S3 requests are retried by botocore's
``standard`` mode with exponential backoff (throttling, 5xx, dropped connections), `S3_ATTEMPTS` attempts
unless ``AWS_MAX_ATTEMPTS`` or ``AWS_RETRY_MODE`` say otherwise.
"""

from __future__ import annotations

import os
from typing import Any

__all__ = ["SCHEMES", "STATS", "describe", "fetch", "filesystem", "info", "oserror", "reset", "scheme"]

S3_ATTEMPTS = 10  # botocore attempts per S3 request (standard retry mode: exponential backoff with jitter)
# scheme -> (extra, package) that reads it
SCHEMES = {"s3": ("s3", "s3fs"), "s3a": ("s3", "s3fs"), "gs": ("gcs", "gcsfs"), "gcs": ("gcs", "gcsfs"),
           "az": ("azure", "adlfs"), "abfs": ("azure", "adlfs"), "abfss": ("azure", "adlfs"),
           "hf": ("hub", "huggingface_hub"), "file": ("remote", "fsspec")}
STATS = {"listings": 0, "requests": 0, "bytes": 0}  # this process's calls to stores (tests, benchmarks)
_FILESYSTEMS: dict[str, Any] = {}  # scheme -> fsspec filesystem


def scheme(url: str) -> str:
    return url.split("://", 1)[0].lower()


def filesystem(url: str) -> tuple[Any, str]:
    """The fsspec filesystem for `url` (one per scheme) and the path it knows the object by.

    ImportError names the extra to install."""
    proto = scheme(url)
    fs = _FILESYSTEMS.get(proto)
    if fs is None:
        extra, package = SCHEMES.get(proto, ("remote", f"an fsspec implementation of {proto}://"))
        try:
            import fsspec

            fs = fsspec.filesystem(proto, **_options(proto))
        except (ImportError, ValueError) as exc:  # ValueError: a protocol fsspec does not know
            raise ImportError(f"reading {proto}:// paths needs {package}: pip install 'curvelint[{extra}]' "
                              f"({exc})") from None
        _FILESYSTEMS[proto] = fs
    return fs, fs._strip_protocol(url)


def _options(proto: str) -> dict[str, Any]:
    """Filesystem options: S3 retries with backoff, unless the environment configures botocore's."""
    if SCHEMES.get(proto, ("",))[0] == "s3" and not (os.environ.get("AWS_MAX_ATTEMPTS")
                                                     or os.environ.get("AWS_RETRY_MODE")):
        return {"config_kwargs": {"retries": {"max_attempts": S3_ATTEMPTS, "mode": "standard"}}}
    return {}


def reset() -> None:
    """Forget the filesystems (new credentials, a new endpoint)."""
    _FILESYSTEMS.clear()


# -- errors ----------------------------------------------------------------------------------------------

def describe(exc: BaseException) -> str:
    """One line for a store's error: what failed, without a traceback."""
    if isinstance(exc, ImportError):
        return str(exc)
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    text = text.splitlines()[0] if text.strip() else type(exc).__name__
    if isinstance(exc, FileNotFoundError):  # "The specified bucket does not exist", or just the key
        return text if " " in text else "not found"
    if isinstance(exc, PermissionError):
        return f"permission denied ({text})"
    return text if isinstance(exc, OSError) else f"{type(exc).__name__}: {text}"


def oserror(exc: BaseException, url: str) -> OSError:
    """`exc` as an OSError whose ``strerror`` is one line (readers show ``exc.strerror``)."""
    error = OSError(getattr(exc, "errno", None) or 5, describe(exc), url)
    error.__cause__ = exc
    return error


# -- requests ---------------------------------------------------------------------------------------------

def info(url: str) -> dict[str, Any] | None:
    """The store's description of `url` (one request; None when it does not exist)."""
    fs, path = filesystem(url)
    try:
        STATS["requests"] += 1
        return fs.info(path)
    except FileNotFoundError:
        return None
    except Exception as exc:
        raise oserror(exc, url) from exc


def fetch(url: str, start: int = 0, end: int | None = None) -> bytes:
    """Bytes [start, end) of an object (to its end when `end` is None): one request."""
    fs, path = filesystem(url)
    try:
        STATS["requests"] += 1
        data = fs.cat_file(path, start=start, end=end)
    except Exception as exc:
        raise oserror(exc, url) from exc
    STATS["bytes"] += len(data)
    return data
