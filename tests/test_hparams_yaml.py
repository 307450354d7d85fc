"""Lightning's hparams.yaml: PyYAML's safe loader with Python tags read as names, checked against PyYAML's
unsafe loader on what yaml.dump writes and on the real files."""

from __future__ import annotations

import csv
import math
import random
import string
import textwrap
from pathlib import Path

import pytest
from conftest import REALWORLD

from curvelint.config import Config
from curvelint.discovery import discover
from curvelint.engine import lint
from curvelint.readers import hparams_yaml, read


def _parse(text: str) -> tuple[dict, list[str]]:
    return hparams_yaml.parse(textwrap.dedent(text))


def test_what_lightning_writes() -> None:
    values, skipped = _parse("""\
        # saved by save_hyperparameters()
        batch_size: 256
        betas: !!python/tuple
        - 0.9
        - 0.999
        class_names:
        - cat
        - dog
        cfg:
          model:
            learning_rate: 0.0003   # nested, as Hydra configs are
            dropout: 0.2
          trainer: {}
        ckpt_path: null
        criterion: !!python/object:torch.nn.modules.loss.BCEWithLogitsLoss
          _buffers: !!python/object/apply:collections.OrderedDict
          - - - weight
              - null
          reduction: mean
        gui: true
        lr: 1.0e-05
        name: 'it''s "quoted"'
        note: "caf\\xE9 \\u03B2"
        optim: !!python/name:torch.optim.adamw.AdamW ''
        scale: .5
        sizes: [1, 2, 3]
        tag: 1e-3
        """)
    assert values == {
        "batch_size": 256, "betas": [0.9, 0.999], "class_names": ["cat", "dog"],
        "cfg": {"model": {"learning_rate": 0.0003, "dropout": 0.2}, "trainer": {}}, "ckpt_path": None,
        "gui": True, "lr": 1e-05, "name": "it's \"quoted\"", "note": "café β", "optim": "torch.optim.adamw.AdamW",
        "scale": 0.5, "sizes": [1, 2, 3], "tag": "1e-3",  # a string for PyYAML too: floats need a dot
    }
    assert skipped == ["criterion"]


def test_what_is_left_out() -> None:
    values, skipped = _parse("""\
        layers:
        - units: 64
        - units: 32
        long: a string that yaml.dump wrapped because it went on for more than
          eighty characters
        text: |
          a block
        anchor: &a 1
        hexa: 0x1F
        lr: 0.1
        """)
    assert values == {"long": "a string that yaml.dump wrapped because it went on for more than eighty characters",
                      "text": "a block\n", "anchor": 1, "hexa": 31, "lr": 0.1}  # PyYAML reads all YAML
    assert skipped == ["layers"]  # no rule reads a list of mappings
    assert _parse("{}\n") == ({}, []) and _parse("") == ({}, [])


def test_python_objects_are_never_constructed_and_a_broken_key_costs_only_itself(tmp_path: Path) -> None:
    marker = tmp_path / "constructed"
    values, skipped = _parse(f"""\
        run: !!python/object/apply:os.system ["touch {marker}"]
        obj: !!python/object/new:pathlib.Path ["{marker}"]
        mod: !!python/module:os
        bad: [1, [2
        seed: {"9" * 5000}
        day: 2024-01-01
        blob: !!binary AAAA
        lr: 0.1
        """)
    assert not marker.exists()
    assert values == {"day": "2024-01-01", "lr": 0.1}
    assert skipped == ["run", "obj", "mod", "bad", "seed", "blob"]


# --- against PyYAML on random documents, dumped the way Lightning dumps them ---------------------------

def _random_document(rng: random.Random) -> dict:
    odd = ["adam", "0.001", "yes", "No", "null", "a: b", "x # y", "it's", 'say "hi"', "", " lead", "trail ",
           "1e-3", "~", "-", "- x", "[1]", "http://x.org/a#frag", "é", "0x1F", "007", "1:30", ".5", "+1", "1_000"]
    chars = string.ascii_letters + string.digits + " :#'\"-_.,[]{}!&*|>%@`?~é\\/\t"

    def text() -> str:
        k = rng.randrange(3)
        if k == 0:
            return rng.choice(odd)
        if k == 1:
            return "".join(rng.choice(chars) for _ in range(rng.randint(1, 30)))
        return " ".join("".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(1, 9)))
                        for _ in range(rng.randint(1, 25)))

    def leaf():
        k = rng.randrange(6)
        if k == 0:
            return rng.randint(-10**12, 10**12)
        if k == 1:
            return rng.choice([1e-5, 0.001, -2.0, 1e20, 1e300, math.inf, -math.inf, math.nan, 0.0, -0.0])
        if k == 2:
            return 10 ** rng.uniform(-12, 12) * rng.choice([1, -1])
        if k == 3:
            return rng.choice([True, False, None])
        return text()

    def key() -> str:
        return rng.choice(["lr", "num_classes", "batch size", "a: b", "it's", "k#1", "β", "x_1"])

    def value(depth: int = 0):
        k = rng.randrange(10)
        if k < 6:
            return leaf()
        if k == 6:
            return [leaf() for _ in range(rng.randint(0, 4))]
        if k == 7:
            return tuple(leaf() for _ in range(2))
        if k == 8 and depth < 3:
            return {key() + str(i): value(depth + 1) for i in range(rng.randint(0, 4))}
        return [{"a": leaf()}]

    return {key() + str(i): value() for i in range(rng.randint(1, 6))}


