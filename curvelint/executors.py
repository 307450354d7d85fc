"""Where runs are linted: ``local`` (this machine's worker processes, `curvelint.workers`) or a Dask
cluster (``--executor dask://HOST:PORT``, ``pip install 'curvelint[dask]'``).

Both offer `curvelint.workers`' shape: an ordered map of a function over tasks, results in task
order whatever the order they finish in. On a cluster each task (a batch of runs) is read by the
worker that runs it, from where the runs live: a path every worker sees, or a URL (each worker
uses its own credentials). A worker that dies loses nothing: the scheduler runs its tasks again
elsewhere (``distributed.scheduler.allowed-failures`` times, 3 by default). A task that still
fails, or raises, runs once more alone when the tasks beside it are done (a worker killed by
another task takes the tasks queued on it along), then goes to `on_error`, which the engine uses
to lint its runs one by one and to report a run that fails alone instead of stopping the lint. Nothing of Dask is imported for
``local``; ``distributed`` (~0.4 s) only for a cluster.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from curvelint import workers
from curvelint.config import ConfigError

LOCAL = "local"
_DASK = re.compile(r"dask(?:\+(tcp|tls))?://(.+)")
RETRIES = 1  # more runs of a task that raised (a worker's transient error); a dead worker is the scheduler's
CONNECT_TIMEOUT = "10s"
# on_error(task, exception, again): the task's result after all; again(tasks) maps over other tasks the same way
OnError = Callable[[Any, BaseException, Callable[[Sequence[Any]], Iterator[Any]]], Any]


class ExecutorError(ConfigError):
    """The executor cannot be used (a bad spec, an unreachable scheduler, Dask not installed): a usage
    error of one line (exit status 2)."""


def check(spec: str) -> str:
    """`spec` if it names an executor (``local``, ``dask://HOST:PORT``), else ExecutorError."""
    if spec != LOCAL and not _DASK.fullmatch(spec):
        raise ExecutorError(f"unknown executor {spec!r}: use 'local' or 'dask://HOST:PORT' (a Dask scheduler)")
    return spec


class Local:
    """This machine: up to `jobs` worker processes (`curvelint.workers.ordered_map`); a failed task raises.

    Given the `sizes` of the runs, as many as their estimated work repays and the CPUs' contention
    allows (`curvelint.workers.choose_workers`; 1 = this process alone)."""

    distributed = False

    def __init__(self, jobs: int, sizes: Sequence[int] | None = None) -> None:
        if sizes is not None:
            spawned = not (workers.FORK and workers.single_threaded())
            jobs = workers.choose_workers(jobs, len(sizes), sum(sizes), workers.cpu_contention(), spawned)
        self.slots = jobs  # tasks that run at once

    def ordered_map(self, fn: Callable[[Any], Any], tasks: Sequence[Any], on_error: OnError | None = None
                    ) -> Iterator[Any]:
        return workers.ordered_map(fn, tasks, self.slots)

    def close(self) -> None:
        pass

    def __enter__(self) -> Local:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Dask(Local):
    """A Dask cluster's scheduler at ``dask://HOST:PORT`` (``dask+tls://`` for TLS)."""

    distributed = True

    def __init__(self, spec: str) -> None:
        match = _DASK.fullmatch(check(spec))
        if match is None:  # 'local' passes check() but names no scheduler
            raise ExecutorError(f"--executor {spec} is not a Dask scheduler: use dask://HOST:PORT")
        try:
            from distributed import Client
        except ImportError:
            raise ExecutorError(f"--executor {spec} needs Dask's distributed: pip install 'curvelint[dask]'") from None
        try:
            self.client = Client(f"{match.group(1) or 'tcp'}://{match.group(2)}", timeout=CONNECT_TIMEOUT,
                                 set_as_default=False)
        except (OSError, TimeoutError) as exc:
            raise ExecutorError(f"cannot reach the Dask scheduler at {spec}: "
                                f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None
        super().__init__(max(1, sum(self.client.nthreads().values())))

    def ordered_map(self, fn: Callable[[Any], Any], tasks: Sequence[Any], on_error: OnError | None = None
                    ) -> Iterator[Any]:
        futures = self.client.map(fn, list(tasks), pure=False, retries=RETRIES)
        for i, (task, future) in enumerate(zip(tasks, futures)):
            try:
                result = future.result()
            except Exception as exc:
                if on_error is None:
                    raise
                result = self._alone(fn, task, exc, futures[i + 1:] if len(futures) > 1 else None, on_error)
            finally:
                future.release()
            yield result

    def _alone(self, fn: Callable[[Any], Any], task: Any, exc: BaseException, others: list[Any] | None,
               on_error: OnError) -> Any:
        """A failed task's result: when it ran beside `others`, one more run of it alone once they are done (it
        may have died only because a task beside it killed their worker); else ``on_error``."""
        from distributed import wait

        if others is not None:
            wait(others)
            try:
                return self.client.submit(fn, task, pure=False).result()
            except Exception as again:  # noqa: BLE001
                exc = again
        return on_error(task, exc, lambda more: self.ordered_map(fn, more, on_error))

    def close(self) -> None:
        self.client.close()


def executor(spec: str, jobs: int, sizes: Sequence[int] | None = None) -> Local:
    """The executor `spec` names (`check`), with up to `jobs` processes when it is ``local`` (`Local`)."""
    return Local(jobs, sizes) if check(spec) == LOCAL else Dask(spec)
