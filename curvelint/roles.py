"""Which series plays which part: training loss, validation loss, monitored metric, lr, grad norm.

Names follow the conventions of Keras (`loss`/`val_loss`, `train/epoch_loss` +
`validation/epoch_loss`), PyTorch users (`train/loss`, `Loss/train`), Lightning
(`train_loss`, `val_loss_epoch`), and the HF Trainer (`loss`, `eval_loss`,
`learning_rate`, `grad_norm`), and YOLOv5/v8 (`train/box_loss`, `metrics/mAP_0.5`). Configuration (`[tool.curvelint.metrics]`) wins.

CamelCase and hyphen/space spellings of every convention are the same names: `LearningRate`,
`learning-rate`, `ValLoss`, `Train Accuracy` are matched as `learning_rate`, `val_loss`,
`train_accuracy` (a name is tried as written first, so `lr-Adam` and `mAP50(B)` keep their meaning).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields, replace
from functools import cached_property, lru_cache
from typing import Literal

Direction = Literal["min", "max"]
ROLE_NAMES = ("train_loss", "val_loss", "train_metric", "val_metric", "lr", "grad_norm")

_VAL = r"(?:val|valid|validation|eval|evaluation|dev)"
_TRAIN = r"(?:train|training|tr)"
# Candidate names per role, most specific first; matched case-insensitively against the whole name.
PATTERNS: dict[str, tuple[str, ...]] = {
    "val_loss": (
        rf"{_VAL}_loss(?:_epoch)?",
        rf"{_VAL}[/._]epoch_loss",
        rf"{_VAL}/loss(?:_epoch)?",
        rf"loss[/_]{_VAL}",
        rf"{_VAL}_g?0?_?loss",
        rf"{_VAL}[/_]mean_loss",
        rf"{_VAL}/box_loss",  # YOLOv5/v8 log loss components only; the box loss is the main one
    ),
    "train_loss": (
        r"loss",
        r"epoch_loss",
        rf"{_TRAIN}_loss_epoch",
        rf"{_TRAIN}_loss(?:_step)?",
        rf"{_TRAIN}[/.]epoch_loss",
        rf"{_TRAIN}/loss(?:_epoch|_step)?",
        rf"loss[/_]{_TRAIN}",
        r"mean_loss",
        r"train/total_loss",
        r"total_loss",
        rf"{_TRAIN}/box_loss",
    ),
    "val_metric": tuple(
        rf"{_VAL}[/._]{m}" for m in (
            r"(?:epoch_)?acc(?:uracy)?(?:_epoch)?", r"(?:epoch_)?f1", r"(?:epoch_)?auc", r"mean_token_accuracy",
        )
    ) + (r"(?:acc|accuracy)[/_]" + _VAL, r"metrics/mAP_0\.5", r"metrics/mAP50\(B\)"),  # YOLOv5, YOLOv8
    "train_metric": (
        r"acc(?:uracy)?", r"epoch_acc(?:uracy)?",
        rf"{_TRAIN}[/._](?:epoch_)?acc(?:uracy)?(?:_epoch|_step)?",
        r"(?:acc|accuracy)[/_]" + _TRAIN,
        r"mean_token_accuracy",
    ),
    "lr": (
        r"lr", r"learning_rate", r"learning-rate", r"epoch_learning_rate", r"lr-\w+", r"lr[/_]\w+",
        rf"{_TRAIN}[/._](?:epoch_)?(?:lr|learning_rate)", r"x/lr0", r"(?:optim|optimizer)[/_]lr\w*",
    ),
    "grad_norm": (
        r"grad_norm", r"gradient_norm", r"grad[/_]norm\w*", r"(?:train[/_])?grad(?:ient)?_norm\w*",
        r"global_norm", r"grad_norm[/_]total",
    ),
}

_MAX_WORDS = (
    "acc", "accuracy", "auc", "f1", "precision", "recall", "map", "iou", "dice", "jaccard", "bleu",
    "rouge", "return", "reward", "ndcg", "mrr", "r2", "top1", "top5", "psnr", "ssim", "hit",
)
_MIN_WORDS = (
    "loss", "error", "err", "mse", "mae", "rmse", "wer", "cer", "perplexity", "ppl", "nll", "bpd",
    "fid", "kl", "distance",
)


_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def snake(name: str) -> str:
    """`name` with CamelCase humps, hyphens and spaces turned into underscores:
    'LearningRate' -> 'Learning_Rate', 'val-loss' -> 'val_loss' (case is kept; matching ignores it)."""
    return re.sub(r"[-\s]+", "_", _CAMEL.sub("_", name))


def direction(name: str) -> Direction | None:
    """'min' for loss-like names, 'max' for accuracy-like names, None when unknown.

    The name's words are read as written, then (if that says nothing) with CamelCase split:
    'ValAccuracy' is an accuracy, while 'mAP50' stays one word ('map50')."""
    for spelling in dict.fromkeys((name, snake(name))):
        found = _direction_of_words([w for w in re.split(r"[^a-z0-9]+", spelling.lower()) if w])
        if found:
            return found
    return None


# a name ending in one of these is a setting of a loss or metric, not the loss itself
# (``loss_scale`` of mixed precision, ``kl_weight``, ``loss_coef``)
_SETTING_WORDS = ("scale", "scaler", "weight", "weights", "coef", "coeff", "lambda", "temperature")


def _direction_of_words(words: list[str]) -> Direction | None:
    if words and words[-1] in _SETTING_WORDS:
        return None
    for word in reversed(words):  # the last word is the most specific: "val_acc_loss" is a loss
        if any(word == m or word.startswith(m) and m in ("loss",) for m in _MIN_WORDS):
            return "min"
        if word in _MAX_WORDS or re.fullmatch(r"(?:map|acc|top)\d*(?:_?\d+)?", word):
            return "max"
    return None


@dataclass(frozen=True)
class Roles:
    """The series name assigned to each role (None when the run has none)."""

    train_loss: str | None = None
    val_loss: str | None = None
    train_metric: str | None = None
    val_metric: str | None = None
    lr: str | None = None
    grad_norm: str | None = None
    directions: dict[str, Direction] = field(default_factory=dict)

    def items(self) -> list[tuple[str, str]]:
        return [(f.name, getattr(self, f.name)) for f in fields(self) if f.name in ROLE_NAMES and getattr(self, f.name)]

    def role_of(self, series_name: str) -> str | None:
        return self._roles_by_name.get(series_name)

    @cached_property
    def _roles_by_name(self) -> dict[str, str]:
        by_name: dict[str, str] = {}
        for role, name in self.items():
            by_name.setdefault(name, role)  # the first role in field order, as a scan would find
        return by_name


def _match(names: list[str], patterns: tuple[str, ...], taken: set[str]) -> str | None:
    spellings = [(name, snake(name)) for name in names]
    for pattern in patterns:
        rx = re.compile(pattern, re.IGNORECASE)
        for name, snaked in spellings:
            if name not in taken and (rx.fullmatch(name) or rx.fullmatch(snaked)):
                return name
    return None


# a split's loss named after its kind (``train/dice_loss``, ``val_focal_loss``): taken only when it
# is the split's one loss, since several (``train/kl_loss`` + ``train/recon_loss``) are components
_NAMED_LOSS = {"train_loss": re.compile(rf"{_TRAIN}[/._][a-z0-9]+_?loss", re.IGNORECASE),
               "val_loss": re.compile(rf"{_VAL}[/._][a-z0-9]+_?loss", re.IGNORECASE)}


def _only_loss_of_split(names: list[str], role: str, taken: set[str]) -> str | None:
    rx = _NAMED_LOSS.get(role)
    if rx is None:
        return None
    found = [n for n in names if n not in taken and (rx.fullmatch(n) or rx.fullmatch(snake(n)))]
    return found[0] if len(found) == 1 else None


def assign_roles(
    names: list[str],
    overrides: dict[str, str | list[str]] | None = None,
    directions: dict[str, Direction] | None = None,
) -> Roles:
    """Assign roles to series names. `overrides` maps role -> name or list of candidate names.

    Runs of one experiment share their series names: the assignment is cached per names
    and configuration (each call gets its own `directions` dict).
    """
    key_over = tuple((k, v if isinstance(v, str) else tuple(v)) for k, v in (overrides or {}).items())
    key_dirs = tuple((directions or {}).items())
    roles = _assign_cached(tuple(names), key_over, key_dirs)
    return replace(roles, directions=dict(roles.directions))


@lru_cache(maxsize=256)
def _assign_cached(names: tuple[str, ...], overrides: tuple, directions: tuple) -> Roles:
    return _assign(list(names), dict(overrides), dict(directions))


def _assign(names: list[str], overrides: dict, directions: dict[str, Direction]) -> Roles:
    ordered = sorted(names)
    taken: set[str] = set()
    chosen: dict[str, str | None] = {}
    for role in ("val_loss", "train_loss", "val_metric", "train_metric", "lr", "grad_norm"):
        wanted = overrides.get(role)
        if wanted is not None:
            candidates = [wanted] if isinstance(wanted, str) else list(wanted)
            pick = next((c for c in candidates if c in names and c not in taken), None)
        else:
            pick = _match(ordered, PATTERNS[role], taken) or _only_loss_of_split(ordered, role, taken)
        chosen[role] = pick
        if pick:
            taken.add(pick)
    dirs: dict[str, Direction] = {}
    for name in names:
        d = direction(name)
        if d:
            dirs[name] = d
    for role in ("train_loss", "val_loss"):
        loss = chosen[role]
        if loss:
            dirs[loss] = "min"
    dirs.update(directions or {})
    return Roles(directions=dirs, **chosen)


# fewer epoch means than this, beside a per-step twin with several times the points, are too few
# for the curve rules; an epoch mean also hides a blow-up inside the first epoch
MIN_EPOCH_POINTS = 10


def prefer_steps(roles: Roles, lengths: dict[str, int]) -> Roles:
    """Lightning logs ``train_loss_epoch`` and ``train_loss_step`` when ``on_step`` and ``on_epoch``
    are both set: the training loss is the per-step series when the epoch means are fewer than
    `MIN_EPOCH_POINTS` and the steps at least 3 times as many."""
    name = roles.train_loss
    if not name or not name.lower().endswith("_epoch"):
        return roles
    twin = next((n for n in lengths if n.lower() == name[:-6].lower() + "_step"), None)
    if twin is None or lengths.get(name, 0) >= MIN_EPOCH_POINTS or lengths[twin] < 3 * lengths.get(name, 0):
        return roles
    return replace(roles, train_loss=twin, directions={**roles.directions, twin: "min"})
