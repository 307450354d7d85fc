"""Readers: one module per format, each turning a `RunSource` into `Run`s.

Every reader module exposes ``read(source: RunSource) -> list[Run]``. A reader never
raises for bad input: it records a `Problem` on the run (CL001/CL002 report it) and
keeps whatever it could read. A reader may return no run at all for a file that is
not a training log (e.g. a JSON file that is not a Keras history). Modules are
imported lazily so that linting one format never pays for the others' imports.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import warnings
from typing import Iterator

from curvelint.discovery import RunSource
from curvelint.fileio import is_dir, is_regular
from curvelint.model import Problem, Run

READERS: dict[str, str] = {
    "tensorboard": "curvelint.readers.tensorboard",
    "keras-history": "curvelint.readers.keras_json",
    "hf-trainer-state": "curvelint.readers.hf_trainer_state",
    "parquet": "curvelint.readers.parquet",
    "csv": "curvelint.readers.csvlog",
    "mlflow": "curvelint.readers.mlflow",
    "wandb": "curvelint.readers.wandb",
    "jsonl": "curvelint.readers.jsonl",
    "text-log": "curvelint.readers.text_log",
    "onnx": "curvelint.readers.onnx_graph",
}
HPARAMS_FILE_FORMATS = ("tensorboard", "csv")  # Lightning's TensorBoardLogger and CSVLogger write hparams.yaml


def read(source: RunSource) -> list[Run]:
    """Read one source into runs; an unexpected reader failure becomes a CL001 problem."""
    try:
        module = importlib.import_module(READERS[source.format])
        with quiet_numbers():
            runs = module.read(source)
    except Exception as exc:  # last line of defence: one bad file never stops the lint
        run = Run(name=source.name, path=source.path, format=source.format, sources=list(source.files))
        run.problems.append(Problem("unreadable", source.path, f"{type(exc).__name__}: {exc}"))
        return [run]
    return finish(runs, source)


@contextlib.contextmanager
def quiet_numbers() -> Iterator[None]:
    """NumPy's floating-point warnings ("invalid value encountered in cast", overflow) never reach stderr:
    damaged files hold NaN, infinities and absurd numbers, and readers and rules handle them themselves."""
    import numpy as np

    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def finish(runs: list[Run], source: RunSource) -> list[Run]:
    """What every reader's runs get: the folder's ONNX graphs, Lightning's hparams.yaml, discovery's
    notes (`curvelint.follow` finishes the runs it reads incrementally with this)."""
    if source.graphs and source.format != "onnx":
        _attach_graphs(runs, source)
    if source.format in HPARAMS_FILE_FORMATS:
        _attach_hparams(runs, source)
    for run in runs:
        run.notes.extend(source.notes)
    return runs


def _attach_hparams(runs: list[Run], source: RunSource) -> None:
    """Lightning's ``hparams.yaml`` in a run's folder fills in hyperparameters the log lacks."""
    folder = source.path if is_dir(source.path) else os.path.dirname(source.path)
    path = os.path.join(folder, "hparams.yaml")
    if not runs or not is_regular(path):
        return
    from curvelint.readers import hparams_yaml

    problems: list[Problem] = []
    try:
        values = hparams_yaml.read(path, problems)
    except OSError as exc:
        for run in runs:
            run.notes.append(f"{path} not read: {exc.strerror or exc}")
        return
    for run in runs:
        run.problems.extend(problems)
        for key, value in values.items():
            run.hparams.setdefault(key, value)
        run.sources.append(path)


def _attach_graphs(runs: list[Run], source: RunSource) -> None:
    """ONNX files in a run's folder are that run's model graph (read once, shared)."""
    try:
        graph_reader = importlib.import_module(READERS["onnx"])
    except ImportError:
        return
    for path in source.graphs:
        graph, problems = graph_reader.load_graph(path)
        for run in runs:
            run.problems.extend(problems)
            if graph is not None and run.graph is None:
                run.graph = graph
                run.sources.append(path)
                run.notes.extend(graph.notes)
