"""A large event file read part by part (readers/tensorboard.py `_read_parts`) gives the run of one read
of the whole file: the same points, problems (offsets and messages) and notes, for every fixture and
real-world event file and for damaged ones. Series past the memory budget are reduced (tb_store)."""

from __future__ import annotations

import itertools
from pathlib import Path

import fuzzing
import numpy as np
import pytest

from curvelint import limits
from curvelint.discovery import RunSource, discover
from curvelint.model import Run
from curvelint.readers import tensorboard as tb

REPO = Path(__file__).resolve().parents[1]
TREES = [REPO / "fixtures", REPO.parent / "shared" / "realworld", REPO.parent / "shared" / "realworld2"]


def _key(run: Run) -> tuple:
    series = {k: (s.steps.tobytes(), s.values.tobytes(), None if s.wall_times is None else s.wall_times.tobytes())
              for k, s in run.series.items()}
    return series, [(p.kind, p.offset, p.message) for p in run.problems], run.notes, repr(run.inputs), run.hparams


def _in_parts(source: RunSource, size: int, monkeypatch: pytest.MonkeyPatch) -> Run:
    with monkeypatch.context() as m:
        m.setattr(tb, "part_bytes", lambda budget: size)
        return tb.read(source)[0]


def _sources(root: Path) -> list[RunSource]:
    return [s for s in discover([str(root)])[0] if s.format == "tensorboard"]


@pytest.mark.parametrize("root", TREES, ids=[t.name for t in TREES])
def test_every_event_file_read_in_parts_is_read_as_a_whole(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if not root.exists():
        pytest.skip(f"{root.name} is not here")
    sources = _sources(root)
    assert sources
    for source, size in zip(sources, itertools.cycle([300, 4096, 1 << 16])):
        assert _key(_in_parts(source, size, monkeypatch)) == _key(tb.read(source)[0]), (source.path, size)


DAMAGE = [fuzzing.Mutation(kind, at, arg) for kind, at, arg in itertools.product(
    ("truncate", "flip", "delete", "repeat", "insert"), range(7, 2400, 53), (3, 17))]


def test_damaged_files_read_in_parts_are_read_as_a_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    differ = []
    for k, mutation in enumerate(DAMAGE):
        case = fuzzing.mutate("tensorboard", mutation)
        folder = tmp_path / str(k)
        for name, data in case.files.items():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / name).write_bytes(data)
        [source] = _sources(folder)
        whole = _key(tb.read(source)[0])
        for size in (64, 256):
            if _key(_in_parts(source, size, monkeypatch)) != whole:
                differ.append((mutation.describe(), size))
    assert not differ


def _long_run(tmp_path: Path, n: int) -> RunSource:
    from test_tensorboard_reader import simple, source_of, write

    rng = np.random.default_rng(5)
    values = 1.0 + 0.1 * rng.standard_normal(n)
    values[n // 3] = 50.0  # a spike
    values[n // 2] = np.nan
    events = [(i, simple("loss", float(v))) for i, v in enumerate(values)] + [(i, simple("lr", 0.1)) for i in range(50)]
    return source_of(write(tmp_path / "run", events))


def test_a_series_over_the_memory_budget_is_reduced_keeping_its_extremes(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    n = 60_000
    source = _long_run(tmp_path, n)
    whole = tb.read(source)[0]
    assert len(whole.series["loss"]) == n and not whole.notes
    with limits.using(limits.Limits(memory_budget=2 << 20)):  # 2 MiB: 16,384 points (the smallest budget)
        small = _in_parts(source, 1 << 14, monkeypatch)
        again = tb.read(source)[0]  # one part: the same reduction
    loss, full = small.series["loss"], whole.series["loss"]
    assert len(loss) < 16_384 and len(small.series["lr"]) == 50
    assert _key(small) == _key(again)
    kept = np.searchsorted(full.steps, loss.steps)
    assert np.array_equal(full.values[kept], loss.values, equal_nan=True)  # real points, in order
    assert loss.steps[0] == 0 and loss.steps[-1] == n - 1
    assert np.nanmax(loss.values) == 50.0 and np.nanmin(loss.values) == np.nanmin(full.values)
    assert np.isnan(loss.values).sum() == 1 and loss.steps[np.isnan(loss.values)][0] == n // 2
    assert abs(np.nanmedian(loss.values) - np.nanmedian(full.values)) < 0.02
    [note] = small.notes
    assert "memory budget (2 MiB)" in note and "loss (60,000 ->" in note and "memory-budget" in note


@pytest.mark.parametrize("limit", [{"records": 37}, {"file-bytes": 3001}, {"records": 20, "file-bytes": 2000}])
def test_limits_hit_in_parts_are_hit_as_in_a_whole_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        limit: dict) -> None:
    source = _long_run(tmp_path, 400)
    with limits.using(limits.parse_limits(limit, str, ValueError)):
        whole = tb.read(source)[0]
        assert any(limits.is_limit(p) for p in whole.problems)
        for size in (64, 300, 1000):
            assert _key(_in_parts(source, size, monkeypatch)) == _key(whole), size
