"""``--executor dask://HOST:PORT``: runs linted on a Dask cluster that the tests start (``LocalCluster``,
2 worker processes of 1 thread): the same report as a local lint, in the same order; a worker that
dies mid-lint loses no run; a run that kills every worker that reads it is reported (CL001), the
others are linted; S3 runs are read by the workers themselves."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import FIXTURES, REALBENCH_RUNS, curvelint_command

distributed = pytest.importorskip("distributed", reason="the cluster tests need Dask's distributed (pip install '.[test]')")

import cloudpickle
import dask
from distributed import Client, LocalCluster, WorkerPlugin

from curvelint import executors
from curvelint.config import Config, ConfigError
from curvelint.engine import lint

cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the workers cannot import this test module

REALBENCH = FIXTURES / "realbench" / "runs"
pytestmark = pytest.mark.slow


def cluster(**env: str) -> LocalCluster:
    return LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                        env=env or None)


@pytest.fixture(scope="module")
def address() -> Iterator[str]:
    with cluster() as running:
        yield running.scheduler_address.replace("tcp://", "dask://")


class Sabotage(WorkerPlugin):
    """On each worker: ``curvelint.engine._lint_source`` exits the worker process the first time any worker
    lints (`once`, a marker file), and whenever it lints a source whose path ends with `poison`."""

    name = "curvelint-sabotage"

    def __init__(self, once: str | None = None, poison: str | None = None) -> None:
        self.once, self.poison = once, poison

    def setup(self, worker: object) -> None:
        from curvelint import engine

        original, once, poison = engine._lint_source, self.once, self.poison

        def sabotaged(source, *args, **kwargs):
            if poison and source.path.endswith(poison):
                os._exit(1)
            if once and not os.path.exists(once):
                Path(once).touch()
                os._exit(1)
            return original(source, *args, **kwargs)

        engine._lint_source = sabotaged


def sabotaged_cluster(plugin: Sabotage) -> tuple[LocalCluster, Client]:
    with dask.config.set({"distributed.scheduler.allowed-failures": 1}):  # a task may die once, then it is bad
        running = cluster()
    client = Client(running)
    client.register_plugin(plugin)
    return running, client


def summary(report) -> list:
    return [(r.path, r.format, r.series, r.points) for r in report.runs], [
        (f.rule, f.path, f.metric, f.message) for f in report.findings]


def test_a_cluster_lint_is_the_local_lint_in_the_same_order(address: str) -> None:
    command = [*curvelint_command(), str(REALBENCH), "--format", "json"]
    here = subprocess.run([*command, "--jobs", "1"], check=False, capture_output=True, text=True, timeout=600)
    there = subprocess.run([*command, "--executor", address], check=False, capture_output=True, text=True, timeout=600)
    assert there.returncode == here.returncode == 1, there.stderr
    assert there.stdout == here.stdout
    assert len(json.loads(there.stdout)["runs"]) == REALBENCH_RUNS


def test_a_worker_that_dies_loses_no_run(tmp_path: Path) -> None:
    running, client = sabotaged_cluster(Sabotage(once=str(tmp_path / "died")))
    try:
        report = lint([str(REALBENCH)], Config(), executor=running.scheduler_address.replace("tcp", "dask"))
    finally:
        client.close()
        running.close()
    assert (tmp_path / "died").exists()  # a worker did die, in the middle of a batch
    assert summary(report) == summary(lint([str(REALBENCH)], Config(), jobs=1))


def test_a_run_that_kills_its_workers_is_reported_and_the_others_linted(tmp_path: Path) -> None:
    tree = shutil.copytree(FIXTURES / "demo", tmp_path / "demo")
    shutil.copy(tree / "overfitting_history.json", tree / "poison.json")
    expected = summary(lint([str(tree)], Config(), jobs=1))
    running, client = sabotaged_cluster(Sabotage(poison="poison.json"))
    try:
        report = lint([str(tree)], Config(), executor=running.scheduler_address.replace("tcp", "dask"))
    finally:
        client.close()
        running.close()
    poisoned = [f for f in report.findings if f.path.endswith("poison.json")]
    assert [f.rule for f in poisoned] == ["CL001"]
    assert "not linted: its task failed on the cluster (KilledWorker" in poisoned[0].message
    others = [r for r in summary(report)[0] if not r[0].endswith("poison.json")]
    assert others == [r for r in expected[0] if not r[0].endswith("poison.json")]
    assert [f for f in summary(report)[1] if not f[1].endswith("poison.json")] == \
        [f for f in expected[1] if not f[1].endswith("poison.json")]


def test_s3_runs_are_read_by_the_workers(tmp_path: Path) -> None:
    for module in ("moto", "s3fs", "boto3"):
        pytest.importorskip(module, reason="needs moto[server], s3fs and boto3")
    from s3server import S3Server

    demo = shutil.copytree(FIXTURES / "demo", tmp_path / "demo")
    with S3Server() as s3:
        s3.upload(demo, "fleet", "demo")
        env = {k: v for k, v in s3.env().items() if k.startswith("AWS_")}
        with cluster(**env) as running:
            command = [*curvelint_command(), "--format", "json"]
            here = subprocess.run([*command, str(demo)], check=False, capture_output=True, text=True, timeout=300)
            there = subprocess.run([*command, "s3://fleet/demo", "--executor",
                                    running.scheduler_address.replace("tcp", "dask")],
                                   check=False, capture_output=True, text=True, timeout=300, env=s3.env())
    assert there.returncode == here.returncode and there.stdout.replace("s3://fleet/demo", str(demo)) == here.stdout


def test_a_bad_or_unreachable_executor_is_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    done = subprocess.run([*curvelint_command(), str(FIXTURES / "demo"), "--executor", "spark://x"], check=False,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "curvelint: error: unknown executor 'spark://x': use 'local' or 'dask://HOST:PORT' (a Dask scheduler)"]
    monkeypatch.setattr(executors, "CONNECT_TIMEOUT", "1s")
    with pytest.raises(ConfigError, match=r"cannot reach the Dask scheduler at dask://127\.0\.0\.1:9: "):
        lint([str(FIXTURES / "demo")], Config(), executor="dask://127.0.0.1:9")


def test_the_dask_executor_refuses_local_with_an_executor_error() -> None:
    """'local' passes `check` but names no scheduler: an ExecutorError (was an AttributeError on the regex match
    that mypy found)."""
    with pytest.raises(executors.ExecutorError, match="not a Dask scheduler"):
        executors.Dask(executors.LOCAL)
