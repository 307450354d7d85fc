"""Reading one object of a store: `RemoteFile`, a seekable file read with range requests, and the first
bytes of an object fetched ahead of its opening (`offer`, by `curvelint.prefetch`).

The first read of a file fetches up to `FIRST_READ` bytes (a small file in one request), sequential reads
double the window up to `MAX_READ`, a seek starts small again.
"""

from __future__ import annotations

import io
from typing import Any

from curvelint.remote_store import fetch

__all__ = ["FIRST_READ", "MAX_READ", "RemoteFile", "offer", "reset", "take", "withdraw"]

FIRST_READ = 256 << 10  # bytes fetched by a file's first read (and after a seek)
MAX_READ = 8 << 20  # the largest read-ahead window of a sequential read
_WAITING: dict[str, Any] = {}  # URL -> future of its first bytes, fetched ahead (`curvelint.prefetch`)


def offer(url: str, future: Any) -> None:
    """A future of the first bytes of `url` (`curvelint.prefetch`), for its next `open_remote`."""
    _WAITING[url] = future


def withdraw(url: str) -> None:
    """Forget what was fetched ahead for `url` and was not used (a run that was linted without it)."""
    future = _WAITING.pop(url, None)
    if future is not None:
        future.cancel()


def take(url: str) -> bytes:
    """What was fetched ahead for `url` (b"" when nothing, or when that failed: then it is read again)."""
    future = _WAITING.pop(url, None)
    try:
        return future.result() if future is not None else b""
    except Exception:  # noqa: BLE001  (the read that follows reports the error)
        return b""


def reset() -> None:
    """Forget what was fetched ahead."""
    _WAITING.clear()


class RemoteFile(io.RawIOBase):
    """A read-only, seekable object read with range requests and an adaptive read-ahead window: `first`
    bytes at the first read and after a seek, doubled by each sequential fetch up to `most`."""

    def __init__(self, url: str, length: int, first: int = FIRST_READ, most: int = MAX_READ, head: bytes = b"") -> None:
        super().__init__()
        self.name = url
        self.size = length
        self._pos = 0
        self._buf = head  # the object's first bytes when they were fetched ahead
        self._at = 0  # offset of _buf in the object
        self._first, self._most = first, most
        self._window = first

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self.size}[whence]
        if base + offset < 0:
            raise OSError(22, "negative seek position", self.name)
        self._pos = base + offset
        return self._pos

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        done = 0
        while done < len(view) and self._pos < self.size:
            if not self._at <= self._pos < self._at + len(self._buf):
                self._fetch(len(view) - done, False)
            part = memoryview(self._buf)[self._pos - self._at:self._pos - self._at + len(view) - done]
            view[done:done + len(part)] = part
            done += len(part)
            self._pos += len(part)
        return done

    def chunk(self, want: int = 1, exact: bool = False) -> memoryview:
        """The bytes from the position to the end of the read-ahead buffer, the position moved past them;
        when the buffer has none, a fetch of at least `want` bytes (exactly `want` with `exact`, the
        window left as it is). Empty at the end of the object."""
        if self._pos >= self.size:
            return memoryview(b"")
        if not self._at <= self._pos < self._at + len(self._buf):
            self._fetch(want, exact)
        data = memoryview(self._buf)[self._pos - self._at:]
        self._pos += len(data)
        return data

    def _fetch(self, want: int, exact: bool) -> None:
        if not exact:
            sequential = bool(self._buf) and self._pos == self._at + len(self._buf)
            self._window = min(self._window * 2, self._most) if sequential else self._first
        end = min(self.size, self._pos + (want if exact else max(want, self._window)))
        data = fetch(self.name, self._pos, end)
        if not data:
            raise OSError(5, f"the object ended at byte {self._pos} of {self.size} (changed while read?)", self.name)
        self._buf, self._at = data, self._pos
