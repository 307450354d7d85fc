"""One self-contained HTML page (`--format html`, `curvelint report`): summary, runs, curves, rules.

The page fetches nothing (a Content-Security-Policy of ``default-src 'none'`` allows only its own
inline style and script, by hash) and reads without JavaScript: tables, inline SVG charts (each
finding's judged window shaded and linked to it), evidence tables and the rules' documentation.
The script adds hover read-outs, filters and sorting (`html_assets`). Every text from the logs goes
through `html_text`.

`write` streams the page: the runs' curves come from ``Report.curves`` one run at a time (a spool
on disk for big reports, see `curvelint.engine.CurveRequest`), so memory does not grow with runs.
"""

from __future__ import annotations

import io
import json
from collections import Counter
from typing import Any, TextIO

from curvelint import __version__
from curvelint.model import Finding, Severity
from curvelint.reporters.escape import html_text as esc
from curvelint.reporters.html_assets import CSP, CSS, JS
from curvelint.reporters.text import summary_line

SEVERITIES = (Severity.ERROR, Severity.WARNING, Severity.INFO)
MAX_VALUE = 400  # characters of one evidence value shown


def _shown(report, options) -> list[Finding]:
    return [f for f in report.findings if not options.quiet or f.severity >= Severity.WARNING]


def _value(v: Any) -> str:
    if isinstance(v, float):
        text = f"{v:.6g}"
    elif isinstance(v, (list, tuple, dict)):
        text = json.dumps(v, default=str, ensure_ascii=False)
    else:
        text = str(v)
    return text if len(text) <= MAX_VALUE else text[:MAX_VALUE - 1] + "…"


def _where(f: Finding) -> str:
    parts = [f"<code>{esc(f.metric)}</code>"] if f.metric else []
    if f.step is not None:
        parts.append(f"step {f.step}")
    return " @ ".join(parts)


def _head(report, title: str) -> str:
    return ('<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<meta name="generator" content="curvelint {esc(__version__)}">'
            f"<title>{esc(title)}</title><style>{CSS}</style></head><body><div id=\"tip\"></div>\n")


def _counts(findings: list[Finding]) -> str:
    c = Counter(f.severity for f in findings)
    plural = lambda s: f"{s}s" if c[s] > 1 and s != Severity.INFO else str(s)
    return " ".join(f'<span class="sev {s}">{c[s]} {plural(s)}</span>' for s in SEVERITIES if c[s])


def common_folder(paths: list[str]) -> str:
    """The folder every one of two or more run paths lies under ('' if none, or a single run),
    ending with '/': the page names runs below it, so the table shows what tells them apart."""
    if len(paths) < 2:
        return ""
    folders = [p.replace("\\", "/").split("/")[:-1] for p in paths]
    common: list[str] = []
    for parts in zip(*folders):
        if len(set(parts)) > 1:
            break
        common.append(parts[0])
    prefix = "/".join(common)
    return prefix + "/" if prefix.strip("/.") else ""


def _short(label: str, under: str) -> str:
    """A run's label on the page, below the folder all runs share."""
    return label[len(under):] if under and label.replace("\\", "/").startswith(under) else label


def _run_link(label: str, under: str, anchor: str) -> str:
    return f'<a href="#{anchor}" title="{esc(label)}">{esc(_short(label, under))}</a>'


def _runs_table(report, run_ids: dict, by_run: dict, under: str) -> str:
    rows = []
    for r in report.runs:
        key = (r.path, r.name)
        c = Counter(f.severity for f in by_run.get(key, []))
        name = r.path if r.name == r.path else f"{r.path} [{r.name}]"
        rows.append(f'<tr><td class="path">{_run_link(name, under, run_ids[key])}</td><td>{esc(r.format)}</td>'
                    f'<td class="num">{r.series}</td><td class="num">{r.points}</td>'
                    + "".join(f'<td class="num">{c[s] or ""}</td>' for s in SEVERITIES) + "</tr>")
    head = ('<tr><th data-sort="text">run</th><th data-sort="text">format</th><th class="num" data-sort="num">series'
            '</th><th class="num" data-sort="num">points</th>'
            + "".join(f'<th class="num" data-sort="num">{s}</th>' for s in SEVERITIES) + "</tr>")
    return f'<table id="runs"><thead>{head}</thead><tbody>{"".join(rows)}</tbody></table>'


