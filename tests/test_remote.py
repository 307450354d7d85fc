"""Remote paths through fsspec, on ``file://`` URLs (no server): the same runs and findings as the local
paths, bulky TensorBoard records not downloaded, Parquet columns projected, and no remote import at all
when every path is local. tests/test_s3.py runs the same against a real S3 server."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import FIXTURES, curvelint_command

pytest.importorskip("fsspec", reason="remote paths need fsspec (pip install 'curvelint[remote]')")

from tensorboard.compat.proto import event_pb2, summary_pb2
from tensorboard.plugins.image import metadata as image_metadata
from tensorboard.util import tensor_util
from test_tensorboard_reader import simple, tensor_scalar, write

from curvelint import remote, skim
from curvelint.discovery import discover


def lint_json(target: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> tuple[int, str]:
    done = subprocess.run([*curvelint_command(), target, "--format", "json", "--jobs", "1"], check=False,
                          capture_output=True, text=True, cwd=cwd, env=env, timeout=300)
    return done.returncode, done.stdout


def same_as_local(local: Path, url: str) -> str:
    """The JSON findings of `url` and of its local copy `local`, equal once each root is replaced."""
    rc_local, out_local = lint_json(str(local))
    rc_remote, out_remote = lint_json(url)
    assert rc_remote == rc_local
    assert out_remote.replace(url.rstrip("/"), "ROOT") == out_local.replace(str(local), "ROOT")
    return out_remote


def test_file_urls_give_the_findings_of_local_paths(tmp_path: Path) -> None:
    out = same_as_local(FIXTURES / "demo", (FIXTURES / "demo").as_uri())
    assert all(r["path"].startswith("file://") for r in json.loads(out)["runs"])


def test_the_listing_answers_the_readers_checks(tmp_path: Path) -> None:
    (tmp_path / "run" / "train").mkdir(parents=True)
    (tmp_path / "run" / "train" / "history.json").write_text('{"loss": [1, 0.5]}')
    (tmp_path / "run" / ".hidden.json").write_text("{}")
    url = tmp_path.as_uri()
    remote.reset()
    sources, errors = discover([url + "/"])
    assert not errors and [s.path for s in sources] == [f"{url}/run/train/history.json"]
    assert remote.STATS["listings"] >= 1
    assert remote.lookup(f"{url}/run/train") == "dir" and remote.lookup(f"{url}/run/.hidden.json") == "file"
    assert remote.lookup(f"{url}/run/hparams.yaml") == "missing"  # known without asking the store
    assert remote.size(f"{url}/run/train/history.json") == 18


def test_a_lint_asks_once_per_small_file(tmp_path: Path) -> None:
    from curvelint.engine import lint

    shutil.copytree(FIXTURES / "demo", tmp_path / "demo")
    (tmp_path / "demo" / "nan_loss" / "hparams.yaml").write_text("lr: 0.1\n")
    files = [p for p in (tmp_path / "demo").rglob("*") if p.is_file()]
    remote.reset()
    remote.STATS.update(listings=0, requests=0, bytes=0)
    report = lint([(tmp_path / "demo").as_uri()], jobs=1)
    assert len(report.runs) == 5 and not report.errors
    # one listing, then each file fetched whole, ahead (no request to stat a file or to look for a companion)
    assert remote.STATS["listings"] == 1 and remote.STATS["requests"] == len(files)
    assert remote.STATS["bytes"] == sum(p.stat().st_size for p in files)


def test_a_missing_url_is_one_line_naming_it(tmp_path: Path) -> None:
    done = subprocess.run([*curvelint_command(), (tmp_path / "nothing").as_uri()], check=False, capture_output=True,
                          text=True)
    assert done.returncode == 2
    first = done.stderr.splitlines()[0]
    assert first == f"curvelint: error: {(tmp_path / 'nothing').as_uri()}: no such file, folder or prefix"


def _image(tag: str, n: int, rng: np.random.Generator) -> summary_pb2.Summary:
    return summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag=tag, image=summary_pb2.Summary.Image(
        height=2, width=2, colorspace=1, encoded_image_string=rng.bytes(n)))])


def _tf2_image(tag: str, n: int, rng: np.random.Generator) -> summary_pb2.Summary:
    value = summary_pb2.Summary.Value(tag=tag, tensor=tensor_util.make_tensor_proto([b"2", b"2", rng.bytes(n)]))
    value.metadata.CopyFrom(image_metadata.create_summary_metadata(display_name=tag, description=""))
    return summary_pb2.Summary(value=[value])


def bulky_event_file(folder: Path) -> Path:
    """Scalars among images (TF1 and TF2 summaries), a graph, and summaries mixing an image and a scalar."""
    rng = np.random.default_rng(0)
    events: list = [(0, event_pb2.Event(wall_time=1.7e9, graph_def=rng.bytes(400_000)))]
    for s in range(120):
        events += [(s, simple("loss", 2.0 * 0.98 ** s)), (s, tensor_scalar("val_loss", 2.1 * 0.985 ** s))]
        if s % 15 == 0:
            events += [(s, _image("samples", 250_000, rng)), (s, _tf2_image("tf2_samples", 150_000, rng))]
        if s % 40 == 0:
            mixed = _image("mixed", 90_000, rng)
            mixed.value.add(tag="mixed_loss", simple_value=float(120 - s))
            events.append((s, mixed))
    return write(folder, events)


def test_bulky_records_are_skipped_not_downloaded(tmp_path: Path) -> None:
    path = bulky_event_file(tmp_path / "run")
    data = path.read_bytes()
    remote.reset()
    remote.STATS.update(requests=0, bytes=0)
    with remote.open_remote(path.as_uri()) as fh:
        skimmed = fh.read()
        skipped = fh.raw.skipped
    assert len(skimmed) == len(data)
    assert skipped > 0.7 * len(data) and remote.STATS["bytes"] < 0.35 * len(data)
    same = np.frombuffer(skimmed, np.uint8) == np.frombuffer(data, np.uint8)
    assert same.sum() >= len(data) - skipped - 64  # only the skipped payloads differ
    same_as_local(tmp_path / "run", (tmp_path / "run").as_uri())


def test_placeholders_have_the_exact_length() -> None:
    for length in range(skim.SKIP_MIN - 300, skim.SKIP_MIN + 300):
        for prefix in (b"", b"\x09" + bytes(8), b"\x09" + bytes(8) + b"\x10\x05"):
            payload = skim.placeholder(prefix, length)
            assert len(payload) == length
            event = event_pb2.Event.FromString(payload)
            assert not event.HasField("summary") and event.WhichOneof("what") == "graph_def"
    for boundary in (130, 16386, 2_097_155):  # where no single varint size fits exactly
        assert len(skim.placeholder(b"", boundary)) == boundary


def test_a_damaged_file_is_passed_through(tmp_path: Path) -> None:
    path = bulky_event_file(tmp_path / "run")
    data = bytearray(path.read_bytes())
    graph = 16 + int.from_bytes(data[:8], "little")  # the second record: the big graph
    data[graph + 9] ^= 0xFF  # its length CRC: the reader resyncs after it, the stream passes the rest through
    path.write_bytes(bytes(data))
    remote.reset()
    with remote.open_remote(path.as_uri()) as fh:
        assert fh.read() == bytes(data)
    same_as_local(tmp_path / "run", (tmp_path / "run").as_uri())


def test_parquet_reads_only_the_projected_columns(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    n = 200
    table = pa.table({"step": np.arange(n), "loss": np.linspace(2, 0.1, n), "val_loss": np.linspace(2.1, 0.3, n),
                      "sample": [np.random.default_rng(i).bytes(20_000) for i in range(n)]})
    path = tmp_path / "metrics.parquet"
    pq.write_table(table, path, compression="none")
    remote.reset()
    remote.STATS.update(requests=0, bytes=0)
    same_as_local(tmp_path, tmp_path.as_uri())
    # (the CLI ran in another process: measure this process's reads)
    from curvelint.readers import parquet

    runs = parquet.read(discover([tmp_path.as_uri()])[0][0])
    assert list(runs[0].series) == ["loss", "val_loss"]
    assert remote.STATS["bytes"] < 0.1 * path.stat().st_size


def test_local_paths_import_nothing_remote() -> None:
    code = ("import sys; from curvelint.cli import main\n"
            "try:\n    main(['fixtures/demo', '--no-plot'])\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('fsspec', 's3fs', 'tqdm', 'distributed', 'dask')"
            " or m in ('curvelint.remote', 'curvelint.skim', 'curvelint.executors', 'curvelint.progress')))")
    done = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True,
                          cwd=FIXTURES.parent, timeout=120)
    assert done.stdout.strip().splitlines()[-1] == "[]", done.stderr


def test_wandb_mlflow_and_onnx_from_urls_and_in_workers(tmp_path: Path) -> None:
    """Run folders whose readers list them (W&B, MLflow) and ONNX models read from URLs give the local
    findings; a worker seeded with the listing (`remote.export`) reads them without listing again."""
    from remote_trees import folder_runs

    from curvelint import readers

    tree = folder_runs(tmp_path / "tree")
    same_as_local(tree, tree.as_uri())
    remote.reset()
    sources, errors = discover([tree.as_uri()])
    folders = [s for s in sources if s.format in remote.FOLDER_RUNS]
    assert not errors and {s.format for s in folders} == {"wandb", "mlflow"}
    expected = [[(r.name, sorted(r.series)) for r in readers.read(s)] for s in folders]
    listing = remote.export(folders)
    remote.reset()
    remote.seed(listing)
    remote.STATS["listings"] = 0
    assert [[(r.name, sorted(r.series)) for r in readers.read(s)] for s in folders] == expected
    assert remote.STATS["listings"] == 0
    assert remote.root_of(folders[0].path) == tree.as_uri()
    remote.reset()
