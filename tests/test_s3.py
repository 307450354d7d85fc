"""``s3://`` paths against a real S3-compatible server that the tests start on 127.0.0.1 (moto's server
mode, tests/s3server.py): the findings of the demo and of a slice of fixtures/realbench are those of the
local copies byte for byte (paths aside); a missing bucket or permission is one line naming the URL;
throttling and dropped connections are retried with backoff."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import FIXTURES, curvelint_command

for _module in ("moto", "s3fs", "boto3"):
    pytest.importorskip(_module, reason="the S3 tests need moto[server], s3fs and boto3 (pip install '.[test]')")

from s3server import FaultProxy, S3Server

REALBENCH = FIXTURES / "realbench" / "runs"


@pytest.fixture(scope="module")
def s3() -> Iterator[S3Server]:
    with S3Server() as server:
        yield server


def realbench_slice(target: Path, per_family: int = 2) -> Path:
    """The first `per_family` runs of each family of fixtures/realbench (54 runs, every format there)."""
    taken: dict[str, int] = {}
    for run in sorted(REALBENCH.iterdir()):
        family = run.name.rsplit("-", 1)[0]
        if taken.get(family, 0) < per_family:
            taken[family] = taken.get(family, 0) + 1
            shutil.copytree(run, target / run.name)
    return target


def lint(target: str, env: dict[str, str] | None = None, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*curvelint_command(), target, "--format", "json", *(args or ("--jobs", "1"))],
                          check=False, capture_output=True, text=True, env=env, timeout=600)


def assert_same_findings(local: Path, url: str, env: dict[str, str], *args: str) -> dict:
    """The JSON reports of `url` and of its local copy, equal once each root is replaced (the local lint
    with ``--jobs 1``, the remote one with `args`); the remote report."""
    here, there = lint(str(local)), lint(url, env, *args)
    assert there.returncode == here.returncode, there.stderr
    assert there.stdout.replace(url, "ROOT") == here.stdout.replace(str(local), "ROOT")
    return json.loads(there.stdout)


def test_demo_and_realbench_slice_same_findings_as_local(s3: S3Server, tmp_path: Path) -> None:
    demo = shutil.copytree(FIXTURES / "demo", tmp_path / "demo")
    bench = realbench_slice(tmp_path / "bench")
    s3.upload(demo, "runs", "demo")
    s3.upload(bench, "runs", "sweeps/realbench")
    report = assert_same_findings(demo, "s3://runs/demo", s3.env())
    assert len(report["runs"]) == 5 and report["findings"]
    report = assert_same_findings(bench, "s3://runs/sweeps/realbench", s3.env())
    assert len(report["runs"]) == 54
    assert {r["format"] for r in report["runs"]} >= {"tensorboard", "keras-history", "csv", "hf-trainer-state"}


def test_wandb_mlflow_and_onnx_same_findings_as_local(s3: S3Server, tmp_path: Path) -> None:
    """Also in spawned workers (``--jobs 2`` with the engine's threshold of runs lowered to 0; a tree this
    small is linted in process by default), which get the listing of each run folder with their task."""
    from remote_trees import folder_runs

    tree = folder_runs(tmp_path / "tree")
    s3.upload(tree, "folders", "tree")
    report = assert_same_findings(tree, "s3://folders/tree", s3.env())
    formats = {r["format"] for r in report["runs"]}
    assert formats >= {"wandb", "mlflow", "onnx", "keras-history"}, formats
    assert all(r["series"] for r in report["runs"] if r["format"] in ("wandb", "mlflow"))
    assert any(f["rule"].startswith("CL2") for f in report["findings"])  # graph rules ran on the models
    code = ("import sys, curvelint.engine as engine; engine.SPAWN_MIN_RUNS = 0; from curvelint.cli import main\n"
            "main(['s3://folders/tree', '--format', 'json', '--jobs', '2'])")
    spawned = subprocess.run([sys.executable, "-c", code], env=s3.env(), check=False, capture_output=True, text=True,
                             timeout=600)
    single = lint("s3://folders/tree", s3.env())
    assert (spawned.returncode, spawned.stdout) == (single.returncode, single.stdout), spawned.stderr


def test_a_missing_bucket_is_one_line_and_exit_2(s3: S3Server) -> None:
    done = lint("s3://no-such-bucket/runs", s3.env())
    assert done.returncode == 2
    assert done.stderr.splitlines()[0] == ("curvelint: error: s3://no-such-bucket/runs: "
                                           "The specified bucket does not exist")


def test_missing_permissions_are_one_line_naming_the_url(s3: S3Server, tmp_path: Path) -> None:
    import boto3

    s3.upload(shutil.copytree(FIXTURES / "demo", tmp_path / "demo"), "private", "demo")
    iam = boto3.client("iam", endpoint_url=s3.endpoint, aws_access_key_id="testing", aws_secret_access_key="testing",
                       region_name="us-east-1")
    keys = {}
    # s3:List* rather than s3:ListBucket alone: moto 5.2.6 checks ListObjectsV2 against "s3:ListObjectsV2"
    # (AWS uses s3:ListBucket); either way the user may list but not read
    for user, actions in (("nobody", []), ("lister", ["s3:List*"])):
        iam.create_user(UserName=user)
        if actions:
            policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}]}
            iam.put_user_policy(UserName=user, PolicyName="list", PolicyDocument=json.dumps(policy))
        key = iam.create_access_key(UserName=user)["AccessKey"]
        keys[user] = {"AWS_ACCESS_KEY_ID": key["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"]}
    s3.set_auth(True)
    try:
        denied = lint("s3://private/demo", s3.env(**keys["nobody"], AWS_MAX_ATTEMPTS="1"))
        listed = lint("s3://private/demo", s3.env(**keys["lister"], AWS_MAX_ATTEMPTS="1"))
    finally:
        s3.set_auth(False)
    assert denied.returncode == 2
    assert denied.stderr.splitlines()[0] == "curvelint: error: s3://private/demo: permission denied (Access Denied)"
    assert listed.returncode == 1  # listed, then every object read is a CL001 naming it
    findings = json.loads(listed.stdout)["findings"]
    unreadable = [f for f in findings if f["rule"] == "CL001"]
    assert unreadable and all("permission denied (Access Denied)" in f["message"] for f in unreadable)
    assert all(f["path"].startswith("s3://private/demo/") for f in unreadable)


@pytest.mark.parametrize("faults", [["slowdown", "slowdown", "slowdown"], ["drop", "drop"],
                                    ["slowdown", "drop", "slowdown", "drop"]])
def test_throttling_and_dropped_connections_are_retried(s3: S3Server, tmp_path: Path, faults: list[str]) -> None:
    demo = shutil.copytree(FIXTURES / "demo", tmp_path / "demo")
    s3.upload(demo, "flaky", "demo")
    proxy = FaultProxy(s3.port, faults)
    try:
        assert_same_findings(demo, "s3://flaky/demo", s3.env(proxy.endpoint))
    finally:
        proxy.close()
    assert proxy.applied == faults and proxy.connections > len(faults)


def test_bulky_event_records_are_not_downloaded(s3: S3Server, tmp_path: Path, monkeypatch) -> None:
    from test_remote import bulky_event_file

    from curvelint import remote

    path = bulky_event_file(tmp_path / "run")
    s3.upload(tmp_path / "run", "images", "run")
    for key, value in s3.env().items():
        monkeypatch.setenv(key, value)
    remote.reset()
    remote.STATS.update(requests=0, bytes=0)
    try:
        assert remote.walk("s3://images/run") is not None and list(remote.walk("s3://images/run"))
        with remote.open_remote(f"s3://images/run/{path.name}") as fh:
            assert len(fh.read()) == path.stat().st_size
    finally:
        remote.reset()
    assert remote.STATS["bytes"] < 0.35 * path.stat().st_size
    assert_same_findings(tmp_path / "run", "s3://images/run", s3.env())


def test_a_reference_run_and_per_path_ignores_on_urls(s3: S3Server, tmp_path: Path) -> None:
    """``--reference s3://...`` (and ``[tool.curvelint.reference]`` naming a URL) compares with a run in the
    bucket; ``per-path-ignores`` patterns match URL paths relative to the URL given on the command line."""
    local = tmp_path / "local"
    shutil.copytree(REALBENCH / "hf-bert-tokens-aaf69d", local / "ref")  # a healthy run and one whose
    shutil.copytree(REALBENCH / "hf-bert-tokens-c87856", local / "sweep" / "new")  # lr is too high: CL402
    shutil.copytree(REALBENCH / "hf-bert-tokens-60b1eb", local / "sweep" / "other")
    s3.upload(local, "refs", "team")
    cwd = local / "sweep"  # (the configuration is the current folder's: for the local lint, the sweep's)

    def both(*args: str) -> dict:
        run = [*curvelint_command(), *args, "--format", "json", "--jobs", "1", "--reference"]
        here = subprocess.run([*run, str(local / "ref"), str(local / "sweep")], cwd=cwd, check=False,
                              capture_output=True, text=True, timeout=600)
        there = subprocess.run([*run, "s3://refs/team/ref", "s3://refs/team/sweep"], cwd=cwd, env=s3.env(),
                               check=False, capture_output=True, text=True, timeout=600)
        assert there.returncode == here.returncode, there.stderr
        assert there.stdout.replace("s3://refs/team", "ROOT") == here.stdout.replace(str(local), "ROOT")
        return json.loads(there.stdout)

    report = both()
    new = "s3://refs/team/sweep/new/trainer_state.json"
    assert {f["path"] for f in report["findings"] if f["rule"] == "CL402"} == {new}
    (cwd / "pyproject.toml").write_text('[tool.curvelint]\nper-path-ignores = { "new/**" = ["CL402"] }\n')
    report = both()
    assert not [f for f in report["findings"] if f["rule"] == "CL402"]
    (cwd / "pyproject.toml").write_text('[tool.curvelint.reference]\npath = "s3://refs/team/ref"\n')
    done = subprocess.run([*curvelint_command(), "s3://refs/team/sweep", "--format", "json", "--jobs", "1"], cwd=cwd,
                          env=s3.env(), check=False, capture_output=True, text=True, timeout=600)
    assert {f["path"] for f in json.loads(done.stdout)["findings"] if f["rule"] == "CL402"} == {new}, done.stderr
