"""A TensorBoard run followed by byte offset: only the records appended to its event files are decoded.

Each event file's bytes after its last whole record go through the reader's own decoding
(`readers.tensorboard.read_data`: same framing, CRC checks and scalar decoding); a partial
record at the end (the writer is in the middle of it) is not consumed and is read again at
the next poll, never reported. The series of each file grow in place (`Column`), and the
run is assembled by the reader's merge (`readers.tensorboard.assemble`: restarts, purges and
the notes about them), so the run is the one `curvelint.readers.read` would give.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from curvelint.discovery import RunSource
from curvelint.follow.files import Column, Growing, shifted
from curvelint.model import Problem, Run
from curvelint.readers import tensorboard as tb
from curvelint.readers.tb_merge import FileData


@dataclass
class _File:
    growing: Growing
    prefix: str
    series: dict[str, tuple[Column, Column, Column]] = field(default_factory=dict)
    increasing: bool = True
    problems: list[Problem] = field(default_factory=list)

    def reset(self) -> None:
        self.series, self.increasing, self.problems = {}, True, []

    def add(self, data: FileData) -> None:
        self.increasing &= data.increasing
        for name, (steps, values, walls) in data.series.items():
            columns = self.series.get(name)
            if columns is None:
                columns = self.series[name] = (Column("int64"), Column("float64"), Column("float64"))
            elif len(steps) and len(columns[0]) and steps[0] <= columns[0].view()[-1]:
                self.increasing = False  # the merge purges what a restart logs again
            for column, part in zip(columns, (steps, values, walls)):
                column.extend(part)

    def data(self) -> FileData:
        series = {name: (steps.view(), values.view(), walls.view())
                  for name, (steps, values, walls) in self.series.items()}
        return tb._FileData(self.growing.path, self.prefix, series, self.increasing)


class TensorBoardFollower:
    """Follows the event files of one TensorBoard run (new files of the run are added by `update`)."""

    def __init__(self, source: RunSource) -> None:
        self.source = source
        self.state = tb._RunState()
        self.files: dict[str, _File] = {}
        self.update(source)

    def update(self, source: RunSource) -> None:
        """The run's files as discovery sees them now (a restart adds an event file)."""
        self.source = source
        prefixes = list(source.prefixes) or [""] * len(source.files)
        self.files = {path: self.files.get(path) or _File(Growing(path), prefix)
                      for path, prefix in zip(source.files, prefixes)}

    def poll(self) -> list[Run] | None:
        """The run, when an event file got whole records since the last poll; else None."""
        changed = False
        for f in self.files.values():
            chunk = f.growing.appended()
            if chunk is None:
                continue
            if chunk.restarted:
                f.reset()
                changed = True
            problems: list[Problem] = []
            data = tb.read_data(chunk.data, f.growing.path, f.prefix, self.state, problems)
            waiting = [p.offset for p in problems if p.kind == "truncated" and p.offset is not None]
            whole = min(waiting) if waiting else len(chunk.data)
            f.problems += [shifted(p, f.growing.path, offset=chunk.start) for p in problems if p.kind != "truncated"]
            f.growing.consume(chunk, whole)
            if data.series or whole:
                f.add(data)
                changed = True
        return self.current() if changed else None

    def current(self) -> list[Run]:
        """The run as read so far (reads nothing)."""
        source = self.source
        run = Run(name=source.name, path=source.path, format=tb.FORMAT, sources=list(source.files))
        for f in self.files.values():
            run.problems.extend(f.problems)
        tb.assemble(run, [f.data() for f in self.files.values()], self.state)
        run.hparams = dict(run.hparams)  # later steps may add to it: the state's own stays as read
        return [run]
