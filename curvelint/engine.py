"""The engine: discover runs, read them, assign roles, run the selected rules, filter results.

`lint()` is the whole pipeline behind the CLI and the public Python API. Runs are
linted one at a time (or in worker processes with ``jobs > 1``) and dropped as soon
as their findings are known, so memory does not grow with the number of runs.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any, Callable, Iterable, Iterator

from curvelint import limits, readers
from curvelint.config import Config, ConfigError
from curvelint.discovery import RunSource, discover, log_file
from curvelint.fileio import getsize, is_dir, is_remote
from curvelint.model import (
    Abstention,
    CurveRequest,
    Finding,
    InputStats,
    LabelStats,
    Problem,
    ReferenceSet,
    Report,
    Run,
    RunSummary,
    Severity,
)
from curvelint.readers import configured as reader_settings
from curvelint.registry import is_selected, load_rules, severity_override
from curvelint.roles import Roles, assign_roles, prefer_steps
from curvelint.rule import Context, Rule, resolve_options, run_rule
from curvelint.suppression import suppress


@dataclass(frozen=True)
class Extras:
    """Inputs that apply to every run: an explicit model graph, a data sample, reference runs."""

    graph: Any = None
    inputs: tuple[InputStats, ...] = ()
    labels: LabelStats | None = None
    references: ReferenceSet | None = None


@dataclass(frozen=True)
class Selected:
    rule: type[Rule]
    severity: Severity
    options: dict[str, Any]

    @cached_property
    def resolved(self) -> dict[str, Any]:
        """The rule's resolved options, once per lint rather than once per run."""
        return resolve_options(self.rule, self.options)


def select_rules(config: Config) -> list[Selected]:
    """The rules `config` selects (`curvelint.registry.is_selected`), with their severity and options."""
    chosen = []
    for rule in load_rules():
        if is_selected(rule, config.select, config.extend_select, config.ignore):
            sev = severity_override(rule, config.severity)
            chosen.append(Selected(rule, Severity.parse(sev) if sev else rule.severity,
                                   dict(config.rule_options.get(rule.name, {}))))
    return chosen


@dataclass(frozen=True)
class Planned:
    """A rule in the order a run is checked: `shown` is False for a rule run only because a
    selected rule defers to it (its findings are read, never reported)."""

    selected: Selected
    shown: bool


def plan(selected: list[Selected]) -> list[Planned]:
    """The selected rules plus every rule they defer to (transitively), each after the rules it
    defers to, otherwise in code order. A deference cycle or an unknown code is an error."""
    by_code = {r.code: r for r in load_rules()}
    chosen = {s.rule.code: s for s in selected}
    needed: dict[str, Selected] = dict(chosen)
    todo = list(chosen)
    while todo:
        rule = needed[todo.pop()].rule
        for code in rule.defers_to:
            if code not in by_code:
                raise ValueError(f"rule {rule.code} defers to {code}, which is not registered")
            if code not in needed:
                dep = by_code[code]
                needed[code] = Selected(dep, dep.severity, {})
                todo.append(code)
    ordered: list[Planned] = []
    done: set[str] = set()
    visiting: list[str] = []

    def visit(code: str) -> None:
        if code in done:
            return
        if code in visiting:
            raise ValueError(f"rules defer to each other in a cycle: {' -> '.join(visiting + [code])}")
        visiting.append(code)
        for dep in sorted(needed[code].rule.defers_to):
            visit(dep)
        visiting.pop()
        done.add(code)
        ordered.append(Planned(needed[code], code in chosen))

    for code in sorted(needed):
        visit(code)
    return ordered


