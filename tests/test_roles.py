"""Role assignment from the naming conventions of the frameworks people use."""

from __future__ import annotations

import pytest

from curvelint.roles import assign_roles, direction


@pytest.mark.parametrize("names, expected", [
    (["loss", "val_loss", "accuracy", "val_accuracy", "lr"],  # Keras
     ("loss", "val_loss", "accuracy", "val_accuracy", "lr")),
    (["train/epoch_loss", "validation/epoch_loss", "validation/epoch_accuracy"],  # Keras TensorBoard
     ("train/epoch_loss", "validation/epoch_loss", None, "validation/epoch_accuracy", None)),
    (["Loss/train", "Loss/validation"], ("Loss/train", "Loss/validation", None, None, None)),  # PyTorch
    (["train_loss_step", "train_loss_epoch", "val_loss", "val_acc", "lr-Adam"],  # Lightning
     ("train_loss_epoch", "val_loss", None, "val_acc", "lr-Adam")),
    (["loss", "eval_loss", "learning_rate", "grad_norm"], ("loss", "eval_loss", None, None, "learning_rate")),  # HF
    (["train/box_loss", "train/cls_loss", "val/box_loss", "metrics/mAP_0.5", "x/lr0"],  # YOLOv5
     ("train/box_loss", "val/box_loss", None, "metrics/mAP_0.5", "x/lr0")),
    (["train/box_loss", "val/box_loss", "metrics/mAP50(B)", "lr/pg0"],  # YOLOv8
     ("train/box_loss", "val/box_loss", None, "metrics/mAP50(B)", "lr/pg0")),
])
def test_framework_conventions(names, expected):
    roles = assign_roles(names)
    assert (roles.train_loss, roles.val_loss, roles.train_metric, roles.val_metric, roles.lr) == expected


@pytest.mark.parametrize("name, want", [
    ("val_loss", "min"), ("eval_wer", "min"), ("val_accuracy", "max"), ("metrics/mAP_0.5", "max"),
    ("eval_mean_token_accuracy", "max"), ("hp_metric", None),
])
def test_direction(name, want):
    assert direction(name) == want


@pytest.mark.parametrize("names, role, want", [
    (["loss", "LearningRate"], "lr", "LearningRate"),
    (["loss", "learning-rate"], "lr", "learning-rate"),
    (["loss", "Learning Rate"], "lr", "Learning Rate"),
    (["loss", "lr-Adam"], "lr", "lr-Adam"),  # Lightning's LearningRateMonitor
    (["train/loss", "train/lr"], "lr", "train/lr"),
    (["TrainLoss", "ValLoss"], "train_loss", "TrainLoss"),
    (["TrainLoss", "ValLoss"], "val_loss", "ValLoss"),
    (["Loss", "ValidationLoss", "ValAccuracy"], "val_metric", "ValAccuracy"),
    (["trainLoss", "trainAccuracy"], "train_metric", "trainAccuracy"),
    (["loss", "GradNorm"], "grad_norm", "GradNorm"),
    (["train-loss", "val-loss"], "val_loss", "val-loss"),
])
def test_camelcase_hyphen_and_space_spellings_of_every_role(names, role, want):
    assert getattr(assign_roles(names), role) == want


@pytest.mark.parametrize("name, want", [
    ("ValAccuracy", "max"), ("TrainLoss", "min"), ("valLoss", "min"), ("metrics/mAP50(B)", "max"),
    ("mAP50", "max"), ("LearningRate", None), ("epochTime", None),
])
def test_direction_of_camelcase_names(name, want):
    assert direction(name) == want


def test_settings_of_a_loss_are_not_losses():
    from curvelint.roles import direction

    for name in ("train/loss_scale", "kl_weight", "loss_coef", "grad_scaler/scale"):
        assert direction(name) is None, name
    assert direction("train/loss") == "min" and direction("val_kl") == "min"
