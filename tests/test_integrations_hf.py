"""The HF TrainerCallback in a real (tiny, CPU) Trainer run on a BERT built from a config (nothing is
downloaded): a NaN loss is stopped, a healthy twin is not."""

from __future__ import annotations

import os
import warnings

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
pytest.importorskip("accelerate")
from curvelint.integrations.hf import CurvelintCallback

pytestmark = pytest.mark.slow
MAX_STEPS = 120


class _Tokens(torch.utils.data.Dataset):
    def __init__(self, ids, labels) -> None:
        self.ids, self.labels = ids, labels

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, i):
        return {"input_ids": self.ids[i], "attention_mask": torch.ones_like(self.ids[i]), "labels": self.labels[i]}


def _train(tmp_path, lr: float, optim: str):
    transformers.utils.logging.set_verbosity_error()
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(1, 30, (256, 12), generator=g)
    labels = (ids[:, 0] > 15).long()
    torch.manual_seed(0)
    config = transformers.BertConfig(vocab_size=32, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                                     intermediate_size=32, max_position_embeddings=16, num_labels=2)
    callback = CurvelintCallback(log=None)
    args = transformers.TrainingArguments(
        output_dir=str(tmp_path), max_steps=MAX_STEPS, per_device_train_batch_size=16, learning_rate=lr, optim=optim,
        logging_steps=5, logging_nan_inf_filter=False, eval_strategy="steps", eval_steps=10, save_strategy="no",
        report_to=[], use_cpu=True, disable_tqdm=True, seed=0)
    trainer = transformers.Trainer(model=transformers.BertForSequenceClassification(config), args=args,
                                   train_dataset=_Tokens(ids[:192], labels[:192]),
                                   eval_dataset=_Tokens(ids[192:], labels[192:]), callbacks=[callback])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trainer.train()
    return callback, trainer


def test_hf_callback_stops_a_nan_loss_from_a_huge_learning_rate(tmp_path):
    callback, trainer = _train(tmp_path, 1e20, "sgd")
    assert trainer.state.global_step < MAX_STEPS
    assert callback.monitor.stopped_by is not None and callback.monitor.stopped_by.rule == "CL100"
    assert callback.monitor.hparams["max_steps"] == MAX_STEPS


def test_hf_callback_leaves_the_healthy_twin_alone(tmp_path):
    callback, trainer = _train(tmp_path, 1e-3, "adamw_torch")
    assert trainer.state.global_step == MAX_STEPS and not callback.monitor.should_stop
    assert {"loss", "eval_loss", "grad_norm", "learning_rate"} <= set(callback.monitor.history)
    assert [f for f in callback.monitor.findings if f.severity >= 3] == []