def _filters(findings: list[Finding]) -> str:
    rules = sorted({(f.rule, f.name) for f in findings})
    options = "".join(f'<option value="{esc(code)}">{esc(code)} {esc(name)}</option>' for code, name in rules)
    boxes = "".join(f'<label><input type="checkbox" value="{s}" checked> {s}</label> ' for s in SEVERITIES)
    return (f'<div class="filters"><span id="flt-sev">{boxes}</span>'
            f'<label>rule <select id="flt-rule"><option value="">all</option>{options}</select></label>'
            '<label>run <input id="flt-run" type="search" placeholder="part of the path"></label>'
            f'<span id="flt-count" class="muted">{len(findings)} shown</span></div>')


def _data(f: Finding) -> str:
    return f'data-sev="{f.severity}" data-rule="{esc(f.rule)}" data-run="{esc(f.path)}"'


def _findings_table(findings: list[Finding], ids: dict[int, str], run_ids: dict, under: str) -> str:
    rows = []
    for f in findings:
        run = run_ids.get((f.path, f.run), "")
        rows.append(f'<tr {_data(f)}><td data-key="{int(f.severity)}"><span class="sev {f.severity}">{f.severity}'
                    f'</span></td><td class="rule"><a href="#rule-{esc(f.rule)}">{esc(f.rule)}</a> {esc(f.name)}</td>'
                    f'<td class="path">{_run_link(f.run, under, run)}</td><td>{esc(f.metric or "")}</td>'
                    f'<td class="num">{"" if f.step is None else f.step}</td>'
                    f'<td class="msg"><a href="#{ids[id(f)]}">{esc(f.message)}</a></td></tr>')
    head = ('<tr><th data-sort="num">severity</th><th data-sort="text">rule</th><th data-sort="text">run</th>'
            '<th data-sort="text">series</th><th class="num" data-sort="num">step</th><th>finding</th></tr>')
    return f'<table id="findings"><thead>{head}</thead><tbody>{"".join(rows)}</tbody></table>'


def _finding(f: Finding, fid: str, window: tuple[int, int] | None) -> str:
    ev = "".join(f"<div><dt>{esc(k)}</dt><dd>{esc(_value(v))}</dd></div>" for k, v in f.evidence.items())
    shaded = f' <span class="muted">· judged steps {window[0]}..{window[1]}, shaded above</span>' if window else ""
    return (f'<article class="finding {f.severity}" id="{fid}" {_data(f)}>'
            f'<h3><span class="sev {f.severity}">{f.severity}</span> <a href="#rule-{esc(f.rule)}">{esc(f.rule)} '
            f"{esc(f.name)}</a> {_where(f)}{shaded}</h3><p>{esc(f.message)}</p>"
            + (f'<p class="fix"><b>Fix:</b> {esc(f.hint)}</p>' if f.hint else "")
            + (f'<details open><summary>evidence</summary><dl class="ev">{ev}</dl></details>' if ev else "")
            + "</article>")


def _charts(curves, findings: list[Finding], ids: dict[int, str]) -> tuple[str, dict[int, tuple[int, int]]]:
    """The run's charts, and the judged window of each finding drawn on them."""
    from curvelint.plot.curves import groups
    from curvelint.plot.focus import focus
    from curvelint.plot.svg import Marker, Shade, chart, color

    focused = [(f, fo) for f in findings if (fo := focus(f, curves)) is not None]
    windows = {id(f): fo.window for f, fo in focused if fo.window}
    figures = []
    for title, members in groups(curves):
        names = {c.name for c in members}
        shades, markers, log_hint = [], [], False
        for f, fo in focused:
            if not names & {c.name for c in fo.series}:
                continue
            log_hint = log_hint or fo.log_rule
            a, b = fo.window or ((f.step, f.step) if f.step is not None else (None, None))
            if a is not None and b is not None:  # (both or neither)
                shades.append(Shade(a, b, f.rule, str(f.severity), f"#{ids[id(f)]}",
                                    f"{f.rule} {f.name}: steps {a}..{b}. {f.message}"))
            if fo.primary.name in names:
                markers += [Marker(p.step, p.value if p.value is not None else fo.primary.value_at(p.step),
                                   f"{f.rule} {p.label} at step {p.step}") for p in fo.points]
        legend = "".join(f'<svg class="sw" viewBox="0 0 14 4"><rect width="14" height="4" fill="{color(c, i)}"/>'
                         f"</svg>{esc(c.name)}" for i, c in enumerate(members))
        svg = chart(members, shades, markers, log_hint or members[0].role in ("lr", "grad_norm"), title)
        figures.append(f"<figure>{svg}<figcaption>{legend}</figcaption></figure>")
    return f'<div class="charts">{"".join(figures)}</div>', windows


