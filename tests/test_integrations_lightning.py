"""The Lightning callback in a real (tiny, CPU) training: a NaN loss is stopped, a healthy twin is not."""

from __future__ import annotations

import logging
import warnings

import pytest

torch = pytest.importorskip("torch")
pl = pytest.importorskip("lightning.pytorch")
from curvelint.integrations.lightning import CurvelintCallback

pytestmark = pytest.mark.slow
EPOCHS = 10


class _Regression(pl.LightningModule):
    def __init__(self, lr: float) -> None:
        super().__init__()
        self.lr = lr
        self.net = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 1))

    def training_step(self, batch, index):
        loss = torch.nn.functional.mse_loss(self.net(batch[0]), batch[1])
        self.log("train_loss", loss, on_step=False, on_epoch=True)
        return loss

    def validation_step(self, batch, index):
        self.log("val_loss", torch.nn.functional.mse_loss(self.net(batch[0]), batch[1]))

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=self.lr)


def _fit(lr: float):
    from torch.utils.data import DataLoader, TensorDataset

    g = torch.Generator().manual_seed(0)
    x = torch.randn(512, 8, generator=g)
    y = x @ torch.randn(8, 1, generator=g) + 0.1 * torch.randn(512, 1, generator=g)
    pl.seed_everything(0, verbose=False)
    callback = CurvelintCallback(log=None)
    trainer = pl.Trainer(max_epochs=EPOCHS, accelerator="cpu", logger=False, enable_checkpointing=False,
                         enable_progress_bar=False, enable_model_summary=False, callbacks=[callback])
    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trainer.fit(_Regression(lr), DataLoader(TensorDataset(x[:384], y[:384]), batch_size=32),
                    DataLoader(TensorDataset(x[384:], y[384:]), batch_size=64))
    return callback, trainer


def test_lightning_callback_stops_a_nan_loss_from_a_huge_learning_rate():
    callback, trainer = _fit(1e3)
    assert trainer.should_stop and trainer.current_epoch < EPOCHS
    assert callback.monitor.stopped_by is not None and callback.monitor.stopped_by.rule == "CL100"
    assert callback.monitor.hparams["optimizer"] == "SGD"


def test_lightning_callback_leaves_the_healthy_twin_alone():
    callback, trainer = _fit(1e-2)
    assert trainer.current_epoch == EPOCHS and not callback.monitor.should_stop
    assert len(callback.monitor.history["val_loss"][1]) == EPOCHS
    assert [f for f in callback.monitor.findings if f.severity >= 3] == []
