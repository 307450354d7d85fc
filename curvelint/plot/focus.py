"""What a finding points at on its curves: the series involved, the judged window, the key points.

Rules describe these in their evidence (``window``, ``first_step``/``last_step``, ``best_step``,
``spikes``, ...: see `curvelint.model.Finding`); this module reads them the same way for every
picture, so the terminal, HTML and Markdown plots of a finding agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from curvelint.model import Finding
from curvelint.plot.curves import Curve, RunCurves

# rules whose statistics work on log values (ratios, orders of magnitude) or on a blow-up
LOG_RULES = frozenset({"CL100", "CL104", "CL108", "CL113", "CL121", "CL130", "CL131"})
# rules whose cause is often the learning rate: its curve is drawn under theirs
LR_RULES = frozenset({"CL104", "CL105", "CL107", "CL120", "CL121"})
PARTNER = {"train_loss": "val_loss", "val_loss": "train_loss",
           "train_metric": "val_metric", "val_metric": "train_metric"}

# (start key, end key): the first pair present in the evidence is the judged window;
# an end key of None means "to the end of the series"
WINDOW_KEYS: tuple[tuple[str, str | None], ...] = (
    ("plateau_start", "plateau_end"), ("gap_start", "gap_end"), ("late_first_step", "last_step"),
    ("last_improvement_step", "last_step"), ("since_step", None), ("tail_start", None),
    ("first_step", "last_step"), ("best_step", "last_step"), ("first_step", None),
)
# evidence keys naming one step worth a label, and the label; value keys give its value
POINT_KEYS: tuple[tuple[str, str, str | None], ...] = (
    ("best_step", "best", "best_value"), ("val_best_step", "val best", "val_best"),
    ("best_before_step", "best before", "best_before"), ("last_finite_step", "last finite", "last_finite_value"),
    ("turn_step", "non-finite from", None), ("jump_step", "jump", None), ("floor_step", "floor", "floor"),
    ("peak_step", "peak", "peak"), ("since_step", "frozen from", None), ("plateau_start", "plateau from", None),
    ("last_improvement_step", "last improvement", None), ("train_zero_step", "train at 0", None),
    ("loss_jump_step", "loss jump", "loss_jump_value"), ("loss_non_finite_step", "loss non-finite", None),
)
MAX_POINTS = 5
MAX_SERIES = 3


@dataclass(frozen=True)
class KeyPoint:
    """A labelled step on a finding's primary curve (value None: read it off the curve)."""

    step: int
    label: str
    value: float | None = None


@dataclass(frozen=True)
class Focus:
    """How to draw one finding: main series (primary first), an lr strip, the window, key points."""

    series: tuple[Curve, ...]
    lr: Curve | None
    window: tuple[int, int] | None
    points: tuple[KeyPoint, ...]
    log_rule: bool  # the rule works in log space

    @property
    def primary(self) -> Curve:
        return self.series[0]


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) and value == value \
        and abs(value) < 2 ** 62 else None


def window(evidence: dict[str, Any], series_end: int | None) -> tuple[int, int] | None:
    """The steps the rule judged, from its evidence (None when it names none)."""
    w = evidence.get("window")
    if isinstance(w, (list, tuple)) and len(w) == 2:
        a, b = _int(w[0]), _int(w[1])
        if a is not None and b is not None:
            return a, b
    for start_key, end_key in WINDOW_KEYS:
        a = _int(evidence.get(start_key))
        b = series_end if end_key is None else _int(evidence.get(end_key))
        if a is not None and b is not None and b >= a:
            return a, b
    return None


def key_points(f: Finding) -> tuple[KeyPoint, ...]:
    """The labelled steps of a finding: its evidence's named steps and spikes, then its own step."""
    ev = f.evidence
    out: list[KeyPoint] = []
    seen: set[int] = set()

    def add(step: int | None, label: str, value: Any = None) -> None:
        if step is not None and step not in seen and len(out) < MAX_POINTS:
            seen.add(step)
            out.append(KeyPoint(step, label, float(value) if isinstance(value, (int, float)) else None))

    for key, label, value_key in POINT_KEYS:
        value = ev.get(value_key) if value_key else None
        if key == "best_step" and value is None and isinstance(ev.get("best"), (int, float)):
            label, value = "best level", ev["best"]  # CL102/CL104 quote a smoothed level there, not a point
        add(_int(ev.get(key)), label, value)
    for spike in ev.get("spikes") or ():
        if isinstance(spike, dict):
            add(_int(spike.get("step")), "spike", spike.get("value"))
    add(f.step, f.name)
    return tuple(sorted(out, key=lambda p: p.step))


def _named_series(evidence: dict[str, Any], curves: RunCurves) -> list[str]:
    names: list[str] = []
    for value in evidence.values():
        for v in value if isinstance(value, (list, tuple)) else (value,):
            if isinstance(v, str) and v in curves.curves:
                names.append(v)
    return names


def _is_loss(c: Curve) -> bool:
    return c.role in ("train_loss", "val_loss") or "loss" in c.name.lower()


def focus(f: Finding, curves: RunCurves) -> Focus | None:
    """The drawing of finding `f` on its run's curves; None when it names no drawn series."""
    primary = curves.curves.get(f.metric or "")
    if primary is None:
        return None
    main = [primary]
    partner = curves.role(PARTNER.get(primary.role or "", ""))
    extra = [curves.curves[n] for n in _named_series(f.evidence, curves)]
    for c in ([partner] if partner else []) + extra:
        if c not in main and c.role != "lr" and _is_loss(c) == _is_loss(primary) and len(main) < MAX_SERIES:
            main.append(c)
    lr = curves.role("lr")
    named_lr = any(c.role == "lr" for c in extra)
    lr = lr if lr is not None and primary.role != "lr" and (f.rule in LR_RULES or named_lr) else None
    return Focus(tuple(main), lr, window(f.evidence, primary.last_step), key_points(f), f.rule in LOG_RULES)
