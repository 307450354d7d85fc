"""JUnit XML (`--format junit`) for CI test reports (GitLab, Jenkins, Azure DevOps).

One test case per run; each error or warning finding is a ``<failure>`` of that
test case; info findings are listed in its ``<system-out>`` and do not fail it.
Paths that do not exist are test cases with an ``<error>``. Text from the linted tree is valid XML 1.0
and safe to show (`printable_lines`: control and bidi characters, bytes that are not UTF-8 escaped).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from curvelint.model import Severity
from curvelint.reporters.escape import printable_lines


def _case_name(path: str, run: str) -> str:
    return path if run == path else f"{path} [{run}]"


def _failure_text(f) -> str:
    lines = [f"{f.rule} {f.name} ({f.severity})", f"metric: {f.metric}" if f.metric else "",
             f"step: {f.step}" if f.step is not None else "", f.message, f"fix: {f.hint}" if f.hint else ""]
    lines += [f"  {k}: {v}" for k, v in f.evidence.items()]
    return "\n".join(line for line in lines if line)


def document(report) -> ET.Element:
    by_run: dict[tuple[str, str], list] = {(r.path, r.name): [] for r in report.runs}
    for f in report.findings:
        by_run.setdefault((f.path, f.run), []).append(f)
    failures = sum(1 for f in report.findings if f.severity >= Severity.WARNING)
    counts = {"tests": str(len(by_run) + len(report.errors)), "failures": str(failures),
              "errors": str(len(report.errors)), "skipped": "0", "time": f"{report.elapsed:.3f}"}
    root = ET.Element("testsuites", {"name": "curvelint", **counts})
    suite = ET.SubElement(root, "testsuite", {"name": "curvelint", **counts})
    for (path, run), findings in sorted(by_run.items()):
        case = ET.SubElement(suite, "testcase", {"classname": "curvelint", "name": _case_name(path, run),
                                                 "file": path, "time": "0"})
        notes = []
        for f in findings:
            if f.severity >= Severity.WARNING:
                failure = ET.SubElement(case, "failure", {"type": f"{f.rule} {f.name}",
                                                          "message": f"{f.metric or 'run'}: {f.message}"})
                failure.text = _failure_text(f)
            else:
                notes.append(_failure_text(f))
        if notes:
            ET.SubElement(case, "system-out").text = "\n\n".join(notes)
    for err in report.errors:
        case = ET.SubElement(suite, "testcase", {"classname": "curvelint", "name": err.split(":")[0], "time": "0"})
        ET.SubElement(case, "error", {"message": err}).text = err
    return root


def _safe(element: ET.Element) -> None:
    """Every attribute and text of the tree made valid XML (ElementTree writes control characters as they are)."""
    for e in element.iter():
        e.attrib = {k: printable_lines(v) for k, v in e.attrib.items()}
        if e.text:
            e.text = printable_lines(e.text)


def render(report, options) -> str:
    root = document(report)
    _safe(root)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True)
