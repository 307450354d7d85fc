"""An MLflow run folder followed by byte offset: only the lines appended to its metric files are parsed.

The reader reads the folder as usual (new metric files, params, ``meta.yaml``: small files,
read again), except that each metric file's points come from `_Metric`, which parses only
the whole lines appended since the last poll (`readers.mlflow.parse_metric`, the reader's
own line parser) and keeps the points before. A line without its newline yet is waited for.
(Stores old enough to log no steps number points by line: those are read whole.)
"""

from __future__ import annotations

import os

import numpy as np

from curvelint.discovery import RunSource
from curvelint.follow.files import Column, Growing, shifted, whole_lines
from curvelint.model import Problem, Run
from curvelint.readers import mlflow


class _Metric:
    def __init__(self, path: str) -> None:
        self.growing = Growing(path)
        self._reset()

    def _reset(self) -> None:
        self.columns = (Column(np.float64), Column(np.float64), Column(np.float64))  # steps, values, walls
        self.lines = 0
        self.problems: list[Problem] = []
        self.stepless = False

    def poll(self, name: str) -> bool:
        """Parse what was appended; whether anything was."""
        chunk = self.growing.appended()
        if chunk is None:
            return False
        if chunk.restarted:
            self._reset()
        length = whole_lines(chunk.data)
        self.growing.consume(chunk, length)
        text = chunk.data[:length].decode("utf-8-sig" if chunk.start == 0 else "utf-8", "replace")
        scratch = Run(name=name, path=self.growing.path, format=mlflow.FORMAT)
        steps, values, walls = mlflow.parse_metric(name, self.growing.path, text, scratch)
        self.problems += [shifted(p, self.growing.path, lines=self.lines) for p in scratch.problems]
        self.stepless |= bool(len(text.split("\n", 1)[0].split()) == 2)
        for column, part in zip(self.columns, (steps, values, walls)):
            column.extend(np.asarray(part, dtype=np.float64))
        self.lines += text.count("\n")
        return bool(length) or chunk.restarted

    def arrays(self, run: Run) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        run.problems.extend(self.problems)
        if self.stepless:  # steps are line numbers: numbered over the whole file
            return np.arange(len(self.columns[0]), dtype=np.float64), self.columns[1].view(), self.columns[2].view()
        steps, values, walls = self.columns
        return steps.view(), values.view(), walls.view()


class MlflowFollower:
    def __init__(self, source: RunSource) -> None:
        self.source = source
        self.metrics: dict[str, _Metric] = {}
        self._others: dict[str, tuple[int, int]] = {}  # params/ and meta.yaml: (size, mtime_ns)

    def update(self, source: RunSource) -> None:
        self.source = source

    def poll(self) -> list[Run] | None:
        folder = self.source.path
        changed = False
        seen = set()
        for name, path in mlflow._files(os.path.join(folder, "metrics")):
            seen.add(path)
            metric = self.metrics.setdefault(path, _Metric(path))
            changed |= metric.poll(name)
        for path in [p for p in self.metrics if p not in seen]:
            del self.metrics[path]
            changed = True
        others = {}
        for _, path in [*mlflow._files(os.path.join(folder, "params")), ("meta", os.path.join(folder, "meta.yaml"))]:
            try:
                st = os.stat(path)
                others[path] = (st.st_size, st.st_mtime_ns)
            except OSError:
                pass
        changed |= others != self._others
        self._others = others
        return self.current() if changed else None

    def current(self) -> list[Run]:
        """The run as read so far (metric files are not read again; params and meta.yaml are)."""
        return mlflow.read(self.source, metric=lambda name, path, run: self.metrics[path].arrays(run))
