"""Which files form a run.

Walks the given paths (files or folders), skips hidden folders and symlink loops,
and groups what it finds into `RunSource`s:

* a folder holding ``events.out.tfevents.*`` files is one TensorBoard run; Keras's
  ``RUN/train/`` + ``RUN/validation/`` layout is ONE run at ``RUN``;
* ``trainer_state.json`` is a Hugging Face Trainer run, other ``*.json`` files are
  candidate Keras histories (the reader ignores JSON that is not one); the copies that the
  Trainer saves in ``checkpoint-N/`` and ``last-checkpoint/`` are prefixes of the final
  state, so only the newest state of an output folder is linted (said in the run's notes);
  ``all_results.json``/``train_results.json``/``eval_results.json``/``test_results.json`` in the output
  folder of a linted state are read with it as the run's final values (not runs of their own);
* ``*.parquet`` is a run (or several, when it has a run column);
* ``*.csv`` and CSV-shaped ``*.log`` files (Keras CSVLogger, Lightning CSVLogger);
* ``*.jsonl`` files are candidate JSON Lines metrics logs, other ``*.log``, ``*.txt`` and ``*.out`` files
  candidate console logs (regular files only): their readers skip what is not a training log. One beside
  the log of a TensorBoard, HF Trainer, MLflow or W&B run is that run's console, not a second run (noted);
* an MLflow run folder (``meta.yaml`` + ``metrics/``);
* a Weights & Biases run folder (``wandb/run-*/``, ``wandb/offline-run-*/``: a ``*.wandb`` log and/or
  ``files/wandb-summary.json`` / ``files/wandb-history.jsonl``) is one run; the files inside it are
  not looked at separately, and ``wandb/latest-run`` (a link to one of its siblings) is not walked;
* ``*.onnx`` files belong to the runs of their folder, or form a graph-only run.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Iterable

from curvelint.fileio import exists, is_regular, is_remote, listdir, open_regular
from curvelint.globs import excluded

EVENT_MARK = "tfevents"
HF_RESULTS = ("all_results.json", "train_results.json", "eval_results.json", "test_results.json")
TEXT_LOG_SUFFIXES = (".log", ".txt", ".out")
_NOT_TEXT_LOG = re.compile(r"(?:requirements|constraints|license|licence|readme|notice|copying|changelog|authors|"
                           r"cmakelists|robots|vocab|merges)\b.*", re.IGNORECASE)  # never training logs
KERAS_SUBDIRS = ("train", "validation", "eval", "val", "test")


@dataclass(frozen=True)
class RunSource:
    """The files of one run and the reader that reads them."""

    path: str  # the run's folder or file, as the user named it
    format: str  # reader name (see curvelint.readers.READERS)
    files: tuple[str, ...]
    prefixes: tuple[str, ...] = ()  # per file: series-name prefix ("validation/"), or ""
    graphs: tuple[str, ...] = field(default=(), compare=False)  # ONNX files in the run's folder
    notes: tuple[str, ...] = field(default=(), compare=False)  # what discovery decided about these files

    @property
    def name(self) -> str:
        return self.path


def is_event_file(name: str) -> bool:
    return name.startswith("events.out.") and EVENT_MARK in name


def log_file(path: str, files: Iterable[str]) -> str:
    """The file of a run's `files` that stands for the run at `path`: a run folder's first event file (in
    the folder, else in its Keras subfolders), else `path`."""
    for folder in (path, *(os.path.join(path, d) for d in KERAS_SUBDIRS)):
        names = sorted(os.path.basename(f) for f in files
                       if os.path.dirname(f) == folder and is_event_file(os.path.basename(f)))
        if names:
            return os.path.join(folder, names[0])
    return path


def _file_format(path: str) -> str | None:
    name = os.path.basename(path)
    lower = name.lower()
    if is_event_file(name):
        return "tensorboard"
    if lower == "trainer_state.json":
        return "hf-trainer-state"
    if lower in HF_RESULTS:
        return "hf-results"
    if lower.endswith(".json"):
        return "keras-history"
    if lower.endswith(".parquet"):
        return "parquet"
    if lower.endswith(".csv") or (lower.endswith(".log") and _looks_like_csv_log(path)):
        return "csv"
    if lower.endswith(".jsonl"):
        return "jsonl"
    if lower.endswith(TEXT_LOG_SUFFIXES) and _text_log_candidate(path):
        return "text-log"
    if lower.endswith(".onnx"):
        return "onnx"
    return None


def _text_log_candidate(path: str) -> bool:
    """A regular file (a FIFO or a device named ``*.log`` is never opened) that may hold console output: not
    a well-known other text file, nor W&B's own ``wandb/debug*.log``."""
    name = os.path.basename(path)
    if _NOT_TEXT_LOG.fullmatch(name):
        return False
    if name.lower().startswith("debug") and os.path.basename(os.path.dirname(os.path.abspath(path))) == "wandb":
        return False
    return is_regular(path)


