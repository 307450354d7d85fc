"""Worker processes for ``--jobs``: an ordered map of a function over tasks.

On Linux the workers are forked children of this process: they inherit every import
and the task list itself, get task indices over a pipe and send pickled results back.
A worker asks for its next task as soon as it is done (dynamic scheduling), and results
are yielded in task order whatever the order they finish in.

Forking is safe only from a single-threaded process (a thread holding a lock at the fork,
e.g. a BLAS pool, deadlocks the child; Python 3.12 warns). The command line keeps numpy's
BLAS to one thread (curvelint.cli) so it forks; a process with other threads (a library
caller's), or a platform where fork is not the safe default (macOS, Windows), gets
`concurrent.futures`' pool with the spawn start method instead.

Why fork when it is safe: started workers inherit every import. Measured on the 388 runs of
fixtures/realbench with 2 workers (3 interleaved rounds, a loaded machine): fork 2.7-2.8 s,
forkserver 3.5-4.2 s, spawn 3.7-4.0 s, the difference being each worker importing numpy,
scipy's pieces and the readers again.
"""

from __future__ import annotations

import os
import pickle
import select
import signal
import sys
import traceback
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Sequence

FORK = sys.platform.startswith("linux") and hasattr(os, "fork")
_STOP = 0xFFFFFFFF  # task index that tells a worker to exit
_FRAME = 8  # bytes of a result frame's length prefix


# What `choose_workers` estimates a lint costs, in CPU seconds, and what a worker must be given to repay
# starting it (2-core VM, issue 18: a short run of 8 x 200 points ~4 ms to read and check; reading and
# checking long per-step series ~15 ns per byte of event file; a forked worker's lazy imports, pipes and
# pickled results ~0.1 s; a spawned one imports curvelint and numpy again, ~1 s).
RUN_SECONDS = 0.003
BYTE_SECONDS = 15e-9
WORK_PER_FORKED_WORKER = 0.25
WORK_PER_SPAWNED_WORKER = 2.0
CONTENDED = 0.2  # this share of the recent time with runnable tasks waiting for a CPU: the CPUs are busy


def choose_workers(requested: int, runs: int, nbytes: int, contention: float | None, spawned: bool = False) -> int:
    """How many processes lint `runs` runs of `nbytes` bytes in all (1: this process alone).

    At most `requested` and one per run; one per WORK_PER_*_WORKER seconds of estimated work
    (`RUN_SECONDS` a run + `BYTE_SECONDS` a byte), so a small tree stays in this process; and 1 when
    the CPUs are contended (`contention` >= `CONTENDED`, see `cpu_contention`): there, more
    processes only queue for the same CPUs, and starting them is a cost that is not repaid."""
    if requested < 2 or runs < 2 or (contention is not None and contention >= CONTENDED):
        return 1
    work = runs * RUN_SECONDS + nbytes * BYTE_SECONDS
    per_worker = WORK_PER_SPAWNED_WORKER if spawned else WORK_PER_FORKED_WORKER
    return max(1, min(requested, runs, int(work / per_worker)))


def cpu_contention() -> float | None:
    """The share of the last ~10 s in which runnable tasks waited for a CPU: Linux's pressure stall
    information (``/proc/pressure/cpu``, ``some avg10``); without it, the 1-minute load average beyond
    the cores (this process included) over the cores, at most 1; None when neither is known."""
    try:
        with open("/proc/pressure/cpu") as fh:
            some = fh.readline().split()
        return float(dict(field.split("=", 1) for field in some[1:])["avg10"]) / 100
    except (OSError, ValueError, KeyError, IndexError):
        pass
    try:
        load = os.getloadavg()[0]
    except (OSError, AttributeError):
        return None
    cores = os.cpu_count() or 1
    return min(1.0, max(0.0, load - cores) / cores)


class WorkerError(RuntimeError):
    """A task raised in a worker, or a worker died."""


@dataclass
class _Worker:
    pid: int
    tasks: int  # fd: this process writes task indices
    results: int  # fd: this process reads result frames
    reaped: bool = False


def ordered_map(fn: Callable[[Any], Any], tasks: Sequence[Any], jobs: int) -> Iterator[Any]:
    """``fn(task)`` for each task in `jobs` worker processes, yielded in task order."""
    if jobs < 2 or len(tasks) < 2:
        yield from map(fn, tasks)
    elif FORK and single_threaded():
        yield from _forked(fn, tasks, min(jobs, len(tasks)))
    else:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        # spawn: no server process outlives the pool (forkserver's does), and no inherited state
        with ProcessPoolExecutor(max_workers=min(jobs, len(tasks)), mp_context=multiprocessing.get_context("spawn")) as pool:
            yield from pool.map(fn, tasks)


