"""Reporters turn a `Report` into text for people or machines; one module per format.

Each module exposes ``render(report: Report, options: Options) -> str``.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

FORMATS = {
    "text": "curvelint.reporters.text",
    "json": "curvelint.reporters.json",
    "sarif": "curvelint.reporters.sarif",
    "github": "curvelint.reporters.github",
    "junit": "curvelint.reporters.junit",
}


@dataclass(frozen=True)
class Options:
    color: bool = False
    show_evidence: bool = False
    statistics: bool = False
    quiet: bool = False
    verbose: bool = False


def render(report, fmt: str, options: Options) -> str:
    return importlib.import_module(FORMATS[fmt]).render(report, options)
