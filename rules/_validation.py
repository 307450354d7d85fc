"""Helpers shared by the validation and learning-rate rules (CL110-CL114, CL120).

Not a rule: which series a validation rule compares, oriented so that lower is
always better, and small formatting helpers. All statistics come from
`curvelint.stats`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property, lru_cache

import numpy as np

from curvelint import stats
from curvelint.model import Series
from curvelint.rule import Context


@dataclass(frozen=True)
class Curve:
    """A series with its direction; `y` is the series oriented so that lower is better."""

    series: Series
    direction: str  # "min" or "max"

    @property
    def name(self) -> str:
        return self.series.name

    @property
    def steps(self) -> np.ndarray:
        return self.series.steps

    @property
    def values(self) -> np.ndarray:
        return self.series.values

    @property
    def y(self) -> np.ndarray:
        return self.series.values if self.direction == "min" else -self.series.values

    @property
    def key(self) -> tuple[str, str, int, int]:
        """The curve within its run, for memo keys: name, direction, and its slice (first step, length)."""
        return self.name, self.direction, int(self.steps[0]) if len(self.steps) else 0, len(self.series)

    def real(self, oriented: float) -> float:
        """An oriented value (e.g. a level of `y`) back in the series' own units."""
        return oriented if self.direction == "min" else -oriented

    def after(self, step: float) -> Curve:
        sl = stats.after_step(self.steps, step)
        return Curve(self.series.slice(sl.start, sl.stop), self.direction)

    def between(self, start: float, stop: float) -> Curve:
        a = int(np.searchsorted(self.steps, start, side="left"))
        b = int(np.searchsorted(self.steps, stop, side="right"))
        return Curve(self.series.slice(a, b), self.direction)


def horizon(ctx: Context) -> int | None:
    """The first step at which the training or validation loss turns NaN/inf for good (None if
    never; isolated values it recovers from do not count: `Context.non_finite_from`).

    After it the weights are garbage: a validation accuracy still logged at chance is no
    plateau or flat curve of ours (non-finite-values, CL100, reports the cause).
    """
    def first_bad() -> int | None:
        steps = [step for role in ("train_loss", "val_loss") if (step := ctx.non_finite_from(role)) is not None]
        return min(steps) if steps else None

    return ctx.memo(("validation.horizon",), first_bad)


def curve(ctx: Context, role: str, min_points: int = 3) -> tuple[Curve | None, str]:
    """The usable series of a role with its direction (loss roles are 'min'), or a reason;
    cut before the run's losses turn non-finite (see `horizon`)."""
    s, reason = ctx.usable(role, min_points)
    if s is None:
        return None, reason
    cut = horizon(ctx)
    if cut is not None and s.steps[-1] >= cut:
        s = s.slice(0, int(np.searchsorted(s.steps, cut, side="left")))
        if len(s) < min_points:
            return None, f"{s.name}: {len(s)} points before the losses turn non-finite at step {cut}"
    direction = ctx.direction(s.name) or ("min" if role.endswith("loss") else None)
    if direction is None:
        return None, f"{s.name}: unknown direction (set it in [tool.curvelint.metrics.directions])"
    return Curve(s, direction), ""


def validation_pair(ctx: Context, min_points: int, prefer: str = "loss") -> tuple[Curve | None, Curve | None, str]:
    """(validation curve, its training counterpart or None, reason when there is no validation curve).

    prefer="loss": val_loss with train_loss, else val_metric with train_metric (or train_loss).
    """
    order = ("val_loss", "val_metric") if prefer == "loss" else ("val_metric", "val_loss")
    reasons = []
    for role in order:
        val, reason = curve(ctx, role, min_points)
        if val is None:
            if ctx.name_of(role) is not None:
                reasons.append(reason)
            continue
        train_roles = ("train_loss", "train_metric") if role == "val_loss" else ("train_metric", "train_loss")
        for t in train_roles:
            train, _ = curve(ctx, t)
            if train is not None:
                return val, train, ""
        return val, None, ""
    return None, None, "; ".join(reasons) or "no validation series in this run"


