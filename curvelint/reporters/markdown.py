"""Markdown for CI summaries and PR comments (`--format markdown`, e.g. ``>> $GITHUB_STEP_SUMMARY``).

A heading with the counts, a table of the runs that have findings, then one line per finding with
a sparkline of its series (the judged window in brackets, `curvelint.plot.sparkline`). Text from
the logs goes through `markdown_text`: a run named ``a|b`` cannot break the table.
"""

from __future__ import annotations

from collections import Counter

from curvelint.model import Finding, Severity
from curvelint.reporters.escape import markdown_text as md
from curvelint.reporters.text import summary_line

SEVERITIES = (Severity.ERROR, Severity.WARNING, Severity.INFO)
ICONS = {Severity.ERROR: "❌", Severity.WARNING: "⚠️", Severity.INFO: "ℹ️"}
SPARK_WIDTH = 32


def _table(report, findings: list[Finding]) -> list[str]:
    by_run = Counter((f.path, f.run, f.severity) for f in findings)
    runs = [r for r in report.runs if any(by_run[(r.path, r.name, s)] for s in SEVERITIES)]
    if not runs:
        return []
    lines = ["| run | format | points | errors | warnings | info |", "|---|---|---:|---:|---:|---:|"]
    for r in runs:
        name = r.path if r.name == r.path else f"{r.path} [{r.name}]"
        counts = " | ".join(str(by_run[(r.path, r.name, s)] or "") for s in SEVERITIES)
        lines.append(f"| {md(name)} | {md(r.format)} | {r.points} | {counts} |")
    quiet = len(report.runs) - len(runs)
    return lines + ([f"\n{quiet} other run{'s' if quiet != 1 else ''} without findings."] if quiet else [])


def _spark(report, f: Finding) -> str:
    curves = report.curves.get((f.path, f.run))
    if curves is None or f.metric not in curves.curves:
        return ""
    from curvelint.plot.focus import focus
    from curvelint.plot.sparkline import sparkline

    fo = focus(f, curves)
    line = sparkline(fo.primary, SPARK_WIDTH, fo.window, fo.log_rule) if fo else ""
    return f" `{line}`" if line else ""


def _line(report, f: Finding) -> str:
    where = " @ ".join([*([md(f.metric)] if f.metric else []), *([f"step {f.step}"] if f.step is not None else [])])
    run = md(f.run)
    return (f"- {ICONS[f.severity]} **{f.severity}** {md(f.rule)} {md(f.name)} · {run}"
            + (f" · {where}" if where else "") + _spark(report, f) + f": {md(f.message)}")


def render(report, options) -> str:
    findings = [f for f in report.findings if not options.quiet or f.severity >= Severity.WARNING]
    lines = [f"### curvelint: {md(summary_line(report))}", ""]
    lines += [f"- ❌ {md(e)}" for e in report.errors]
    table = _table(report, findings)
    if table:
        lines += [*table, ""]
    if findings:
        lines += ["#### Findings", "", *(_line(report, f) for f in findings)]
        lines += ["", "Sparklines: each character is a step bin; the window the rule judged is in [brackets], "
                  "`×` marks non-finite values."]
    return "\n".join(lines)
