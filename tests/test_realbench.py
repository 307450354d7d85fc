"""fixtures/realbench: labels.json is well formed and every labelled run is read by curvelint.

The runs are real small trainings made by fixtures/realbench/make_runs.py; these tests check
the benchmark itself (labels, splits, paths, size), not how well the rules score on it.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from collections import defaultdict

import pytest

from conftest import FIXTURES

from curvelint.engine import lint

BENCH = FIXTURES / "realbench"
RUNS = BENCH / "runs"
KEYS = {"run", "format", "labels", "confidence", "notes", "split", "config", "seed", "framework", "fault"}
FORMATS = {"tensorboard", "keras", "keras_csv", "lightning_csv", "trainer_state"}
FRAMEWORKS = {"pytorch", "keras", "lightning", "transformers"}


def _module(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def labels():
    with open(BENCH / "labels.json") as f:
        return json.load(f)


@pytest.fixture(scope="module")
def taxonomy():
    path = FIXTURES / "taxonomy.py"
    if not path.exists():
        pytest.skip("fixtures/taxonomy.py is not present")
    return _module("realbench_taxonomy", path)


@pytest.fixture(scope="module")
def catalogue():
    sys.path.insert(0, str(BENCH))
    try:
        return _module("realbench_catalogue", BENCH / "catalogue.py")
    finally:
        sys.path.remove(str(BENCH))


def test_entries_are_well_formed(labels, taxonomy):
    assert len(labels) >= 300
    for e in labels:
        assert set(e) == KEYS, e["run"]
        assert e["format"] in FORMATS and e["framework"] in FRAMEWORKS, e["run"]
        assert e["labels"] and set(e["labels"]) <= taxonomy.LABELS, e
        assert e["confidence"] in ("clear", "arguable"), e["run"]
        assert e["split"] in ("dev", "test"), e["run"]
        assert isinstance(e["seed"], int) and e["notes"].strip(), e["run"]
        if e["labels"] == ["healthy"]:
            continue
        assert "healthy" not in e["labels"], e
        assert e["fault"] in e["labels"], e  # the injected fault, plus symptoms it showed
    assert len({e["run"] for e in labels}) == len(labels)
    assert len({(e["config"], e["seed"]) for e in labels}) == len(labels)


def test_every_run_path_exists_and_is_relative(labels):
    for e in labels:
        assert not os.path.isabs(e["run"]) and ".." not in e["run"].split("/"), e["run"]
        assert (RUNS / e["run"]).exists(), e["run"]


def test_splits_follow_the_rule(labels, catalogue):
    """test-only families are all "test"; elsewhere the family's highest seed is "test"."""
    families = {f["name"]: f for f in catalogue.FAMILIES}
    assert {e["split"] for e in labels} == {"dev", "test"}
    for e in labels:
        fam = families[e["config"].split("/")[0]]
        expected = "test" if fam["test_only"] or e["seed"] == max(fam["seeds"]) else "dev"
        assert e["split"] == expected, e["run"]
    test_only = [f for f in catalogue.FAMILIES if f["test_only"]]
    n_configs = sum(len(f["variants"]) for f in catalogue.FAMILIES)
    assert 0.25 <= sum(len(f["variants"]) for f in test_only) / n_configs <= 0.4


def test_each_fault_is_in_both_splits(labels):
    configs, splits = defaultdict(set), defaultdict(set)
    for e in labels:
        for label in e["labels"]:
            configs[label].add(e["config"])
            splits[label].add(e["split"])
    missing = {label: sorted(splits[label]) for label in configs
               if len(configs[label]) >= 2 and splits[label] != {"dev", "test"}}
    assert missing == {}
    faults = {e["fault"] for e in labels} - {"none"}
    assert len(faults) >= 13, faults


def test_healthy_share(labels):
    share = sum(e["labels"] == ["healthy"] for e in labels) / len(labels)
    assert 0.3 <= share <= 0.5, share


def _machine_prefixes() -> tuple[str, ...]:
    """Paths a generated log must not name: this checkout's parent, the home folder, temp folders."""
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    mine = {os.path.dirname(here) + os.sep, os.path.expanduser("~") + os.sep}
    return tuple(sorted(mine - {os.sep})) + ("/tmp/", "/home/", "/Users/", "C:\\")


def test_logs_are_small_and_machine_independent():
    total = 0
    for dirpath, _, files in os.walk(RUNS):
        for name in files:
            path = os.path.join(dirpath, name)
            total += os.path.getsize(path)
            assert not name.endswith((".pt", ".pth", ".ckpt", ".safetensors", ".bin", ".h5", ".keras")), path
            if name.endswith((".json", ".csv", ".log", ".yaml")):
                with open(path, encoding="utf-8") as f:
                    text = f.read()
                for prefix in _machine_prefixes():
                    assert prefix not in text, (path, prefix)
    assert total < 16 * 2**20, total


def test_curvelint_reads_every_run(labels):
    report = lint([str(RUNS)], jobs=2)
    unreadable = [(f.path, f.message) for f in report.findings if f.rule == "CL001"]
    assert unreadable == []
    crashes = [a for a in report.abstentions if a.reason.startswith("internal error")]
    assert crashes == []
    linted = {os.path.relpath(r.path, RUNS) for r in report.runs}
    assert linted == {e["run"] for e in labels}
    empty = [r.path for r in report.runs if r.points == 0]
    assert empty == []
