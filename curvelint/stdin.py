"""``curvelint -``: one log read from standard input.

The bytes are copied to a file in a temporary folder of our own (never beside the user's logs),
named for what they hold (`log_name`), and linted there; the report names it ``-`` (`relabel`).
What is recognised, from the first bytes: a TensorBoard event file (TFRecord framing with a valid
length CRC), Parquet, a JSON document (a Keras history; HF ``trainer_state.json`` when it has
``log_history``), JSON Lines, CSV (a header and rows of as many cells), and otherwise a console log.
"""

from __future__ import annotations

import json
import os
import struct
from contextlib import contextmanager
from dataclasses import replace
from typing import BinaryIO, Callable, Iterator, Sequence

STDIN = "-"
HEAD = 64 * 1024  # bytes looked at to decide the format


def _masked_crc(data: bytes) -> int:
    from curvelint._crc32c import crc32c

    crc = crc32c()(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def _is_tfrecord(head: bytes) -> bool:
    return len(head) >= 12 and struct.unpack("<I", head[8:12])[0] == _masked_crc(head[:8])


def _lines(text: str, most: int = 3) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()][:most]


def _is_json_value(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def log_name(head: bytes) -> str:
    """The file name under which the log starting with `head` is read (its reader is chosen by name)."""
    if _is_tfrecord(head):
        return "events.out.tfevents.stdin"
    if head.startswith(b"PAR1"):
        return "stdin.parquet"
    text = head.decode("utf-8", "replace").lstrip("\ufeff")
    lines = _lines(text)
    if lines and lines[0][0] in "{[":
        if len(lines) > 1 and lines[0].startswith("{") and _is_json_value(lines[0]):
            return "stdin.jsonl"  # one object per line
        return "trainer_state.json" if '"log_history"' in text else "history.json"
    return "stdin.csv" if _is_csv(lines) else "stdin.log"


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _is_csv(lines: list[str]) -> bool:
    """A header of names (no ``:``, which console lines have) and rows of as many cells, with numbers."""
    rows = [line.split(",") for line in lines]
    if len(rows) < 2 or len(rows[0]) < 2 or len({len(r) for r in rows}) != 1:
        return False
    header_ok = all(c.strip() and ":" not in c and not _is_number(c) for c in rows[0])
    return header_ok and any(_is_number(c) for c in rows[1])


class StdinError(ValueError):
    """Standard input cannot be linted (a terminal, empty, or named twice)."""


@contextmanager
def stdin_log(stream: BinaryIO) -> Iterator[str]:
    """The path of a temporary copy of `stream`, removed afterwards."""
    import shutil  # (here, not at the top: every lint imports this module, few read stdin)
    import tempfile

    if stream.isatty():
        raise StdinError("-: standard input is a terminal; pipe a log in (`curvelint - < train.log`)")
    folder = tempfile.mkdtemp(prefix="curvelint-stdin-")
    try:
        head = stream.read(HEAD)
        if not head:
            raise StdinError("-: nothing on standard input; pipe a log in (`curvelint - < train.log`)")
        path = os.path.join(folder, log_name(head))
        with open(path, "wb") as fh:
            fh.write(head)
            shutil.copyfileobj(stream, fh)
        yield path
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def reading_stdin(paths: Sequence[str], stream: BinaryIO) -> Iterator[tuple[list[str], Callable[..., None]]]:
    """`paths` with ``-`` standing for a temporary copy of `stream`, and the function that names that copy
    ``-`` again in a report; `paths` unchanged (and a no-op) when ``-`` is not among them."""
    if STDIN not in paths:
        yield list(paths), lambda report: None
        return
    if list(paths).count(STDIN) > 1:
        raise StdinError("-: named twice; standard input holds one log")
    with stdin_log(stream) as path:
        yield [path if p == STDIN else p for p in paths], lambda report: relabel(report, path)


def relabel(report, path: str) -> None:
    """Name the temporary copy `path` (and its folder: an event file's run) ``-`` everywhere in `report`."""
    folder = os.path.dirname(path)

    def name(p: str) -> str:
        return STDIN if p in (path, folder) else p

    def text(t: str) -> str:
        return t.replace(path, STDIN).replace(folder, STDIN)

    report.runs = [replace(r, path=name(r.path), name=name(r.name), log=name(r.log), notes=tuple(map(text, r.notes)))
                   for r in report.runs]
    report.findings = [replace(f, path=name(f.path), run=name(f.run)) for f in report.findings]
    report.abstentions = [replace(a, run=name(a.run)) for a in report.abstentions]
    report.errors = [text(e) for e in report.errors]
    if isinstance(report.curves, dict):
        report.curves = {(name(p), name(r)): c for (p, r), c in report.curves.items()}
