"""The plugin API: what a rule is, and what it is given when it checks a run.

A rule is a class with a code, a kebab-case name, a default severity, a one-line
summary, documented options and a docstring (what it detects, why it matters,
how to fix). Its `check` yields `Finding`s (through `ctx.finding`) and
`Abstention`s (through `ctx.abstain`). Third-party packs register rule classes
under the entry-point group ``curvelint.rules``, exactly as the built-in pack does.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, replace
from typing import Any, Callable, ClassVar, Iterable, Iterator, Union

import numpy as np

from curvelint.model import Abstention, Finding, Run, Series, Severity
from curvelint.roles import Roles

STABLE, PREVIEW = "stable", "preview"  # Rule.stability
MAX_DEPTH = 32  # levels of nested hparams (or other mappings) a rule walks into; deeper ones are not looked at
_MISSING = object()  # `Context.memo`: not computed yet (None is a value)


@dataclass(frozen=True)
class Option:
    """A documented rule option with its default (set per rule in configuration)."""

    default: Any
    doc: str


class Rule:
    """Base class of every rule. Subclasses set the class attributes and implement `check`."""

    code: ClassVar[str]
    name: ClassVar[str]
    severity: ClassVar[Severity]
    summary: ClassVar[str]
    options: ClassVar[dict[str, Option]] = {}
    hint: ClassVar[str] = ""  # the fix, in one or two sentences; used when a finding gives none
    needs_graph: ClassVar[bool] = False  # True: only run when the run has a model graph
    defers_to: ClassVar[tuple[str, ...]] = ()
    """Codes of the rules whose findings this rule reads (through `Context.reported`), usually to
    yield a series to a rule that names its cause better. The engine runs them first, also when
    they are not selected: deselecting a rule hides its findings and changes no other rule's."""
    stability: ClassVar[str] = STABLE
    """`STABLE`, or `PREVIEW` (ruff's notion): new, and may still change; on only when selected by its
    exact code or name, never by a prefix, ``ALL`` or default."""
    since: ClassVar[str] = ""  # the version of its package that added it ("": not recorded)
    aliases: ClassVar[tuple[str, ...]] = ()
    """Old codes and names of the rule: they still select it and find its documentation, with a
    deprecation note, so a rename never breaks a configuration."""

    @classmethod
    def known_as(cls, key: str) -> bool:
        """Whether `key` is exactly this rule's code, name or one of its aliases (any case)."""
        k = key.strip().lower()
        return k in (cls.code.lower(), cls.name, *(a.lower() for a in cls.aliases))

    def check(self, ctx: Context) -> Iterable[Finding | Abstention]:
        raise NotImplementedError

    @classmethod
    def doc(cls) -> str:
        return inspect.cleandoc(cls.__doc__ or cls.summary)


Result = Union[Finding, Abstention]


