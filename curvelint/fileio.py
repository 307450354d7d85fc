"""Opening only regular files.

A FIFO named like a log blocks the first read forever, and a link to ``/dev/zero`` (git can
commit one) is read until memory runs out. Everything curvelint reads from a linted tree or
a configuration file goes through `check_regular` or `open_regular`: links are followed and
the target must be a regular file, else `NotRegularFile` (an `OSError`, so readers report it
like any file they cannot read) says what it is.

A path with a scheme (``s3://``, ``file://``: `is_remote`) is an object in a store, read through
`curvelint.remote` (imported only then): the same functions check and open it.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from types import ModuleType
from typing import BinaryIO

from curvelint.urls import is_remote

_KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


class NotRegularFile(OSError):
    """`path` (after following links) is a FIFO, a device, a socket or a folder."""

    def __init__(self, path: str, kind: str) -> None:
        message = f"not a regular file ({kind})"
        super().__init__(message)
        self.strerror = message  # readers show ``exc.strerror``
        self.filename = path


def is_dir(path: str | os.PathLike) -> bool:
    """``os.path.isdir``, or for a URL whether it is a folder (a prefix) of its store."""
    if is_remote(path):
        return _store().is_dir(path)
    return os.path.isdir(path)


def exists(path: str | os.PathLike, follow: bool = True) -> bool:
    """``os.path.exists`` (``os.path.lexists`` unless `follow`), or for a URL whether it is an object or a folder."""
    if is_remote(path):
        return _store().exists(path)
    return os.path.exists(path) if follow else os.path.lexists(path)


def listdir(path: str | os.PathLike) -> list[str]:
    """``os.listdir``, or for a URL the names in that folder of its store (sorted)."""
    if is_remote(path):
        return _store().listdir(path)
    return os.listdir(path)


def walk(path: str) -> Iterator[tuple[str, list[str], list[str]]]:
    """``os.walk`` (errors ignored), or for a URL the same from its store's listing (hidden names left out)."""
    if not is_remote(path):
        yield from os.walk(path)
        return
    try:
        yield from _store().walk(path, named=False)
    except OSError:
        return


def getsize(path: str | os.PathLike) -> int:
    """``os.path.getsize``, or for a URL the object's size."""
    return _store().size(path) if is_remote(path) else os.path.getsize(path)


def _store() -> ModuleType:
    """`curvelint.remote`, imported at the first URL (local paths never import it, nor fsspec)."""
    from curvelint import remote

    return remote


def kind_of(mode: int) -> str | None:
    """What a stat mode is when it is not a regular file ("a FIFO", ...); None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    return next((kind for test, kind in _KINDS if test(mode)), "not a file")


def check_regular(path: str | os.PathLike) -> None:
    """Raise `NotRegularFile` unless `path`, links followed, is a regular file (OSError if it cannot be stat'ed)."""
    if is_remote(path):
        return _store().check_file(path)
    kind = kind_of(os.stat(path).st_mode)
    if kind is not None:
        raise NotRegularFile(os.fspath(path), kind)


def is_regular(path: str | os.PathLike) -> bool:
    """Whether `path`, links followed, is a regular file (False when it cannot be stat'ed)."""
    if is_remote(path):
        return _store().is_file(path)
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except (OSError, ValueError):
        return False


def open_regular(path: str | os.PathLike) -> BinaryIO:
    """`path` opened for binary reading, only if it is a regular file (links followed).

    The target is checked before opening (opening some devices has effects), then opened
    non-blocking (a FIFO swapped in meanwhile cannot block) and checked again on the descriptor.
    """
    if is_remote(path):
        return _store().open_remote(path)
    check_regular(path)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_BINARY", 0)
    fd = os.open(path, flags)
    try:
        kind = kind_of(os.fstat(fd).st_mode)
        if kind is not None:
            raise NotRegularFile(os.fspath(path), kind)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_limited(path: str | os.PathLike, limit: int) -> tuple[bytes, bool]:
    """At most `limit` bytes of a regular file (`open_regular`), and whether the file holds more.

    Read in pieces of at most what the file holds (or 1 MiB): `read(limit)` would allocate the
    whole limit up front, a MemoryError for a small file under a huge limit."""
    with open_regular(path) as fh:
        try:
            piece = max(os.fstat(fh.fileno()).st_size, 1)  # a growing log's extra bytes come in further pieces
        except (AttributeError, OSError, ValueError):  # a remote file has no descriptor
            piece = 1 << 20
        parts: list[bytes] = []
        got = 0
        while got < limit:
            chunk = fh.read(min(limit - got, max(piece, 1 << 20) if parts else piece))
            if not chunk:
                break
            parts.append(chunk)
            got += len(chunk)
        data = parts[0] if len(parts) == 1 else b"".join(parts)
        return data, bool(fh.read(1))
