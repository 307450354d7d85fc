"""The self-contained HTML report (`curvelint report`, `--format html`) and the Markdown summary
(`--format markdown`), on the fixtures and on hand-made reports with hostile names."""

from __future__ import annotations

import html
import json
import re
import subprocess

import numpy as np
import pytest

from conftest import FIXTURES, curvelint_command
from curvelint.engine import CurveRequest, Report, RunSummary, lint
from curvelint.model import Finding, Run, Series, Severity
from curvelint.plot.curves import CurveSpool, extract
from curvelint.plot.scale import Axis
from curvelint.reporters import Options, curve_request, render
from curvelint.roles import assign_roles

DEMO = FIXTURES / "demo"


def cli(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([*curvelint_command(), *args], capture_output=True, text=True, timeout=300, cwd=cwd)


def page_of(*paths: str, options: Options = Options()) -> tuple[Report, str]:
    report = lint(list(paths), curves=curve_request("html", options))
    return report, render(report, "html", options)


def assert_offline(page: str) -> None:
    """Nothing on the page can make a request: a CSP that allows nothing but the page's own
    inline style and script, no URL of any scheme, links only to anchors on the page."""
    csp = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">', page).group(1)
    assert csp.startswith("default-src 'none';") and "unsafe" not in csp
    assert not re.search(r"(?i)\b(?:https?|ftp|wss?)://", page)
    assert not re.search(r"(?i)<[a-z][^>]*\s(?:src|srcset|poster|data|action|xlink:href)\s*=", page)
    style = page[page.index("<style>"):page.index("</style>")]
    assert "url(" not in style and "@import" not in style
    assert set(re.findall(r'(?i)<[a-z][^>]*\shref="(.)', page)) == {"#"}
    assert page.count("<script>") == 1 and page.count("<style>") == 1


def test_every_finding_of_the_fixtures_is_on_the_page_with_its_window_shaded():
    report, page = page_of(str(FIXTURES))
    assert report.findings and isinstance(report.curves, CurveSpool)
    articles = re.findall(r'<article class="finding (\w+)" id="(f-\d+)"', page)
    assert len(articles) == len(report.findings)
    for i, f in enumerate(report.findings):
        assert f'id="f-{i}"' in page and html.escape(f.message).replace("://", "&#58;//") in page
        assert f'href="#rule-{f.rule}"' in page and f'id="rule-{f.rule}"' in page
    shaded = set(re.findall(r'<a href="#(f-\d+)"><rect class="win', page))
    on_curves = {f"f-{i}" for i, f in enumerate(report.findings)
                 if f.metric and (f.path, f.run) in report.curves and f.metric in report.curves[(f.path, f.run)].curves}
    assert on_curves and on_curves <= shaded  # each finding on a drawn series has its window on a chart
    assert page.count('<details class="run"') == len(report.runs)
    assert_offline(page)


def test_demo_page_shows_curves_evidence_rule_docs_and_fix():
    report, page = page_of(str(DEMO))
    cl110 = next(i for i, f in enumerate(report.findings) if f.rule == "CL110")
    block = page[page.index(f'id="f-{cl110}"'):]
    block = block[:block.index("</article>")]
    assert "judged steps 9..29" in block and "<dt>best_step</dt><dd>9</dd>" in block and "Fix:" in block
    assert page.count('<svg class="chart"') >= 5 and '<path class="ln"' in page
    assert "How to fix" in page or "fix" in page[page.index('id="rule-CL110"'):].lower()
    nan_chart = page[page.index("fixtures/demo/nan_loss</b>"):]
    assert 'class="nf"' in nan_chart[:nan_chart.index("</details>")]  # non-finite points marked
    assert "log scale" in nan_chart[:nan_chart.index("</details>")]


def _hostile_report() -> Report:
    evil = 'runs/<script>alert(1)</script>/"a&b"/\u202eevil\x1b[2J/http://x.example/'
    n = 400
    run = Run(evil, evil, "csv", {"<b>loss</b>": Series("<b>loss</b>", np.arange(n), np.linspace(3, 1, n))})
    curves = extract(run, assign_roles(list(run.series)), 100)
    f = Finding("CL107", "slow-convergence", Severity.WARNING, evil, evil, "<b>loss</b>", 10,
                "loss <i>fell</i> & stalled; see https://example.com", {"first_step": 10, "last_step": 300,
                                                                       "note": "<img src=x onerror=alert(1)>"})
    return Report(runs=[RunSummary(evil, evil, "csv", 1, n, ("note <u>x</u>",))], findings=[f],
                  curves={(evil, evil): curves})


def test_text_from_logs_is_escaped_and_holds_no_url():
    page = render(_hostile_report(), "html", Options())
    assert "<script>alert" not in page and "<b>loss" not in page and "<img" not in page and "<u>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "\\u202e" in page and "\\x1b" in page
    assert "\u202e" not in page and "\x1b" not in page
    assert_offline(page)


def test_the_quiet_option_leaves_out_info_findings():
    report = _hostile_report()
    info = Finding("CL111", "early-stopping-missed", Severity.INFO, report.runs[0].path, report.runs[0].name,
                   None, None, "info only", {})
    report.findings.append(info)
    assert "info only" in render(report, "html", Options())
    assert "info only" not in render(report, "html", Options(quiet=True))


def test_report_command_writes_one_file_and_format_html_is_the_same_page(tmp_path):
    out = tmp_path / "r.html"
    result = cli("report", str(DEMO), "-o", str(out))
    assert result.returncode == 1 and f"wrote {out}" in result.stderr and result.stdout == ""
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert_offline(page)
    same = tmp_path / "same.html"
    assert cli(str(DEMO), "--format", "html", "-o", str(same)).returncode == 1
    strip = lambda text: re.sub(r"in \d+\.\d+s", "", text)
    assert strip(same.read_text(encoding="utf-8")) == strip(page)
    default = cli("report", str(DEMO / "healthy_tensorboard"), cwd=tmp_path)
    assert default.returncode == 0 and (tmp_path / "curvelint-report.html").is_file()


def test_html_report_is_the_same_with_worker_processes(tmp_path):
    pages = []
    for jobs in ("1", "2"):
        out = tmp_path / f"j{jobs}.html"
        cli("report", str(FIXTURES / "demo"), str(FIXTURES / "broken"), "-j", jobs, "-o", str(out))
        pages.append(re.sub(r"in \d+\.\d+s", "", out.read_text(encoding="utf-8")))
    assert pages[0] == pages[1]


# -- markdown -----------------------------------------------------------------------------------------

def _table_rows(text: str) -> list[list[str]]:
    rows = [line for line in text.splitlines() if line.startswith("|")]
    return [re.split(r"(?<!\\)\|", row.strip())[1:-1] for row in rows]


def test_markdown_is_a_table_and_one_line_per_finding_with_a_sparkline():
    result = cli(str(DEMO), "--format", "markdown")
    assert result.returncode == 1
    text = result.stdout
    rows = _table_rows(text)
    assert len(rows) == 4 and re.fullmatch(r"\|---\|---\|---:\|---:\|---:\|---:\|", text.splitlines()[3])
    assert {len(r) for r in rows} == {6}  # GitHub renders it as a table: every row has the header's cells
    lines = [line for line in text.splitlines() if line.startswith("- ")]
    findings = json.loads(cli(str(DEMO), "--format", "json").stdout)["findings"]
    assert len(lines) == len(findings)
    overfit = next(line for line in lines if "CL110" in line)
    assert re.search(r"`[▁▂▃▄▅▆▇█]+\[[▁▂▃▄▅▆▇█]+\]`", overfit)  # the judged window in brackets
    nan = next(line for line in lines if "train/loss" in line)
    assert "×" in nan.split("`")[1]  # non-finite points


def test_markdown_escapes_names_that_would_break_the_table():
    report = _hostile_report()
    report.runs[0] = RunSummary("a|b", "a|b", "csv", 1, 10)
    report.findings[0] = Finding("CL107", "slow-convergence", Severity.WARNING, "a|b", "a|b", None, None,
                                 "x | y `z` <b>", {})
    text = render(report, "markdown", Options())
    rows = _table_rows(text)
    assert {len(r) for r in rows} == {6} and "a\\|b" in text and "<b>" not in text


def test_spool_keeps_one_run_of_curves_in_memory():
    report = lint([str(DEMO)], curves=CurveRequest(50, every_run=True, spool=True))
    assert isinstance(report.curves, CurveSpool) and len(report.curves) == len(report.runs)
    assert report.curves.size > 0
    first = report.curves[(report.runs[0].path, report.runs[0].name)]
    assert first.curves and all(len(c.data.steps) <= 2 * 50 + 2 for c in first.curves.values())


def test_a_sparkline_keeps_a_one_step_spike_and_marks_non_finite_bins():
    from curvelint.plot.sparkline import sparkline

    n = 1_000_000
    values = np.ones(n)
    values[400_000] = 100.0
    values[-100_000:] = np.nan  # the last three bins hold only NaN
    run = Run("r", "r", "csv", {"loss": Series("loss", np.arange(n), values)})
    line = sparkline(extract(run, assign_roles(["loss"]), 64).curves["loss"], 32, (300_000, 500_000))
    assert line.count("█") == 1 and line.endswith("×") and line.count("[") == 1 and line.count("]") == 1
    inside = line[line.index("[") + 1:line.index("]")]
    assert "█" in inside and set(line.replace("[", "").replace("]", "")) == {"▁", "█", "×"}


def test_step_axis_labels_are_whole_steps_even_for_a_single_logged_step(tmp_path):
    """A run that logged one step (axis 0..1) is labelled 0 and 1, not 0, 0, 0, 0, 0, 1 (steps are
    integers: 0.2 printed as a step reads 0); value axes keep their fractional ticks."""
    assert Axis(0, 1).ticks(5, integer=True) == [0.0, 1.0]
    assert Axis(0, 3).ticks(5, integer=True) == [0.0, 1.0, 2.0, 3.0]
    assert Axis(0, 1000).ticks(5, integer=True) == Axis(0, 1000).ticks(5)
    assert Axis(0.3, 0.34).ticks(4) == pytest.approx([0.3, 0.32, 0.34])
    (tmp_path / "history.json").write_text('{"loss": [0.52], "val_loss": [0.318]}', encoding="utf-8")
    _, page = page_of(str(tmp_path))
    labels = re.findall(r'<text class="xl"[^>]*>([^<]*)</text>', page)
    assert labels and set(labels) == {"0", "1"} and labels.count("0") == labels.count("1")


def test_tables_name_runs_below_the_folder_they_share():
    """Runs under one folder: the tables show what tells them apart, the full path in the tooltip."""
    from curvelint.reporters.html import common_folder

    report, page = page_of(str(DEMO / "nan_loss"), str(DEMO / "overfitting_history.json"))
    under = common_folder([r.path for r in report.runs])
    assert under.endswith("demo/") and "(runs under " + html.escape(under) in page
    for r in report.runs:
        short = r.path[len(under):]
        assert f'title="{html.escape(r.path)}">{html.escape(short)}</a>' in page
    _, single = page_of(str(DEMO / "nan_loss"))
    assert "runs under" not in single


@pytest.mark.parametrize("paths, folder", [
    (["a/b/r1/events", "a/b/r2/events"], "a/b/"),
    (["a/b/r1", "a/b/c/r2/metrics.csv"], "a/b/"),
    (["/tmp/x/r1", "/tmp/y/r2"], "/tmp/"),
    (["r1/f.json", "r2/f.json"], ""),
    (["./r1", "./r2"], ""),
    (["a/b/r1"], ""),
    (["s3://bucket/runs/r1", "s3://bucket/runs/r2"], "s3://bucket/runs/"),
])
def test_common_folder(paths, folder):
    from curvelint.reporters.html import common_folder

    assert common_folder(paths) == folder
