"""The Keras 3 callback in a real (tiny, CPU) training: a NaN loss is stopped, a healthy twin is not."""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")
pytest.importorskip(os.environ["KERAS_BACKEND"])  # torch, jax, tensorflow or numpy
keras = pytest.importorskip("keras")
from curvelint.integrations.keras import CurvelintCallback

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::DeprecationWarning")]
EPOCHS = 12


def _fit(learning_rate: float):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(384, 8)).astype("float32")
    y = (x @ rng.normal(size=8) + 0.1 * rng.normal(size=384)).astype("float32")
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16, activation="relu"), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=learning_rate), loss="mse")
    callback = CurvelintCallback(log=None)
    history = model.fit(x, y, validation_split=0.25, epochs=EPOCHS, batch_size=32, verbose=0, callbacks=[callback])
    return callback, history.history


def test_keras_callback_stops_a_nan_loss_from_a_huge_learning_rate():
    callback, history = _fit(1e3)
    assert len(history["loss"]) < EPOCHS and np.isnan(history["loss"][-1])
    assert callback.monitor.stopped_by is not None and callback.monitor.stopped_by.rule == "CL100"
    assert callback.monitor.hparams == {"optimizer": "SGD", "learning_rate": pytest.approx(1e3)}


def test_keras_callback_leaves_the_healthy_twin_alone():
    callback, history = _fit(1e-2)
    assert len(history["loss"]) == EPOCHS
    assert not callback.monitor.should_stop
    assert [f for f in callback.monitor.findings if f.severity >= 3] == []
