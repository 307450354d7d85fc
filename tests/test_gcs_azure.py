"""``az://``, ``gs://`` and ``hf://`` paths against real servers that the tests start on 127.0.0.1
(tests/emulators.py: Azurite through adlfs, gcp-storage-emulator through gcsfs, Olah serving a local git
repository with the Hub's API through huggingface_hub's HfFileSystem): the demo and the folder runs of
tests/remote_trees.py (W&B, MLflow, ONNX) give the findings of their local copies, byte for byte (paths
aside). Each skips when its server is not installed here; .ci/run installs all three."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import FIXTURES
from emulators import Azurite, GcsEmulator, HubMirror, upload
from remote_trees import folder_runs
from test_remote import lint_json

EMULATORS = {"az": Azurite, "gs": GcsEmulator, "hf": HubMirror}


@pytest.fixture(scope="module", params=sorted(EMULATORS))
def store(request) -> Iterator[tuple[str, Azurite | GcsEmulator | HubMirror]]:
    kind = EMULATORS[request.param]
    missing = kind.available()
    if missing:
        pytest.skip(missing)
    with kind() as server:
        yield request.param, server


def test_same_findings_as_local(store: tuple[str, Azurite | GcsEmulator | HubMirror], tmp_path: Path) -> None:
    scheme, server = store
    # Olah's local mirrors answer a range request with the whole file (HTTP 200): only small files for it
    tree = folder_runs(tmp_path / "tree", real=not isinstance(server, HubMirror))
    shutil.copytree(FIXTURES / "demo", tree / "demo")
    if isinstance(server, HubMirror):
        url = f"hf://team/runs@{server.publish(tree, 'team/runs')}"
    else:
        assert upload(server.filesystem(), tree, "runs", "sweep") > 30
        url = f"{scheme}://runs/sweep"
    rc_local, here = lint_json(str(tree))
    rc_remote, there = lint_json(url, env=server.env())
    assert rc_remote == rc_local == 1
    assert there.replace(url, "ROOT") == here.replace(str(tree), "ROOT")
    assert '"format": "wandb"' in there and '"format": "mlflow"' in there and '"format": "tensorboard"' in there
