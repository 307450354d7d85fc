"""curvelint.engine: batching for --jobs, deterministic order, cached role assignment."""

from __future__ import annotations

import dataclasses

from conftest import FIXTURES

from curvelint import engine
from curvelint.config import Config
from curvelint.discovery import RunSource
from curvelint.engine import _batches, lint
from curvelint.roles import assign_roles


def _sources(tmp_path, sizes: list[int]) -> list[RunSource]:
    out = []
    for i, size in enumerate(sizes):
        f = tmp_path / f"run{i:02d}.csv"
        f.write_bytes(b"x" * size)
        out.append(RunSource(str(f), "csv", (str(f),)))
    return out


def test_batches_are_consecutive_and_cover_every_source(tmp_path):
    sizes = [100] * 30 + [500_000] + [100] * 9
    sources = _sources(tmp_path, sizes)
    for jobs in (2, 3, 8):
        batches = _batches(sources, sizes, jobs)
        assert [s for b in batches for s in b] == sources and all(batches)
        assert len(batches) >= 3
    big = next(b for b in _batches(sources, sizes, 2) if any("run30" in s.path for s in b))
    assert len(big) <= 2  # a large run is (nearly) a batch of its own
    even = [len(b) for b in _batches(sources[:30], sizes[:30], 2)]
    assert even == sorted(even, reverse=True) and even[0] > even[-1]  # guided: the last batches are small


def test_report_order_does_not_depend_on_jobs(monkeypatch):
    monkeypatch.setattr(engine, "MIN_PARALLEL_BYTES", 0)  # the fixtures are small: use workers anyway
    monkeypatch.setattr("curvelint.workers.choose_workers", lambda jobs, *_: jobs)  # as many as asked
    def plain(report):
        return ([dataclasses.asdict(r) for r in report.runs], [dataclasses.asdict(f) for f in report.findings],
                [dataclasses.asdict(a) for a in report.abstentions], report.suppressed)

    paths = [str(FIXTURES / "train"), str(FIXTURES / "demo")]
    one = plain(lint(paths, Config(), jobs=1))
    assert one[1] and len(one[0]) >= 16  # enough runs for several batches per worker
    for jobs in (2, 3):
        assert plain(lint(paths, Config(), jobs=jobs)) == one


def test_cached_roles_are_independent_copies():
    a = assign_roles(["loss", "val_loss", "acc"])
    a.directions["acc"] = "min"
    b = assign_roles(["loss", "val_loss", "acc"])
    assert b.directions["acc"] == "max" and b.val_loss == "val_loss"
    c = assign_roles(["loss", "val_loss", "acc"], {"val_loss": ["loss"]}, {"acc": "min"})
    assert c.val_loss == "loss" and c.directions["acc"] == "min"


def test_small_trees_stay_in_one_process(monkeypatch):
    def no_workers(*args, **kwargs):
        raise AssertionError("worker processes started for a tiny tree")

    monkeypatch.setattr(engine, "_in_workers", no_workers)
    assert lint([str(FIXTURES / "demo")], Config(), jobs=4).runs