def _looks_like_csv_log(path: str) -> bool:
    """Keras CSVLogger is often told to write ``training.log``: a header line with 'epoch,'.

    Only a regular file is sniffed: a FIFO or a device named ``*.log`` is not a run."""
    try:
        with open_regular(path) as fh:
            head = fh.readline(4096).decode("utf-8", "replace").strip().lower()
    except OSError:
        return False
    cells = [c.strip() for c in head.split(",")]
    return len(cells) >= 2 and ("epoch" in cells or "step" in cells)


def _walk(root: str, exclude: list[str], base: str) -> Iterable[tuple[str, list[str], list[str]]]:
    """os.walk that follows symlinks once, skips hidden folders, loops and excluded paths."""
    seen: set[str] = set()
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        real = os.path.realpath(dirpath)
        if real in seen:
            dirnames[:] = []
            continue
        seen.add(real)
        dirnames[:] = sorted(
            d for d in dirnames
            if not d.startswith(".") and d != "__pycache__"
            and not excluded(os.path.join(dirpath, d), exclude, base)
        )
        yield dirpath, dirnames, sorted(
            f for f in filenames if not f.startswith(".") and not excluded(os.path.join(dirpath, f), exclude, base)
        )


def _mlflow_run_dir(dirpath: str, dirnames: list[str], filenames: list[str]) -> bool:
    return "meta.yaml" in filenames and "metrics" in dirnames


WANDB_FILES = ("wandb-summary.json", "wandb-history.jsonl")  # in a W&B run folder's files/
WANDB_LOG = ".wandb"  # run-<id>.wandb: the binary transaction log


def _wandb_run_dir(dirpath: str, dirnames: list[str], filenames: list[str]) -> bool:
    """A W&B run folder: a ``*.wandb`` log, or W&B's summary/history under ``files/``."""
    if any(f.endswith(WANDB_LOG) and not f.startswith(".") for f in filenames):
        return True
    return "files" in dirnames and any(exists(os.path.join(dirpath, "files", f), False) for f in WANDB_FILES)


_WANDB_RUN_NAME = re.compile(r"^(?:offline-)?run-[^/]+$")


def wandb_run_of(path: str, levels: int = 4, cache: dict[str, str | None] | None = None) -> str | None:
    """The W&B run folder that `path` is, or that the file `path` is in, or the ``run-*``/``offline-run-*``
    folder up to `levels` folders up that holds it (``files/wandb-summary.json``, ``files/media/...``)."""
    folder = os.path.normpath(path if os.path.isdir(path) else (os.path.dirname(path) or "."))
    if cache is not None and folder in cache:
        return cache[folder]
    found = None
    at = folder
    for level in range(levels):
        if level == 0 or _WANDB_RUN_NAME.match(os.path.basename(os.path.abspath(at))):
            try:
                entries = [e for e in os.listdir(at) if not e.startswith(".")]
            except OSError:
                break
            if _wandb_run_dir(at, [e for e in entries if os.path.isdir(os.path.join(at, e))], entries):
                found = at
                break
        parent = os.path.normpath(os.path.join(at, ".."))
        if os.path.abspath(parent) == os.path.abspath(at):
            break
        at = parent
    if cache is not None:
        cache[folder] = found
    return found


def _wandb_files(folder: str) -> tuple[str, ...]:
    """The files of a W&B run that the reader reads (for batching by size and for the run's sources)."""
    try:
        logs = sorted(f for f in listdir(folder) if f.endswith(WANDB_LOG))
    except OSError:
        logs = []
    inside = [os.path.join(folder, "files", f) for f in (*WANDB_FILES, "config.yaml")]
    return tuple([os.path.join(folder, f) for f in logs] + [p for p in inside if exists(p, False)]) or (folder,)


def _skip_latest_run_link(dirpath: str, dirnames: list[str]) -> None:
    """W&B's ``wandb/latest-run`` links to a sibling run folder: walk the sibling (under its own name) only."""
    if "latest-run" in dirnames:
        link = os.path.join(dirpath, "latest-run")
        target = os.path.realpath(link)
        if os.path.islink(link) and any(os.path.realpath(os.path.join(dirpath, d)) == target
                                        for d in dirnames if d != "latest-run"):
            dirnames.remove("latest-run")


