"""curvelint.workers: the ordered map behind --jobs (forked workers; concurrent.futures elsewhere)."""

from __future__ import annotations

import os
import signal
import time

import pytest

from curvelint import workers

pytestmark = pytest.mark.skipif(not workers.FORK, reason="forked workers are used on Linux only")


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
    try:
        os.waitpid(-1, os.WNOHANG)
    except ChildProcessError:
        return True
    return False


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
