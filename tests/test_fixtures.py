"""The committed fixtures: they read cleanly, the generators reproduce them, the demo covers
every format, the broken files give their problems, and the known truth of fixtures/train holds."""

from __future__ import annotations

import filecmp
import importlib.util
import json
import os
import sys
from functools import lru_cache
from pathlib import Path

import pytest

from curvelint import readers
from curvelint.discovery import discover
from curvelint.model import Run, Severity
from curvelint.registry import find_rule

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "fixtures"
TRAIN = FIXTURES / "train"
CURVE_RULES = ("CL100", "CL101", "CL102", "CL103", "CL104", "CL105", "CL106", "CL107", "CL110", "CL111",
               "CL112", "CL113", "CL114", "CL120", "CL121", "CL130", "CL131")
OWN_DIRS = ("demo", "broken", "train", "labelled")


def _script(name: str):
    """Import a fixture script (fixtures/ is not a package)."""
    path = FIXTURES / name
    spec = importlib.util.spec_from_file_location(f"fixture_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    sys.path.insert(0, str(path.parent))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(path.parent))
    return module


def _need_reader(fmt: str) -> None:
    if importlib.util.find_spec(readers.READERS[fmt]) is None:
        pytest.skip(f"reader {readers.READERS[fmt]} does not exist yet")


def _read_all(folder: Path) -> list[Run]:
    sources, errors = discover([str(folder)])
    assert not errors
    runs = []
    for source in sources:
        _need_reader(source.format)
        runs.extend(readers.read(source))
    return runs


# -- reading ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("folder", ["demo", "train/runs"])
def test_committed_fixtures_read_cleanly(folder):
    runs = _read_all(FIXTURES / folder)
    assert runs
    for run in runs:
        assert not run.problems, (run.path, run.problems)
        assert run.series, run.path


def test_demo_contains_each_format():
    sources, _ = discover([str(FIXTURES / "demo")])
    formats = {os.path.relpath(s.path, FIXTURES / "demo"): s.format for s in sources}
    assert formats == {
        "healthy_tensorboard": "tensorboard",
        "keras_tf2_layout": "tensorboard",  # train/ + validation/ is ONE run
        "nan_loss": "tensorboard",
        "overfitting_history.json": "keras-history",
        "step_lr_metrics.parquet": "parquet",
    }
    keras = next(s for s in sources if s.path.endswith("keras_tf2_layout"))
    assert sorted(keras.prefixes) == ["train/", "validation/"]


def test_keras_tf2_layout_reads_tensor_scalars():
    _need_reader("tensorboard")
    runs = _read_all(FIXTURES / "demo" / "keras_tf2_layout")
    [run] = runs
    assert {"train/epoch_loss", "validation/epoch_loss", "validation/epoch_accuracy"} <= set(run.series)
    assert len(run.series["validation/epoch_loss"]) == 12
    assert "train/keras" not in run.series  # the model-config text summary is not a scalar


def test_train_runs_cover_every_expected_run():
    expected = json.loads((TRAIN / "expected.json").read_text())["runs"]
    present = {p.name.removesuffix(".json") for p in (TRAIN / "runs").iterdir()}
    assert present == set(expected)


def test_own_fixture_bytes_stay_small():
    total = sum(f.stat().st_size for d in OWN_DIRS for f in (FIXTURES / d).rglob("*") if f.is_file())
    assert total < 1_000_000, total


# -- generators ------------------------------------------------------------------------------------
def _events(path: Path) -> list:
    """The Event protos of an event file, minus the writer's name (it may change with versions)."""
    import struct

    from tensorboard.compat.proto import event_pb2

    data, pos, out = path.read_bytes(), 0, []
    while pos + 12 <= len(data):
        (length,) = struct.unpack("<Q", data[pos:pos + 8])
        event = event_pb2.Event.FromString(data[pos + 12:pos + 12 + length])
        event.ClearField("source_metadata")
        out.append(event)
        pos += 16 + length
    return out


def _same_tree(a: Path, b: Path) -> None:
    files_a = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    assert files_a == files_b
    for rel in files_a:
        if filecmp.cmp(a / rel, b / rel, shallow=False):
            continue
        # other library versions may write other bytes for the same content
        if rel.suffix == ".parquet":  # the footer names the pyarrow version
            import pyarrow.parquet as pq

            assert pq.read_table(a / rel).equals(pq.read_table(b / rel)), rel
        elif "tfevents" in rel.name and "broken" not in str(b):  # damaged files must match byte for byte
            assert _events(a / rel) == _events(b / rel), rel
        else:
            raise AssertionError(f"{rel} differs from the committed file")


@pytest.mark.parametrize("script, folder", [("make_demo.py", "demo"), ("make_broken.py", "broken")])
def test_generator_reproduces_committed_bytes(tmp_path, script, folder):
    pytest.importorskip("tensorboard")
    _script(script).main(str(tmp_path / folder))
    _same_tree(tmp_path / folder, FIXTURES / folder)


def test_labelled_generator_writes_every_family(tmp_path):
    generate = _script("labelled/generate.py")
    truth = generate.generate(str(tmp_path), seeds=1)
    assert len(truth) == len(generate.FAMILIES)
    sources, _ = discover([str(tmp_path)])
    assert {os.path.normpath(s.path) for s in sources} == {t.path for t in truth}
    assert {f.rule for f in generate.FAMILIES if f.rule} == set(CURVE_RULES)


@pytest.fixture(scope="module")
def labelled(tmp_path_factory):
    """The labelled set at 3 seeds per family, linted once: (truth, findings per run, folder)."""
    from curvelint.engine import lint

    generate = _script("labelled/generate.py")
    score = _script("labelled/score.py")
    folder = tmp_path_factory.mktemp("labelled")
    truth = generate.generate(str(folder), seeds=3)
    return truth, score.by_run(lint([str(folder)]).findings, truth), folder


def test_labelled_healthy_families_get_no_warning(labelled):
    """The scorer's false-positive half: healthy patterns must stay quiet."""
    truth, grouped, folder = labelled
    loud = {os.path.relpath(t.path, folder): sorted({f.rule for f in grouped.get(t.path, [])
                                                      if f.severity >= Severity.WARNING})
            for t in truth if t.rule is None}
    assert not {p: codes for p, codes in loud.items() if codes}


def test_labelled_problem_families_are_detected(labelled):
    """The recall half, as a regression guard: each registered rule finds >= 2 of its 3 runs."""
    truth, grouped, _ = labelled
    missed: dict[str, int] = {}
    for t in truth:
        if t.rule and find_rule(t.rule) and not any(f.rule == t.rule for f in grouped.get(t.path, [])):
            missed[t.family] = missed.get(t.family, 0) + 1
    assert not {family: n for family, n in missed.items() if n > 1}, missed


# -- the demo --------------------------------------------------------------------------------------
DEMO_TRUTH = {  # run -> rules that must report it; None: a healthy run (no warning or error)
    "healthy_tensorboard": None,
    "keras_tf2_layout": None,
    "step_lr_metrics.parquet": None,
    "overfitting_history.json": {"CL110"},
    "nan_loss": {"CL100"},
}


@pytest.mark.parametrize("run", sorted(DEMO_TRUTH))
def test_demo_truth(run):
    from curvelint.engine import lint

    if run.endswith(".parquet"):
        _need_reader("parquet")
    report = lint([str(FIXTURES / "demo" / run)])
    codes = {f.rule for f in report.findings}
    if DEMO_TRUTH[run] is None:
        assert not [f for f in report.findings if f.severity >= Severity.WARNING], report.findings
    else:
        assert DEMO_TRUTH[run] <= codes, codes


# -- broken files ----------------------------------------------------------------------------------
BROKEN = {
    "flipped_crc": "unreadable",
    "truncated_events": "truncated",
    "malformed_history.json": "unreadable",
    "wrong_columns.parquet": "unreadable",
}


@pytest.mark.parametrize("name, kind", sorted(BROKEN.items()))
def test_broken_file_gives_its_problem(name, kind):
    sources, _ = discover([str(FIXTURES / "broken")])
    [source] = [s for s in sources if os.path.basename(s.path) == name]
    _need_reader(source.format)
    runs = readers.read(source)
    kinds = {p.kind for r in runs for p in r.problems}
    assert kind in kinds, (name, [p for r in runs for p in r.problems])
    for p in (p for r in runs for p in r.problems):
        assert "ModuleNotFoundError" not in p.message


def test_broken_event_files_keep_what_precedes_the_damage():
    _need_reader("tensorboard")
    for name in ("truncated_events", "flipped_crc", "healthy_run"):
        [run] = _read_all(FIXTURES / "broken" / name)
        assert len(run.series["train/loss"]) >= 8, name
    [healthy] = _read_all(FIXTURES / "broken" / "healthy_run")
    assert not healthy.problems
    assert len(healthy.series["train/loss"]) == 60


def test_lint_of_broken_folder_reports_healthy_run_too():
    from curvelint.engine import lint

    report = lint([str(FIXTURES / "broken")])
    reported = {os.path.basename(r.path) for r in report.runs}
    assert {"healthy_run", "truncated_events", "flipped_crc"} <= reported
    codes = {(os.path.basename(f.path), f.rule) for f in report.findings}
    assert ("truncated_events", "CL002") in codes
    assert ("flipped_crc", "CL001") in codes


# -- known truth of the real trainings -------------------------------------------------------------
def _truth() -> list:
    """(run, kind, codes) cases; the rules' known misses are non-strict xfails."""
    expected = json.loads((TRAIN / "expected.json").read_text())
    misses = expected.get("known_misses", {})
    cases = []
    for run, spec in expected["runs"].items():
        silent = CURVE_RULES if spec["silent"] == ["ALL"] else spec["silent"]
        for kind, codes in [("fire", c) for c in spec["fire"]] + [("silent", c) for c in silent]:
            reason = misses.get(f"{run}:{codes}")
            marks = [pytest.mark.xfail(reason=reason, strict=False)] if reason else []
            cases.append(pytest.param(run, kind, codes, marks=marks, id=f"{run}-{kind}-{codes}"))
    return cases


@lru_cache(maxsize=1)
def _train_findings() -> dict[str, list]:
    from curvelint.engine import lint

    report = lint([str(TRAIN / "runs")])
    out: dict[str, list] = {}
    for f in report.findings:
        out.setdefault(Path(f.path).name.removesuffix(".json"), []).append(f)
    return out


@pytest.mark.parametrize("run, kind, codes", _truth())
def test_train_known_truth(run, kind, codes):
    wanted = codes.split("|")
    if not any(find_rule(code) for code in wanted):
        pytest.skip(f"rule {codes} does not exist yet")
    if not (TRAIN / "runs" / run).is_dir():
        _need_reader("keras-history")
    findings = [f for f in _train_findings().get(run, []) if f.rule in wanted]
    if kind == "fire":
        assert findings, f"{codes} should report {run}"
    else:
        loud = [f for f in findings if f.severity >= Severity.WARNING]
        assert not loud, f"{codes} must not warn on {run}: {loud[0].message}"
