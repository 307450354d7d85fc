"""The HTML report in a real headless Chromium (Debian's `chromium`), driven over the DevTools
protocol: the page loads with no console message, error or CSP violation and no network request,
its script runs (the CSP allows it by hash), every finding of the fixture runs is on it with its
window shaded, hovering a curve shows step and value, the filters work, and a screenshot is taken.
Skipped when Chromium is not installed."""

from __future__ import annotations

import base64
import html
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from cdp import Browser
from conftest import FIXTURES, curvelint_command
from curvelint.plot.svg import LEFT, Q, TOP

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(not os.access(CHROMIUM, os.X_OK),
                                reason=f"Chromium not found at {CHROMIUM} (apt-get install chromium; .ci/run does): "
                                       "the HTML report is not rendered in a browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-extensions",
         "--host-resolver-rules=MAP * ~NOTFOUND"]
RUNS = [FIXTURES / "demo", FIXTURES / "broken"]
HOVER = """(() => {
  const LEFT = @LEFT@, TOP = @TOP@, Q = @Q@;
  const svg = document.querySelector('#' + @RUN@ + ' svg.chart');
  svg.scrollIntoView();
  const line = svg.querySelector('path.ln[data-s]'), m = svg.getScreenCTM(), k = 7;
  const n = line.getAttribute('d').match(/-?\\d+/g).map(Number);  // M x y, then relative moves
  let x = 0, y = 0;
  for (let i = 0; i <= 2 * k; i += 2) { x += n[i]; y += n[i + 1]; }
  const p = {x: LEFT + x / Q, y: TOP + y / Q};  // path units -> viewBox units
  return {x: p.x * m.a + m.e, y: p.y * m.d + m.f, name: line.dataset.name,
          step: line.dataset.s.split(' ')[k], value: line.dataset.v.split(' ')[k]};
})()""".replace("@LEFT@", str(LEFT)).replace("@TOP@", str(TOP)).replace("@Q@", str(Q))


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> tuple[Path, list[dict]]:
    out = tmp_path_factory.mktemp("report") / "report.html"
    made = subprocess.run([*curvelint_command(), "report", *map(str, RUNS), "-o", str(out)],
                          capture_output=True, text=True, timeout=300)
    assert made.returncode == 1, made.stderr
    listed = subprocess.run([*curvelint_command(), *map(str, RUNS), "--format", "json"],
                            capture_output=True, text=True, timeout=300)
    return out, json.loads(listed.stdout)["findings"]


@pytest.fixture
def browser(tmp_path):
    b = Browser(CHROMIUM, [*FLAGS, f"--user-data-dir={tmp_path / 'profile'}"])
    yield b
    b.close()


def test_the_report_in_chromium(report, browser, tmp_path):
    page, findings = report
    text = page.read_text(encoding="utf-8")
    assert "http://" not in text and "https://" not in text
    session = browser.open(page.as_uri())
    browser.wait(0.5)

    noise = [e for e in browser.events if e.get("method") in ("Runtime.consoleAPICalled", "Runtime.exceptionThrown",
                                                               "Log.entryAdded")]
    assert noise == []  # no console message, no exception, no CSP violation
    requests = [e["params"]["request"]["url"] for e in browser.events if e.get("method") == "Network.requestWillBeSent"]
    assert requests == [page.as_uri()]  # the page itself, nothing else
    assert browser.evaluate(session, "document.documentElement.className") == "js"  # its script ran

    dom = browser.evaluate(session, "document.documentElement.outerHTML")
    assert len(findings) >= 5 and dom.count('class="finding ') == len(findings)
    for f in findings:
        assert html.escape(f["message"], quote=False) in dom, f["message"]
    assert dom.count('<rect class="win') >= sum(1 for f in findings if f["metric"])

    run = browser.evaluate(session, "[...document.querySelectorAll('details.run[open]')]"
                                    ".find(d => d.querySelector('path.ln[data-s]')).id")
    point = browser.evaluate(session, HOVER.replace("@RUN@", json.dumps(run)))
    browser.send("Input.dispatchMouseEvent", {"type": "mouseMoved", "x": point["x"], "y": point["y"]}, session=session)
    browser.wait(0.2)
    tip = browser.evaluate(session, "document.getElementById('tip').textContent")
    assert point["name"] in tip and f"step {point['step']}" in tip
    assert f"{float(point['value']):.4g}".rstrip("0").rstrip(".") in tip

    shown = "document.querySelectorAll('#findings tbody tr:not(.hidden)').length"
    assert browser.evaluate(session, shown) == len(findings)
    browser.evaluate(session, "(() => { const box = document.querySelector('#flt-sev input[value=error]');"
                              " box.checked = false; box.dispatchEvent(new Event('change')); })()")
    assert browser.evaluate(session, shown) == sum(1 for f in findings if f["severity"] != "error")

    browser.evaluate(session, "(() => { const box = document.querySelector('#flt-sev input[value=error]');"
                              " box.checked = true; box.dispatchEvent(new Event('change')); window.scrollTo(0, 0); })()")
    shot = browser.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True,
                                                   "clip": {"x": 0, "y": 0, "width": 1280, "height": 2200, "scale": 1}},
                        session=session)
    png = base64.b64decode(shot["data"])
    (tmp_path / "report.png").write_bytes(png)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000  # a page with charts, not a blank one
