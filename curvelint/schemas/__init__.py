"""JSON Schemas of curvelint's own output: ``report-v1.schema.json`` describes ``--format json``."""

from __future__ import annotations

import json
from importlib.resources import files
from typing import Any


def report_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of the v1 report that ``--format json`` prints."""
    return json.loads(files(__name__).joinpath("report-v1.schema.json").read_text(encoding="utf-8"))