def check_run(run: Run, selected: list[Selected], config: Config) -> tuple[list[Finding], list[Abstention]]:
    """Run the selected rules on one run, each after the rules it defers to (`plan`)."""
    base = Context(run, run_roles(run, config))
    every: list[Finding] = []  # what deferring rules read, hidden rules' findings included
    findings: list[Finding] = []
    abstentions: list[Abstention] = []
    base.cache["findings"] = every
    with readers.quiet_numbers():
        for step in _plan_of(selected):
            sel = step.selected
            if sel.rule.needs_graph and run.graph is None:
                continue
            ctx = Context(run, base.roles, sel.rule, dict(sel.resolved), sel.severity, base.cache)
            for result in run_rule(sel.rule(), ctx):
                if isinstance(result, Finding):
                    every.append(result)
                    if step.shown:
                        findings.append(result)
                elif step.shown:
                    abstentions.append(result)
    return findings, abstentions


def run_roles(run: Run, config: Config) -> Roles:
    """Which series plays which role in `run`, configuration first (what the rules see)."""
    directions = config.metrics.get("directions", {})
    overrides = {k: v for k, v in config.metrics.items() if k != "directions"}
    roles = assign_roles(list(run.series), overrides, directions)
    if "train_loss" not in overrides:
        roles = prefer_steps(roles, {name: len(s) for name, s in run.series.items()})
    return roles


def _plan_of(selected: list[Selected]) -> list[Planned]:
    """`plan(selected)`, computed once per lint (the engine passes the same list for every run)."""
    global _last_plan
    if _last_plan is None or _last_plan[0] is not selected:
        _last_plan = (selected, plan(selected))
    return _last_plan[1]


_last_plan: tuple[list[Selected], list[Planned]] | None = None


Linted = tuple[RunSummary, list[Finding], list[Abstention], int]
MIN_PARALLEL_BYTES = 1 << 20  # smaller trees are linted faster than worker processes start
# URLs: workers are spawned (fsspec's IO thread rules out fork), ~1 s each to import curvelint again
SPAWN_MIN_RUNS, SPAWN_MIN_BYTES = 500, 32 << 20


Drawn = tuple[Linted, Any]  # a run's results and its curves for drawing (None unless requested)


Job = tuple[list[RunSource], Config, Extras, list[Selected], CurveRequest | None, Any]


def _lint_batch(job: Job) -> list[list[Drawn]] | ConfigError:
    """Lint a batch of sources in a worker process (jobs > 1): one task per batch, not per run.

    A run folder's broken ``.curvelint.toml`` comes back as its `ConfigError`, for the parent to
    raise: a configuration error like any other, not a worker's traceback. A batch of URLs carries
    what the listing said about their files (`curvelint.remote.export`): no request to ask again."""
    sources, config, extras, selected, curves, listing = job
    if listing is not None:
        from curvelint import remote

        remote.seed(listing)
    try:
        return [_lint_source(source, config, extras, selected, curves) for source in _ahead(sources)]
    except ConfigError as exc:
        return exc


def _ahead(sources: list[RunSource]) -> Iterable[RunSource]:
    """`sources`; when they are URLs, the next ones' files fetched while one is linted (`curvelint.prefetch`)."""
    if not any(is_remote(s.path) for s in sources):
        return sources
    from curvelint.prefetch import ahead

    return ahead(sources)


def _listing(sources: list[RunSource]) -> Any:
    """What the listing says about the files of `sources` when they are URLs, for a worker (else None)."""
    if not any(is_remote(s.path) for s in sources):
        return None
    from curvelint import remote

    return remote.export(sources)


def _lint_source(source: RunSource, config: Config, extras: Extras, selected: list[Selected],
                 curves: CurveRequest | None = None) -> list[Drawn]:
    """Read one source and lint each of its runs (and reduce their curves, when requested)."""
    out = []
    # what the readers read at most ([tool.curvelint.limits]), and their own settings (text-logs)
    with limits.using(config.limits), reader_settings.using(config):
        runs = readers.read(source)
    for run in runs:
        linted = lint_run(run, config, extras, selected)
        out.append((linted, _curves(run, linted[1], config, curves)))
    return out


def _curves(run: Run, findings: list[Finding], config: Config, request: CurveRequest | None) -> Any:
    """The run's curves for drawing (`curvelint.plot.curves.extract`), if `request` wants them."""
    if request is None or not (request.every_run or any(f.metric in run.series for f in findings)):
        return None
    from curvelint.plot.curves import extract

    return extract(run, run_roles(run, config), request.bins)