def single_threaded() -> bool:
    """Whether this process runs one thread only (Linux: its tasks in /proc), so fork is safe."""
    try:
        return len(os.listdir("/proc/self/task")) == 1
    except OSError:
        import threading

        return threading.active_count() == 1 and not FORK


def _forked(fn: Callable[[Any], Any], tasks: Sequence[Any], jobs: int) -> Iterator[Any]:
    workers: list[_Worker] = []
    finished = False
    try:
        for _ in range(jobs):
            try:
                workers.append(_start(fn, tasks, workers))
            except OSError:  # no more processes (EAGAIN, ENOMEM): go on with the workers there are
                break
        if not workers:
            yield from map(fn, tasks)
            finished = True
            return
        sent = 0
        for worker in workers:
            _send(worker, sent)
            sent += 1
        done: dict[int, Any] = {}
        busy = {w.results: w for w in workers}
        for want in range(len(tasks)):
            while want not in done:
                ready, _, _ = select.select(list(busy), [], [])
                for fd in ready:
                    index, value = _receive(busy[fd])
                    done[index] = value
                    if sent < len(tasks):
                        _send(busy[fd], sent)
                        sent += 1
                    else:
                        _send(busy.pop(fd), _STOP)
            yield done.pop(want)
        finished = True
    finally:
        _stop(workers, kill=not finished)


def _start(fn: Callable[[Any], Any], tasks: Sequence[Any], started: list[_Worker]) -> _Worker:
    task_r, task_w = os.pipe()
    result_r, result_w = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        pid = os.fork()
    except OSError:
        for fd in (task_r, task_w, result_r, result_w):
            os.close(fd)
        raise
    if pid == 0:  # the worker: never returns
        status = 1
        try:
            os.close(task_w)
            os.close(result_r)
            for other in started:  # the other workers' pipes: their ends stay with this process only
                os.close(other.tasks)
                os.close(other.results)
            _serve(fn, tasks, task_r, result_w)
            status = 0
        finally:
            os._exit(status)
    os.close(task_r)
    os.close(result_w)
    return _Worker(pid, task_w, result_r)


def _serve(fn: Callable[[Any], Any], tasks: Sequence[Any], task_r: int, result_w: int) -> None:
    """Run the tasks whose indices arrive on `task_r` until told to stop; results to `result_w`."""
    while True:
        index = int.from_bytes(_read(task_r, 4), "little")
        if index == _STOP:
            return
        try:
            frame = pickle.dumps((index, True, fn(tasks[index])), pickle.HIGHEST_PROTOCOL)
        except Exception:  # the task's error, with its traceback, for the parent to raise
            frame = pickle.dumps((index, False, traceback.format_exc()), pickle.HIGHEST_PROTOCOL)
        _write(result_w, len(frame).to_bytes(_FRAME, "little") + frame)


def _send(worker: _Worker, index: int) -> None:
    _write(worker.tasks, index.to_bytes(4, "little"))


def _receive(worker: _Worker) -> tuple[int, Any]:
    try:
        size = int.from_bytes(_read(worker.results, _FRAME), "little")
        index, ok, value = pickle.loads(_read(worker.results, size))
    except EOFError:
        raise WorkerError(f"worker process {worker.pid} died{_exit_status(worker)}") from None
    if not ok:
        raise WorkerError(f"a task failed in worker process {worker.pid}:\n{value}")
    return index, value


def _read(fd: int, n: int) -> bytes:
    """Exactly `n` bytes from `fd`; EOFError if the pipe closes first."""
    chunks = []
    while n:
        chunk = os.read(fd, min(n, 1 << 20))
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def _write(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _exit_status(worker: _Worker) -> str:
    _, status = os.waitpid(worker.pid, 0)
    worker.reaped = True
    if os.WIFSIGNALED(status):
        return f" (killed by {signal.Signals(os.WTERMSIG(status)).name})"
    return f" (exit status {os.WEXITSTATUS(status)})"


def _stop(workers: list[_Worker], kill: bool) -> None:
    """Close the pipes and reap every worker (after an error or an early exit: killed first)."""
    for worker in workers:
        os.close(worker.tasks)
        os.close(worker.results)
        if not worker.reaped:
            if kill:
                os.kill(worker.pid, signal.SIGKILL)
            os.waitpid(worker.pid, 0)