class _Collector:
    def __init__(self) -> None:
        self.tb_dirs: dict[str, list[str]] = {}  # folder -> event files
        self.files: dict[str, str] = {}  # file -> format
        self.onnx: dict[str, list[str]] = {}  # folder -> onnx files
        self.mlflow: set[str] = set()
        self.wandb: set[str] = set()

    def add_file(self, path: str) -> None:
        fmt = _file_format(path)
        if fmt is None:
            return
        folder = os.path.dirname(path) or "."
        if fmt == "tensorboard":
            events = self.tb_dirs.setdefault(folder, [])
            if path not in events:  # pre-commit may name several event files of one run
                events.append(path)
        elif fmt == "onnx":
            self.onnx.setdefault(folder, []).append(path)
        elif "/metrics/" in path.replace(os.sep, "/") and os.path.isfile(os.path.join(folder, "..", "meta.yaml")):
            self.mlflow.add(os.path.normpath(os.path.join(folder, "..")))
        elif fmt != "keras-history" or os.path.basename(folder) != "metrics":
            self.files[path] = fmt

    def sources(self) -> list[RunSource]:
        out: list[RunSource] = []
        groups: dict[str, list[tuple[str, str]]] = {}
        splits: dict[str, int] = {}  # parent -> how many of its Keras split folders hold event files
        for folder in self.tb_dirs:
            parent, leaf = os.path.split(folder)
            if leaf in KERAS_SUBDIRS:
                splits[parent] = splits.get(parent, 0) + 1
        for folder, events in self.tb_dirs.items():
            parent, leaf = os.path.split(folder)
            # RUN/train + RUN/validation is one Keras run, and so is a lone RUN/train written by TF2's
            # summary writer (Keras without validation data: file names end in .v2); a lone `train/`
            # of another writer (YOLOv8's runs/detect/train, torch's SummaryWriter) is a run of its own
            keras = splits.get(parent, 0) >= 2 or any(f.endswith(".v2") for f in events)
            if leaf in KERAS_SUBDIRS and parent and parent not in self.tb_dirs and keras:
                groups.setdefault(parent, []).extend((f, leaf + "/") for f in sorted(events))
            else:
                groups.setdefault(folder, []).extend((f, "") for f in sorted(events))
        run_folders = set(groups) | self.mlflow | self.wandb
        states = [p for p, fmt in self.files.items() if fmt == "hf-trainer-state"]
        consoles = self._consoles(set(groups) | self.mlflow | self.wandb | {output_folder(p) for p in states}
                                  | {os.path.dirname(p) or "." for p in states})
        for folder, items in groups.items():
            out.append(RunSource(folder, "tensorboard", tuple(f for f, _ in items), tuple(p for _, p in items),
                                 tuple(sorted(self.onnx.get(folder, []))), consoles.get(folder, ())))
        for folder in self.mlflow:
            out.append(RunSource(folder, "mlflow", (folder,), (), tuple(sorted(self.onnx.get(folder, []))),
                                 consoles.get(folder, ())))
        for folder in self.wandb:
            out.append(RunSource(folder, "wandb", _wandb_files(folder), notes=consoles.get(folder, ())))
        skipped = _superseded_checkpoints(states)
        results = self._results([p for p in states if p not in skipped])
        for path, fmt in self.files.items():
            if path in skipped:
                continue
            folder = os.path.dirname(path) or "."
            run_folders.add(folder)
            notes = tuple(f"skipped {old}: an older checkpoint copy of this trainer state"
                          for old, newer in skipped.items() if newer == path)
            notes += consoles.get(output_folder(path), ()) if fmt == "hf-trainer-state" else ()
            out.append(RunSource(path, fmt, (path, *results.get(path, ())), (),
                                 tuple(sorted(self.onnx.get(folder, []))), notes))
        for folder, graphs in self.onnx.items():
            if folder not in run_folders:
                for g in sorted(graphs):
                    out.append(RunSource(g, "onnx", (g,), (), (g,)))
        out.sort(key=lambda s: s.path)
        return out

    def _consoles(self, run_folders: set[str]) -> dict[str, tuple[str, ...]]:
        """Text and JSON Lines logs in the folder of a one-run format: taken out of `files`, as notes of that run."""
        found: dict[str, list[str]] = {}
        for path, fmt in list(self.files.items()):
            folder = os.path.dirname(path) or "."
            if fmt in ("text-log", "jsonl") and folder in run_folders:
                found.setdefault(folder, []).append(os.path.basename(path))
                del self.files[path]
        return {folder: (f"not read as runs of their own: {', '.join(sorted(names))} (console or extra logs beside "
                         "this run's log)",) for folder, names in found.items()}

    def _results(self, states: list[str]) -> dict[str, tuple[str, ...]]:
        """HF ``*_results.json`` of each linted trainer state's output folder (taken out of `files`); the
        others stay candidate Keras histories (``json.dump(history.history, open("train_results.json", "w"))``)."""
        out: dict[str, tuple[str, ...]] = {}
        for state in states:
            output = output_folder(state)
            files = tuple(p for p in (os.path.join(output, n) for n in HF_RESULTS) if is_regular(p))
            if files:
                out[state] = files
            for path in files:
                self.files.pop(path, None)
        for path, fmt in self.files.items():
            if fmt == "hf-results":
                self.files[path] = "keras-history"
        return out


