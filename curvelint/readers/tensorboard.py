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
most `tfrecord.BYTES` bytes: temporaries stay a few MB whatever the file size, and a
file's series are joined once at the end); anything else goes through the protos. Both
paths give bit-identical results (tests check it on every fixture and real-world file).
`VERIFY_CRC` checks every record's data CRC32C (length CRCs are always checked). It stays on by default: checked with one ``crc32c`` call per window of records
(see `tfrecord.data_crcs_ok`) it costs ~0.03-0.06 us per record, against ~0.3 us for one
``crc32c`` call per record. A file's first record (the ``file_version`` event) is
recognised from its bytes: plain scalar files need neither the protos nor their import.

Layout: this module reads files and windows of records; `tfrecord` finds the records,
`tb_fast` decodes plain scalar events from their bytes, `tb_proto` everything else with
the protos, both into a `tb_points.Points`; `tb_merge` merges the files of a run.
"""

from __future__ import annotations

import numpy as np

from curvelint import limits
from curvelint.discovery import RunSource
from curvelint.fileio import read_limited
from curvelint.model import Problem, Run
from curvelint.readers import tfrecord
from curvelint.readers.tb_fast import PAD, add_fast, classify, first_meta, plain_header
from curvelint.readers.tb_merge import FileData, Pieces, merge
from curvelint.readers.tb_points import Bad, Points, RunState, input_matcher
from curvelint.readers.tb_proto import decode_protos

FORMAT = "tensorboard"
VERIFY_CRC = True  # check each record's data CRC32C (the CLI may turn it off for speed)
FAST_PATH = True  # decode plain scalar events from the bytes with numpy (same results as the protos)
# histogram tags that describe the model's inputs (full match; configuration may extend this)
INPUT_TAGS: list[str] = [r"inputs?", r"inputs?/.*", r"x"]


def new_state() -> RunState:
    """The state of a run about to be read (input histograms matched by `INPUT_TAGS` as they are now)."""
    return RunState(input_matcher(INPUT_TAGS))


_RunState, _FileData = new_state, FileData  # the names `curvelint.follow.tensorboard` uses


def _read_window(data: bytes, recs: tfrecord.Records, a: int, b: int, prefix: str, path: str,
                 state: RunState, fast: bool) -> tuple[Points, Bad | None]:
    """Decode records [a, b) of a file: their scalar points, and the first bad record if any.

    The fast path works on a zero-padded copy of the window's bytes (a few MB), so its
    temporaries stay small whatever the file size; plugin knowledge carries over from
    the earlier windows through `state`, so the result is that of one pass over the file.
    """
    points = Points()
    starts, ends = recs.starts, recs.ends
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
    bytes ([tool.curvelint.limits])."""
    try:
        data = [read_limited(path, limits.current().file_bytes)]
    except OSError as exc:
        problems.append(Problem("unreadable", path, f"cannot read: {exc.strerror or exc}"))
        return FileData(path, prefix, {})
    data, cut = data.pop()
    return read_data(data, path, prefix, state, problems, fast, verify, cut)  # its only reference: freed there


def read_data(data: bytes, path: str, prefix: str, state: RunState, problems: list[Problem],
              fast: bool | None = None, verify: bool | None = None, cut: bool = False) -> FileData:
    """The scalars of event-file bytes: a whole file, or (`curvelint.follow`) the bytes appended to one
    since its last whole record. A partial final record is a "truncated" problem at its offset; with `cut`
    (the file goes on past the `file-bytes` limit) it is the limit's, and that problem says so. At most
    `records` records are read."""
    fast = FAST_PATH if fast is None else fast
    verify = VERIFY_CRC if verify is None else verify
    recs = tfrecord.scan(data, path, verify)
    lim = limits.current()
    if cut:
        end = int(recs.ends[-1]) if len(recs) else 0
        recs.problems = [p for p in recs.problems if p.kind != "truncated" or (p.offset or 0) < end]
        recs.problems.append(limits.reached(path, "file-bytes", "the file", f"the records in its first "
                                            f"{limits.shown('file-bytes', lim.file_bytes)} were read", len(data)))
    if len(recs) > lim.records:
        at = int(recs.starts[lim.records]) - tfrecord.HEADER
        recs = tfrecord.Records(recs.starts[:lim.records], recs.ends[:lim.records], recs.problems + [
            limits.reached(path, "records", "the file", f"its first {lim.records:,} records were read", at)])
    problems.extend(recs.problems)
    pieces = Pieces()
    bad: Bad | None = None
    windows = tfrecord.windows(recs.starts, recs.ends)
    increasing = len(windows) <= 1  # (across windows: checked per series when merging)
    for a, b in windows:
        points, bad_here = _read_window(data, recs, a, b, prefix, path, state, fast)
        bad = bad or bad_here
        series, rising = points.per_tag()
        increasing &= rising
        pieces.add(prefix, series)
    del data, recs  # before the series are joined
    if bad is not None:
        problems.append(Problem("unreadable", path, f"record at byte {bad[0]} {bad[1]}; skipped", bad[0]))
    return FileData(path, prefix, pieces.join(), increasing)


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
