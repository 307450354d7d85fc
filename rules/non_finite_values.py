"""CL100 non-finite-values."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterator

import numpy as np

from curvelint.model import Series, Severity
from curvelint.roles import PATTERNS
from curvelint.rule import MAX_DEPTH, Context, Rule, finite_end

from .vanishing_gradients import LAYER

GROUP = 3  # this many series of one kind turning non-finite at one step are one finding
RARE = 0.1  # at most this share of a gradient norm's (or a loss's) points non-finite: "a few"
_GRAD_NORM = re.compile("|".join(f"(?:{p})" for p in PATTERNS["grad_norm"]), re.IGNORECASE)
_SCALE_WORD = re.compile(r"scale|scaler", re.IGNORECASE)
_LOSS_SCALE = re.compile(r"(?:^|[/_.\-])(?:loss[_\-]?scale|grad[_\-]?scale|scaler)(?:$|[/_.\-])", re.IGNORECASE)
_FP16_KEYS = re.compile(r"fp16|amp|mixed_precision|half_precision|precision", re.IGNORECASE)


class NonFiniteValues(Rule):
    """A series contains NaN or infinite values.

    Every non-finite value of every series is reported, once per series; three or more
    series of one kind (losses, gradient norms, metrics) that turn non-finite for good at
    the same step are one event, reported once on the series with a role (or the first by
    name) with the others listed. How bad it is
    depends on what the series is and whether it recovers:

    * a training or validation loss (or any series named ``*loss*``) that turns NaN/inf
      for good: **error** (every later value is garbage; a loss-like auxiliary series that
      is NaN from its first value: one level lower);
    * a loss that is NaN/inf at isolated points and finite before and after: **warning**
      (one bad batch or evaluation: empty targets, ``log(0)``); **info** when each such
      point is a step whose gradient norm overflowed too (a mixed-precision step the loss
      scaler skipped) and they are rare;
    * a gradient norm with a few isolated inf/NaN values (at most 10% of its points): **info**.
      A dynamic loss scaler (fp16 AMP, ``GradScaler``, DeepSpeed, the HF Trainer's
      ``fp16=True``) skips exactly such steps by design; the norm recovering shows the
      weights were not damaged. More frequent overflows are a warning (the scaler keeps
      skipping updates), and a norm that stays non-finite is an error when the loss turns
      non-finite too, else a warning;
    * any other metric: NaN at every point is **info** (the metric code cannot compute it,
      e.g. a division by an empty count: the metric is broken, not the training), at
      isolated points info, turning NaN for good a warning.

    Only the series' own values count. The other rules judge each series' finite values
    up to where it turns non-finite for good (see ``Context.curve``): an isolated NaN in
    one series silences nothing, in that series or in any other.

    Usual causes: learning rate too high, exploding gradients, ``log(0)`` or division
    by zero in a custom loss or metric, mixed-precision overflow, bad input values
    (NaN in the data).

    Fixes: lower the learning rate; clip gradients
    (Keras ``optimizer = keras.optimizers.Adam(1e-3, clipnorm=1.0)``; PyTorch
    ``torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)`` before ``optimizer.step()``);
    add an epsilon to logs and divisions; check the inputs with ``np.isfinite(x).all()``;
    in Keras, ``keras.callbacks.TerminateOnNaN()`` stops a run at the first NaN.
    """

    code = "CL100"
    name = "non-finite-values"
    since = "0.1.0"
    severity = Severity.ERROR
    summary = "NaN or infinite values in a series"
    hint = "lower the learning rate, clip gradients, and check the loss/metric code and inputs for log(0) or NaN"

    def check(self, ctx: Context):
        scaling = _loss_scaling(ctx)
        found = [(nf, _kind(ctx, name)) for name, s in sorted(ctx.run.series.items())
                 if (nf := _non_finite(s)) is not None]
        together = _turning_together(ctx, found)
        for nf, kind in found:
            group = together.get(nf.series.name)
            if group is None:
                yield _finding(ctx, nf, kind, scaling)
            elif group[0] is nf:
                yield _finding(ctx, nf, kind, scaling, others=[g.series.name for g in group[1:]])


@dataclass(frozen=True)
class NonFinite:
    """Where a series is non-finite: `end` is the index where it turns non-finite for good
    (len when never), `bad` the mask of non-finite values."""

    series: Series
    bad: np.ndarray
    end: int

    @property
    def pattern(self) -> str:
        """'always' (non-finite from its first value for good), 'turns' or 'isolated'."""
        if self.end == 0:
            return "always"
        return "isolated" if self.end == len(self.series) else "turns"

    @property
    def count(self) -> int:
        return int(self.bad.sum())

    @property
    def share(self) -> float:
        return self.count / len(self.series)

    def kinds(self, where: np.ndarray | None = None) -> list[str]:
        v = self.series.values[self.bad if where is None else where][:1000]
        return sorted({"nan" if np.isnan(x) else ("+inf" if x > 0 else "-inf") for x in v})

    @property
    def isolated_steps(self) -> np.ndarray:
        """Steps of the non-finite values the series recovers from (before `end`)."""
        return self.series.steps[:self.end][self.bad[:self.end]]


def _non_finite(s: Series) -> NonFinite | None:
    bad = ~np.isfinite(s.values)
    return NonFinite(s, bad, finite_end(s.values)) if bad.any() else None


def _kind(ctx: Context, name: str) -> str:
    """'loss', 'grad' (a gradient norm) or 'metric' (anything else: metrics, lr, counters)."""
    role = ctx.roles.role_of(name)
    if role in ("train_loss", "val_loss"):
        return "loss"
    if role == "grad_norm" or _GRAD_NORM.fullmatch(name) or LAYER.match(name):
        return "grad"
    if "loss" in name.lower() and not _SCALE_WORD.search(name):
        return "loss"
    return "metric"


def _loss_scaling(ctx: Context) -> str | None:
    """Evidence that the run uses a dynamic loss scaler: a logged loss-scale series or an fp16 hparam."""
    for name in sorted(ctx.run.series):
        if _LOSS_SCALE.search(name):
            return f"{name} is logged"
    for key, value in _flat(ctx.run.hparams):
        if _FP16_KEYS.search(key.rsplit(".", 1)[-1]) and _is_fp16(value):
            return f"{key}={value}"
    return None


def _flat(d: Any, prefix: str = "", depth: int = 0) -> Iterator[tuple[str, Any]]:
    if isinstance(d, dict) and depth < MAX_DEPTH:  # deeper mappings are not looked at
        for k, v in d.items():
            yield from _flat(v, f"{prefix}{k}.", depth + 1) if isinstance(v, dict) else [(f"{prefix}{k}", v)]


def _is_fp16(value: Any) -> bool:
    text = str(value).strip().lower()
    return value is True or text in ("true", "1", "16", "fp16", "16-mixed", "float16", "half", "o1", "o2")


def _lower(severity: Severity, by: int = 1) -> Severity:
    return Severity(max(Severity.INFO, severity - by))


def _skipped_steps(ctx: Context, nf: NonFinite) -> bool:
    """Every isolated non-finite loss value sits at a step whose gradient norm is non-finite too
    (an overflowed step the loss scaler skipped)."""
    for name in ctx.run.series:
        if _kind(ctx, name) != "grad":
            continue
        g = ctx.run.series[name]
        overflow = set(g.steps[~np.isfinite(g.values)].tolist())
        if overflow and set(nf.isolated_steps.tolist()) <= overflow:
            return True
    return False


def _severity(ctx: Context, nf: NonFinite, kind: str, scaling: str | None) -> tuple[Severity, str]:
    """The severity of the finding and why it matters (one clause)."""
    sev, name, pattern = ctx.rule_severity, nf.series.name, nf.pattern
    role = ctx.roles.role_of(name)
    if kind == "loss":
        if pattern == "turns":
            return _lower(sev, 0), "the loss is garbage from there on: the run diverged or a numerical error broke it"
        if pattern == "always":
            if role in ("train_loss", "val_loss"):
                return _lower(sev, 0), "the loss was never computed: nothing this run logs can be trusted"
            return _lower(sev), "this loss term was never computed (a bug in its code or its inputs)"
        if nf.share <= RARE and _skipped_steps(ctx, nf):
            return Severity.INFO, ("the gradient overflowed at the same step(s): a dynamic loss scaler skips such "
                                   "steps by design, and the loss is finite again afterwards")
        if nf.share <= RARE and role == "train_loss" and scaling is not None:
            return Severity.INFO, ("the run uses loss scaling, whose scaler skips overflowing steps by design, and "
                                   "the loss is finite again afterwards")
        return _lower(sev), ("the series is finite again afterwards, so the weights survived, but a batch or an "
                             "evaluation produced NaN/inf (empty targets, log(0), an fp16 overflow)")
    if kind == "grad":
        if pattern == "isolated":
            why = (f"rare ({nf.share:.1%} of its points); a dynamic loss scaler (fp16/AMP) skips overflowing steps "
                   "by design and the norm recovers, so the weights were not damaged")
            if nf.share <= RARE:
                return Severity.INFO, why
            return _lower(sev), (f"{nf.share:.0%} of its points: the gradients overflow so often that many updates "
                                 "are skipped (or applied with inf/NaN gradients)")
        loss_breaks = ctx.non_finite_from("train_loss") is not None
        if pattern == "always":
            loss, _ = ctx.usable("train_loss")
            if loss is not None and not loss_breaks:
                return Severity.INFO, "while the training loss is finite: the gradient-norm logging is broken"
            return _lower(sev), "no update had a finite gradient"
        if loss_breaks:
            return _lower(sev, 0), "the training loss turns non-finite too: the gradients blew up and broke the weights"
        if len(nf.series) - nf.end == 1 and nf.share <= RARE:
            return Severity.INFO, ("only the last logged value, with the training loss finite: most likely one more "
                                   "overflowing step skipped by a loss scaler")
        return _lower(sev), ("every update since then overflowed (skipped by a loss scaler, or applied with inf/NaN "
                             "gradients)")
    if pattern == "always":
        return Severity.INFO, "the metric code cannot compute it (the metric is broken, not the training)"
    if pattern == "isolated":
        return Severity.INFO, "the metric was undefined at those evaluations (e.g. a division by an empty count)"
    return _lower(sev), "the metric stopped being computable (check its code, or the losses around that step)"


def _turning_together(ctx: Context, found: list[tuple[NonFinite, str]]) -> dict[str, list[NonFinite]]:
    """Series of one kind that turn non-finite for good at the same step, `GROUP` or more of them:
    one event (a loss with many terms, a metric per class), reported once. Maps each member's
    name to its group, led by the series with a role (else the first by name)."""
    groups: dict[tuple[str, int], list[NonFinite]] = {}
    for nf, kind in found:
        if nf.pattern == "turns":
            groups.setdefault((kind, int(nf.series.steps[nf.end])), []).append(nf)
    out: dict[str, list[NonFinite]] = {}
    for members in groups.values():
        if len(members) >= GROUP:
            members.sort(key=lambda m: ctx.roles.role_of(m.series.name) is None)  # stable: by name after that
            out.update((m.series.name, members) for m in members)
    return out


def _finding(ctx: Context, nf: NonFinite, kind: str, scaling: str | None, others: list[str] | None = None):
    s, bad = nf.series, nf.bad
    first = int(np.argmax(bad))
    severity, why = _severity(ctx, nf, kind, scaling)
    evidence: dict[str, Any] = {"first_step": s.steps[first], "non_finite": nf.count, "points": len(s),
                                "kinds": nf.kinds(), "pattern": nf.pattern, "kind": kind}
    if first > 0:
        evidence.update(last_finite_step=s.steps[first - 1], last_finite_value=s.values[first - 1])
    if scaling:
        evidence["loss_scaling"] = scaling
    at, seen = _seen(nf, evidence)
    pattern = nf.pattern
    if scaling and kind in ("grad", "loss") and pattern == "isolated":
        why += f" ({scaling})"
    hint = None
    if severity == Severity.INFO and kind == "grad":
        hint = ("nothing to fix if the run uses loss scaling; if it does not (fp32/bf16), an inf gradient norm is a "
                "real overflow: clip gradients and check that step's batch")
    elif severity == Severity.INFO and kind == "metric":
        hint = "fix or drop the metric's computation (guard divisions and empty sets); the training is not affected"
    elif pattern == "isolated" and kind == "loss":
        hint = ("find the batch/evaluation at that step (empty targets, log(0), division by zero) and guard the "
                "loss; judge the run on its finite values")
    if others:
        evidence["together_with"] = others
        listed = ", ".join(others[:4]) + (f" and {len(others) - 4} more" if len(others) > 4 else "")
        seen += f"; {len(others)} other {kind} series turn non-finite for good at the same step: {listed}"
    return ctx.finding(f"{seen}: {why}", metric=s.name, step=at, evidence=evidence, severity=severity, hint=hint)


def _seen(nf: NonFinite, evidence: dict[str, Any]) -> tuple[int, str]:
    """(step to report, what was seen with the logged values); adds the pattern's evidence."""
    s, bad, n, count = nf.series, nf.bad, len(nf.series), nf.count
    if nf.pattern == "always":
        kinds = "/".join(nf.kinds())
        return int(s.steps[0]), (f"{kinds} at every one of its {n} values (steps {s.steps[0]}..{s.steps[-1]})"
                                 if count == n else f"{kinds} from its first value ({count} of {n} values non-finite)")
    if nf.pattern == "turns":
        at = int(s.steps[nf.end])
        j = int(np.flatnonzero(~bad[:nf.end])[-1])  # the last finite value before the turn
        evidence.update(turn_step=at, last_finite_step=s.steps[j], last_finite_value=s.values[j])
        seen = (f"{'/'.join(nf.kinds(np.arange(n) >= nf.end))} at step {at} ({count} of {n} values non-finite; "
                f"last finite value {s.values[j]:.4g} at step {s.steps[j]})")
        earlier = nf.isolated_steps
        if len(earlier):
            seen += f"; {len(earlier)} isolated non-finite value(s) before it, first at step {earlier[0]}"
        return at, seen
    steps = nf.isolated_steps
    at = int(steps[0])
    evidence["isolated_steps"] = steps[:20]
    listed = ", ".join(str(x) for x in steps[:5]) + (f" and {len(steps) - 5} more" if len(steps) > 5 else "")
    kinds = "/".join(nf.kinds())
    around = _neighbours(s, bad, int(np.argmax(bad)))
    if count == 1:
        return at, f"{kinds} at step {listed} only (1 of {n} values{'; ' + around if around else ''})"
    return at, (f"{kinds} at {count} isolated steps ({listed}) of {n}, finite again after each"
                + (f" (around step {at}: {around})" if around else ""))


def _neighbours(s: Series, bad: np.ndarray, i: int) -> str:
    """'0.08258 at step 0 before, 0.07451 at step 2 after' for the non-finite value at index i."""
    before = np.flatnonzero(~bad[:i])
    after = np.flatnonzero(~bad[i + 1:])
    parts = []
    if len(before):
        j = int(before[-1])
        parts.append(f"{s.values[j]:.4g} at step {s.steps[j]} before")
    if len(after):
        j = i + 1 + int(after[0])
        parts.append(f"{s.values[j]:.4g} at step {s.steps[j]} after")
    return ", ".join(parts)
