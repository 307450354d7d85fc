"""Text output for people: findings grouped by run, colour only on a terminal, a summary line.

Text that comes from the linted tree (paths, run and metric names, messages, notes) goes through
`printable`: a file name cannot move the cursor, recolour the terminal or reorder the line.
With ``Options.plot`` each finding on a series gets its plot (`curvelint.plot.terminal`), drawn
from ``Report.curves``; the plot modules are imported only then.
"""

from __future__ import annotations

from collections import Counter
from itertools import groupby

import click

from curvelint.model import Severity
from curvelint.reporters.escape import printable

_COLORS = {Severity.ERROR: "red", Severity.WARNING: "yellow", Severity.INFO: "cyan"}


def _where(f) -> str:
    parts = [f.metric] if f.metric else []
    if f.step is not None:
        parts.append(f"step {f.step}")
    return " @ ".join(parts)


def _evidence_lines(evidence: dict, indent: str) -> list[str]:
    width = max((len(k) for k in evidence), default=0)
    return [printable(f"{indent}{k.ljust(width)}  {v}") for k, v in evidence.items()]


def _plot(report, f, options) -> list[str]:
    """The finding's terminal plot, with a blank line before it (none without curves)."""
    curves = report.curves.get((f.path, f.run))
    if curves is None or f.metric not in curves.curves:
        return []
    from curvelint.plot.terminal import draw

    drawn = draw(f, curves, width=options.width, color=options.color)
    return ["", *drawn, ""] if drawn else []


def render(report, options) -> str:
    style = (lambda text, **kw: click.style(text, **kw)) if options.color else (lambda text, **kw: text)
    lines: list[str] = []
    by_run: dict[tuple[str, str], list] = {(r.path, r.name): [] for r in report.runs if r.notes}
    notes = {(r.path, r.name): r.notes for r in report.runs}
    for f in report.findings:
        by_run.setdefault((f.path, f.run), []).append(f)
    for (path, run), findings in sorted(by_run.items()):
        if options.quiet:
            findings = [f for f in findings if f.severity >= Severity.WARNING]
            if not findings:
                continue
        title = path if run == path else f"{path} [{run}]"
        lines.append(style(printable(title), bold=True))
        if not options.quiet:
            lines.extend(style(printable(f"  note: {n}"), dim=True) for n in notes.get((path, run), ()))
        for f in findings:
            sev = style(f"{str(f.severity):<7}", fg=_COLORS[f.severity], bold=f.severity == Severity.ERROR)
            where = _where(f)
            text = printable(f"{where + ': ' if where else ''}{f.message}")
            lines.append(f"  {sev} {style(f.rule, bold=True)} {f.name}: {text}")
            if f.hint and not options.quiet:
                lines.append(style(printable(f"          fix: {f.hint}"), dim=True))
            if options.show_evidence and f.evidence:
                lines.extend(_evidence_lines(f.evidence, "          | "))
            if options.plot:
                lines.extend(_plot(report, f, options))
        if lines[-1]:  # a plot already ends in a blank line
            lines.append("")
    if options.verbose and report.abstentions:
        lines.append(style("Abstentions (rules that could not judge):", bold=True))
        for key, group in groupby(sorted(report.abstentions, key=lambda a: (a.run, a.rule)), key=lambda a: a.run):
            lines.append(printable(f"  {key}"))
            lines.extend(printable(f"    {a.rule}: {a.reason}") for a in group)
        lines.append("")
    if options.statistics and report.findings:
        counts = Counter((f.rule, f.name) for f in report.findings)
        lines.append(style("Statistics:", bold=True))
        lines.extend(f"  {n:>5}  {code} {name}" for (code, name), n in sorted(counts.items()))
        lines.append("")
    lines.append(summary_line(report))
    return "\n".join(lines)


def summary_line(report) -> str:
    n = len(report.runs)
    counts = ", ".join(f"{report.count(s)} {s}{'s' if report.count(s) != 1 and s != Severity.INFO else ''}"
                       for s in (Severity.ERROR, Severity.WARNING, Severity.INFO))
    extra = f", {report.suppressed} suppressed" if report.suppressed else ""
    return f"{n} run{'s' if n != 1 else ''} linted: {counts}{extra} in {report.elapsed:.2f}s"
