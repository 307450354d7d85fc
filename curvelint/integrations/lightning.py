"""A Lightning callback that checks the logged metrics with curvelint every N epochs (or steps).

    from curvelint.integrations.lightning import CurvelintCallback
    trainer = Trainer(max_epochs=50, callbacks=[CurvelintCallback()])

What ``self.log`` logged (``trainer.callback_metrics``: ``train_loss``, ``val_loss``, ...) is
recorded at each training epoch's end (after its validation), and with ``every_n_steps`` also
every N training steps, at the trainer's ``global_step`` as Lightning's loggers write it. The
first optimizer and its learning rate are the hyperparameters. An error stops the training
(``trainer.should_stop``) unless ``stop_on=None``; ``raise_on`` raises `TrainingProblem`.
Works with ``lightning`` and with the older ``pytorch_lightning`` package.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from curvelint.integrations.monitor import Monitor, scalar

if TYPE_CHECKING:  # (checked against the lightning package; the fallback's Callback is another class)
    from lightning.pytorch import Callback
else:
    try:
        from lightning.pytorch import Callback
    except ImportError:  # pragma: no cover - the pytorch_lightning package
        from pytorch_lightning import Callback


class CurvelintCallback(Callback):
    """Check every `every_n_epochs` epochs (and every `every_n_steps` steps when set); other keyword
    arguments are `Monitor`'s (stop_on, raise_on, log, config, roles, hparams, hold, confirm)."""

    def __init__(self, every_n_epochs: int = 1, every_n_steps: int | None = None, **options: Any) -> None:
        super().__init__()
        options.setdefault("name", "lightning")
        self.monitor = Monitor(1, **options)
        self.every_n_epochs, self.every_n_steps = every_n_epochs, every_n_steps

    def on_train_start(self, trainer: Any, pl_module: Any) -> None:
        optimizers = getattr(trainer, "optimizers", None) or []
        if optimizers:
            self.monitor.hparams.setdefault("optimizer", type(optimizers[0]).__name__)
            groups = getattr(optimizers[0], "param_groups", None) or [{}]
            rate = scalar(groups[0].get("lr"))
            if rate is not None:
                self.monitor.hparams.setdefault("learning_rate", rate)

    def on_train_batch_end(self, trainer: Any, pl_module: Any, outputs: Any, batch: Any, batch_idx: int) -> None:
        if self.every_n_steps and trainer.global_step % self.every_n_steps == 0:
            self.monitor.record(trainer.global_step, trainer.callback_metrics)
            self._check(trainer)

    def on_train_epoch_end(self, trainer: Any, pl_module: Any) -> None:
        self.monitor.record(trainer.global_step, trainer.callback_metrics)
        if (trainer.current_epoch + 1) % self.every_n_epochs == 0:
            self._check(trainer)

    def on_train_end(self, trainer: Any, pl_module: Any) -> None:
        self.monitor.finish()

    def _check(self, trainer: Any) -> None:
        self.monitor.check()
        if self.monitor.should_stop:
            trainer.should_stop = True
