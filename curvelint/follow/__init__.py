"""Following runs while they are written (`curvelint watch`).

`follower_for(source)` gives each discovered `RunSource` a follower whose ``poll()`` returns
the run(s) as read so far when something changed since the last poll, else None (``current()``:
the same without reading), and whose ``update(source)`` takes the files discovery finds for
the run now.

Append-only formats are read incrementally, by byte offset (`files.Growing`): TensorBoard
event files (`tensorboard`), CSV logs (`csv`) and MLflow metric files (`mlflow`). Only what
was appended after the last whole record or line is read and parsed, with the readers' own
parsers; a partial record or line at the end is waited for, not reported. A file that
shrinks, is replaced or whose first bytes change was rotated or restarted: it is read from
the start again. Other formats (Keras history and ``trainer_state.json``, rewritten in
place; Parquet; W&B) are read whole by `Reread` when one of their files changes.
"""

from __future__ import annotations

import os
from typing import Protocol

from curvelint import readers
from curvelint.discovery import RunSource
from curvelint.model import Run


class Follower(Protocol):
    def update(self, source: RunSource) -> None: ...

    def poll(self) -> list[Run] | None: ...

    def current(self) -> list[Run]: ...


def follower_for(source: RunSource) -> Follower:
    """The follower for a run of `source.format`."""
    if source.format == "tensorboard":
        from curvelint.follow.tensorboard import TensorBoardFollower

        return _Finished(TensorBoardFollower(source))
    if source.format == "csv":
        from curvelint.follow.csv import CsvFollower

        return _Finished(CsvFollower(source))
    if source.format == "mlflow":
        from curvelint.follow.mlflow import MlflowFollower

        return _Finished(MlflowFollower(source))
    return Reread(source)


class _Finished:
    """An incremental follower whose runs get what `readers.read` adds to every reader's runs."""

    def __init__(self, inner: Follower) -> None:
        self.inner = inner
        # every concrete Follower has a source; the Follower protocol does not declare it
        self.source: RunSource = inner.source  # type: ignore[attr-defined]

    def update(self, source: RunSource) -> None:
        self.source = source
        self.inner.update(source)

    def poll(self) -> list[Run] | None:
        runs = self.inner.poll()
        return None if runs is None else readers.finish(runs, self.source)

    def current(self) -> list[Run]:
        return readers.finish(self.inner.current(), self.source)


class Reread:
    """A run read whole (`readers.read`) whenever one of its files changed.

    A file rewritten in place may be caught half-written: a result that is unreadable where
    the last one was not is taken only once the files stayed unchanged for one more poll.
    """

    def __init__(self, source: RunSource) -> None:
        self.source = source
        self._stamp: tuple | None = None
        self._held: tuple | None = None
        self._broken = False
        self._runs: list[Run] = []

    def update(self, source: RunSource) -> None:
        self.source = source

    def poll(self) -> list[Run] | None:
        stamp = _stamp(self.source)
        if stamp == self._stamp:
            return None
        runs = readers.read(self.source)
        if _stamp(self.source) != stamp:
            return None  # written while read: read again at the next poll
        broken = any(p.kind == "unreadable" for run in runs for p in run.problems)
        if broken and not self._broken and self._held != stamp:
            self._held = stamp  # perhaps half-written: wait one poll
            return None
        self._stamp, self._broken, self._held, self._runs = stamp, broken, None, runs
        return runs

    def current(self) -> list[Run]:
        return self._runs


def _stamp(source: RunSource) -> tuple:
    """(path, size, mtime_ns, inode) of every file of the run (the files of a run folder)."""
    out = []
    for top in source.files or (source.path,):
        paths = [top]
        if os.path.isdir(top):
            paths = sorted(os.path.join(d, f) for d, _, names in os.walk(top) for f in names)
        for path in paths:
            try:
                st = os.stat(path)
                out.append((path, st.st_size, st.st_mtime_ns, st.st_ino))
            except OSError:
                out.append((path, -1, -1, -1))
    return tuple(out)