def _run(summary, rid: str, findings: list[Finding], ids: dict[int, str], curves, abstentions) -> str:
    name = summary.path if summary.name == summary.path else f"{summary.path} [{summary.name}]"
    charts, windows = _charts(curves, findings, ids) if curves is not None else ("", {})
    notes = "".join(f'<p class="muted">note: {esc(n)}</p>' for n in summary.notes)
    absent = "".join(f"<li>{esc(a.rule)}: {esc(a.reason)}</li>" for a in abstentions)
    return (f'<details class="run" id="{rid}"{" open" if findings else ""}><summary><b>{esc(name)}</b> '
            f'<span class="muted">{esc(summary.format)} · {summary.series} series · {summary.points} points</span> '
            f'{_counts(findings) if findings else "<span class=muted>· no findings</span>"}</summary><div class="body">'
            + notes + charts + "".join(_finding(f, ids[id(f)], windows.get(id(f))) for f in findings)
            + (f"<details><summary>rules that abstained</summary><ul>{absent}</ul></details>" if absent else "")
            + "</div></details>\n")


def _rules(findings: list[Finding]) -> str:
    from curvelint.registry import find_rule

    out = []
    for code in sorted({f.rule for f in findings}):
        rule = find_rule(code)
        if rule is not None:
            out.append(f'<section id="rule-{esc(code)}"><h3>{esc(code)} {esc(rule.name)} '
                       f'<span class="muted">({rule.severity} by default)</span></h3><p>{esc(rule.summary)}</p>'
                       f'<pre class="doc">{esc(rule.doc())}</pre></section>')
    return "<h2>Rules</h2>" + "".join(out) if out else ""


def write(report, options, fh: TextIO) -> None:
    """Write the whole page to `fh`, one run's section at a time."""
    findings = _shown(report, options)
    ids = {id(f): f"f-{i}" for i, f in enumerate(findings)}
    run_ids = {(r.path, r.name): f"run-{i}" for i, r in enumerate(report.runs)}
    by_run: dict[tuple[str, str], list[Finding]] = {}
    for f in findings:
        by_run.setdefault((f.path, f.run), []).append(f)
    abstained: dict[str, list] = {}
    for a in report.abstentions if options.verbose else ():
        abstained.setdefault(a.run, []).append(a)
    fh.write(_head(report, f"curvelint: {len(report.runs)} runs, {len(findings)} findings"))
    fh.write(f'<h1>curvelint report</h1><p class="counts">{esc(summary_line(report))}</p>')
    fh.write("".join(f'<p class="sev error">{esc(e)}</p>' for e in report.errors))
    under = common_folder([r.path for r in report.runs])
    where = f' <span class="muted">(runs under {esc(under)})</span>' if under else ""
    fh.write(f"<h2>Findings{where}</h2>{_filters(findings)}{_findings_table(findings, ids, run_ids, under)}")
    fh.write(f"<h2>Runs{where}</h2>{_runs_table(report, run_ids, by_run, under)}\n")
    for r in report.runs:
        key = (r.path, r.name)
        fh.write(_run(r, run_ids[key], by_run.get(key, []), ids, report.curves.get(key), abstained.get(r.name, [])))
    fh.write(_rules(findings))
    fh.write(f'<p class="muted">made by curvelint {esc(__version__)}; this page loads nothing from anywhere.</p>'
             f"<script>{JS}</script></body></html>\n")


def render(report, options) -> str:
    buf = io.StringIO()
    write(report, options, buf)
    return buf.getvalue()
