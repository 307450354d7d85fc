"""Reading the text files of a log within the limits ([tool.curvelint.limits]): a whole file (`read_text`),
a line-oriented one cut after its last whole line (`read_lines_text`), or streamed line by line
(`iter_lines`, and `JsonLines` for the objects of a JSON Lines file).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Iterator

from curvelint import limits
from curvelint.fileio import open_regular, read_limited
from curvelint.model import Problem

__all__ = ["JsonLines", "MAX_LINE", "iter_lines", "read_lines_text", "read_text", "truncated_line"]

MAX_LINE = limits.Limits.line_bytes  # the default of the line-bytes limit


def read_text(path: str) -> str:
    """A text file decoded as UTF-8 (BOM dropped, bad bytes replaced); only a regular file is read
    (`curvelint.fileio.NotRegularFile`, an OSError, for a FIFO or a device). A file over the `text-bytes`
    limit is not read (`curvelint.limits.TooLarge`, an OSError): a part of a JSON or YAML document is none."""
    data, more = read_limited(path, limits.current().text_bytes)
    if more:
        raise limits.TooLarge(path, "text-bytes")
    return data.decode("utf-8-sig", "replace")


def read_lines_text(path: str) -> tuple[str, list[Problem]]:
    """A line-oriented text file (a CSV, an MLflow metric) decoded as by `read_text`, within the limits: a
    file over `text-bytes` bytes or `lines` lines is cut after its last whole line within them, and the
    problems say so (OSError as for `read_text`)."""
    lim = limits.current()
    data, more = read_limited(path, lim.text_bytes)
    problems = []
    if more:
        data = data[:data.rfind(b"\n") + 1]
        problems.append(limits.reached(path, "text-bytes", "the file", f"its first {len(data):,} bytes were read "
                                       "(the whole lines in them)" if data else None))
    if data.count(b"\n") >= lim.lines:
        end = _after_line(data, lim.lines)
        if data[end:].strip():
            data = data[:end]
            problems.append(limits.reached(path, "lines", "the file", f"its first {lim.lines:,} lines were read",
                                           lim.lines + 1))
    return data.decode("utf-8-sig", "replace"), problems


def _after_line(data: bytes, n: int, block: int = 1 << 20) -> int:
    """The offset just after the `n`-th line break of `data` (len(data) when it has fewer)."""
    pos = 0
    while pos < len(data):
        k = data.count(b"\n", pos, pos + block)
        if k >= n:
            for _ in range(n):
                pos = data.index(b"\n", pos) + 1
            return pos
        n, pos = n - k, pos + block
    return len(data)


def iter_lines(path: str, keep_tail: bool = False, report: list[Problem] | None = None
               ) -> Iterator[tuple[int, str, bool]]:
    """(line number, text without its line break, whether a line break ended it) for each line of a
    regular file, streamed; UTF-8 with bad bytes replaced, a BOM dropped. Of a line longer than the
    `line-bytes` limit only its first bytes are kept, or the last ones with `keep_tail` (a progress bar
    redrawn with ``\\r`` ends in its final state); at most `text-bytes` bytes and `lines` lines are read
    ([tool.curvelint.limits]; a line cut off by the byte limit is not yielded). The limits that were hit
    go to `report` as problems. OSError (`NotRegularFile`) propagates."""
    lim = limits.current()
    cap, budget = lim.line_bytes, lim.text_bytes
    found = report if report is not None else []
    long_lines: list[int] = []
    with open_regular(path) as fh:
        used = number = 0

        def chunk() -> bytes:
            nonlocal used
            data = fh.readline(min(cap, budget - used)) if used < budget else b""
            used += len(data)
            return data

        try:
            while True:
                raw = chunk()
                if not raw or number >= lim.lines:
                    if raw or (used >= budget and fh.read(1)):
                        key = "lines" if raw else "text-bytes"
                        found.append(limits.reached(path, key, "the file", f"its first {number:,} lines were read",
                                                    number + 1))
                    return
                number += 1
                while not raw.endswith(b"\n") and len(raw) >= cap:  # an over-long line
                    if not long_lines or long_lines[-1] != number:
                        long_lines.append(number)
                    more = chunk()
                    if not more:
                        break
                    if keep_tail:
                        raw = (raw + more)[-cap:]
                    elif more.endswith(b"\n"):
                        raw += b"\n"
                ended = raw.endswith(b"\n")
                if not ended and used >= budget and fh.read(1):  # cut off by the byte limit, not by the writer
                    found.append(limits.reached(path, "text-bytes", "the file", f"its first {number - 1:,} lines "
                                                "were read", number))
                    return
                text = raw.decode("utf-8", "replace").rstrip("\r\n")
                yield number, (text.removeprefix("\ufeff") if number == 1 else text), ended
        finally:
            if long_lines:
                part = "last" if keep_tail else "first"
                what = (f"line {long_lines[0]}" if len(long_lines) == 1 else
                        f"{len(long_lines)} lines (first at line {long_lines[0]})")
                found.append(limits.reached(path, "line-bytes", what, f"the {part} {limits.shown('line-bytes', cap)} "
                                            f"of {'it' if len(long_lines) == 1 else 'each'} were read", long_lines[0]))


@dataclass
class JsonLines:
    """The JSON objects of a JSON Lines file, streamed: iterate for (line number, object). Lines that are
    not JSON objects are skipped and remembered (`problems` says where); blank lines are ignored."""

    path: str
    bad: list[int] = field(default_factory=list)
    truncated: int | None = None  # the last line, cut off before its line break
    limited: list[Problem] = field(default_factory=list)  # the limits hit ([tool.curvelint.limits])

    def __iter__(self) -> Iterator[tuple[int, dict]]:
        for number, text, ended in iter_lines(self.path, report=self.limited):
            if not text.strip():
                continue
            try:
                obj = json.loads(text)
            except (ValueError, RecursionError):
                obj = None
            if isinstance(obj, dict):
                yield number, obj
            elif not ended:
                self.truncated = number
            else:
                self.bad.append(number)

    def problems(self) -> list[Problem]:
        out = []
        if self.bad:
            out.append(Problem("unreadable", self.path, f"{len(self.bad)} line(s) are not JSON objects "
                               f"(first at line {self.bad[0]}); skipped", self.bad[0]))
        if self.truncated is not None:
            out.append(truncated_line(self.path, self.truncated))
        return out + self.limited


def truncated_line(path: str, number: int) -> Problem:
    return Problem("truncated", path, f"the last line, line {number}, is cut off (the run was probably still "
                   "being written)", number)
