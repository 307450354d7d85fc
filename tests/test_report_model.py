"""The report is the model's `Report`: every reporter renders it without looking at the logs again."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from conftest import FIXTURES

from curvelint.engine import lint
from curvelint.formats import FORMATS
from curvelint.model import Report, RunSummary
from curvelint.reporters import Options, render


def _without_elapsed(text: str) -> str:
    return re.sub(r"\d+(\.\d+)?\s*(ms|s)\b|\"elapsed\": [0-9.e-]+", "", text)


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_a_reporter_renders_the_same_report_once_the_logs_are_gone(fmt: str, tmp_path: Path, monkeypatch) -> None:
    shutil.copytree(FIXTURES / "demo", tmp_path / "demo")
    (tmp_path / ".git").mkdir()  # the repository root the CI formats write paths relative to
    monkeypatch.chdir(tmp_path)
    report = lint(["demo"])
    assert report.findings and isinstance(report, Report) and all(isinstance(r, RunSummary) for r in report.runs)
    before = render(report, fmt, Options())
    shutil.rmtree(tmp_path / "demo")
    assert _without_elapsed(render(report, fmt, Options())) == _without_elapsed(before)


def test_a_run_summary_names_the_file_its_findings_are_placed_at(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(FIXTURES)
    runs = {r.path: r for r in lint(["demo"]).runs}
    folder = runs["demo/healthy_tensorboard"]
    assert folder.log.startswith("demo/healthy_tensorboard/events.out.tfevents.") and not folder.log_is_folder
    history = runs["demo/overfitting_history.json"]
    assert history.log == history.path and not history.log_is_folder
