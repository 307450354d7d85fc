"""The printers whose console output `curvelint.readers.text_log` reads: one class per way of printing.

A printer is fed the log's lines one at a time (ANSI colours removed, ``\\r``/backspace redraws split
into segments) and gathers the records it recognises into `Rows`; `lines` counts the lines that gave
values, `bad` the lines it recognised but could not read (a mutated number, a cut dict).

* `KerasPrinter`  ``Epoch 3/10`` then ``6/6 - 0s - 3ms/step - loss: 0.41 - val_loss: 0.52`` (verbose=2),
  or the progress bar redrawn in place (verbose=1): the last values of an epoch are its record, at
  step epoch - 1 (as in a Keras history); an epoch cut off before its last batch is left out (noted).
* `RegexPrinter`  one or more regexes with named groups: ``step``/``global_step``/``iter``/``iteration``
  /``it``/``epoch`` is the step, every other group a series (``[tool.curvelint.text-logs]``, and nanoGPT's
  ``step 100: train loss X, val loss Y`` / ``iter 10: loss X``). A line of a regex without a step group
  is at the last step seen (without any step group, the k-th matching line is step k).
* `HFDictPrinter`  the dicts the HF Trainer prints (``{'loss': '0.5', 'learning_rate': ..., 'epoch': 1.0}``),
  evaluated as literals only. The k-th training dict is step k (the printout has no step numbers);
  an eval dict is at the step of the training dict before it; the closing ``train_runtime`` dict
  is the run's final values.
* `CoquiPrinter`  Coqui's trainer (TTS): ``--> STEP: 4/5 -- GLOBAL_STEP: 16`` blocks of ``| > loss: X (avg)``
  at their global step, ``--> EVAL PERFORMANCE`` blocks of ``| > avg_loss: X (+diff)`` as ``eval_loss``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Pattern

from curvelint.readers._common import Rows, metric_like, python_literal, to_float

AXIS_GROUPS = ("step", "global_step", "iteration", "iter", "it", "epoch")  # in order of preference
NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|[-+]?(?:nan|NaN|inf|Inf|Infinity)"
_NUMBER = re.compile(rf"(?:{NUMBER})\Z")
MAX_DICT = 100_000  # characters of a printed dict that are parsed
_NUMERIC_START = tuple("0123456789-+.")


def number(token: str) -> float | None:
    """A printed number (``0.41``, ``1.0000e-04``, ``nan``, ``-inf``), or None."""
    token = token.strip()
    return to_float(token) if _NUMBER.match(token) else None


@dataclass
class Printer:
    """What one printer read from a log."""

    name: str
    rows: Rows = field(default_factory=Rows)
    lines: int = 0  # lines that gave values
    bad: list[int] = field(default_factory=list)  # lines recognised but not readable
    notes: list[str] = field(default_factory=list)
    final: dict[str, float] = field(default_factory=dict)
    touched: int = 0  # the last line that gave values or was bad

    def feed(self, lineno: int, line: str) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def finish(self) -> None:
        """The end of the log."""

    def add(self, lineno: int, values: dict[str, float], step: float | None) -> None:
        if values:
            self.rows.add(values, step)
            self.lines += 1
            self.touched = lineno

    def damaged(self, lineno: int) -> None:
        self.bad.append(lineno)
        self.touched = lineno


# -- Keras ------------------------------------------------------------------------------------------------
_EPOCH = re.compile(r"^\s*Epoch (\d+)/(\d+)\s*$")
_PAIR = re.compile(r"(?:^|\s)-\s+([A-Za-z_][\w./-]*):\s+(\S+)")
_BATCH = re.compile(r"^\s*(\d+)/(\d+)\b")
_PROGRESS = re.compile(r"^\s*(?:\d+/\d+\b|-\s+\d+s\b)|\d+m?s/step\b|\bETA:")


class KerasPrinter(Printer):
    def __init__(self) -> None:
        super().__init__("keras")
        self.epoch: int | None = None
        # the epoch's last values: (line, values, names of bad values, (batch, batches) of the progress bar)
        self.pending: tuple[int, dict[str, float], list[str], tuple[int, int] | None] | None = None
        self.cut: list[str] = []

    def feed(self, lineno: int, line: str) -> None:
        if "poch" not in line and ": " not in line:
            return
        header = _EPOCH.match(line)
        if header:
            self._commit()
            self.epoch = int(header.group(1))
            return
        if self.epoch is None or not _PROGRESS.search(line):
            return
        pairs = _PAIR.findall(line)
        if not pairs:
            return
        values, bad = {}, []
        for key, token in pairs:
            value = number(token)
            if value is None:
                bad.append(key)
            else:
                values[key] = value
        batch = _BATCH.match(line)
        self.pending = (lineno, values, bad, (int(batch.group(1)), int(batch.group(2))) if batch else None)

    def _commit(self) -> None:
        if self.pending is None or self.epoch is None:
            return
        lineno, values, bad, batch = self.pending
        self.pending = None
        if batch is not None and batch[0] < batch[1]:
            self.cut.append(f"epoch {self.epoch} at batch {batch[0]}/{batch[1]}")
            return
        if bad:
            self.damaged(lineno)
        self.add(lineno, values, float(self.epoch - 1))

    def finish(self) -> None:
        self._commit()
        if self.cut:
            self.notes.append(f"cut off before their last batch, not read: {', '.join(self.cut[:3])}"
                              + (f" and {len(self.cut) - 3} more" if len(self.cut) > 3 else ""))


# -- regexes with named groups -------------------------------------------------------------------------------
class RegexPrinter(Printer):
    """Lines matching one of `patterns` (searched); named groups give the step and the values."""

    def __init__(self, name: str, patterns: list[Pattern[str]], needle: str = "") -> None:
        super().__init__(name)
        self.patterns = patterns
        self.needle = needle  # a text every matching line holds (a cheap test before the regexes)
        self.records = 0
        self.steps: dict[int, str | None] = {}  # pattern index -> its axis group
        for i, rx in enumerate(patterns):
            self.steps[i] = next((g for g in AXIS_GROUPS if g in rx.groupindex), None)
        self.stepped = any(self.steps.values())  # lines without a step are then at the last step seen
        self.last_step = 0.0

    def feed(self, lineno: int, line: str) -> None:
        if self.needle and self.needle not in line:
            return
        for i, rx in enumerate(self.patterns):
            match = rx.search(line)
            if match is None:
                continue
            axis = self.steps[i]
            groups = {k: v for k, v in match.groupdict().items() if v is not None}
            step: float | None = self.last_step if self.stepped else float(self.records)
            if axis is not None:
                step = number_step(groups.get(axis, ""))
                self.last_step = self.last_step if step is None else step
            values = {k: number(v) for k, v in groups.items() if k not in AXIS_GROUPS}
            if step is None or any(v is None for v in values.values()):
                self.damaged(lineno)
            else:
                self.records += 1
                self.add(lineno, values, step)  # type: ignore[arg-type]  # no None value: checked just above
            return


def number_step(token: str) -> float | None:
    """A printed step: a whole number below 2**62, else None."""
    value = number(token)
    return value if value is not None and value == int(value) and abs(value) < 2 ** 62 else None


NANOGPT = [re.compile(r"(?:^|\s)step (?P<step>\S+): train loss (?P<train_loss>[^\s,]+), "
                      r"val loss (?P<val_loss>[^\s,]+)"),
           re.compile(r"(?:^|\s)iter (?P<step>\S+): loss (?P<loss>[^\s,]+)")]


# -- the HF Trainer's printed dicts ----------------------------------------------------------------------------
_SUMMARY = ("train_runtime", "train_samples_per_second")
_SKIP = re.compile(r"epoch|step|total_flos|num_input_tokens_seen|(?:\w+_)?num_tokens|\w+_runtime|\w+_per_second")


class HFDictPrinter(Printer):
    def __init__(self) -> None:
        super().__init__("hf-trainer")
        self.step = 0

    def feed(self, lineno: int, line: str) -> None:
        start = line.find("{'")
        if start < 0 or "loss" not in line and "eval_" not in line:
            return
        text = line[start:].rstrip()
        obj = python_literal(text, MAX_DICT) if text.endswith("}") else None
        if not isinstance(obj, dict):
            self.damaged(lineno)
            return
        values: dict[str, float] = {}
        broken = False
        for key, value in obj.items():
            if isinstance(key, str) and not _SKIP.fullmatch(key) and not isinstance(value, bool):
                v = number(value) if isinstance(value, str) else to_float(value)
                if v is not None:
                    values[key] = v
                elif isinstance(value, str) and value.startswith(_NUMERIC_START):  # '0.6x48': a damaged number
                    broken = True
        if broken:
            self.damaged(lineno)
            return
        if not any(metric_like(k) for k in values):
            return
        if any(k in obj for k in _SUMMARY):
            self.final.update(values)
            self.lines += 1
            self.touched = lineno
        elif isinstance(obj.get("step"), int):
            self.add(lineno, values, float(obj["step"]))
        elif any(k.startswith(("eval_", "test_")) for k in values):
            self.add(lineno, values, float(self.step))
        else:
            self.step += 1
            self.add(lineno, values, float(self.step))


# -- Coqui's trainer ---------------------------------------------------------------------------------------------
_TRAIN_STEP = re.compile(r"--> (?:TIME: .*? -- )?STEP: \d+/\d+ -- GLOBAL_STEP: (\d+)")
_EVAL_BLOCK = re.compile(r"--> EVAL PERFORMANCE")
_OTHER_BLOCK = re.compile(r"--> (?:STEP: \d+\s*$|TRAIN PERFORMA|EVAL PERFORMANCE)|> (?:EPOCH|EVALUATION|TRAINING)\b")
_VALUE = re.compile(r"^\s*\| > ([\w/.-]+):\s*(\S+)")
_TENSOR = re.compile(r"^tensor\(([^,)]+)")


class CoquiPrinter(Printer):
    def __init__(self) -> None:
        super().__init__("coqui")
        self.global_step = 0
        self.block: tuple[str, int] | None = None  # ("train" | "eval", first line)
        self.values: dict[str, float] = {}

    def feed(self, lineno: int, line: str) -> None:
        if "> " not in line:
            return
        train = _TRAIN_STEP.search(line)
        if train or _EVAL_BLOCK.search(line) or _OTHER_BLOCK.search(line):
            self._commit()
            if train:
                self.global_step = int(train.group(1))
                self.block = ("train", lineno)
            elif _EVAL_BLOCK.search(line):
                self.block = ("eval", lineno)
            return
        match = _VALUE.match(line) if self.block else None
        if match is None or self.block is None:
            return
        key, token = match.groups()
        tensor = _TENSOR.match(token)
        value = number(tensor.group(1) if tensor else token)
        if value is None:
            if token.startswith(_NUMERIC_START):
                self.damaged(lineno)
            else:
                self.rows.other.add(key)
            return
        if self.block[0] == "eval":
            key = "eval_" + key.removeprefix("avg_")
        self.values[key] = value
        self.block = (self.block[0], lineno)

    def _commit(self) -> None:
        if self.block is not None:
            self.add(self.block[1], self.values, float(self.global_step))
        self.block, self.values = None, {}

    def finish(self) -> None:
        self._commit()
        grad = self.rows.columns.get("grad_norm")
        if grad is not None and not any(grad[1]):  # Coqui prints 0 when gradients are not clipped
            del self.rows.columns["grad_norm"]
            self.notes.append("grad_norm is 0 throughout (Coqui prints 0 without grad_clip): not read")


def builtin_printers() -> list[Printer]:
    return [KerasPrinter(), RegexPrinter("nanogpt", NANOGPT, "loss"), HFDictPrinter(), CoquiPrinter()]


def custom_printers(patterns: dict[str, Any]) -> list[Printer]:
    """Printers for ``[tool.curvelint.text-logs] patterns`` (name -> regex or list of regexes)."""
    out: list[Printer] = []
    for name, regexes in patterns.items():
        out.append(RegexPrinter(name, [re.compile(r) for r in ([regexes] if isinstance(regexes, str) else regexes)]))
    return out
