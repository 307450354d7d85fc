"""curvelint.workers.choose_workers: how many processes a lint starts for --jobs (issue 18), a pure
function of the estimated work and of the CPUs' contention (no timing here)."""

from __future__ import annotations

import pytest

from curvelint import workers

SHORT_RUN = 77_000  # bytes of a run of 8 tags x 200 epochs


@pytest.mark.parametrize("runs, nbytes, want", [
    (5, 68_000, 1),  # fixtures/demo: starting a worker costs more than linting it all
    (40, 40 * SHORT_RUN, 1),  # ~0.17 s of work: not enough for two processes
    (200, 200 * SHORT_RUN, 2),  # the short bench tree
    (10_000, 10_000 * 3_000, 2),  # many tiny runs: the run count is the work
    (2, 96_000_000, 2),  # two long runs: the bytes are the work
    (1, 96_000_000, 1),  # one run cannot be split
])
def test_workers_follow_the_estimated_work(runs, nbytes, want):
    assert workers.choose_workers(2, runs, nbytes, contention=0.0) == want


def test_never_more_workers_than_requested_runs_or_work():
    assert workers.choose_workers(1, 10_000, 10**9, 0.0) == 1
    assert workers.choose_workers(64, 3, 10**9, 0.0) == 3
    assert workers.choose_workers(64, 1_000, 0, 0.0) == int(1_000 * workers.RUN_SECONDS / workers.WORK_PER_FORKED_WORKER)
    assert workers.choose_workers(8, 10_000, 10**9, None) == 8  # contention unknown: by the work alone


def test_busy_cpus_keep_the_lint_in_one_process():
    assert workers.choose_workers(2, 10_000, 10**9, contention=workers.CONTENDED) == 1
    assert workers.choose_workers(2, 10_000, 10**9, contention=0.9) == 1
    assert workers.choose_workers(2, 10_000, 10**9, contention=workers.CONTENDED / 2) == 2


def test_spawned_workers_need_more_work_to_pay_off():
    runs = 200  # ~0.6 s: two forked workers, not spawned ones (each imports everything again)
    assert workers.choose_workers(2, runs, 0, 0.0, spawned=False) == 2
    assert workers.choose_workers(2, runs, 0, 0.0, spawned=True) == 1


def test_cpu_contention_reads_pressure_or_the_load_average(monkeypatch, tmp_path):
    import builtins

    real_open = builtins.open
    pressure = tmp_path / "cpu"
    pressure.write_text("some avg10=37.50 avg60=2.00 avg300=1.00 total=1\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n")
    monkeypatch.setattr(builtins, "open", lambda path, *a, **k: real_open(pressure if path == "/proc/pressure/cpu"
                                                                           else path, *a, **k))
    assert workers.cpu_contention() == pytest.approx(0.375)
    pressure.write_text("garbage\n")
    monkeypatch.setattr(workers.os, "cpu_count", lambda: 2)
    monkeypatch.setattr(workers.os, "getloadavg", lambda: (5.0, 1.0, 1.0))
    assert workers.cpu_contention() == 1.0  # 3 runnable beyond 2 cores: saturated
    monkeypatch.setattr(workers.os, "getloadavg", lambda: (1.5, 1.0, 1.0))
    assert workers.cpu_contention() == 0.0


def test_the_local_executor_starts_the_workers_the_runs_repay(monkeypatch):
    from curvelint import executors

    monkeypatch.setattr(workers, "FORK", True)
    monkeypatch.setattr(workers, "single_threaded", lambda: True)  # pytest has BLAS threads: it would spawn
    monkeypatch.setattr(workers, "cpu_contention", lambda: 0.0)
    assert executors.executor("local", 2, [SHORT_RUN] * 200).slots == 2
    assert executors.executor("local", 2, [3_000] * 5).slots == 1
    assert executors.executor("local", 2).slots == 2  # no sizes: as asked
    monkeypatch.setattr(workers, "cpu_contention", lambda: 0.9)
    assert executors.executor("local", 2, [SHORT_RUN] * 200).slots == 1
