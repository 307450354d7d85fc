"""CL002 truncated-log."""

from __future__ import annotations

from curvelint.limits import HINT, is_limit
from curvelint.model import Severity
from curvelint.rule import Context, Rule


class TruncatedLog(Rule):
    """A log ends in a partial record: the run is probably still being written.

    The complete records before it are linted. This is normal for a live run and
    only informational; if the run has finished, the writer was killed before it
    flushed (check for an out-of-memory kill or a pre-empted job).

    Also reported when a log is larger than one of the readers' limits
    (``[tool.curvelint.limits]``: bytes, records or lines per file, points per series):
    the part within the limit is linted, and the finding names the limit to raise.
    """

    code = "CL002"
    name = "truncated-log"
    since = "0.1.0"
    severity = Severity.INFO
    summary = "a log ends in a partial record (run still being written, or the writer was killed)"
    hint = "if the run has finished, check whether the job was killed before flushing its logs"

    def check(self, ctx: Context):
        for p in ctx.run.problems:
            if p.kind == "truncated":
                yield ctx.finding(f"{p.path}: {p.message}", evidence={"file": p.path, "offset": p.offset},
                                  hint=HINT if is_limit(p) else None)
