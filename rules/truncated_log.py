"""CL002 truncated-log."""

from __future__ import annotations

from curvelint.model import Severity
from curvelint.rule import Context, Rule


class TruncatedLog(Rule):
    """A log ends in a partial record: the run is probably still being written.

    The complete records before it are linted. This is normal for a live run and
    only informational; if the run has finished, the writer was killed before it
    flushed (check for an out-of-memory kill or a pre-empted job).
    """

    code = "CL002"
    name = "truncated-log"
    severity = Severity.INFO
    summary = "a log ends in a partial record (run still being written, or the writer was killed)"
    hint = "if the run has finished, check whether the job was killed before flushing its logs"

    def check(self, ctx: Context):
        for p in ctx.run.problems:
            if p.kind == "truncated":
                yield ctx.finding(f"{p.path}: {p.message}", evidence={"file": p.path, "offset": p.offset})
