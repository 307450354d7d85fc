"""A CSV log (Keras or Lightning CSVLogger) followed by byte offset: only appended lines are parsed.

Appended whole lines are parsed by the reader's own table parser (`readers.csvlog._split`,
given the header line first) and their cells converted once (`_column`); the run is built by
the reader from the rows and columns kept so far (`_runs`), so it is the run
`curvelint.readers.read` would give. A line without its newline yet is waited for.
Lightning rewrites the whole file when a new metric appears: the header changed, so the
file is read again from the start.
"""

from __future__ import annotations

from typing import cast

import numpy as np

from curvelint.discovery import RunSource
from curvelint.follow.files import Column, Growing, shifted, whole_lines
from curvelint.model import Problem, Run
from curvelint.readers import csvlog
from curvelint.readers._common import constant_lr_hparams


class CsvFollower:
    def __init__(self, source: RunSource) -> None:
        self.source = source
        self.growing = Growing(source.files[0] if source.files else source.path)
        self._reset()

    def _reset(self) -> None:
        self.header: str | None = None
        self.table: csvlog._Table | None = None
        self.columns: dict[int, tuple[Column, Column]] = {}  # column -> (values, logged)
        self.bad: dict[int, int] = {}
        self.lines = 0  # lines consumed
        self.problems: list[Problem] = []

    def update(self, source: RunSource) -> None:
        self.source = source

    def poll(self) -> list[Run] | None:
        chunk = self.growing.appended()
        if chunk is None:
            return None
        if chunk.restarted:
            self._reset()
        length = whole_lines(chunk.data)
        text = chunk.data[:length].decode("utf-8-sig" if chunk.start == 0 else "utf-8", "replace")
        self.growing.consume(chunk, length)
        if not text.strip():
            return self.current() if chunk.restarted else None
        self._add(text)
        return self.current()

    def _add(self, text: str) -> None:
        path = self.growing.path
        if self.header is None:
            parsed = csvlog._split(text, path)
            if parsed is None:
                self.lines += text.count("\n")
                return
            self.header = next(line for line in text.splitlines() if line.strip())
            self.table, base = csvlog._Table(parsed.header), 0
        else:
            parsed = csvlog._split(self.header + "\n" + text, path)
            base = self.lines - 1  # the header line stands in for the lines before
        assert parsed is not None and self.table is not None
        self.table.rows += parsed.rows
        cast("list[int]", self.table.lines).extend([n + base for n in parsed.lines])  # (a table made here)
        self.problems += [shifted(p, path, lines=base) for p in parsed.problems]
        for i, cells in enumerate(zip(*parsed.rows)) if parsed.rows else ():
            values, logged, bad = csvlog._column(list(cells))
            kept = self.columns.setdefault(i, (Column(np.float64), Column(np.bool_)))
            kept[0].extend(values)
            kept[1].extend(logged)
            self.bad[i] = self.bad.get(i, 0) + bad
        self.lines += text.count("\n")

    def current(self) -> list[Run]:
        """The runs as read so far (reads nothing)."""
        if self.table is None:
            return []
        columns = {i: (v.view(), logged.view(), self.bad[i]) for i, (v, logged) in self.columns.items()}
        runs = csvlog._runs(self.source, self.table, columns if self.table.rows else None)
        if runs:
            runs[0].problems.extend(self.problems)
        for run in runs:
            constant_lr_hparams(run)
        return runs
