"""Trees of run folders that the remote tests upload to a store and lint against their local copies.

`folder_runs` gathers the formats whose readers list their run folder or open a model: W&B run
folders (fixtures/wandb; the real runs of ../shared/realworld2 when present), MLflow file stores (one
made here, with a nested metric name and an unfinished run; the real stores of ../shared/realworld when
present), ONNX graphs (fixtures/graphs: bare models, and one beside a Keras history).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from conftest import FIXTURES, SHARED

REAL_WANDB = SHARED / "realworld2" / "nicetea17_cifar10"
REAL_MLFLOW = (SHARED / "realworld" / "10tanmay100_deepcnnclassifier", SHARED / "realworld" / "10academy_swahili-stt")
GRAPHS = ("lstm.onnx", "deep_sigmoid_mlp.onnx", "subgraph_if_sigmoid.onnx", "keras_gru.onnx")


def mlflow_store(root: Path) -> Path:
    """An MLflow file store with a finished run (a nested metric, params) and one still RUNNING."""
    for run_id, status in (("abc123", 3), ("def456", 1)):
        run = root / "mlruns" / "0" / run_id
        (run / "metrics" / "train").mkdir(parents=True)
        (run / "params").mkdir()
        (run / "meta.yaml").write_text(f"end_time: {'null' if status == 1 else 1700000100000}\n"
                                       f"run_id: {run_id}\nstatus: {status}\n")
        (run / "metrics" / "loss").write_text("".join(f"{1700000000000 + 1000 * s} {2.0 / (s + 1)} {s}\n"
                                                      for s in range(40)))
        (run / "metrics" / "train" / "acc").write_text("".join(f"{1700000000000 + 1000 * s} {min(1.0, s / 20)} {s}\n"
                                                               for s in range(40)))
        (run / "params" / "lr").write_text("0.001")
    (root / "mlruns" / "0" / "meta.yaml").write_text("experiment_id: '0'\nname: Default\n")
    return root


def folder_runs(target: Path, real: bool = True) -> Path:
    """The tree of the module doc under `target` (without the real runs of ../shared unless `real`: every
    file is then smaller than 64 KiB, read whole by its first request)."""
    shutil.copytree(FIXTURES / "wandb", target / "wandb", ignore=shutil.ignore_patterns("*.py"))
    mlflow_store(target / "mlflow")
    graphs = target / "graphs"
    graphs.mkdir()
    for name in GRAPHS:
        shutil.copy(FIXTURES / "graphs" / name, graphs / name)
    beside = target / "keras-with-graph"
    beside.mkdir()
    beside.joinpath("history.json").write_text('{"loss": [1.0, 0.8, 0.7, 0.65, 0.6], '
                                               '"val_loss": [1.1, 0.9, 1.0, 1.2, 1.5]}')
    shutil.copy(FIXTURES / "graphs" / "deep_sigmoid_mlp.onnx", beside / "model.onnx")
    if real and REAL_WANDB.is_dir():
        shutil.copytree(REAL_WANDB, target / "real-wandb")
    for store in REAL_MLFLOW if real else ():
        if store.is_dir():
            shutil.copytree(store, target / "real-mlflow" / store.name)
    return target
