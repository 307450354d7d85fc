"""What the TensorBoard reader accumulates: one file's scalar points, and the state of a run.

Both decoders (`tb_fast`, `tb_proto`) add to a `Points`; the proto path also fills the
`RunState` (plugins per tag, input histograms, hparams), which outlives one file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from curvelint.model import InputStats

Bad = tuple[int, str]  # a skipped record: its byte offset, and what is wrong with it


@dataclass
class Points:
    """Scalar points of one file, as parallel arrays (record index orders them)."""

    tags: list[str] = field(default_factory=list)
    record: list[np.ndarray] = field(default_factory=list)
    tag_id: list[np.ndarray] = field(default_factory=list)
    step: list[np.ndarray] = field(default_factory=list)
    value: list[np.ndarray] = field(default_factory=list)
    wall: list[np.ndarray] = field(default_factory=list)
    _ids: dict[str, int] = field(default_factory=dict)

    def tag_index(self, tag: str) -> int:
        i = self._ids.get(tag)
        if i is None:
            i = self._ids[tag] = len(self.tags)
            self.tags.append(tag)
        return i

    def add(self, record: np.ndarray, tag_id: np.ndarray, step: np.ndarray, value: np.ndarray,
            wall: np.ndarray) -> None:
        if len(record):
            self.record.append(record)
            self.tag_id.append(tag_id)
            self.step.append(step)
            self.value.append(value)
            self.wall.append(wall)

    def per_tag(self) -> tuple[dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]], bool]:
        """tag -> (steps, values, wall_times) in record order; and whether every tag's steps strictly increase."""
        if not self.record:
            return {}, True
        one = len(self.record) == 1
        join = (lambda parts: parts[0]) if one else np.concatenate
        rec, tid = join(self.record), join(self.tag_id)
        by_record = None if one else np.argsort(rec, kind="stable")
        ids = tid if by_record is None else tid[by_record]
        order = np.argsort(ids.astype(np.uint16) if len(self.tags) < 1 << 16 else ids, kind="stable")  # radix
        if by_record is not None:
            order = by_record[order]
        tid = tid[order]
        step = join(self.step).astype(np.int64, copy=False)[order]
        value = join(self.value).astype(np.float64, copy=False)[order]
        wall = join(self.wall).astype(np.float64, copy=False)[order]
        cuts = np.flatnonzero(tid[1:] != tid[:-1]) + 1
        rising = step[1:] > step[:-1]
        rising[cuts - 1] = True  # a new tag
        starts = np.concatenate(([0], cuts))
        bounds = [*starts.tolist(), len(tid)]
        groups = sorted(zip(rec[order[starts]].tolist(), bounds, bounds[1:], tid[starts].tolist()))  # by first record
        return {self.tags[t]: (step[a:b], value[a:b], wall[a:b]) for _, a, b, t in groups}, bool(rising.all())


def input_matcher(patterns: list[str]) -> re.Pattern:
    """One pattern that fully matches a tag when one of `patterns` does."""
    return re.compile("|".join(f"(?:{p})" for p in patterns))


@dataclass
class RunState:
    """What outlives one file: plugin names per tag, input histograms, hparams; `input_re` matches the
    histogram tags that describe the model's inputs."""

    input_re: re.Pattern
    plugins: dict[str, str] = field(default_factory=dict)  # full series name -> plugin of first value
    inputs: dict[str, InputStats] = field(default_factory=dict)
    hparams: dict[str, Any] = field(default_factory=dict)

