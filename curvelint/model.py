"""The data every pipeline stage shares: series, runs, problems and findings.

Readers produce `Run`s, rules produce `Finding`s; nothing here knows about a
file format or a rule.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

import numpy as np


class Severity(enum.IntEnum):
    """How bad a finding is; ordered so that `>=` compares against --fail-on."""

    INFO = 1
    WARNING = 2
    ERROR = 3

    def __str__(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str | Severity) -> Severity:
        if isinstance(text, Severity):
            return text
        try:
            return cls[str(text).upper()]
        except KeyError:
            raise ValueError(f"unknown severity {text!r} (expected error, warning or info)") from None


@dataclass(frozen=True, eq=False)
class Series:
    """One logged metric: parallel arrays of steps (int64), values (float64), wall times."""

    name: str
    steps: np.ndarray
    values: np.ndarray
    wall_times: np.ndarray | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "steps", np.asarray(self.steps, dtype=np.int64))
        object.__setattr__(self, "values", np.asarray(self.values, dtype=np.float64))
        if self.wall_times is not None:
            object.__setattr__(self, "wall_times", np.asarray(self.wall_times, dtype=np.float64))
        if len(self.steps) != len(self.values):
            raise ValueError(f"series {self.name!r}: {len(self.steps)} steps but {len(self.values)} values")

    def __len__(self) -> int:
        return len(self.values)

    def slice(self, start: int, stop: int | None = None) -> Series:
        wt = None if self.wall_times is None else self.wall_times[start:stop]
        return Series(self.name, self.steps[start:stop], self.values[start:stop], wt)


@dataclass(frozen=True)
class InputStats:
    """Summary statistics of model inputs (from a histogram summary or a data sample).

    Scalars describe all features together; the optional per-feature arrays come
    from a data sample and let rules compare feature scales.
    """

    name: str
    source: str
    count: float
    min: float
    max: float
    mean: float
    std: float
    feature_min: np.ndarray | None = None
    feature_max: np.ndarray | None = None
    feature_mean: np.ndarray | None = None
    feature_std: np.ndarray | None = None
    feature_names: tuple[str, ...] | None = None  # column names of a table sample


@dataclass(frozen=True)
class LabelStats:
    """Class counts of the training labels (from a data sample or a logged histogram)."""

    source: str
    counts: dict[str, int]


@dataclass(frozen=True)
class Problem:
    """Something a reader could not read. Rules CL001/CL002 turn these into findings."""

    kind: str  # "unreadable" or "truncated"
    path: str
    message: str
    offset: int | None = None  # byte offset (binary formats) or line number (text formats)


@dataclass(frozen=True)
class ReferenceSet:
    """Reference runs a run is compared with, and how (``[tool.curvelint.reference]``): the
    metrics (roles or series names), the band's relative tolerance, the alignment."""

    runs: tuple[Run, ...] = ()
    metrics: tuple[str, ...] = ("train_loss", "val_metric")
    tolerance: float = 0.2  # a loss may sit this share of the references' starting level above their highest
    align: str = "auto"  # "auto", "step" or "fraction"
    points: float = 0.1  # an accuracy-like metric may sit this much (of 1) below the references' lowest


@dataclass
class Run:
    """One training run, whatever format it was read from."""

    name: str
    path: str  # the run's folder or file, as the user named it
    format: str  # reader name: "tensorboard", "keras-history", "parquet", ...
    series: dict[str, Series] = field(default_factory=dict)
    hparams: dict[str, Any] = field(default_factory=dict)
    sources: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    graph: Any = None  # curvelint.graph.GraphSummary, when an ONNX model belongs to the run
    inputs: list[InputStats] = field(default_factory=list)
    labels: LabelStats | None = None
    unfinished: str = ""  # why the log says the run ended before its planned end ("" = finished or unknown)
    final: dict[str, float] = field(default_factory=dict)  # final values stated apart from the curves (all_results.json)
    references: ReferenceSet | None = None  # the runs it is compared with (--reference)

    @property
    def points(self) -> int:
        return sum(len(s) for s in self.series.values())


@dataclass(frozen=True)
class Finding:
    """One lint result: what was seen (with numbers), why it matters, what to do."""

    rule: str  # code, e.g. "CL104"
    name: str  # kebab-case rule name
    severity: Severity
    path: str
    run: str
    metric: str | None
    step: int | None
    message: str
    evidence: dict[str, Any] = field(default_factory=dict)
    hint: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "name": self.name,
            "severity": str(self.severity),
            "path": self.path,
            "run": self.run,
            "metric": self.metric,
            "step": self.step,
            "message": self.message,
            "evidence": self.evidence,
            "hint": self.hint,
        }


@dataclass(frozen=True)
class Abstention:
    """A rule that could not judge a run, and why (shown with --verbose). `internal`: the rule
    raised (a bug in it or its pack), which the command line reports on stderr and exits 2 for."""

    rule: str
    run: str
    metric: str | None
    reason: str
    internal: bool = False


@dataclass(frozen=True)
class RunSummary:
    """What a report says about one linted run: where, which reader, how much was read, and notes;
    `log` is the file the CI formats place its findings at (a run folder's first event file, else its
    path; `log_is_folder` when that is a folder), so that no reporter looks at the disk."""

    path: str
    name: str
    format: str
    series: int
    points: int
    notes: tuple[str, ...] = ()
    log: str = ""
    log_is_folder: bool = False


@dataclass(frozen=True)
class CurveRequest:
    """Ask `lint` to keep each run's curves, reduced to about 2 x `bins` points per series for
    drawing, in `Report.curves`: of every run, or only of runs with a finding on a series; in a
    temporary file when `spool` (one run's curves in memory at a time, for big HTML reports)."""

    bins: int
    every_run: bool = False
    spool: bool = False


@dataclass
class Report:
    """Everything a lint found, what the reporters render (they read nothing else, nor any file).

    `curves` maps (path, run) to `curvelint.plot.curves.RunCurves`, or is a `CurveSpool` of them,
    when `lint` was given a `CurveRequest`."""

    runs: list[RunSummary] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    abstentions: list[Abstention] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # paths that do not exist
    suppressed: int = 0
    elapsed: float = 0.0
    curves: Any = field(default_factory=dict)

    def count(self, severity: Severity) -> int:
        return sum(1 for f in self.findings if f.severity == severity)
