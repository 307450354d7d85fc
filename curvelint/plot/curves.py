"""A run's series reduced for drawing: what reporters plot, without the run's full arrays.

`extract` keeps a few hundred points per series (`downsample.minmax`), so a run's curves are small
enough to travel back from a worker process and to be kept for every run of a terminal report,
while the run itself is dropped as soon as its findings are known (`curvelint.engine`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterator

import numpy as np

from curvelint.model import Run
from curvelint.plot.downsample import Downsampled, minmax
from curvelint.roles import ROLE_NAMES, Roles


@dataclass(frozen=True)
class Curve:
    """One series ready to draw: its name, its role (if any) and its downsampled points."""

    name: str
    role: str | None
    data: Downsampled

    @property
    def first_step(self) -> int | None:
        return _first(self.data.steps, self.data.mark_steps, min)

    @property
    def last_step(self) -> int | None:
        return _first(self.data.steps, self.data.mark_steps, max)

    def value_at(self, step: int) -> float | None:
        """The value logged at `step`; for a reduced series the nearest kept one (None: no such point)."""
        s = self.data.steps
        i = int(np.searchsorted(s, step))
        if i < len(s) and s[i] == step:
            return float(self.data.values[i])
        if not self.data.reduced or not len(s):
            return None
        if i == len(s) or (i > 0 and step - s[i - 1] <= s[i] - step):
            i -= 1
        return float(self.data.values[i])


def _first(a: np.ndarray, b: np.ndarray, pick) -> int | None:
    ends = [int(x[0 if pick is min else -1]) for x in (a, b) if len(x)]
    return pick(ends) if ends else None


@dataclass(frozen=True)
class RunCurves:
    """The drawable series of one run (role series first), and which series plays which role."""

    path: str
    run: str
    curves: dict[str, Curve] = field(default_factory=dict)
    roles: dict[str, str] = field(default_factory=dict)  # role -> series name

    def role(self, role: str) -> Curve | None:
        name = self.roles.get(role)
        return self.curves.get(name) if name else None


# charts that put two roles together; other series pair up by their name without the split
ROLE_GROUPS = (("loss", ("train_loss", "val_loss")), ("metric", ("train_metric", "val_metric")),
               ("learning rate", ("lr",)), ("gradient norm", ("grad_norm",)))
_SPLIT = re.compile(r"^(?:train|training|val|valid|validation|eval|test)(?:[/._]|(?=[A-Z]))|"
                    r"[/._](?:train|training|val|valid|validation|eval|test)$", re.IGNORECASE)


def groups(curves: RunCurves) -> list[tuple[str, list[Curve]]]:
    """The run's series as charts: training and validation loss together, training and validation
    metric together, the lr, the gradient norm, then the other series (``train/f1`` with ``val/f1``)."""
    out: list[tuple[str, list[Curve]]] = []
    used: set[str] = set()
    for title, roles in ROLE_GROUPS:
        members = [c for r in roles if (c := curves.role(r)) is not None and c.name not in used]
        if members:
            used.update(c.name for c in members)
            out.append((title, members))
    rest: dict[str, list[Curve]] = {}
    for name, c in curves.curves.items():
        if name not in used:
            rest.setdefault(_SPLIT.sub("", name).lower() or name, []).append(c)
    out += [(" / ".join(c.name for c in members), members) for members in rest.values()]
    return out


def extract(run: Run, roles: Roles, bins: int) -> RunCurves:
    """Every series of `run`, each reduced to at most ~2 x `bins` points, role series first."""
    by_role = dict(roles.items())
    role_of = {name: role for role, name in reversed(roles.items())}
    ordered = [by_role[r] for r in ROLE_NAMES if r in by_role]
    ordered += sorted(n for n in run.series if n not in role_of)
    curves = {}
    for name in dict.fromkeys(ordered):
        s = run.series.get(name)
        if s is not None:
            curves[name] = Curve(name, role_of.get(name), minmax(s.steps, s.values, bins))
    return RunCurves(run.path, run.name, curves, {r: n for r, n in by_role.items() if n in curves})


class CurveSpool:
    """A ``(path, run) -> RunCurves`` mapping kept in a temporary file, read back one run at a time.

    A report of thousands of runs keeps their curves here instead of in memory (`CurveRequest.spool`).
    """

    def __init__(self) -> None:
        import tempfile

        self._file = tempfile.TemporaryFile()
        self._offsets: dict[tuple[str, str], int] = {}

    def __setitem__(self, key: tuple[str, str], curves: RunCurves) -> None:
        import pickle

        self._file.seek(0, 2)
        self._offsets[key] = self._file.tell()
        pickle.dump(curves, self._file, protocol=pickle.HIGHEST_PROTOCOL)

    def __getitem__(self, key: tuple[str, str]) -> RunCurves:
        import pickle

        self._file.seek(self._offsets[key])
        return pickle.load(self._file)

    def get(self, key: tuple[str, str], default: RunCurves | None = None) -> RunCurves | None:
        return self[key] if key in self._offsets else default

    def __contains__(self, key: object) -> bool:
        return key in self._offsets

    def __len__(self) -> int:
        return len(self._offsets)

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self._offsets)

    @property
    def size(self) -> int:
        """Bytes spooled so far."""
        self._file.seek(0, 2)
        return self._file.tell()

    def close(self) -> None:
        self._file.close()
