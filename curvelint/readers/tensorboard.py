"""TensorBoard event files -> one `Run`: scalars, input histograms and hparams.

The reader walks the TFRecord framing itself (`curvelint.readers.tfrecord`) and decodes
``Event`` protos with the protos the ``tensorboard`` package ships; it never uses
EventAccumulator (which samples) or EventFileLoader (which is slow). Every point is kept.

What is read:

* scalars: ``simple_value`` and TF2 tensor scalars (a DT_FLOAT/DT_DOUBLE shape-[]
  tensor whose tag's first value names the ``scalars`` plugin);
* histograms (``histo`` and TF2 ``histograms``-plugin tensors) whose tag matches
  `INPUT_TAGS` become `InputStats` (the last histogram per tag);
* hparams: the hparams plugin's ``session_start_info``.

Several files of one folder are merged per series, in file-name (= creation time)
order, like TensorBoard's "purge orphaned data" on restart: a point is dropped when a
later point of the same series has a step <= its own (so a restarted ``fit()`` replaces
the points it logs again, and a repeated step keeps its last value). A later file that
only adds ONE point to series an earlier file already holds as a curve (Lightning's
``trainer.validate()``/``test()`` after ``fit()``) is not appended to that curve. Every
such decision is written to ``run.notes``.

Speed: `FAST_PATH` decodes the common single-value scalar events straight from the
bytes with numpy, vectorised over windows of records (`tfrecord.RECORDS` records, at
most `tfrecord.BYTES` bytes: temporaries stay a few MB whatever the file size);
anything else goes through the protos. Both paths give bit-identical results (tests
check it on every fixture and real-world file). `VERIFY_CRC` checks every record's data
CRC32C (length CRCs are always checked). It stays on by default: checked with one
``crc32c`` call per window of records (see `tfrecord.data_crcs_ok`) it costs ~0.03-0.06
us per record, against ~0.3 us for one ``crc32c`` call per record. A file's first record
(the ``file_version`` event) is recognised from its bytes: plain scalar files need
neither the protos nor their import.

Memory: a file larger than `part_bytes` (a 16th of the ``memory-budget`` limit) is read
and decoded part by part, so its bytes are never all in memory; a file's series are held
per window and joined once at the end, and when a run holds more points than the budget
allows, its longest series are reduced by buckets of consecutive points (`tb_store`,
`curvelint.buckets`), which a note says. Runs below the budget keep every point.

Layout: this module reads files and windows of records; `tfrecord` finds the records,
`tb_fast` decodes plain scalar events from their bytes, `tb_proto` everything else with
the protos, both into a `tb_points.Points`; `tb_merge` merges the files of a run.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass, field
from typing import BinaryIO, cast

import numpy as np

from curvelint import limits
from curvelint.discovery import RunSource
from curvelint.fileio import open_regular
from curvelint.model import Problem, Run
from curvelint.readers import tfrecord
from curvelint.readers.tb_fast import PAD, add_fast, classify, first_meta, plain_header
from curvelint.readers.tb_merge import FileData, merge
from curvelint.readers.tb_points import Bad, Points, RunState, input_matcher
from curvelint.readers.tb_proto import decode_protos
from curvelint.readers.tb_store import Store, most_points

FORMAT = "tensorboard"
VERIFY_CRC = True  # check each record's data CRC32C (the CLI may turn it off for speed)
FAST_PATH = True  # decode plain scalar events from the bytes with numpy (same results as the protos)
# histogram tags that describe the model's inputs (full match; configuration may extend this)
INPUT_TAGS: list[str] = [r"inputs?", r"inputs?/.*", r"x"]
PART_MIN = 1 << 20  # bytes: the smallest part a large file is read in (`part_bytes`)


def new_state() -> RunState:
    """The state of a run about to be read (input histograms matched by `INPUT_TAGS` as they are now)."""
    return RunState(input_matcher(INPUT_TAGS))


_RunState, _FileData = new_state, FileData  # the names `curvelint.follow.tensorboard` uses


def _read_window(data: bytes | bytearray, starts: np.ndarray, ends: np.ndarray, a: int, b: int, prefix: str, path: str,
                 state: RunState, fast: bool) -> tuple[Points, Bad | None]:
    """Decode records [a, b) of a file: their scalar points, and the first bad record if any.

    The fast path works on a zero-padded copy of the window's bytes (a few MB), so its
    temporaries stay small whatever the file size; plugin knowledge carries over from
    the earlier windows through `state`, so the result is that of one pass over the file.
    """
    points = Points()
    if not fast:
        return points, decode_protos(data, starts, ends, list(range(a, b)), prefix, path, points, state)
    while a < b and plain_header(data, int(starts[a]), int(ends[a])):  # a file's first record, usually
        a += 1
    if a == b:
        return points, None
    lo, hi = int(starts[a]), int(ends[b - 1])
    window = b"".join((memoryview(data)[lo:hi], bytes(PAD)))  # one copy (a slice + concatenation made two)
    narrow = np.int32 if hi - lo < (1 << 31) - PAD else np.int64  # int32: less memory traffic, same results
    quick = classify(window, (starts[a:b] - lo).astype(narrow), (ends[a:b] - lo).astype(narrow))
    quick.index += a
    known = dict(state.plugins)
    pending = {k: v for k, v in first_meta(quick, prefix).items() if k not in known}
    met: dict[str, tuple[int, str]] = {}
    rest = [i for i in (i + a for i in quick.rest) if not plain_header(data, int(starts[i]), int(ends[i]))]
    bad = decode_protos(data, starts, ends, rest, prefix, path, points, state, pending, met) if rest else None
    for name, i in pending.items():
        if name not in met or met[name][0] > i:
            met[name] = (i, "scalars")
        state.plugins.setdefault(name, "scalars")
    add_fast(quick, prefix, points, known, met)
    return points, bad


def read_file(path: str, prefix: str, state: RunState, problems: list[Problem],
              fast: bool | None = None, verify: bool | None = None) -> FileData:
    """Read one event file's scalars (histograms and hparams go to `state`); at most its first `file-bytes`
    bytes ([tool.curvelint.limits]). A file over `part_bytes` is read and decoded part by part."""
    lim = limits.current()
    part = part_bytes(lim.memory_budget)
    try:
        with open_regular(path) as fh:
            data = fh.read(min(lim.file_bytes, part))
            if len(data) < part or lim.file_bytes <= part:  # the whole file, or all the limit lets be read
                cut = bool(fh.read(1)) if len(data) == lim.file_bytes else False
                return read_data(data, path, prefix, state, problems, fast, verify, cut)
            size = min(_size(fh), lim.file_bytes)
            return _read_parts(fh, data, size, path, prefix, state, problems, fast, verify)
    except OSError as exc:
        problems.append(Problem("unreadable", path, f"cannot read: {exc.strerror or exc}"))
        return FileData(path, prefix, {})


def part_bytes(budget: int) -> int:
    """Bytes read at a time from a large file: a 16th of the memory budget, 1-64 MiB."""
    return min(max(budget // 16, PART_MIN), 64 << 20)


def read_data(data: bytes, path: str, prefix: str, state: RunState, problems: list[Problem],
              fast: bool | None = None, verify: bool | None = None, cut: bool = False) -> FileData:
    """The scalars of event-file bytes: a whole file, or (`curvelint.follow`) the bytes appended to one
    since its last whole record. A partial final record is a "truncated" problem at its offset; with `cut`
    (the file goes on past the `file-bytes` limit) it is the limit's, and that problem says so. At most
    `records` records are read."""
    decoder = _Decoder(path, prefix, state, FAST_PATH if fast is None else fast,
                       VERIFY_CRC if verify is None else verify)
    decoder.part(data, 0, True, cut)
    del data  # before the series are joined
    return decoder.done(problems)


def _size(fh: BinaryIO) -> int:
    """The bytes of an open file (a remote one without a size: as many as a record may claim)."""
    try:
        return os.fstat(fh.fileno()).st_size
    except (OSError, AttributeError, ValueError):
        return int(getattr(fh, "size", None) or 1 << 40)


def _read_parts(fh: BinaryIO, first: bytes, size: int, path: str, prefix: str, state: RunState,
                problems: list[Problem], fast: bool | None, verify: bool | None) -> FileData:
    """A large file read from `fh` part by part (`first`: its first part; `size`: the bytes that will be read),
    each decoded before the next is read into the same buffer: the file's bytes are never all in memory, and
    the series fit the memory budget (`tb_store`)."""
    lim = limits.current()
    decoder = _Decoder(path, prefix, state, FAST_PATH if fast is None else fast,
                       VERIFY_CRC if verify is None else verify)
    buf, done, base, damaged = bytearray(first), len(first), 0, None
    del first
    while True:
        final = len(buf) < max(part_bytes(lim.memory_budget), decoder.need) or done >= lim.file_bytes
        cut = final and done >= lim.file_bytes and bool(fh.read(1))
        recs = decoder.part(buf, base, final, cut, damaged, size)
        if final:
            return decoder.done(problems)
        assert recs.resume is not None  # a part scanned with final=False always says where the next one starts
        keep, want = len(buf) - recs.resume, max(part_bytes(lim.memory_budget), recs.need)
        buf[:keep] = buf[recs.resume:]  # the record cut at the end of the part: the start of the next one
        if len(buf) < want:  # a record longer than a part
            buf.extend(bytes(want - len(buf)))
        with memoryview(buf) as view:  # (open_regular gives a buffered file or an fsspec one: both have readinto)
            got = cast(io.BufferedIOBase, fh).readinto(view[keep:keep + min(want - keep, lim.file_bytes - done)]) or 0
        del buf[keep + got:]
        done, base, damaged = done + got, base + recs.resume, recs.damaged_at


@dataclass
class _Decoder:
    """Decodes the records of a file, part by part, into a `Store` (see `read_data`, `_read_parts`)."""

    path: str
    prefix: str
    state: RunState
    fast: bool
    verify: bool
    store: Store = field(default_factory=lambda: Store(most_points(limits.current().memory_budget)))
    problems: list[Problem] = field(default_factory=list)
    bad: Bad | None = None
    over: Problem | None = None  # the `records` limit, once reached (said after the damage found in the file)
    records: int = 0  # read so far
    windows: int = 0
    increasing: bool = True
    need: int = 0

    def part(self, data: bytes | bytearray, base: int, final: bool, cut: bool, damaged: int | None = None,
             size: int | None = None) -> tfrecord.Records:
        """Decode the records of `data` (at file offset `base`, of a file of `size` bytes); past the `records`
        limit, only look for damage (as a scan of the whole file would)."""
        lim = limits.current()
        recs = tfrecord.scan(data, self.path, self.verify, final, base, damaged, size)
        self.need = recs.need
        if cut:
            end = base + int(recs.ends[-1]) if len(recs) else base
            recs.problems = [p for p in recs.problems if p.kind != "truncated" or (p.offset or 0) < end]
            recs.problems.append(limits.reached(
                self.path, "file-bytes", "the file",
                f"the records in its first {limits.shown('file-bytes', lim.file_bytes)} were read", base + len(data)))
        self.problems.extend(recs.problems)
        most = lim.records - self.records
        if self.over is None and len(recs) > most:
            at = base + int(recs.starts[most]) - tfrecord.HEADER
            self.over = limits.reached(self.path, "records", "the file", f"its first {lim.records:,} records were read",
                                       at)
        elif self.over is not None:
            most = 0
        self.records += min(len(recs), most)
        starts, ends = recs.starts[:most], recs.ends[:most]
        for a, b in tfrecord.windows(starts, ends):
            points, bad_here = _read_window(data, starts, ends, a, b, self.prefix, self.path, self.state, self.fast)
            if bad_here is not None and self.bad is None:
                self.bad = (base + bad_here[0], bad_here[1])
            series, rising = points.per_tag()
            self.increasing &= rising
            self.windows += 1
            self.store.add(self.prefix, series)
        return recs

    def done(self, problems: list[Problem]) -> FileData:
        problems.extend(self.problems)
        if self.over is not None:
            problems.append(self.over)
        if self.bad is not None:
            at, what = self.bad
            problems.append(Problem("unreadable", self.path, f"record at byte {at} {what}; skipped", at))
        increasing = self.increasing and self.windows <= 1  # (across windows: checked per series when merging)
        series, reduced = self.store.join()
        return FileData(self.path, self.prefix, series, increasing, reduced)


def read(source: RunSource, fast: bool | None = None, verify: bool | None = None) -> list[Run]:
    """Read the event files of one run (never raises for bad input)."""
    run = Run(name=source.name, path=source.path, format=FORMAT, sources=list(source.files))
    prefixes = list(source.prefixes) or [""] * len(source.files)
    state = new_state()
    files = [read_file(path, prefix, state, run.problems, fast, verify)
             for path, prefix in zip(source.files, prefixes)]
    return [assemble(run, files, state)]


def assemble(run: Run, files: list[FileData], state: RunState) -> Run:
    """`run` with the series of its files merged (`merge`), and the inputs and hparams of `state`."""
    merge(files, run)
    run.inputs = list(state.inputs.values())
    run.hparams = state.hparams
    return run
