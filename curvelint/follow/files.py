"""One growing file, read from where the last read stopped.

`Growing.appended()` returns the bytes written since the last whole record or line that
was consumed (`consume`), or None when the file did not change. A file that shrank, was
replaced (another inode) or whose first bytes changed was rotated or restarted: it is
then read from the start again and `appended()` says so (`restarted`), so that the
caller drops what it parsed. Files are only opened for reading, and only regular files.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from curvelint.fileio import open_regular
from curvelint.model import Problem

if TYPE_CHECKING:
    from numpy.typing import DTypeLike

HEAD = 4096  # bytes compared to notice a file rewritten from the start (a CSV header that changed)


@dataclass(frozen=True)
class Chunk:
    data: bytes  # from `start` to the end of the file as it was read
    start: int  # byte offset of data[0] in the file
    restarted: bool  # the file was rewritten: everything parsed from it before is void


@dataclass
class Growing:
    """A file followed by byte offset (see the module doc)."""

    path: str
    offset: int = 0  # bytes consumed: whole records or lines, parsed
    _ident: tuple[int, int] | None = None  # (st_dev, st_ino) of the file the offset belongs to
    _stamp: tuple[int, int] | None = None  # (size, mtime_ns) at the last read
    _head: bytes = b""

    def appended(self) -> Chunk | None:
        """The bytes after `offset` if the file changed since the last call, else None (also when
        it cannot be read now: it may have been moved away for a moment)."""
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        stamp = (st.st_size, st.st_mtime_ns)
        if stamp == self._stamp and (st.st_dev, st.st_ino) == self._ident:
            return None
        try:
            with open_regular(self.path) as fh:
                fst = os.fstat(fh.fileno())
                ident = (fst.st_dev, fst.st_ino)
                head = fh.read(min(len(self._head), HEAD)) if self._head else b""
                restarted = self._ident is not None and (ident != self._ident or fst.st_size < self.offset
                                                         or head != self._head)
                if restarted:
                    self.offset, self._head = 0, b""
                fh.seek(self.offset)
                data = fh.read()
        except OSError:
            return None
        self._ident, self._stamp = ident, (fst.st_size, fst.st_mtime_ns)
        return Chunk(data, self.offset, restarted)

    def consume(self, chunk: Chunk, length: int) -> None:
        """Mark the first `length` bytes of `chunk` as parsed (the rest is read again next time)."""
        self.offset = chunk.start + length
        if len(self._head) < HEAD and chunk.start <= len(self._head):
            self._head = (self._head + chunk.data[len(self._head) - chunk.start:length])[:HEAD]
        if length < len(chunk.data):
            self._stamp = None  # a partial record or line waits: look again even if nothing is written


def whole_lines(data: bytes) -> int:
    """Length of the whole lines at the start of `data` (up to and with the last newline)."""
    return data.rfind(b"\n") + 1


def shifted(problem: Problem, path: str, lines: int = 0, offset: int = 0) -> Problem:
    """A problem found in a chunk, located in the whole file: line numbers moved by `lines`
    (also where the message names them), byte offsets by `offset`."""
    if lines:
        message = re.sub(r"\bline (\d+)", lambda m: f"line {int(m.group(1)) + lines}", problem.message)
        at = None if problem.offset is None else problem.offset + lines
        return replace(problem, message=message, offset=at, path=path)
    if offset:
        message = re.sub(r"\bbyte (\d+)", lambda m: f"byte {int(m.group(1)) + offset}", problem.message)
        at = None if problem.offset is None else problem.offset + offset
        return replace(problem, message=message, offset=at, path=path)
    return problem


class Column:
    """A growing float64 or int64 array: appends in amortised O(new points); `view()` does not copy."""

    def __init__(self, dtype: DTypeLike) -> None:
        self._data: np.ndarray = np.zeros(64, dtype=dtype)
        self._size = 0

    def extend(self, values: np.ndarray) -> None:
        n = self._size + len(values)
        if n > len(self._data):
            grown = np.zeros(max(n, 2 * len(self._data)), dtype=self._data.dtype)
            grown[:self._size] = self._data[:self._size]
            self._data = grown
        self._data[self._size:n] = values
        self._size = n

    def view(self) -> np.ndarray:
        return self._data[:self._size]

    def __len__(self) -> int:
        return self._size
