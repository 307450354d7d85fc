"""The output formats, declared once: name -> reporter module (`curvelint.reporters`).

The CLI's --format and the configuration's `format` key offer exactly these; nothing here
imports a reporter (or numpy), so the command line can list them at start-up.
"""

from __future__ import annotations

FORMATS: dict[str, str] = {
    "text": "curvelint.reporters.text",
    "concise": "curvelint.reporters.concise",
    "json": "curvelint.reporters.json",
    "sarif": "curvelint.reporters.sarif",
    "github": "curvelint.reporters.github",
    "junit": "curvelint.reporters.junit",
    "html": "curvelint.reporters.html",
    "markdown": "curvelint.reporters.markdown",
    "gitlab": "curvelint.reporters.gitlab",  # GitLab Code Quality (artifacts:reports:codequality)
    "rdjson": "curvelint.reporters.rdjson",  # reviewdog's Diagnostic Format (reviewdog -f=rdjson)
}
