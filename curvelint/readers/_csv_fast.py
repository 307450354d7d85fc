"""The CSV reader's fast path: a plain numeric CSV parsed by pyarrow.csv in blocks (issue 18).

A file takes this path when it is large enough to pay for importing pyarrow (`csvlog.FAST_MIN_BYTES`), local,
within the `text-bytes` limit and plain: its first line is the header (no quote, one line by `str.splitlines`),
and after it every line has the header's number of cells, each empty or a number pyarrow parses as float64
(optionally padded with spaces or tabs; ``nan``, ``inf``), with LF, CRLF, ``\\r\\r\\n`` or CR line ends, no
blank line, no line over `line-bytes`, fewer lines than `lines`. Every string pyarrow reads as a float64 is
one Python's `float` reads to the same bits (tests/test_csv_fastpath.py), and quotes are not special here,
so a quoted cell is not a number either.

Anything else (a quote, a text cell, a repeated header, a row of the wrong width, a blank line, a limit)
makes `parse` return None, and the caller reads the file by the pure-Python path (`csvlog._split`), which
handles every quirk: both give the same columns. The file is streamed in `BLOCK`s, each checked as pyarrow
reads it, into preallocated columns: memory is the columns (8 bytes a cell, 1 for its mask) and a few blocks,
never the text.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from curvelint import limits
from curvelint.fileio import open_regular

BLOCK = 256 << 10  # bytes pyarrow parses at a time (it reads several ahead: larger blocks cost memory, not time)
_BOM = b"\xef\xbb\xbf"

Columns = dict[int, tuple[np.ndarray, np.ndarray, int]]  # column -> (values, logged mask, non-numeric cells)


class Unsuitable(Exception):
    """The file is not plain enough for the fast path (the message says why, for tests)."""


@dataclass
class Parsed:
    """Header cells (stripped), the columns as `csvlog._column` gives them, and each row's line number."""

    header: list[str]
    columns: Columns
    lines: Sequence[int]


def parse(path: str, delimiter_of: Callable[[str], str]) -> Parsed | None:
    """The file's table, or None when it is not plain (see the module) or cannot be read here.

    `delimiter_of(header line)` picks the separator as the Python path does."""
    try:
        with open_regular(path) as fh:
            return _parse(fh, delimiter_of)
    except Exception:  # noqa: BLE001 - Unsuitable, pyarrow's errors, OSError: the Python path decides and reports
        return None


def _parse(fh: BinaryIO, delimiter_of: Callable[[str], str]) -> Parsed:
    lim = limits.current()
    header_line, text = _header(fh, lim.line_bytes)
    delimiter = delimiter_of(text)
    header = [cell.strip() for cell in text.split(delimiter)]
    if not any(header):
        raise Unsuitable("a blank first line")
    body = _Body(fh, lim, used=len(header_line))
    names = [f"c{i}" for i in range(len(header))]
    reader = pacsv.open_csv(
        body,
        read_options=pacsv.ReadOptions(column_names=names, block_size=BLOCK,
                                           use_threads=False),  # threads: no faster, more memory
        parse_options=pacsv.ParseOptions(delimiter=delimiter, quote_char=False, newlines_in_values=False,
                                         ignore_empty_lines=True),
        convert_options=pacsv.ConvertOptions(column_types={n: pa.float64() for n in names}, null_values=[""],
                                             strings_can_be_null=False, quoted_strings_can_be_null=False))
    size = os.fstat(fh.fileno()).st_size
    out = _Growing(len(names), rows=0)
    for batch in reader:
        if not out.rows:  # the rows of the whole file at the line breaks per byte of the blocks read so far
            out.reserve(int(size * body.breaks / body.used * 1.02) + batch.num_rows)
        out.append(batch)
    del reader
    if out.rows != body.lines():
        raise Unsuitable("blank lines")  # pyarrow skips them; the Python path counts them in line numbers
    return _without_empty_rows(header, out.columns(), out.rows)


