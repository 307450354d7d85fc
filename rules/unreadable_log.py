"""CL001 unreadable-log."""

from __future__ import annotations

from curvelint.limits import HINT, is_limit
from curvelint.model import Severity
from curvelint.rule import Context, Rule


class UnreadableLog(Rule):
    """A log file could not be read (corrupt record, bad CRC, malformed JSON, wrong Parquet columns).

    What was read before the damage is still linted; the finding names the file and
    the byte offset (binary formats) or line (text formats) of the problem.

    Why it matters: a corrupt log hides part of the run, so the curve rules may judge
    an incomplete picture, and a CI gate should not pass on files it cannot read.

    How to fix: re-copy or re-sync the file; check the disk; for a Parquet table use
    the long layout (``tag``, ``step``, ``value``) or the wide layout (``step`` or
    ``epoch`` plus one column per metric); exclude files that are not logs with
    ``--exclude`` or ``exclude = [...]`` in the configuration.

    A file larger than a limit of ``[tool.curvelint.limits]`` that cannot be read in
    part (a JSON document, an ONNX model) is reported here too, naming the limit to raise.
    """

    code = "CL001"
    name = "unreadable-log"
    since = "0.1.0"
    severity = Severity.ERROR
    summary = "a log file is corrupt or not in a format curvelint can read"
    hint = "re-copy the file, or exclude it if it is not a training log"

    def check(self, ctx: Context):
        for p in ctx.run.problems:
            if p.kind == "unreadable":
                unit = "byte" if ctx.run.format in ("tensorboard", "onnx", "parquet", "wandb") else "line"
                where = f" (at {unit} {p.offset})" if p.offset is not None and str(p.offset) not in p.message else ""
                yield ctx.finding(f"{p.path}: {p.message}{where}",
                                  evidence={"file": p.path, "offset": p.offset}, hint=HINT if is_limit(p) else None)
