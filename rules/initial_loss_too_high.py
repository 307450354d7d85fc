"""CL108 initial-loss-too-high."""

from __future__ import annotations

import math

import numpy as np

from curvelint.model import Severity
from curvelint.rule import Context, Option, Rule

from . import _loss as L
from ._chance import classes_of, is_accuracy

class InitialLossTooHigh(Rule):
    """The first logged training loss is absurdly high: unscaled inputs or a first-step blow-up.

    Symptom: a classifier whose first loss is ``max_chance_ratio`` times or more the
    chance-level loss ln C, C known from the run's hyperparameters or label counts. A
    freshly initialised classifier starts near ln C: logits of standard deviation s give
    about ln C + s^2/2, 1.1-1.3x ln C at the s ~ 1 of a standard initialisation on
    standardised inputs, while 2x ln C takes s of 2-4 (C from 2 to 1000). A run that logs an
    accuracy but not C is judged against ln ``classes_bound`` = ln 1000 with the wider
    margin ``max_bound_ratio`` (34.5 and up: C is only a bound). Or any loss whose first value is
    ``max_end_ratio`` times or more the level it ends at (orders of magnitude, e.g.
    2.9e12 -> 1.04) and ``min_drop_ratio`` times the next two points (a loss that
    a memorising model drives from 2.3 to 1e-6 over the run started normally).

    Why it matters: a loss that large means huge logits or outputs at initialisation:
    inputs that were not scaled (raw 0-255 pixels, features in the thousands), targets
    in raw units, a bad weight initialisation, or an optimizer step that blew the model up
    before the first log (a learning rate far too high). The run may still recover, but it spends its first steps undoing
    the damage, often with dead units afterwards; the same cause slows or destabilises
    the whole run.

    Fixes: scale the inputs (and regression targets) to unit range or standardise them;
    check the first batch's statistics; use a standard initialisation; start with a lower
    learning rate or a warmup.

    Keras::

        norm = keras.layers.Normalization(); norm.adapt(x_train)
        model = keras.Sequential([norm, ...])   # or x_train = x_train / 255.0

    PyTorch::

        x = (x - x.mean(0)) / x.std(0)          # or transforms.Normalize(mean, std)
        print(model(x[:64]).std())              # logits ~1 at initialisation
    """

    code = "CL108"
    name = "initial-loss-too-high"
    since = "0.1.0"
    severity = Severity.WARNING
    summary = "the first training loss is far above chance level or orders of magnitude above the end"
    hint = "scale the inputs (and regression targets), check the initialisation, start with a lower learning rate"
    options = {
        "max_chance_ratio": Option(2.0, "first loss / ln C above which a classifier of C known classes started "
                                        "absurdly high (logits of std 2-4 at the first log)"),
        "max_bound_ratio": Option(5.0, "first loss / ln classes_bound above which a classifier of unknown C did"),
        "max_end_ratio": Option(1e4, "first loss / end level above which any loss started absurdly high (info)"),
        "min_drop_ratio": Option(10.0, "... and this many times the points right after it (a loss memorised down "
                                       "to 1e-6 over the run started normally)"),
        "min_points": Option(3, "fewest finite points"),
        "classes_bound": Option(1000, "a classifier whose number of classes is not in the log has at most this many "
                                      "(its first loss is judged against ln of it)"),
    }

    def check(self, ctx: Context):
        s, why = ctx.usable("train_loss", min_points=ctx.options["min_points"])
        if s is None:
            yield ctx.abstain(why, ctx.name_of("train_loss"))
            return
        o = ctx.options
        first, step = float(s.values[0]), int(s.steps[0])
        known = classes_of(ctx)
        classes = known.count if known else None
        if classes is None and (acc := _accuracy_logged(ctx)):
            bound = int(o["classes_bound"])
            if first >= o["max_bound_ratio"] * math.log(bound):
                yield ctx.finding(
                    f"first training loss {first:.4g} at step {step} is {first / math.log(bound):.3g}x ln({bound}) = "
                    f"{math.log(bound):.4g}, above where a fresh classifier of up to {bound} classes starts (it logs "
                    f"{acc}, the number of classes is not in the log): huge logits from the start (unscaled inputs, "
                    "a bad initialisation) or a blow-up in the first steps",
                    metric=s.name, step=step,
                    evidence={"first": first, "classes": None, "classes_bound": bound, "accuracy_metric": acc,
                              "chance_loss": math.log(bound)})
                return
        if known is not None and classes and first >= o["max_chance_ratio"] * math.log(classes):
            yield ctx.finding(
                f"first training loss {first:.4g} at step {step} is {first / math.log(classes):.3g}x the chance "
                f"level ln({classes}) = {math.log(classes):.4g} a fresh {classes}-class model starts at "
                f"({known.source}): huge "
                "logits from the start (unscaled inputs, a bad initialisation) or a blow-up in the first steps",
                metric=s.name, step=step,
                evidence={"first": first, "classes": classes, "chance_loss": math.log(classes)})
            return
        end = L.shape(ctx, s).end
        early = float(np.median(s.values[1:3]))
        if first > 0 and end > 0 and first / end >= o["max_end_ratio"] and first >= o["min_drop_ratio"] * early:
            yield ctx.finding(
                f"first training loss {first:.4g} at step {step} is {first / end:.2g}x the level it ends at "
                f"({end:.4g}) and {first / early:.3g}x the points right after it ({early:.4g}): unscaled inputs or "
                "targets, or a blow-up in the first steps",
                metric=s.name, step=step, severity=Severity.INFO,
                evidence={"first": first, "end_level": end, "ratio": first / end, "early_level": early})


def _accuracy_logged(ctx: Context) -> str | None:
    """The name of the training or validation accuracy, when the run logs one (a classifier)."""
    for role in ("train_metric", "val_metric"):
        name = ctx.name_of(role)
        if name and is_accuracy(ctx, name):
            return name
    return None