def lint_run(run: Run, config: Config, extras: Extras, selected: list[Selected]) -> Linted:
    """Lint one run that was read: extras attached, rules checked, suppressions applied
    (`curvelint.watch` lints the runs it follows with this)."""
    if extras.graph is not None and run.graph is None:
        run.graph = extras.graph
    if extras.inputs:
        run.inputs.extend(extras.inputs)
    if extras.labels is not None and run.labels is None:
        run.labels = extras.labels
    if extras.references is not None and run.references is None:
        others = tuple(r for r in extras.references.runs if os.path.abspath(r.path) != os.path.abspath(run.path))
        run.references = replace(extras.references, runs=others)
    findings, abstentions = check_run(run, selected, config)
    folder = is_dir(run.path)
    kept = suppress(findings, run.path if folder else os.path.dirname(run.path), config)
    if kept.note:  # say it where the run is shown: a reviewer sees what was accepted and why
        run.notes.append(kept.note)
    log = log_file(run.path, run.sources) if folder else run.path
    summary = RunSummary(run.path, run.name, run.format, len(run.series), run.points, tuple(run.notes),
                         log, folder and log == run.path)
    return summary, kept.findings, abstentions, kept.suppressed


def load_references(settings: ReferenceSet, paths: Iterable[str],
                    exclude: list[str] | None = None) -> tuple[ReferenceSet, list[str]]:
    """`settings` with the runs under the reference `paths` (every run found: several seeds form a
    band), and the errors met; `lint_run` attaches them to every linted run."""
    paths = list(paths)
    sources, errors = discover(paths, exclude or [])
    runs = tuple(run for source in sources for run in readers.read(source))
    for path in paths:
        if not any(os.path.abspath(r.path).startswith(os.path.abspath(path)) for r in runs):
            errors.append(f"{path}: no training log found for a reference run")
    return replace(settings, runs=runs), errors


def default_jobs() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


def lint(paths: Iterable[str], config: Config | None = None, jobs: int = 1, extras: Extras | None = None,
         curves: CurveRequest | None = None, executor: str = "local",
         progress: Callable[[int, int], None] | None = None) -> Report:
    """Lint every run under `paths`; results come in a deterministic (path) order.

    With `curves`, `Report.curves` also holds the runs' curves reduced for drawing. `executor` is
    ``local`` (`jobs` processes here) or a cluster (``dask://HOST:PORT``, `curvelint.executors`), which
    lints every tree. `progress(done, total)` is called as the runs are linted."""
    start = time.perf_counter()
    config = config or Config()
    extras = extras or Extras()
    sources, errors = discover(list(paths), config.exclude)
    report = Report(errors=errors)
    if curves is not None and curves.spool:
        from curvelint.plot.curves import CurveSpool

        report.curves = CurveSpool()
    selected = select_rules(config)
    cluster = executor != "local"
    sizes = [_size(s) for s in sources] if (jobs > 1 and len(sources) > 1) or (cluster and sources) else []
    if sizes and (cluster or _repays_workers(sources, sizes)):
        results = _in_workers(sources, sizes, config, extras, selected, jobs, curves, executor)
    else:  # one process: also when the logs are too small to repay starting workers
        results = (_lint_source(s, config, extras, selected, curves) for s in _ahead(sources))
    _collect(report, results, progress, len(sources))
    report.elapsed = time.perf_counter() - start
    return report