def _same(ours, theirs) -> bool:
    if isinstance(theirs, tuple):
        theirs = list(theirs)
    if isinstance(theirs, float) and isinstance(ours, float) and math.isnan(theirs):
        return math.isnan(ours)
    if isinstance(theirs, dict):
        return isinstance(ours, dict) and ours.keys() == theirs.keys() and all(_same(ours[k], theirs[k]) for k in ours)
    if isinstance(theirs, list):
        return isinstance(ours, list) and len(ours) == len(theirs) and all(map(_same, ours, theirs))
    return type(ours) is type(theirs) and ours == theirs


def _plain(value) -> bool:
    return isinstance(value, (int, float, str, bool, type(None)))


@pytest.mark.parametrize("seed", range(4))
def test_same_values_as_pyyaml_on_yaml_dump_output(seed: int) -> None:
    yaml = pytest.importorskip("yaml")
    rng = random.Random(seed)
    kept = 0
    for _ in range(300):
        document = _random_document(rng)
        text = yaml.dump(document)  # what Lightning's save_hparams_to_yaml calls
        theirs = yaml.unsafe_load(text)
        ours, skipped = hparams_yaml.parse(text)
        for key in skipped:  # only values outside the subset are left out (or strings wrapped over lines)
            value = theirs
            for part in key.split("."):
                value = value[part]
            assert not _plain(value) or (isinstance(value, str) and len(value) > 60), (key, value, text)
        expected = _without(theirs, set(skipped))
        assert _same(ours, expected), (ours, expected, text)  # nested mappings included
        kept += len(expected)
    assert kept > 600


def _without(document: dict, skipped: set[str], prefix: str = "") -> dict:
    """The document without the (dotted) keys the reader left out."""
    out = {}
    for key, value in document.items():
        path = f"{prefix}.{key}" if prefix else key
        if path not in skipped:
            out[key] = _without(value, skipped, path) if isinstance(value, dict) else value
    return out


# --- attached to runs -----------------------------------------------------------------------------------

def _csv_run(folder: Path, losses: list[float], accs: list[float]) -> None:
    folder.mkdir(parents=True)
    with open(folder / "metrics.csv", "w", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["epoch", "step", "train_loss", "val_loss", "val_acc"])
        for e, (loss, acc) in enumerate(zip(losses, accs)):
            w.writerow([e, 10 * e + 9, loss, loss + 0.01, acc])


def test_a_csv_logger_run_gets_its_hyperparameters(tmp_path: Path) -> None:
    run_dir = tmp_path / "lightning_logs" / "version_0"
    _csv_run(run_dir, [2.0 - 0.1 * e for e in range(12)], [0.5 + 0.03 * e for e in range(12)])
    (run_dir / "hparams.yaml").write_text("lr: 5.0\noptim: !!python/name:torch.optim.adam.Adam ''\n")
    (source,), _ = discover([str(tmp_path)])
    (run,) = read(source)
    assert run.hparams == {"lr": 5.0, "optim": "torch.optim.adam.Adam"}
    assert str(run_dir / "hparams.yaml") in run.sources and not run.notes
    report = lint([str(tmp_path)], Config(select=["CL121"]))
    (finding,) = report.findings
    assert "hyperparameter lr = 5" in finding.message and "adam" in finding.message


def test_values_in_the_log_win_and_other_formats_ignore_the_file(tmp_path: Path) -> None:
    import json

    history = tmp_path / "history.json"
    history.write_text(json.dumps({"loss": [1.0, 0.9, 0.8], "lr": [0.1, 0.1, 0.1]}))
    (tmp_path / "hparams.yaml").write_text("lr: 0.5\nnum_classes: 10\n")
    (source,), _ = discover([str(history)])
    (run,) = read(source)
    assert "num_classes" not in run.hparams  # only Lightning's loggers (TensorBoard, CSV) write the file
    (tmp_path / "metrics.csv").write_text("epoch,loss,lr\n0,1.0,0.1\n1,0.9,0.1\n")
    (source,), _ = discover([str(tmp_path / "metrics.csv")])
    (run,) = read(source)
    assert run.hparams["lr"] == 0.1 and run.hparams["num_classes"] == 10  # the logged lr, the file's classes


@pytest.mark.skipif(not REALWORLD.is_dir(), reason="../shared/realworld is not present")
def test_real_lightning_files() -> None:
    found = {str(p.relative_to(REALWORLD)): hparams_yaml.parse(p.read_text()) for p in REALWORLD.rglob("hparams.yaml")}
    assert len(found) >= 5
    for name, (values, skipped) in found.items():
        assert all(isinstance(k, str) for k in values), name
    by_repo = {name.split("/")[0]: values for name, (values, _) in found.items()}
    assert by_repo["hcdescamps_cv-image-cls"] == {"num_classes": 10}
    assert by_repo["akshaykulkarni3467_naf-dqn"]["optim"] == "torch.optim.adamw.AdamW"
    assert by_repo["bvoja_gpttt"]["cfg"]["model"]["learning_rate"] == 0.0003
