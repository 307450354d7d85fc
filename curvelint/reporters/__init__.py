"""Reporters turn a `Report` into text for people or machines; one module per format.

Each module exposes ``render(report: Report, options: Options) -> str``; one that writes large
documents may also expose ``write(report, options, fh)`` to stream them, and one that draws curves
names the points per series it draws with (`CURVE_BINS`), for `curve_request`.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, TextIO

from curvelint.formats import FORMATS  # noqa: F401  (format name -> reporter module, declared once)
# pixel bins per series each drawing format wants, and whether it draws every run (not only runs
# with a finding on a series) from a spool on disk; text draws only with Options.plot
CURVE_BINS = {"text": (120, False), "html": (300, True), "markdown": (64, False)}


@dataclass(frozen=True)
class Options:
    color: bool = False
    show_evidence: bool = False
    statistics: bool = False
    quiet: bool = False
    verbose: bool = False
    plot: bool = False  # text: draw each curve finding's plot (needs Report.curves)
    width: int = 80  # text: columns the plots may use


def render(report, fmt: str, options: Options) -> str:
    return importlib.import_module(FORMATS[fmt]).render(report, options)


def write(report, fmt: str, options: Options, fh: TextIO) -> None:
    """The report into an open file: streamed by formats that can, else `render` and a newline."""
    module = importlib.import_module(FORMATS[fmt])
    if hasattr(module, "write"):
        module.write(report, options, fh)
    else:
        fh.write(render(report, fmt, options) + "\n")


def curve_request(fmt: str, options: Options) -> Any:
    """The `curvelint.model.CurveRequest` that `fmt` needs from `lint` (None: it draws nothing)."""
    if fmt not in CURVE_BINS or (fmt == "text" and not options.plot):
        return None
    from curvelint.model import CurveRequest

    bins, every_run = CURVE_BINS[fmt]
    return CurveRequest(bins, every_run=every_run, spool=every_run)
