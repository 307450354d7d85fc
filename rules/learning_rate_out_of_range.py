"""CL121 learning-rate-out-of-range."""

from __future__ import annotations

import re
from typing import Any, Iterator

import numpy as np

from curvelint.model import Severity
from curvelint.rule import Context, Option, Rule

# optimizer families, most specific first: (family, name fragments)
FAMILIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("lion", ("lion",)),
    ("adadelta", ("adadelta",)),
    ("adagrad", ("adagrad",)),
    ("adam", ("adam", "lamb", "adafactor", "amsgrad", "nadam", "radam", "adabelief", "sophia")),
    ("rmsprop", ("rmsprop",)),
    ("sgd", ("sgd", "momentum", "nesterov", "lars")),
)
LR_KEYS = {"lr", "learning_rate", "learning-rate", "learningrate", "lr0", "base_lr", "max_lr", "init_lr",
           "initial_lr", "initial_learning_rate", "opt_learning_rate", "peak_lr"}
OPT_KEY = re.compile(r"(?:^|[._/])(?:optim|optimizer|optimiser|opt_name|optimizer_name|optimizer_type|"
                     r"optimizer_class|opt)(?:$|[._/](?:name|_target_|type|class))", re.IGNORECASE)


def flatten(d: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Nested hparams (Hydra configs, YAML) as (dotted key, leaf value) pairs."""
    if isinstance(d, dict):
        for k, v in d.items():
            yield from flatten(v, f"{prefix}.{k}" if prefix else str(k))
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


class LearningRateOutOfRange(Rule):
    """A logged or configured learning rate is implausibly low or high for the optimizer.

    Symptom: the peak of the logged learning-rate series (schedules warm up from 0
    and decay towards 0, so the peak is what was meant), or a learning rate in the
    run's hyperparameters, lies outside the plausible range for the optimizer family
    (taken from the hyperparameters, e.g. ``optimizer: Adam`` / ``opt_name: SGD``, or
    from the series name, e.g. Lightning's ``lr-Adam``). Default ranges (option
    `bounds`): Adam-like 1e-7..0.03, RMSprop 1e-7..0.03, Lion 1e-8..3e-3, Adagrad
    1e-6..1, Adadelta 1e-4..10, SGD 1e-6..5; unknown optimizer 1e-8..5
    (`default_bounds`). A rate of exactly 0 is always out of range.

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
    severity = Severity.WARNING
    summary = "a logged or configured learning rate is implausibly low or high for the optimizer family"
    hint = ("use a typical learning rate for the optimizer (Adam/AdamW 1e-4..3e-3, fine-tuning 1e-5..5e-5, "
            "SGD+momentum 0.01..0.1) or run an LR range test")
    options = {
        "bounds": Option({"adam": [1e-7, 0.03], "rmsprop": [1e-7, 0.03], "lion": [1e-8, 3e-3],
                          "adagrad": [1e-6, 1.0], "adadelta": [1e-4, 10.0], "sgd": [1e-6, 5.0]},
                         "plausible [low, high] learning rate per optimizer family"),
        "default_bounds": Option([1e-8, 5.0], "plausible [low, high] when the optimizer family is unknown"),
    }

    def check(self, ctx: Context):
        family, family_source = self._family(ctx)
        bounds = ctx.options["bounds"].get(family) if family else None
        lo, hi = bounds or ctx.options["default_bounds"]
        label = f"{family} optimizers ({family_source})" if bounds else "any optimizer (optimizer unknown)"
        seen: list[float] = []
        lr = ctx.curve("lr")
        if lr is not None and len(lr):
            i = int(np.argmax(lr.values))
            peak = float(lr.values[i])
            seen.append(peak)
            if not lo <= peak <= hi:
                what = "peak" if len(lr) > 1 else "value"
                yield self._finding(ctx, f"{what} of {lr.name}", peak, lo, hi, label, family, lr.name,
                                    int(lr.steps[i]), {"points": len(lr), "min": float(lr.values.min())})
        found = False
        for key, value in flatten(ctx.run.hparams):
            leaf = re.split(r"[./]", key)[-1].lower()
            f = as_float(value)
            if leaf not in LR_KEYS or f is None:
                continue
            found = True
            if any(np.isclose(f, s, rtol=1e-6) for s in seen):
                continue  # the logged series already said it
            seen.append(f)
            if not lo <= f <= hi:
                yield self._finding(ctx, f"hyperparameter {key}", f, lo, hi, label, family, None, None,
                                    {"hparam": key})
        if lr is None and not found:
            yield ctx.abstain("no learning rate logged or in the hyperparameters")

    def _finding(self, ctx, what, value, lo, hi, label, family, metric, step, extra):
        side = "below" if value < lo else "above"
        note = " (0: nothing is trained)" if value == 0 else ""
        return ctx.finding(
            f"{what} = {value:.3g}{note} is {side} the plausible range {lo:.0e}..{hi:.0e} for {label}",
            metric=metric, step=step,
            evidence={"value": value, "low": lo, "high": hi, "side": side, "family": family, **extra})

    @staticmethod
    def _family(ctx: Context) -> tuple[str | None, str]:
        for key, value in flatten(ctx.run.hparams):
            if isinstance(value, str) and OPT_KEY.search(key) and (fam := family_of(value)):
                return fam, f"hyperparameter {key}={value}"
        name = ctx.name_of("lr")
        if name and (fam := family_of(re.sub(r"^(?:lr|learning_rate)", "", name))):
            return fam, f"series {name}"
        return None, ""