_CHECKPOINT = re.compile(r"^(?:checkpoint-(\d+)|last-checkpoint)$")


def output_folder(state: str) -> str:
    """The Trainer output folder of a ``trainer_state.json``: its folder, or the one above ``checkpoint-N/``."""
    folder = os.path.dirname(state) or "."
    parent, leaf = os.path.split(folder)
    return (parent or ".") if _CHECKPOINT.match(leaf) else folder


def _superseded_checkpoints(states: list[str]) -> dict[str, str]:
    """HF ``trainer_state.json`` copies in ``checkpoint-N/``/``last-checkpoint/`` -> the newer state
    of the same output folder that contains them (the final one, else the highest checkpoint)."""
    by_output: dict[str, list[tuple[tuple[int, int], str]]] = {}
    for path in states:
        folder = os.path.dirname(path) or "."
        parent, leaf = os.path.split(folder)
        match = _CHECKPOINT.match(leaf)
        if match:  # checkpoint-N < last-checkpoint < the output folder's own final state
            rank = (0, int(match.group(1))) if match.group(1) else (1, 0)
            by_output.setdefault(parent or ".", []).append((rank, path))
        else:
            by_output.setdefault(folder, []).append(((2, 0), path))
    skipped: dict[str, str] = {}
    for candidates in by_output.values():
        candidates.sort()
        newest = candidates[-1][1]
        for _, path in candidates[:-1]:
            skipped[path] = newest
    return skipped


def discover(paths: Iterable[str], exclude: list[str] | None = None) -> tuple[list[RunSource], list[str]]:
    """Group the files under `paths` into runs. Returns (sources, errors for missing paths)."""
    exclude = list(exclude or [])
    collector = _Collector()
    errors: list[str] = []
    wandb_cache: dict[str, str | None] = {}  # folder -> its W&B run (pre-commit may name many files of one folder)
    for raw in paths:
        if is_remote(raw):  # s3://, gs://, az://, hf://, file://
            _collect_remote(collector, raw, exclude, errors)
            continue
        path = os.path.normpath(raw)
        wandb_run = wandb_run_of(path, cache=wandb_cache) if os.path.exists(path) else None
        if wandb_run is not None:  # a W&B run folder, or a file or folder inside one (pre-commit names files)
            collector.wandb.add(wandb_run)
        elif os.path.exists(path) and not os.path.isdir(path):  # a file; a FIFO or device: its reader says so
            if is_event_file(os.path.basename(path)):
                # a named event file stands for its whole run (pre-commit passes file names)
                folder = os.path.dirname(path) or "."
                parent, leaf = os.path.split(folder)
                folders = [os.path.join(parent, d) for d in KERAS_SUBDIRS] if leaf in KERAS_SUBDIRS else [folder]
                for f in folders:
                    if os.path.isdir(f):
                        for name in sorted(os.listdir(f)):
                            if is_event_file(name):
                                collector.add_file(os.path.join(f, name))
            else:
                collector.add_file(path)
        elif os.path.isdir(path):
            _collect_tree(collector, _walk(path, exclude, path))
        else:
            errors.append(f"{raw}: no such file or directory")
    return collector.sources(), errors


def _collect_tree(collector: _Collector, tree: Iterable[tuple[str, list[str], list[str]]]) -> None:
    """Add the files of a walked tree (`_walk`, or `curvelint.remote.walk` for a URL) to `collector`."""
    for dirpath, dirnames, filenames in tree:
        folder = dirpath if is_remote(dirpath) else os.path.normpath(dirpath)
        if _wandb_run_dir(dirpath, dirnames, filenames):
            collector.wandb.add(folder)
            dirnames[:] = []  # its files (summary, metadata, media tables, console log) belong to it
            continue
        _skip_latest_run_link(dirpath, dirnames)
        if _mlflow_run_dir(dirpath, dirnames, filenames):
            collector.mlflow.add(folder)
        for f in filenames:
            collector.add_file(os.path.join(folder, f) if folder != "." else f)  # `.`: "x", not "./x"


def _collect_remote(collector: _Collector, url: str, exclude: list[str], errors: list[str]) -> None:
    """The runs under a URL, from one recursive listing of its store (`curvelint.remote`, which imports fsspec)."""
    from curvelint import remote

    base = url.rstrip("/")
    try:
        sniffed = lambda name: name.lower().endswith(".log")  # noqa: E731  (`_looks_like_csv_log` reads their first line)
        _collect_tree(collector, remote.walk(url, lambda p: excluded(p, exclude, base), sniffed))
    except (OSError, ImportError) as exc:
        errors.append(f"{url}: {remote.describe(exc)}")
