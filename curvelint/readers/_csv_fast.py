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
reads it, and each block's logged cells are appended to their column (`_csv_columns.Column`: 8 bytes a value,
4 for its row; nothing for the empty cells of sparse Lightning rows, nor the row of a column logged in every
row): memory is those cells and a few blocks, never the text nor a table.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import BinaryIO, cast

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from curvelint import limits
from curvelint.fileio import open_regular
from curvelint.readers._csv_columns import Column

BLOCK = 256 << 10  # bytes pyarrow parses at a time (it reads several ahead: larger blocks cost memory, not time)
_BOM = b"\xef\xbb\xbf"



class Unsuitable(Exception):
    """The file is not plain enough for the fast path (the message says why, for tests)."""


@dataclass
class Parsed:
    """Header cells (stripped), the columns by position, and each row's line number."""

    header: list[str]
    columns: dict[int, Column]
    lines: Sequence[int] | np.ndarray

    def take_columns(self) -> dict[int, Column]:
        """The columns, no longer held here (the run assembly frees those it does not need)."""
        columns, self.columns = self.columns, {}
        return columns


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
                                             strings_can_be_null=False, quoted_strings_can_be_null=False),
        memory_pool=pa.system_memory_pool())  # the default mimalloc pool keeps ~10 MB more resident
    size = os.fstat(fh.fileno()).st_size
    index = np.int32 if lim.lines <= 2 ** 31 else np.int64  # row indices: a row per line
    cells: list[_Cells] = []
    rows = 0
    for batch in reader:
        if not cells:  # room for the rows of the whole file at the line breaks per byte of the blocks read so far
            room = int(size * body.breaks / body.used * 1.02) + batch.num_rows
            cells = [_Cells(room, index) for _ in names]
        for column, array in zip(cells, batch.columns):
            column.append(array, rows)
        rows += batch.num_rows
    del reader
    if rows != body.lines():
        raise Unsuitable("blank lines")  # pyarrow skips them; the Python path counts them in line numbers
    return _without_empty_rows(header, [c.done() for c in cells], rows)


class _Cells:
    """One column's logged cells, appended block by block into arrays grown in place (unused room costs no
    memory until written; no pieces to join). Row indices are kept from the first row without a cell on."""

    def __init__(self, room: int, index: type) -> None:
        self.values = np.empty(room)
        self.rows: np.ndarray | None = None  # None: every row so far has a cell
        self.index = index
        self.count = 0

    def append(self, array: pa.Array, first_row: int) -> None:
        """Add a float64 array's non-null cells (of rows `first_row`, ...), read from its buffers (the
        array's own `to_numpy` imports pandas: ~50 MB) straight into the column."""
        mask, data = array.buffers()
        n, offset, nulls = len(array), array.offset, array.null_count
        values = np.frombuffer(data, dtype=np.float64, count=n, offset=offset * 8)
        start, end = self.count, self.count + n - nulls
        if end > len(self.values):
            self._resize(max(end, len(self.values) * 3 // 2))
        self.count = end
        if not nulls:
            self.values[start:end] = values
            if self.rows is not None:
                self.rows[start:end] = np.arange(first_row, first_row + n)
            return
        if self.rows is None:
            self.rows = np.empty(len(self.values), dtype=self.index)
            self.rows[:start] = np.arange(start)
        bits = np.unpackbits(np.frombuffer(mask, dtype=np.uint8), count=offset + n, bitorder="little")
        logged = bits[offset:].view(bool)
        np.compress(logged, values, out=self.values[start:end])
        np.add(np.flatnonzero(logged), first_row, out=self.rows[start:end], casting="unsafe")

    def _resize(self, room: int) -> None:
        for array in (self.values, self.rows):
            if array is not None:
                array.resize(room, refcheck=False)

    def done(self) -> tuple[np.ndarray, np.ndarray | None]:
        """(values, row indices or None), trimmed to the cells appended."""
        self._resize(self.count)
        return self.values, self.rows


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
        self.breaks += data.count(b"\n")
        if b"\r" in data or b"\r" in self.tail:  # lines end at LF, CRLF or CRCRLF (one break each) or a lone CR
            joined = self.tail + data
            if b"\r\r\r" in joined:
                raise Unsuitable("three CRs in a row")  # the Python path's CRCRLF -> LF would make a new CRLF
            self.breaks += data.count(b"\r") - (joined.count(b"\r\n") - self.tail.count(b"\r\n")) \
                - (joined.count(b"\r\r\n") - self.tail.count(b"\r\r\n"))
        self.tail = data[-2:] if len(data) >= 2 else (self.tail + data)[-2:]
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


def _without_empty_rows(header: list[str], cells: list[tuple[np.ndarray, np.ndarray | None]], rows: int
                        ) -> Parsed:
    """The columns without the rows that have no cell, skipped as by the Python path (the others keep their
    line numbers)."""
    if not rows:
        raise Unsuitable("no rows")
    if any(at is None for _, at in cells):  # a column with a cell in every row: no row is empty
        return _whole(header, cells, rows)
    logged = np.zeros(rows, dtype=bool)
    for _, at in cells:
        logged[at] = True
    if logged.all():
        return _whole(header, cells, rows)
    keep = np.flatnonzero(logged)
    if not len(keep):
        raise Unsuitable("no rows")
    renumbered = np.cumsum(logged, dtype=np.int64) - 1
    numbered = cast("list[tuple[np.ndarray, np.ndarray]]", cells)  # (every column has its rows: see above)
    columns = {i: Column(v, renumbered[at].astype(at.dtype), len(keep)) for i, (v, at) in enumerate(numbered)}
    return Parsed(header, columns, keep + 2)


def _whole(header: list[str], cells: list[tuple[np.ndarray, np.ndarray | None]], rows: int) -> Parsed:
    return Parsed(header, {i: Column(v, at, rows) for i, (v, at) in enumerate(cells)}, range(2, rows + 2))