def _in_workers(sources: list[RunSource], sizes: list[int], config: Config, extras: Extras,
                selected: list[Selected], jobs: int, curves: CurveRequest | None = None,
                executor: str = "local") -> Iterator[list[Drawn]]:
    """Lint in `jobs` worker processes (`curvelint.workers`), or on the cluster of `executor` (`curvelint.executors`,
    as many batches as its workers' threads); yields each source's results in source order.

    Consecutive sources go to a worker together (`_batches`). This process reads nothing
    itself: what the readers import lazily is imported in each worker, in parallel (as fast
    as importing it here first, and this process's peak RSS stays at its imports).
    """
    from curvelint import executors

    with executors.executor(executor, jobs, sizes) as pool:  # local: the workers the sizes repay
        batches = _batches(sources, sizes, pool.slots)
        tasks = [(batch, config, extras, selected, curves, _listing(batch)) for batch in batches]
        for per_batch in pool.ordered_map(_lint_batch, tasks, _recover):
            if isinstance(per_batch, ConfigError):
                raise per_batch
            yield from per_batch


def _recover(job: Job, exc: BaseException, again: Callable[[list[Job]], Iterator[Any]]) -> Any:
    """The results of a batch whose task failed on a cluster: its runs linted again, one task at a time
    (`again`: a run that kills its worker takes no other run with it); a run that fails alone is reported
    as unreadable (CL001), saying what happened."""
    sources, config, extras, selected = job[:4]
    if len(sources) == 1:
        run = Run(name=sources[0].name, path=sources[0].path, format=sources[0].format, sources=list(sources[0].files))
        why = str(exc).splitlines()[0] if str(exc) else ""
        run.problems.append(Problem("unreadable", sources[0].path, f"not linted: its task failed on the cluster "
                                    f"({type(exc).__name__}{': ' + why if why else ''})"))
        return [[(lint_run(run, config, extras, selected), None)]]
    out: list[list[Drawn]] = []
    for source in sources:
        result = next(iter(again([([source], *job[1:])])))
        if isinstance(result, ConfigError):
            return result
        out.extend(result)
    return out


def _batches(sources: list[RunSource], sizes: list[int], jobs: int) -> list[list[RunSource]]:
    """Consecutive sources in batches of decreasing size (guided scheduling): each batch takes
    about 1 / (2 * jobs) of the bytes not yet assigned, down to 1 / (16 * jobs) of the total.
    Few tasks to send, and the small last batches keep all workers busy until the end.

    Batches are consecutive and their results are collected in order: the report's order
    does not depend on `jobs`.
    """
    remaining = float(sum(sizes))
    floor = remaining / (16 * jobs)
    target = max(remaining / (2 * jobs), floor)
    out: list[list[RunSource]] = [[]]
    filled = 0.0
    for source, size in zip(sources, sizes):
        if out[-1] and filled + size / 2 > target:
            out.append([])
            filled = 0.0
            target = max(remaining / (2 * jobs), floor)
        out[-1].append(source)
        filled += size
        remaining -= size
    return out


def _repays_workers(sources: list[RunSource], sizes: list[int]) -> bool:
    """Whether worker processes here lint `sources` faster than this process alone: forked ones from
    `MIN_PARALLEL_BYTES` of logs, spawned ones (URLs) from `SPAWN_MIN_RUNS` runs or `SPAWN_MIN_BYTES`."""
    if any(is_remote(s.path) for s in sources):
        return len(sources) >= SPAWN_MIN_RUNS or sum(sizes) >= SPAWN_MIN_BYTES
    return sum(sizes) >= MIN_PARALLEL_BYTES


def _size(source: RunSource) -> int:
    """Bytes of a run's files, plus 4 KiB for the fixed cost of a run (for batching)."""
    total = 0
    for path in source.files:
        try:
            total += getsize(path)
        except OSError:
            pass
    return total + 4096


def _collect(report: Report, results: Iterable[list[Drawn]], progress: Callable[[int, int], None] | None = None,
             total: int = 0) -> None:
    """Add each source's results to `report` (then ``progress(sources done, total)``)."""
    for done, per_source in enumerate(results, 1):
        for (summary, findings, abstentions, suppressed), drawn in per_source:
            if drawn is not None:
                report.curves[(summary.path, summary.name)] = drawn
            report.runs.append(summary)
            report.findings.extend(findings)
            report.abstentions.extend(abstentions)
            report.suppressed += suppressed
        if progress is not None:
            progress(done, total)