class Context:
    """What a rule sees of one run: its series, their roles, its options and a shared cache.

    The cache (`memo`) lets rules share statistics computed once per series.
    """

    def __init__(self, run: Run, roles: Roles, rule: type[Rule] | None = None,
                 options: dict[str, Any] | None = None, severity: Severity | None = None,
                 cache: dict | None = None) -> None:
        self.run = run
        self.roles = roles
        self.rule = rule
        self.options = options or {}
        self.severity = severity
        self.cache: dict = {} if cache is None else cache

    @property
    def rule_severity(self) -> Severity:
        """The severity of this rule's findings unless one says otherwise: the configured one, else the
        rule's own (a context made without a severity, as the plugin API's `Context(run, roles, rule)`)."""
        assert self.rule is not None, "a rule context (ctx.for_rule) has a rule"
        return self.severity or self.rule.severity

    def for_rule(self, rule: type[Rule], options: dict[str, Any] | None = None,
                 severity: Severity | None = None) -> Context:
        """A view of the same run for one rule, with that rule's resolved options."""
        return Context(self.run, self.roles, rule, resolve_options(rule, options), severity or rule.severity,
                       self.cache)

    # -- series access ---------------------------------------------------------------------------
    def name_of(self, role_or_name: str) -> str | None:
        """The series name for a role ("train_loss", ...) or a literal series name."""
        if role_or_name in self.run.series:
            return role_or_name
        return getattr(self.roles, role_or_name, None)

    def series(self, role_or_name: str) -> Series | None:
        name = self.name_of(role_or_name)
        return self.run.series.get(name) if name else None

    def curve(self, role_or_name: str) -> Series | None:
        """The series' finite values, up to where it turns non-finite for good.

        Non-finite values only ever cut their OWN series: another series' NaN changes nothing
        here. Within a series, a NaN/inf the series recovers from (an fp16 step the loss scaler
        skipped, a validation loss NaN at one evaluation) is dropped and the finite values
        around it are kept; from the point where the series turns non-finite for good
        (`finite_end`: NaN to the end, or NaN at least as often as not from there on) nothing
        is kept. Steps stay as logged, so a dropped point leaves a gap. CL100 reports every
        non-finite value either way.
        """
        s = self.series(role_or_name)
        if s is None:
            return None
        cached = self.cache.get(("curve", s.name), _MISSING)  # most calls: no closure to build
        if cached is not _MISSING:
            return cached

        def cut() -> Series:
            keep = np.isfinite(s.values)
            end = finite_end(s.values)
            if end == len(s) and keep.all():
                return s
            if keep[:end].all():
                return s.slice(0, end)
            keep[end:] = False
            wt = None if s.wall_times is None else s.wall_times[keep]
            return Series(s.name, s.steps[keep], s.values[keep], wt)

        return self.memo(("curve", s.name), cut)

    def non_finite_from(self, role_or_name: str) -> int | None:
        """The step at which a series turns non-finite for good (where its `curve` ends), or
        None when it never does (no non-finite value, or only ones it recovers from)."""
        s = self.series(role_or_name)
        if s is None:
            return None
        end = self.memo(("finite_end", s.name), lambda: finite_end(s.values))
        return int(s.steps[end]) if end < len(s) else None

    def usable(self, role_or_name: str, min_points: int = 3) -> tuple[Series | None, str]:
        """The finite curve (`curve`) for a role if a rule can judge it, else (None, reason to
        abstain): at least `min_points` finite points, not constant. Isolated non-finite
        values do not make a series unusable; only its own values count."""
        name = self.name_of(role_or_name)
        if name is None:
            return None, f"no {role_or_name.replace('_', ' ')} series in this run"
        return self.memo(("usable", name, min_points), lambda: self._usable(name, min_points))

    def _usable(self, name: str, min_points: int) -> tuple[Series | None, str]:
        """`usable` of the series `name` (computed once per run: rules ask ~28 times a run)."""
        s = self.curve(name)
        assert s is not None
        if len(s) < min_points:
            return None, f"{name}: {len(s)} finite points, need at least {min_points}"
        if self.memo(("constant", name), lambda: bool(np.all(s.values == s.values[0]))):
            return None, f"{name}: constant (reported by constant-metric)"
        return s, ""

    def direction(self, name: str) -> str | None:
        return self.roles.directions.get(name)

    def reported(self, codes: Iterable[str] | None, metric: str) -> str | None:
        """The code of the first rule among `codes` (default: every rule in this rule's
        `defers_to`) that reported `metric` in this run, else None. Only declared rules may be
        asked about: the engine runs exactly those before this one."""
        declared = self.rule.defers_to if self.rule is not None else ()
        asked = tuple(declared if codes is None else codes)
        undeclared = [c for c in asked if c not in declared]
        assert not undeclared, f"{self.rule and self.rule.code} reads {undeclared} without declaring them in defers_to"
        for f in self.cache.get("findings", ()):
            if f.metric == metric and f.rule in asked:
                return f.rule
        return None

    def memo(self, key: Any, compute: Callable[[], Any]) -> Any:
        """Compute a value once per run and share it between rules."""
        value = self.cache.get(key, _MISSING)  # one lookup when cached (most calls)
        if value is _MISSING:
            value = self.cache[key] = compute()
        return value

    # -- results -----------------------------------------------------------------------------------
    def finding(self, message: str, *, metric: str | None = None, step: int | None = None,
                evidence: dict[str, Any] | None = None, hint: str | None = None,
                severity: Severity | None = None) -> Finding:
        rule = self.rule
        assert rule is not None, "finding() needs a rule context (ctx.for_rule)"
        return Finding(
            rule=rule.code,
            name=rule.name,
            severity=severity or self.rule_severity,
            path=self.run.path,
            run=self.run.name,
            metric=metric,
            step=None if step is None else int(step),
            message=message,
            evidence=_plain(evidence or {}),
            hint=hint if hint is not None else rule.hint,
        )

    def abstain(self, reason: str, metric: str | None = None) -> Abstention:
        assert self.rule is not None
        return Abstention(self.rule.code, self.run.name, metric, reason)


def finite_end(values: np.ndarray) -> int:
    """Index at which a series turns non-finite for good; len(values) when it never does.

    That is the first non-finite value from which, to the end of the series, non-finite
    values are at least as many as finite ones: NaN to the end after a blow-up (also when a
    few finite garbage values are interleaved), but not an isolated NaN or a short burst the
    series recovers from. Linear in the length.
    """
    bad = ~np.isfinite(np.asarray(values, dtype=np.float64))
    if not bad.any():
        return len(bad)
    bad_after = np.cumsum(bad[::-1])[::-1]  # non-finite values from i to the end, i included
    finite_after = np.arange(len(bad), 0, -1) - bad_after
    hit = np.flatnonzero(bad & (finite_after <= bad_after))
    return int(hit[0]) if len(hit) else len(bad)


def resolve_options(rule: type[Rule], options: dict[str, Any] | None = None) -> dict[str, Any]:
    """The rule's option defaults updated with the configured `options`."""
    return {**{k: o.default for k, o in rule.options.items()}, **(options or {})}


def _plain(value: Any) -> Any:
    """Evidence as JSON-ready Python values (numpy scalars and arrays converted, floats rounded)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_plain(v) for v in (value.tolist() if isinstance(value, np.ndarray) else value)]
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer, int)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        f = float(value)
        if f != f or f in (float("inf"), float("-inf")):
            return str(f)  # JSON has no NaN/inf
        return float(f"{f:.6g}")
    return value


def run_rule(rule: Rule, ctx: Context) -> Iterator[Result]:
    """Run one rule, turning an unexpected exception into an abstention rather than a crash."""
    try:
        yield from rule.check(ctx)
    except RecursionError:  # input nested deeper than the rule could walk: not judged, and said why
        yield ctx.abstain("the run's data (hyperparameters, graph) is nested too deeply to judge")
    except Exception as exc:  # a buggy plugin must not stop the lint, nor pass unnoticed
        yield replace(ctx.abstain(f"internal error in {type(rule).__name__}: {type(exc).__name__}: {exc}"),
                      internal=True)
