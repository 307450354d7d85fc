"""CL121 learning-rate-out-of-range."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterator

import numpy as np

from curvelint.model import Severity
from curvelint.rule import MAX_DEPTH, Context, Option, Rule

# optimizer families, most specific first: (family, name fragments)
FAMILIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("lion", ("lion",)),
    ("adadelta", ("adadelta",)),
    ("adagrad", ("adagrad",)),
    ("lars", ("lars",)),
    ("adam", ("adam", "lamb", "adafactor", "amsgrad", "nadam", "radam", "adabelief", "sophia")),
    ("rmsprop", ("rmsprop",)),
    ("sgd", ("sgd", "momentum", "nesterov")),
)
# hyperparameters only one family has (HF TrainingArguments adam_beta1, torch Adam betas, SGD momentum)
FAMILY_KEYS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("adam", re.compile(r"adam_(?:beta[12]|epsilon|eps)|betas|beta_?[12]", re.IGNORECASE)),
    ("sgd", re.compile(r"(?:(?:opt|optim|optimizer|sgd)_)?(?:momentum|nesterov)", re.IGNORECASE)),
)
# logged LR series whose framework has a known default optimizer: YOLOv5/v8 train with SGD by default
# (lr0 0.01) and log a bias-group warmup that starts at warmup_bias_lr = 0.1
SERIES_DEFAULTS: tuple[tuple[re.Pattern[str], str, str], ...] = (
    (re.compile(r"x/lr\d+|lr/pg\d+"), "sgd", "YOLO's default (SGD; its bias warmup starts at 0.1)"),
)
FORMAT_DEFAULTS = {"hf-trainer-state": ("adam", "the Hugging Face Trainer's default, AdamW "
                                                "(trainer_state.json does not name the optimizer)")}
TYPICAL = {"adam": "1e-5..1e-2", "rmsprop": "1e-5..1e-2", "lion": "1e-5..1e-3", "adagrad": "1e-3..0.1",
           "adadelta": "0.1..1", "sgd": "0.01..0.5", "lars": "0.1..30"}
LR_KEYS = {"lr", "learning_rate", "learning-rate", "learningrate", "lr0", "base_lr", "max_lr", "init_lr",
           "initial_lr", "initial_learning_rate", "opt_learning_rate", "peak_lr"}
OPT_KEY = re.compile(r"(?:^|[._/])(?:optim|optimizer|optimiser|opt_name|optimizer_name|optimizer_type|"
                     r"optimizer_class|opt)(?:$|[._/](?:name|_target_|type|class))", re.IGNORECASE)


def flatten(d: Any, prefix: str = "", depth: int = 0) -> Iterator[tuple[str, Any]]:
    """Nested hparams (Hydra configs, YAML) as (dotted key, leaf value) pairs; mappings nested deeper than
    `MAX_DEPTH` levels are not looked at."""
    if isinstance(d, dict):
        if depth < MAX_DEPTH:
            for k, v in d.items():
                yield from flatten(v, f"{prefix}.{k}" if prefix else str(k), depth + 1)
    else:
        yield prefix, d


def family_of(text: str) -> str | None:
    t = text.lower()
    return next((fam for fam, frags in FAMILIES if any(f in t for f in frags)), None)


def as_float(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return f if np.isfinite(f) else None


@dataclass(frozen=True)
class Family:
    """The optimizer family, where it was read and how sure that is ("named" in the log or
    hyperparameters, "assumed" from a framework default or a family-specific hyperparameter)."""

    name: str | None
    source: str = ""
    sure: str = "unknown"

    @property
    def label(self) -> str:
        if self.name is None:
            return "any optimizer (optimizer unknown)"
        how = "" if self.sure == "named" else "assumed "
        return f"{self.name} optimizers ({how}from {self.source})"


class LearningRateOutOfRange(Rule):
    """A logged or configured learning rate is implausibly low or high for the optimizer.

    Symptom: the peak of the logged learning-rate series (schedules warm up from 0
    and decay towards 0, so the peak is what was meant), or a learning rate in the
    run's hyperparameters, lies outside the plausible range for the optimizer family.

    The family is read from what the log says, and the message says how sure that is:
    named (a hyperparameter such as ``optimizer: Adam`` / ``opt_name: SGD`` / HF
    ``optim: adamw_torch``, or the series name, e.g. Lightning's ``lr-Adam``), or
    assumed (a hyperparameter only one family has: ``adam_beta1``, ``betas`` -> Adam,
    ``momentum`` -> SGD; a framework default: the Hugging Face Trainer's AdamW for a
    ``trainer_state.json``, YOLO's SGD for ``x/lr0`` / ``lr/pg0`` series). Default ranges
    (option `bounds`): Adam-like 1e-7..0.03, RMSprop 1e-7..0.03, Lion 1e-8..3e-3, Adagrad
    1e-6..1, Adadelta 1e-4..10, SGD 1e-6..1 (above 1 only with large-batch linear
    scaling and warmup), LARS 1e-6..50. A rate of exactly 0 is always out of range. SGD
    from 1 up to ``sgd_clipped`` (50) is an info when the hyperparameters name a recurrent
    network (rnn, lstm, gru) or gradient clipping: word-level language models train at 20
    with the gradient norm clipped at 0.25. A rate inside the
    plausible range but below the usual one (Adam under 1e-5, SGD under 0.01) is reported
    when the training loss moved less than ``stalled_drop`` (10%) over the run: plausible for
    gentle fine-tuning, too low for this run.

    Optimizer unknown: below 1e-8 or above ``unknown_high`` (1: too high for any common
    optimizer) is a warning; above ``unknown_info`` (0.1, SGD's classic starting rate, which
    stays quiet) up to ``unknown_high`` it is an info (far above the usual range of
    Adam-family optimizers, plausible for SGD): name the optimizer in the hyperparameters to
    get a verdict.

    Why it matters: too low and nothing moves (flat loss, a wasted run); too high and
    the loss oscillates, spikes or turns NaN. Typical values: Adam/AdamW 1e-4..3e-3
    from scratch, 1e-5..5e-5 to fine-tune a transformer (LoRA 1e-4..3e-4); SGD with
    momentum 0.01..0.1 (scaled with the batch size).

    Fixes: use a value in the usual range, or run an LR range test.

    Keras::

        optimizer = keras.optimizers.Adam(learning_rate=1e-3)
        optimizer = keras.optimizers.SGD(learning_rate=0.05, momentum=0.9)

    PyTorch::

        optimizer = torch.optim.AdamW(model.parameters(), lr=3e-4, weight_decay=0.01)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        # LR range test: Lightning Tuner(trainer).lr_find(model); or torch-lr-finder
    """

    code = "CL121"
    name = "learning-rate-out-of-range"
    since = "0.1.0"
    severity = Severity.WARNING
    summary = "a logged or configured learning rate is implausibly low or high for the optimizer family"
    hint = ("use a typical learning rate for the optimizer (Adam/AdamW 1e-4..3e-3, fine-tuning 1e-5..5e-5, "
            "SGD+momentum 0.01..0.1) or run an LR range test")
    options = {
        "bounds": Option({"adam": [1e-7, 0.03], "rmsprop": [1e-7, 0.03], "lion": [1e-8, 3e-3],
                          "adagrad": [1e-6, 1.0], "adadelta": [1e-4, 10.0], "sgd": [1e-6, 1.0],
                          "lars": [1e-6, 50.0]},
                         "plausible [low, high] learning rate per optimizer family"),
        "default_bounds": Option([1e-8, 1.0], "plausible [low, high] when the optimizer family is unknown "
                                              "(outside: warning)"),
        "sgd_clipped": Option(50.0, "SGD above its high bound up to this rate is info when the hyperparameters "
                                    "name a recurrent network or gradient clipping (word-level language models "
                                    "train at 20, clip 0.25)"),
        "stalled_drop": Option(0.1, "a rate inside the plausible range but below the usual one is reported when the "
                                    "training loss moved less than this share of its start"),
        "unknown_info": Option(0.1, "optimizer unknown: a rate above this up to the default high bound is "
                                    "reported at info (far above Adam's usual range, plausible for SGD)"),
    }

    def check(self, ctx: Context):
        family = self._family(ctx)
        bounds = ctx.options["bounds"].get(family.name) if family.name else None
        if not bounds:
            family = Family(None)
        lo, hi = bounds or ctx.options["default_bounds"]
        seen: list[float] = []
        lr = ctx.curve("lr")
        if lr is not None and len(lr):
            i = int(np.argmax(lr.values))
            peak = float(lr.values[i])
            seen.append(peak)
            what = f"peak of {lr.name}" if len(lr) > 1 else f"value of {lr.name}"
            found = self._judge(ctx, what, peak, lo, hi, family, lr.name, int(lr.steps[i]),
                                {"points": len(lr), "min": float(lr.values.min())})
            if found is not None:
                yield found
        in_hparams = False
        for key, value in flatten(ctx.run.hparams):
            leaf = re.split(r"[./]", key)[-1].lower()
            f = as_float(value)
            if leaf not in LR_KEYS or f is None:
                continue
            in_hparams = True
            if any(np.isclose(f, s, rtol=1e-6) for s in seen):
                continue  # the logged series already said it
            seen.append(f)
            found = self._judge(ctx, f"hyperparameter {key}", f, lo, hi, family, None, None, {"hparam": key})
            if found is not None:
                yield found
        if lr is None and not in_hparams:
            yield ctx.abstain("no learning rate logged or in the hyperparameters")

    def _judge(self, ctx, what, value, lo, hi, family: Family, metric, step, extra):
        at = f" at step {step}" if step is not None else ""
        if not lo <= value <= hi:
            side = "below" if value < lo else "above"
            note = " (0: nothing is trained)" if value == 0 else ""
            typical = f"; usual {TYPICAL[family.name]}" if family.name in TYPICAL else ""
            if family.name is None and side == "above":
                typical = "; too high for every common optimizer (SGD 0.01..0.5, Adam-family 1e-5..1e-2)"
            clipped = (family.name == "sgd" and side == "above" and value <= ctx.options["sgd_clipped"]
                       and (hint := _recurrent_or_clipped(ctx.run.hparams)) is not None)
            if clipped:
                typical += (f"; plausible for a recurrent network with gradient clipping ({hint}; PyTorch's "
                            "word-language-model example trains an LSTM with SGD at 20 and clips the gradient norm "
                            "at 0.25): without clipping, expect exploding gradients")
            return ctx.finding(
                f"{what} = {value:.3g}{at}{note} is {side} the plausible range {lo:.0e}..{hi:.0e} for "
                f"{family.label}{typical}",
                metric=metric, step=step, severity=Severity.INFO if clipped else None,
                evidence={"value": value, "low": lo, "high": hi, "side": side, "family": family.name,
                          "family_from": family.source, "family_sure": family.sure, **extra})
        # "below the usual" only for a family with a usual range (not for a rate below 0 in configured bounds)
        usual = TYPICAL.get(family.name) if family.name is not None else None
        usual_low = float(usual.split("..")[0]) if usual is not None else 0.0
        moved = _train_loss_moved(ctx) if usual is not None and value < usual_low else None
        if moved is not None and moved < ctx.options["stalled_drop"]:
            return ctx.finding(
                f"{what} = {value:.3g}{at} is below the usual {usual} for {family.label}, and the "
                f"training loss moved only {moved:.1%} over the run: too low to train this model (plausible "
                f"range {lo:.0e}..{hi:.0e}, so a rate this small suits only gentle fine-tuning)",
                metric=metric, step=step,
                evidence={"value": value, "low": lo, "high": hi, "side": "below-usual", "usual_low": usual_low,
                          "train_loss_moved": moved, "family": family.name, "family_from": family.source,
                          "family_sure": family.sure, **extra})
        if family.name is None and value > ctx.options["unknown_info"]:
            adam_hi = ctx.options["bounds"].get("adam", [1e-7, 0.03])[1]
            return ctx.finding(
                f"{what} = {value:.3g}{at}; the optimizer is not named in the log: for Adam-family optimizers "
                f"{value:.3g} is far above the usual 1e-5..1e-2 (plausible at most {adam_hi:g}), while for SGD "
                f"with momentum it is within 0.01..0.5; if this is Adam/AdamW/RMSprop, lower it 10-100x "
                f"(name the optimizer in the hyperparameters, e.g. optimizer: SGD, for a verdict)",
                metric=metric, step=step, severity=Severity.INFO,
                evidence={"value": value, "low": lo, "high": hi, "side": "above-adam", "family": None,
                          "family_from": "", "family_sure": "unknown", "adam_high": adam_hi, **extra})
        return None

    @staticmethod
    def _family(ctx: Context) -> Family:
        params = list(flatten(ctx.run.hparams))
        for key, value in params:
            if isinstance(value, str) and OPT_KEY.search(key) and (fam := family_of(value)):
                return Family(fam, f"hyperparameter {key}={value}", "named")
        name = ctx.name_of("lr")
        if name and (fam := family_of(re.sub(r"^(?:lr|learning_rate)", "", name))):
            return Family(fam, f"series {name}", "named")
        for key, value in params:
            leaf = re.split(r"[./]", key)[-1]
            for fam, rx in FAMILY_KEYS:
                if rx.fullmatch(leaf) and value is not None and not isinstance(value, bool):
                    return Family(fam, f"hyperparameter {key}, which only {fam} optimizers have", "assumed")
        if name:
            for rx, fam, why in SERIES_DEFAULTS:
                if rx.fullmatch(name):
                    return Family(fam, f"series {name}: {why}", "assumed")
        if ctx.run.format in FORMAT_DEFAULTS:
            fam, why = FORMAT_DEFAULTS[ctx.run.format]
            return Family(fam, why, "assumed")
        return Family(None)


def _train_loss_moved(ctx: Context) -> float | None:
    """How far the training loss fell from its start to its end (levels of the first and last
    tenth), as a share of the start; None without a positive training loss of 3+ points."""
    s = ctx.curve("train_loss")
    if s is None or len(s) < 3:
        return None
    k = max(1, len(s) // 10)
    start, end = float(np.median(s.values[:k])), float(np.median(s.values[-k:]))
    return (start - end) / start if start > 0 else None


_RECURRENT = re.compile(r"(?:^|[^a-z])(?:rnn|lstm|gru)(?:$|[^a-z])", re.IGNORECASE)
_CLIP_KEY = re.compile(r"clip|max_grad_norm|max_norm", re.IGNORECASE)


def _recurrent_or_clipped(hparams: dict[str, Any]) -> str | None:
    """'hyperparameter key=value' naming a recurrent network or a positive gradient clip, else None."""
    for key, value in flatten(hparams):
        leaf = re.split(r"[./]", key)[-1]
        if isinstance(value, str) and _RECURRENT.search(value):
            return f"hyperparameter {key}={value}"
        f = as_float(value)
        if _CLIP_KEY.search(leaf) and f is not None and f > 0:
            return f"hyperparameter {key}={value}"
    return None