def metric_top(c: Curve) -> float | None:
    """The optimum of a bounded higher-is-better metric (1.0 for fractions, 100 for percents)."""
    if c.direction != "max":
        return None
    v = c.values
    if v.min() >= 0 and v.max() <= 1.0:
        return 1.0
    if v.min() >= 0 and v.max() <= 100.0 and v.max() > 1.0:
        return 100.0
    return None


def improvement(c: Curve, start: float, best: float) -> float:
    """How much better `best` is than `start` (oriented values): relative to |start| for losses,
    as the share of the remaining headroom for bounded metrics (accuracy 0.6 -> 0.8 closes 50%)."""
    top = metric_top(c)
    if top is not None:
        room = top - c.real(start)
        return (start - best) / room if room > 0 else 0.0
    return stats.rel_change(best, start, start)


def rel_noise(c: Curve) -> float:
    """The curve's noise in the units of `improvement`: relative for positive losses, a share
    of the headroom for bounded metrics, else relative to the median level."""
    top = metric_top(c)
    if top is not None:
        room = top - float(np.median(c.values))
        return stats.noise_scale(c.values) / room if room > 0 else 0.0
    if stats.can_log(c.values):
        return stats.noise_scale(np.log(c.values))
    med = abs(float(np.median(c.values)))
    return stats.noise_scale(c.values) / med if med else 0.0


EARLY_DIP_NOISE = 3.0  # an early dip must be this many noise scales below the smoothed best


def smooth_curve(ctx: Context, c: Curve, fraction: float) -> np.ndarray:
    """`stats.smooth` of the oriented curve over `fraction` of its points, computed once per run
    (several validation rules smooth the same curve alike)."""
    w = stats.auto_window(len(c.y), fraction)
    return ctx.memo(("validation.smooth", *c.key, w), lambda: stats.smooth(c.y, w))


