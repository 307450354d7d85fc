"""Shared helpers of the training-loss rules CL102-CL107 (not a rule module).

Precedence is declared: a rule that yields a series to another lists that rule in its
``defers_to`` and asks `claimed` (`Context.reported`) whether it reported the series; the
engine runs the rules deferred to first (see `curvelint.engine.plan`).

Statistics are memoised per series through ``ctx.memo`` so every rule shares them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Generator
from dataclasses import dataclass

import numpy as np

from curvelint import stats
from curvelint.model import Abstention, Series
from curvelint.rule import Context


def claimed(ctx: Context, name: str, *codes: str) -> str | None:
    """The code of the rule (among `codes`, default: the calling rule's `defers_to`) that
    reported this series, else None."""
    return ctx.reported(codes or None, name)


_RL_RETURN = re.compile(r"(^|[/_.])(ep_?rew(ard)?|episode_?reward|reward|return|ep_?ret)s?(_?mean)?$", re.I)


def rl_return(ctx: Context) -> str | None:
    """The run's reinforcement-learning return, 'name first -> last', when it logs one.

    In RL the losses are not progress measures (a critic loss rises as the policy finds larger
    returns), so rules about a training loss that rises or stalls say so at info level only."""
    for name, s in ctx.run.series.items():
        if _RL_RETURN.search(name) and len(s) >= 2:
            v = s.values[np.isfinite(s.values)]
            if len(v) >= 2:
                return f"{name} {v[0]:.4g} -> {v[-1]:.4g}"
    return None


def train_loss(ctx: Context) -> tuple[Series | None, str]:
    """The finite training loss if it has at least the rule's `min_points` points."""
    return ctx.usable("train_loss", min_points=int(ctx.options.get("min_points", 6)))


def judged_train_loss(ctx: Context) -> Generator[Abstention, None, Series | None]:
    """The training loss a loss-shape rule judges (``s = yield from judged_train_loss(ctx)``): None
    after yielding the abstention when there is none, None quietly when a blow-up (CL104) or
    saturated outputs (CL115) claimed it."""
    s, why = train_loss(ctx)
    if s is None:
        yield ctx.abstain(why, ctx.name_of("train_loss"))
        return None
    return None if claimed(ctx, s.name) else s


def trend(ctx: Context, s: Series, lo: int = 0, hi: int | None = None) -> stats.Trend:
    """Memoised Mann-Kendall/Sen trend of s[lo:hi]."""
    hi = len(s) if hi is None else hi
    return ctx.memo(("stats.trend", s.name, lo, hi), lambda: stats.trend(s.steps[lo:hi], s.values[lo:hi]))


def smoothed(ctx: Context, s: Series, fraction: float = 0.02) -> np.ndarray:
    """Memoised rolling median with a window of ~`fraction` of the points."""
    w = stats.auto_window(len(s), fraction, max_window=max(201, int(len(s) * fraction) | 1))
    return ctx.memo(("stats.smooth", s.name, w), lambda: stats.smooth(s.values, w))


@dataclass(frozen=True)
class Shape:
    """Where a loss curve starts, where it is best and where it ends (medians of windows).

    start: median of the first `k` points (k = 0.5% of n, 3..20); first: the first
    value; best: the smoothed minimum (rolling median over ~5% of n) at index/step
    best_index/best_step; end: median of the last 10% (>= 3 points); scale: |start| or,
    for a start near 0, the 10-90 percentile spread of the series, to turn differences
    into relative numbers.
    """

    start: float
    first: float
    best: float
    best_index: int
    best_step: int
    end: float
    scale: float
    k_start: int

    def rel(self, a: float, b: float) -> float:
        """(b - a) relative to the series' scale."""
        return (b - a) / self.scale


def shape(ctx: Context, s: Series) -> Shape:
    def compute() -> Shape:
        n = len(s)
        k = int(min(20, max(3, round(0.005 * n))))
        sm = smoothed(ctx, s, 0.05)
        i = int(np.argmin(sm))
        start = stats.median(s.values[:k])
        end = stats.level(s.values, "end", 0.1, 3)
        # a robust spread: one huge spike must not become the scale of every relative number
        p10, p90 = stats.percentiles(s.values, 10, 90)
        spread = p90 - p10
        scale = abs(start) if abs(start) > 1e-3 * spread else max(spread, 1e-12)
        return Shape(start=start, first=float(s.values[0]), best=float(sm[i]), best_index=i,
                     best_step=int(s.steps[i]), end=end, scale=scale, k_start=k)

    return ctx.memo(("loss.shape", s.name), compute)


def window(s: Series, lo: int = 0, hi: int | None = None) -> str:
    """'steps A..B' for s[lo:hi]."""
    hi = len(s) if hi is None else hi
    return f"steps {s.steps[lo]}..{s.steps[hi - 1]}"


def pct(x: float) -> str:
    """'+6.5%', '-3.2%'; '0.0%' for a change that rounds to nothing (not '-0.0%')."""
    if not math.isfinite(x):
        return "inf"
    return "0.0%" if abs(x) < 0.0005 else f"{100 * x:+.1f}%"


def swing_size(late: float, logged: bool) -> str:
    """A swing amplitude in words: '+-22%', 'by a factor of 480' (log units), or '0.3 x the level'."""
    if not logged:
        return f"{late:.3g} x the level"
    return f"+-{math.expm1(late):.0%}" if late < math.log(2) else f"by a factor of {math.exp(late):.3g}"


def fmt_p(p: float) -> str:
    """'p=0.032', or 'p<1e-4' for tiny p-values."""
    return f"p={p:.2g}" if p >= 1e-4 else "p<1e-4"


@dataclass(frozen=True)
class Swing:
    """Slow swings of a curve around its local level (per-step noise smoothed away first).

    amplitude: robust std (IQR / 1.349, stable on a two-level zigzag) of the small-window
    rolling median minus the coarse (~20% of n, >= 9 points) rolling median, in log units when all
    values are > 0 (0.2 ~ +-22% swings), else relative to the series' scale; early/late:
    the same in the first and second half; spread: Brown-Forsythe comparison of the
    deviations, late vs early; autocorr: the largest (in size) lag-1..4 autocorrelation
    of the unsmoothed deviations in the second half: near 0 for batch noise, clearly
    positive for slow waves, clearly negative for an up/down zigzag (lag 1) or a
    period-4..8 wave (lag 2..4); late_points: how many deviations that autocorrelation had.
    """

    amplitude: float
    early: float
    late: float
    spread: stats.SpreadComparison
    logged: bool
    autocorr: float
    late_points: int = 0

    def structured(self, min_autocorr: float = 0.4) -> bool:
        """True when the deviations are waves or a zigzag rather than independent batch noise: the
        largest autocorrelation of lags 1..4 reaches `min_autocorr` and leaves the white-noise band of
        its n points, 2.5/sqrt(n) (z = 2.5: a 5% chance split over the four lags). Six points of noise
        reach |r| 0.8 at one of four lags: below 7 points no autocorrelation is evidence of waves."""
        band = 2.5 / math.sqrt(self.late_points) if self.late_points else 0.0
        return abs(self.autocorr) >= max(min_autocorr, band)


def _deviations(ctx: Context, s: Series) -> tuple[np.ndarray, np.ndarray, bool]:
    """(dev, v - coarse, logged): the smoothed and the raw curve (log or scaled) minus its coarse level."""
    def compute() -> tuple[np.ndarray, np.ndarray, bool]:
        n = len(s)
        v, logged = stats.to_log(s.values)
        if not logged:
            v = v / shape(ctx, s).scale
        small = stats.smooth(v, stats.auto_window(n, 0.02))
        paired = v.copy()
        paired[1:] = 0.5 * (v[1:] + v[:-1])  # an odd median window would follow a period-2 zigzag
        # at least 9 points: one full period of a period-4..8 wave, so the level does not follow it
        coarse = stats.rolling_median(paired, max(9, int(0.2 * n)) | 1, mode="mirror")
        return small - coarse, v - coarse, logged

    return ctx.memo(("loss.deviations", s.name), compute)


def swing_late(ctx: Context, s: Series) -> float:
    """`swing(ctx, s).late` alone (cheaper: a rule can stop on it before the rest is computed)."""
    dev = _deviations(ctx, s)[0]
    return ctx.memo(("loss.swing_late", s.name), lambda: stats.iqr_scale(dev[len(s) // 2:]))


def swing(ctx: Context, s: Series) -> Swing:
    def compute() -> Swing:
        dev, raw, logged = _deviations(ctx, s)
        h = len(s) // 2
        ac = max(stats.autocorrs(raw[h:], range(1, 5)), key=abs)
        return Swing(amplitude=stats.iqr_scale(dev), early=stats.iqr_scale(dev[:h]),
                     late=swing_late(ctx, s), spread=stats.compare_spread(dev[:h], dev[h:]),
                     logged=logged, autocorr=ac, late_points=len(raw) - h)

    return ctx.memo(("loss.swing", s.name), compute)


def accuracy_evidence(ctx: Context, min_points: int = 6, high: float = 0.9, min_rise: float = 0.05,
                      alpha: float = 0.01) -> str | None:
    """Why an accuracy-like series (name with 'acc', higher is better) says the model has learned:
    its late median is >= `high` (an already-trained or resumed model), or it rose
    significantly (Mann-Kendall) by >= `min_rise`. None when there is no such evidence."""
    for role in ("train_metric", "val_metric"):
        name = ctx.name_of(role)
        if not name or "acc" not in name.lower() or ctx.direction(name) != "max":
            continue
        s, _ = ctx.usable(name, min_points=min_points)
        if s is None:
            continue
        v = s.values / 100.0 if 1.0 < s.values.max() <= 100.0 and s.values.min() >= 0 else s.values
        if v.min() < 0 or v.max() > 1:
            continue
        late = stats.median(v[len(v) // 2:])
        if late >= high:
            return f"{name} sits at {late:.3g} (an already-trained model)"
        tr = trend(ctx, s)
        rise = stats.level(v, "end") - stats.level(v, "start")
        if tr.significant(alpha, "up") and rise >= min_rise:
            return f"{name} rises significantly ({stats.level(v, 'start'):.3g} -> {stats.level(v, 'end'):.3g})"
    return None
