"""A Keras callback that checks the training's history with curvelint every N epochs.

    from curvelint.integrations.keras import CurvelintCallback
    model.fit(x, y, validation_split=0.2, epochs=50, callbacks=[CurvelintCallback()])

Keras 3 with any backend (TensorFlow, JAX, PyTorch), or TensorFlow's own ``tf.keras`` where
Keras 3 is not installed. Each epoch's logs (``loss``, ``val_loss``, ``accuracy``, ...) are the
points of the history, one per epoch as in ``History.history``; the optimizer and its
learning rate are the hyperparameters. An error stops the training (``model.stop_training``)
unless ``stop_on=None``; ``raise_on="error"`` raises `TrainingProblem` out of ``fit`` instead.
"""

from __future__ import annotations

from typing import Any

from curvelint.integrations.monitor import Monitor, scalar

try:
    import keras
except ImportError:  # pragma: no cover - TensorFlow 2 without Keras 3
    from tensorflow import keras


class CurvelintCallback(keras.callbacks.Callback):
    """Check every `every` epochs; other keyword arguments are `Monitor`'s (stop_on, raise_on, log,
    config, roles, hparams, hold, confirm)."""

    def __init__(self, every: int = 1, **options: Any) -> None:
        super().__init__()
        options.setdefault("name", "keras")
        self.monitor = Monitor(every, **options)

    def on_train_begin(self, logs: dict | None = None) -> None:
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is not None:
            self.monitor.hparams.setdefault("optimizer", type(optimizer).__name__)
            rate = scalar(_value(getattr(optimizer, "learning_rate", None)))
            if rate is not None:
                self.monitor.hparams.setdefault("learning_rate", rate)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if self.monitor.update(epoch, logs or {}):
            self.model.stop_training = True

    def on_train_end(self, logs: dict | None = None) -> None:
        self.monitor.finish()


def _value(variable: Any) -> Any:
    """A Keras variable's value (a schedule has none: None)."""
    if variable is None or callable(variable):
        return None
    try:
        return keras.ops.convert_to_numpy(variable)
    except Exception:
        return variable
