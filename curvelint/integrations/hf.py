"""A Hugging Face ``TrainerCallback`` that checks the Trainer's logs with curvelint every N logs.

    from curvelint.integrations.hf import CurvelintCallback
    trainer = Trainer(model, args, train_dataset=..., eval_dataset=..., callbacks=[CurvelintCallback()])

Every log the Trainer writes (``loss``, ``grad_norm``, ``learning_rate``, ``eval_loss``, ...) is
recorded at ``state.global_step``, keys as in ``trainer_state.json``'s ``log_history`` (the
same bookkeeping keys are skipped, `curvelint.readers.hf_trainer_state`); the learning rate,
optimizer and the state's batch size, epochs and max steps are the hyperparameters. An error
stops the training (``control.should_training_stop``) unless ``stop_on=None``; ``raise_on``
raises `TrainingProblem`. Also for TRL trainers, which use the same callbacks.

The Trainer's default ``logging_nan_inf_filter=True`` logs the mean of the finite losses in
place of a NaN/inf training loss: a diverged run then shows in ``grad_norm`` and ``eval_loss``.
"""

from __future__ import annotations

from typing import Any

from transformers import TrainerCallback

from curvelint.integrations.monitor import Monitor, scalar
from curvelint.readers.hf_trainer_state import HPARAM_KEYS, SKIP_KEY, SUMMARY_KEYS


class CurvelintCallback(TrainerCallback):
    """Check every `every` logs; other keyword arguments are `Monitor`'s (stop_on, raise_on, log,
    config, roles, hparams, hold, confirm)."""

    def __init__(self, every: int = 1, **options: Any) -> None:
        options.setdefault("name", "hf-trainer")
        self.monitor = Monitor(every, **options)

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        hparams = self.monitor.hparams
        rate = scalar(getattr(args, "learning_rate", None))
        if rate is not None:
            hparams.setdefault("learning_rate", rate)
        optim = getattr(args, "optim", None)
        if optim is not None:
            hparams.setdefault("optimizer", str(getattr(optim, "value", optim)))
        for key in HPARAM_KEYS:
            value = scalar(getattr(state, key, None))
            if value is not None and abs(value) < 2 ** 62:
                hparams.setdefault(key, int(value) if value.is_integer() else value)

    def on_log(self, args: Any, state: Any, control: Any, logs: dict | None = None, **kwargs: Any) -> None:
        if not logs or SUMMARY_KEYS & logs.keys():
            return  # the end-of-training summary
        metrics = {k: v for k, v in logs.items() if isinstance(k, str) and not SKIP_KEY.fullmatch(k)}
        if self.monitor.update(state.global_step, metrics):
            control.should_training_stop = True

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self.monitor.finish()
