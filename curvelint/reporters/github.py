"""GitHub Actions workflow commands (`--format github`): findings become annotations.

``::error file=runs/a/events...,title=CL104 diverging-loss::val_loss @ step 120: ...``
(a run folder is named by its first event file, so the annotation can sit on a file);
warnings use ``::warning``, info findings ``::notice``. Message data escapes ``%``,
``\\r`` and ``\\n``; property values also escape ``,`` and ``:`` (GitHub's rules). Text from the
linted tree is `printable` first (line breaks kept in the message): control and bidi characters and
bytes that are not UTF-8 are escaped.
"""

from __future__ import annotations

import os

from curvelint.model import Severity
from curvelint.reporters.escape import printable, printable_lines
from curvelint.reporters.locate import Logs, headline

COMMANDS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _file(path: str) -> str:
    """The path relative to the workspace (the current folder), as annotations need."""
    rel = os.path.relpath(os.path.abspath(path))
    return (path if rel.startswith("..") else rel).replace(os.sep, "/")


def command(f, logs: Logs) -> str:
    message = printable_lines(headline(f))
    if f.run != f.path:
        message = f"[{printable(f.run)}] {message}"
    if f.hint:
        message += f"\nFix: {printable_lines(f.hint)}"
    props = (f"file={escape_property(printable(_file(logs.file(f.path))))},"
             f"title={escape_property(f'{f.rule} {f.name}')}")
    return f"::{COMMANDS[f.severity]} {props}::{escape_data(message)}"


def render(report, options) -> str:
    from curvelint.reporters.text import summary_line

    findings = [f for f in report.findings if not options.quiet or f.severity >= Severity.WARNING]
    logs = Logs.of(report)
    lines = [command(f, logs) for f in findings]
    lines += [f"::error::{escape_data(printable(e))}" for e in report.errors]
    lines.append(summary_line(report))
    return "\n".join(lines)
