"""Every file in ../shared/realworld is read without a traceback, and the curve rules agree with
what SOURCES.md says each run really shows — including its traps (healthy runs that look bad)."""

from __future__ import annotations

import pytest

from curvelint.engine import lint
from curvelint.model import Severity
from curvelint.registry import find_rule


@pytest.fixture(scope="module")
def report(request):
    from conftest import REALWORLD

    if not REALWORLD.is_dir():
        pytest.skip("../shared/realworld is not present")
    return lint([str(REALWORLD)], jobs=2)


def findings_for(report, slug: str, min_severity=Severity.INFO):
    return [f for f in report.findings if f"/{slug}/" in f.path + "/" and f.severity >= min_severity]


def rules_for(report, slug: str, min_severity=Severity.INFO) -> set[str]:
    return {f.rule for f in findings_for(report, slug, min_severity)}


def test_every_file_is_read_without_internal_errors(report):
    assert len(report.runs) >= 40
    internal = [f for f in report.findings if f.rule == "CL001" and ("Error:" in f.message or "Traceback" in f.message)]
    assert internal == [], internal
    crashes = [a for a in report.abstentions if a.reason.startswith("internal error")]
    assert crashes == [], crashes


@pytest.mark.parametrize("slug", [
    "akshaykulkarni3467_naf-dqn",      # RL: loss rises while the return improves
    "grafit-kil_helmet-yolov5",        # cls_loss exactly 0 on a one-class dataset
    "alperclk_video-lstm",             # val_accuracy 1.0 on a tiny validation set
    "abdul-aa_text-gen-lstm",          # healthy
    "dheena731_tinyllama",             # healthy, still improving
    "coralreeffish_whisper-tiny",      # healthy long run
    "hcdescamps_cv-image-cls",         # healthy, fit/validate/test writers in one folder
    "bvoja_gpttt",                     # healthy, short
])
def test_traps_and_healthy_runs_get_no_curve_warnings(report, slug):
    curve = {f.rule for f in findings_for(report, slug, Severity.WARNING) if f.rule.startswith("CL1")}
    assert curve == set(), [f.message for f in findings_for(report, slug, Severity.WARNING)]


@pytest.mark.parametrize("slug, code", [
    ("0729max0729_pinnforem", "CL100"),          # late NaN
    ("best1cookie1_nn-oedometer", "CL100"),      # version_26: NaN from the first value
    ("anaccount_dlgn", "CL110"),                 # textbook overfitting
    ("aigoncharov_trainer-state-viz", "CL110"),  # severe overfitting
    ("akboles_voice-id", "CL110"),               # overfit from epoch 0
])
def test_known_problems_are_found(report, slug, code):
    assert find_rule(code) is not None, f"{code} is not registered"
    assert code in rules_for(report, slug)
