"""Which folders of event files form one run: Keras's train/validation split vs a folder named train."""

from __future__ import annotations

from curvelint.discovery import discover


def touch(path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")


def sources(root):
    found, _ = discover([str(root)], [])
    return {(s.path.replace(str(root), "."), s.prefixes) for s in found}


def test_train_and_validation_folders_are_one_keras_run(tmp_path):
    touch(tmp_path / "run" / "train" / "events.out.tfevents.1.host.1.0")
    touch(tmp_path / "run" / "validation" / "events.out.tfevents.1.host.1.0")
    assert sources(tmp_path) == {("./run", ("train/", "validation/"))}


def test_a_lone_train_folder_of_tf2_keras_is_the_run_above_it(tmp_path):
    touch(tmp_path / "run" / "train" / "events.out.tfevents.1628697775.host.21044.31250.v2")
    assert sources(tmp_path) == {("./run", ("train/",))}


def test_a_lone_train_folder_of_another_writer_is_a_run_of_its_own(tmp_path):
    """YOLOv8 logs to runs/detect/train with torch's SummaryWriter: not a Keras split."""
    touch(tmp_path / "runs" / "detect" / "train" / "events.out.tfevents.1700000000.host.42.0")
    touch(tmp_path / "runs" / "detect" / "train2" / "events.out.tfevents.1700000001.host.43.0")
    assert sources(tmp_path) == {("./runs/detect/train", ("",)), ("./runs/detect/train2", ("",))}