class _Growing:
    """Columns of float64 values and logged masks, filled batch by batch in place (no list of pieces to join)."""

    def __init__(self, width: int, rows: int) -> None:
        self.values = [np.empty(rows) for _ in range(width)]
        self.logged = [np.empty(rows, dtype=bool) for _ in range(width)]
        self.rows = 0

    def reserve(self, rows: int) -> None:
        if rows > len(self.values[0]):
            for array in self.values + self.logged:
                array.resize(rows, refcheck=False)

    def append(self, batch: pa.RecordBatch) -> None:
        end = self.rows + batch.num_rows
        if end > len(self.values[0]):
            self.reserve(max(end, len(self.values[0]) * 3 // 2))
        for i, (values, logged) in enumerate(zip(self.values, self.logged)):
            _fill(batch.column(i), values[self.rows:end], logged[self.rows:end])
        self.rows = end

    def columns(self) -> Columns:
        for array in self.values + self.logged:
            array.resize(self.rows, refcheck=False)
        return {i: (values, logged, 0) for i, (values, logged) in enumerate(zip(self.values, self.logged))}


def _fill(column: pa.Array, values: np.ndarray, logged: np.ndarray) -> None:
    """Copy a float64 column's values (NaN where no cell was logged) and validity from its buffers (the
    array's own `to_numpy` imports pandas: ~50 MB)."""
    mask, data = column.buffers()
    n, offset = len(column), column.offset
    values[:] = np.frombuffer(data, dtype=np.float64, count=n, offset=offset * 8)
    if mask is None or column.null_count == 0:
        logged[:] = True
        return
    bits = np.unpackbits(np.frombuffer(mask, dtype=np.uint8), bitorder="little")
    logged[:] = bits[offset:offset + n]
    values[~logged] = np.nan


def _header(fh: BinaryIO, cap: int) -> tuple[bytes, str]:
    """(the first line's bytes, its text without line break or BOM), when it is a plain header line."""
    line = fh.readline(cap + 1)
    if not line.endswith(b"\n") or len(line) > cap:
        raise Unsuitable("no header line within line-bytes")
    core = line.removeprefix(_BOM)[:-1]
    core = core[:-2] if core.endswith(b"\r\r") else core.removesuffix(b"\r")
    text = core.decode("utf-8", "replace")
    if b'"' in core or b"\x00" in core or len(text.splitlines()) != 1 or not text.strip():
        raise Unsuitable("a header line that only the Python path reads")
    return line, text


class _Body:
    """The file after its header line, as pyarrow reads it; each block is checked and its lines counted."""

    def __init__(self, fh: BinaryIO, lim: limits.Limits, used: int) -> None:
        self.fh, self.lim, self.used = fh, lim, used
        self.breaks = 0  # LFs after the header line
        self.tail = b""  # the last 2 bytes read (a CRLF may straddle two blocks)
        self.partial = 0  # bytes of the current line so far
        self.closed = False

    def read(self, size: int = -1) -> bytes:
        data = self.fh.read(size if size is not None and size >= 0 else BLOCK)
        if data:
            self._check(data)
        return data

    def _check(self, data: bytes) -> None:
        self.used += len(data)
        if self.used > self.lim.text_bytes:
            raise Unsuitable("over text-bytes")
        joined = self.tail + data
        self.breaks += data.count(b"\n")
        if b"\r" in joined:  # lines end at LF, CRLF or CRCRLF (one break each) or a lone CR (also one)
            if b"\r\r\r" in joined:
                raise Unsuitable("three CRs in a row")  # the Python path's CRCRLF -> LF would make a new CRLF
            self.breaks += data.count(b"\r") - (joined.count(b"\r\n") - self.tail.count(b"\r\n")) \
                - (joined.count(b"\r\r\n") - self.tail.count(b"\r\r\n"))
        self.tail = joined[-2:]
        if self.breaks + 1 >= self.lim.lines:
            raise Unsuitable("at the lines limit")
        self._check_lengths(data)

    def _check_lengths(self, data: bytes) -> None:
        """No line longer than `line-bytes` (counting its CRs: a line near the limit goes the Python way)."""
        cap = self.lim.line_bytes
        start, room = 0, cap - self.partial  # bytes the line at `start` may still have
        while len(data) - start > room:
            end = data.rfind(b"\n", start, start + room + 1)
            if end < 0:
                raise Unsuitable("a line over line-bytes")
            start, room = end + 1, cap
        last = data.rfind(b"\n")
        self.partial = self.partial + len(data) if last < 0 else len(data) - last - 1

    def lines(self) -> int:
        """Lines after the header (a last line without a line break counts)."""
        return self.breaks + (bool(self.tail) and not self.tail.endswith((b"\n", b"\r")))

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False


def _without_empty_rows(header: list[str], columns: Columns, rows: int) -> Parsed:
    """Rows with no cell logged are skipped, as by the Python path (their lines keep their numbers)."""
    if not rows:
        raise Unsuitable("no rows")
    logged = np.zeros(rows, dtype=bool)
    for _, mask, _ in columns.values():
        logged |= mask
    if logged.all():
        return Parsed(header, columns, range(2, rows + 2))
    keep = np.flatnonzero(logged)
    if not len(keep):
        raise Unsuitable("no rows")
    columns = {i: (values[keep], mask[keep], 0) for i, (values, mask, _) in columns.items()}
    return Parsed(header, columns, keep + 2)
