"""curvelint.workers: the ordered map behind --jobs (forked workers; concurrent.futures elsewhere)."""

from __future__ import annotations

import os
import signal
import time

import pytest

from curvelint import workers

pytestmark = pytest.mark.skipif(not workers.FORK, reason="forked workers are used on Linux only")


@pytest.fixture(autouse=True)
def _fork_path(request, monkeypatch):
    """The forked workers are what most tests here exercise: pytest's process has numpy's BLAS
    threads (the command line has none), so the fork path is chosen explicitly."""
    if "threads" not in request.node.name:
        monkeypatch.setattr(workers, "single_threaded", lambda: True)


def _square(task: int) -> int:
    return task * task


def _square_slowly(task: int) -> int:
    time.sleep(0.02 * ((task * 7) % 5))  # finish out of order
    return task * task


def _fail_on_five(task: int) -> int:
    if task == 5:
        raise ValueError("task five is broken")
    return task


def _die_on_two(task: int) -> int:
    if task == 2:
        os._exit(3)
    return task


def _killed_on_two(task: int) -> int:
    if task == 2:
        os.kill(os.getpid(), signal.SIGKILL)
    return task


def _no_children_left() -> bool:
    """No child of ours is left, besides multiprocessing's resource tracker (started by a spawn
    pool, it lives as long as this process, by design)."""
    from multiprocessing import resource_tracker

    tracker = getattr(resource_tracker._resource_tracker, "_pid", None)
    children = {int(p) for p in open(f"/proc/{os.getpid()}/task/{os.getpid()}/children").read().split()}
    return not (children - {tracker})


@pytest.mark.parametrize("jobs", [1, 2, 3, 20])
def test_results_come_in_task_order(jobs: int) -> None:
    tasks = list(range(12))
    assert list(workers.ordered_map(_square_slowly, tasks, jobs)) == [t * t for t in tasks]
    assert _no_children_left()


def test_a_task_error_is_raised_with_the_workers_traceback() -> None:
    with pytest.raises(workers.WorkerError, match=r"(?s)task failed in worker.*ValueError: task five is broken"):
        list(workers.ordered_map(_fail_on_five, list(range(10)), 2))
    assert _no_children_left()


@pytest.mark.parametrize(("fn", "how"), [(_die_on_two, "exit status 3"), (_killed_on_two, "killed by SIGKILL")])
def test_a_dead_worker_is_an_error_not_a_hang(fn, how: str) -> None:
    with pytest.raises(workers.WorkerError, match=f"died \\({how}\\)"):
        list(workers.ordered_map(fn, list(range(6)), 2))
    assert _no_children_left()


def test_stopping_early_reaps_the_workers() -> None:
    results = workers.ordered_map(_square_slowly, list(range(20)), 2)
    assert next(results) == 0
    results.close()
    assert _no_children_left()


def test_without_fork_concurrent_futures_gives_the_same(monkeypatch) -> None:
    monkeypatch.setattr(workers, "FORK", False)
    assert list(workers.ordered_map(_square_slowly, list(range(6)), 2)) == [t * t for t in range(6)]


def test_when_fork_fails_the_tasks_still_run(monkeypatch) -> None:
    real_fork, forks = os.fork, []

    def fork_once() -> int:  # the second fork fails, as under a process limit
        if forks:
            raise BlockingIOError(11, "Resource temporarily unavailable")
        forks.append(1)
        return real_fork()

    monkeypatch.setattr(os, "fork", fork_once)
    assert list(workers.ordered_map(_square_slowly, list(range(8)), 3)) == [t * t for t in range(8)]
    forks.append(1)  # now every fork fails: this process runs them
    assert list(workers.ordered_map(_square_slowly, list(range(4)), 2)) == [t * t for t in range(4)]
    assert _no_children_left()


def test_the_command_line_process_is_single_threaded_so_it_forks() -> None:
    import subprocess
    import sys

    code = "import curvelint.cli, numpy, curvelint.workers as w; print(w.single_threaded())"
    env = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert out.stdout.strip() == "True", out.stderr


def test_with_other_threads_running_a_pool_with_a_safe_start_method_is_used(monkeypatch) -> None:
    import threading

    stop = threading.Event()
    thread = threading.Thread(target=stop.wait, daemon=True)
    thread.start()
    try:
        assert not workers.single_threaded()
        monkeypatch.setattr(workers, "_forked", lambda *a: pytest.fail("forked with a second thread running"))
        assert list(workers.ordered_map(_square, list(range(6)), 2)) == [t * t for t in range(6)]
    finally:
        stop.set()

