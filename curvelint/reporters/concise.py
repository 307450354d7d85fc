"""`--format concise`: one line per finding, as ruff's concise output (for grep and editors).

``runs/a:train/loss@83: CL100 [error] +inf/nan at step 83 ...`` is ``path`` (and ``:run`` when the
run is not the path, e.g. one model of several in a history file), ``metric@step`` where the
finding has them, the code, the severity and the message; reading errors come as ``error: ...``
lines; then the summary line. Text from the linted tree is `printable`.
"""

from __future__ import annotations

from curvelint.model import Severity
from curvelint.reporters.escape import printable


def line(f) -> str:
    where = printable(f.path if f.run == f.path else f"{f.path}:{f.run}")
    at = f.metric or ""
    if f.step is not None:
        at += f"@{f.step}"
    return f"{where}:{printable(at) + ':' if at else ''} {f.rule} [{f.severity}] {printable(f.message)}"


def render(report, options) -> str:
    from curvelint.reporters.text import summary_line

    findings = [f for f in report.findings if not options.quiet or f.severity >= Severity.WARNING]
    lines = [line(f) for f in findings] + [f"error: {printable(e)}" for e in report.errors]
    lines.append(summary_line(report))
    return "\n".join(lines)