def best_near_smoothed(ctx: Context, c: Curve, smooth_fraction: float,
                       min_depth: float = 0.05) -> tuple[stats.Extremum, stats.Extremum]:
    """(minimum of the smoothed curve, raw best point next to it): smoothing locates the best
    stretch robustly (and gives its level), the raw point there is what gets reported.

    A wide window erases a dip in its first half-window (the mirrored edge fills it with the
    high start and the later level): an early stretch whose 3-point median (two of three
    evaluations in a row, never one lucky one) lies below the smoothed minimum by `min_depth`
    of it and `EARLY_DIP_NOISE` noise scales is the best instead (a shallower one is the
    rounding every minimum gets from a wide median).
    """
    n = len(c.y)
    w = stats.auto_window(n, smooth_fraction)
    smoothed_y = smooth_curve(ctx, c, smooth_fraction)
    i = int(np.argmin(smoothed_y))
    level = float(smoothed_y[i])
    if w > 3 and n > w:
        fine = stats.smooth(c.y[:w + 1], 3)[:w]
        k = int(np.argmin(fine))
        if level - fine[k] > max(min_depth * abs(level), EARLY_DIP_NOISE * stats.noise_scale(c.y)):
            i, level, w = k, float(fine[k]), 3
    lo, hi = max(0, i - w // 2), min(n, i + w // 2 + 1)
    j = lo + int(np.argmin(c.y[lo:hi]))
    return (stats.Extremum(index=i, step=int(c.steps[i]), value=level),
            stats.Extremum(index=j, step=int(c.steps[j]), value=float(c.y[j])))


def span(steps: np.ndarray) -> str:
    return f"steps {int(steps[0])}..{int(steps[-1])}"


def fmt(x: float) -> str:
    return f"{x:.4g}"


@dataclass(frozen=True)
class Plateau:
    """Where a validation curve last improved (stats.Stall on its smoothed values) and its raw best."""

    curve: Curve
    stall: stats.Stall
    best: stats.Extremum  # raw best (oriented)
    end: float  # oriented end level (median of the last 3 points)
    after: Curve  # the raw curve from the stall on
    margin: float  # what counts as an improvement (oriented units)
    noise: float  # the evaluation noise of the late curve (oriented units)

    @cached_property
    def trend(self) -> stats.Trend:
        """Trend of the raw curve from the stall on: computed when asked (`creeping`), which a
        short stall never is."""
        return stats.trend(self.after.steps, self.after.y)

    def creeping(self, alpha: float) -> bool:
        """Still improving after the stall: a significant fall (Mann-Kendall) worth more than the
        margin, or a fall by more than the noise at the end: the fitted change over the stall
        and the end level (last 3 evaluations) both more than one noise scale below the stall
        level. A curve that keeps going down by more than its noise has not stopped, however
        small each step is."""
        if self.trend.significant(alpha, "down") and -self.trend.change > self.margin:
            return True
        return -self.trend.change > self.noise and self.stall.value - self.end > self.noise


def plateau(ctx: Context, c: Curve, min_delta: float, noise_k: float, smooth_fraction: float = 0.1) -> Plateau:
    """EarlyStopping emulation on the smoothed curve (a single lucky evaluation is not a new best).

    The stall starts at the first point that nothing later beats by more than `min_delta`
    (relative) and `noise_k` noise scales (stats.noise_scale): on a noisy plateau, noise is
    no progress. `trend` tells whether the curve still creeps down significantly after it.
    Computed once per run for the same curve and settings (CL111 and CL120 both ask).
    """
    return ctx.memo(("validation.plateau", *c.key, min_delta, noise_k, smooth_fraction),
                    lambda: _plateau(smooth_curve(ctx, c, smooth_fraction),
                                     stats.auto_window(len(c.y), smooth_fraction), c, min_delta, noise_k))


def _plateau(smoothed: np.ndarray, window: int, c: Curve, min_delta: float, noise_k: float) -> Plateau:
    late = c.values[len(c.values) // 2:]  # the noise of the stretch a plateau would be in
    noise = stats.noise_scale(late)
    if stats.can_log(late):  # multiplicative noise: scale the relative noise to the late level
        noise = stats.noise_scale(np.log(late)) * abs(float(np.median(late)))
    stall = stats.last_improvement(c.steps, _keep_start(smoothed, c.y, window), min_delta, noise_k * noise)
    after = c.after(stall.step)
    margin = max(min_delta * abs(stall.value), noise_k * noise)
    return Plateau(c, stall, stats.best(c.steps, c.y, "min"), stats.level(c.y, "end", 0.0, min_points=3),
                   after, margin, noise)


def _keep_start(smoothed: np.ndarray, y: np.ndarray, window: int) -> np.ndarray:
    """The smoothed curve with its first half-window re-smoothed over windows that shrink to the
    first point (median of y[0 : 2i+1] at point i): a mirrored wide window fills the start with
    the later level, so a curve that fell within its first few evaluations and stayed would seem
    never to have improved on its first value."""
    out = smoothed.copy()
    for i in range(min(window // 2, (len(y) - 1) // 2)):
        out[i] = float(np.median(y[:2 * i + 1]))
    return out


def constant_lr(ctx: Context, start: float, stop: float, tol: float) -> tuple[float | None, str]:
    """The learning rate if it is logged, > 0 and constant (max/min <= 1 + tol) over steps start..stop.

    Returns (lr, "") or (None, why not). The lr series is constant by design, so it is taken
    with ctx.curve (ctx.usable refuses constant series).
    """
    lr = ctx.curve("lr")
    if lr is None or len(lr) == 0:
        return None, "no learning-rate series logged"
    a = int(np.searchsorted(lr.steps, start, side="right")) - 1  # the value in force at `start`
    b = int(np.searchsorted(lr.steps, stop, side="right"))
    window = lr.values[max(a, 0):b]
    if len(window) < 2 or lr.steps[-1] < start:
        return None, f"{lr.name}: not logged over {span(np.array([start, stop]))}"
    lo, hi = float(window.min()), float(window.max())
    if lo <= 0 or hi > lo * (1 + tol):
        return None, f"{lr.name} changes over the plateau ({fmt(lo)}..{fmt(hi)})"
    return float(np.median(window)), ""


def start_level(y: np.ndarray) -> float:
    """Level at the very start: the first value of an epoch-level curve (< 20 points), the
    median of the first 2-3 points of longer ones (never a fraction: per-step logs fall fast)."""
    k = min(3, max(1, len(y) // 10))
    return stats.level(y, "start", 0.0, min_points=k)


def end_level(y: np.ndarray) -> float:
    """Level at the end: median of the last 10% (at least 3 points)."""
    return stats.level(y, "end", 0.1)


# -- small-sample reasoning (3-12 evaluations) ----------------------------------------------------


@lru_cache(maxsize=32)
def _inversion_counts(n: int) -> tuple[int, ...]:
    """How many of the n! orders of n distinct values have 0, 1, 2, ... inversions (Mahonian numbers)."""
    counts = [1]
    for m in range(2, n + 1):
        new = [0] * (len(counts) + m - 1)
        for d, c in enumerate(counts):
            for j in range(m):
                new[d + j] += c
        counts = new
    return tuple(counts)


EXACT_TREND_POINTS = 12  # up to this many points the trend p-value is exact (12! orders)


def trend_p(y: np.ndarray, direction: str, steps: np.ndarray | None = None) -> float:
    """One-sided p-value that y trends `direction` ("up" or "down") in order.

    Up to `EXACT_TREND_POINTS` distinct values it is exact: the share of the n! equally likely
    orders (no trend) with at most as many pairs against the direction as observed, so four
    values rising at every step give 1/24 = 0.042 (no normal approximation, which cannot
    reach 0.05 on four points). Longer or tied series use the Mann-Kendall approximation
    (half its two-sided p when the trend goes that way).
    """
    v = np.asarray(y, dtype=np.float64)
    n = len(v)
    if n < 2:
        return 1.0
    sign = 1.0 if direction == "up" else -1.0
    if n <= EXACT_TREND_POINTS and len(np.unique(v)) == n:
        d = v[None, :] - v[:, None]
        against = int((np.triu(sign * d, k=1) < 0).sum())  # pairs i < j going the other way
        counts = _inversion_counts(n)
        return sum(counts[:against + 1]) / math.factorial(n)
    tr = stats.trend(np.arange(n) if steps is None else steps, v)
    goes = tr.slope * sign > 0 or (tr.slope == 0 and tr.tau * sign > 0)
    return tr.p_value / 2 if goes else 1.0 - tr.p_value / 2


def below_p(value: float, others: np.ndarray) -> float:
    """One-sided p-value of a single value this far below the sample `others` (prediction
    t-test: normal evaluation noise estimated from `others`, len - 1 degrees of freedom).
    1.0 with fewer than 3 others; 0.0 when the others are all equal and above it."""
    o = np.asarray(others, dtype=np.float64)
    k = len(o)
    if k < 3:
        return 1.0
    mean, sd = float(o.mean()), float(o.std(ddof=1))
    if mean <= value:
        return 1.0
    if sd == 0:
        return 0.0
    t = (mean - value) / (sd * math.sqrt(1 + 1 / k))
    return 0.5 * stats.f_sf(t * t, 1, k - 1)


def order_chance(k: int) -> str:
    """'1/24' for k = 4: the chance that k values without a trend come out in one given order
    ('1/3.6e+06' from k = 10 on, where the exact count stops meaning anything to a reader)."""
    if k < 10:
        return f"1/{math.factorial(k)}"
    exponent = math.lgamma(k + 1) / math.log(10)  # k! overflows a float from k = 171 on
    mantissa, power = 10 ** (exponent % 1), int(exponent)
    if round(mantissa, 1) >= 10:
        mantissa, power = mantissa / 10, power + 1
    return f"1/{mantissa:.1f}e+{power:02d}"


def quote(c: Curve, i: int) -> str:
    """A logged value with its step: '0.412 at step 3000'."""
    return f"{fmt(float(c.values[i]))} at step {int(c.steps[i])}"
