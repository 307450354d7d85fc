"""``curvelint watch PATHS``: lint runs while they are written.

Every `--interval` seconds the paths are searched for runs (new runs appear, runs go away)
and each run's follower (`curvelint.follow`) reads what was appended to its files. A run
that got new points is linted again (the same rules and configuration as ``curvelint
lint``), and the `Tracker` (`curvelint.tracking`) turns its findings into what is printed:
a finding once it held at two updates of the run in a row (at once for non-finite values; and
when the run got no new points for 10 intervals, at least a minute, or watch stops), and once
more when it no longer holds (after `--hold` updates of the run without it). ``--exit-on error`` exits 1 at the first error, for a
scheduler to kill the job. Nothing is ever written into the watched paths.

CL002 (truncated log) and CL004 (run unfinished) describe a run still being written, which
is what a watched run is: they are not reported here.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from curvelint.config import Config
    from curvelint.follow import Follower


@dataclass
class _Followed:
    follower: Follower
    scope: str
    scopes: set[str] = field(default_factory=set)  # the tracker's scopes of its runs
    changed: float = field(default_factory=time.monotonic)  # when it last got new points


@dataclass
class Watcher:
    """Follows the runs under `paths`; `poll()` does one round and returns the changes."""

    paths: list[str]
    config: Config
    hold: int = 3
    confirm: int = 2
    idle: float = 60.0  # seconds without new points after which a run counts as ended
    _followed: dict[tuple[str, str], _Followed] = field(default_factory=dict)

    def __post_init__(self) -> None:
        from curvelint.engine import Extras, select_rules
        from curvelint.tracking import LIVE_RULES, Tracker

        self.config.ignore = [*self.config.ignore, *LIVE_RULES]
        self.selected = select_rules(self.config)
        self.extras = Extras()
        self.tracker = Tracker(hold=self.hold, confirm=self.confirm)
        self.started: list[str] = []  # runs first seen in the last poll
        self.notes: list[str] = []  # what to tell the user about the last poll

    def poll(self) -> list:
        """One round: discover, read what was appended, lint the runs that changed."""
        from curvelint.discovery import discover
        from curvelint.engine import lint_run
        from curvelint.follow import follower_for

        sources, _ = discover([p for p in self.paths if os.path.exists(p)], self.config.exclude)
        changes = []
        seen = set()
        self.started, self.notes = [], []
        for source in sources:
            key = (_identity(source), source.format)
            seen.add(key)
            followed = self._followed.get(key)
            if followed is None:
                followed = self._followed[key] = _Followed(follower_for(source), key[0])
                self.started.append(source.path)
            else:
                followed.follower.update(source)
            try:
                runs = followed.follower.poll()
            except Exception as exc:  # a bug in following by offset must not end the watch: read it whole
                from curvelint.follow import Reread

                self.notes.append(f"{source.path}: following it failed ({type(exc).__name__}: {exc}); "
                                  "reading it whole from now on")
                followed.follower = Reread(source)
                runs = followed.follower.poll()
            now = time.monotonic()
            if runs is not None:
                followed.changed = now
            elif now - followed.changed >= self.idle:  # no longer written: what waits for confirmation is shown
                for scope in followed.scopes:
                    changes += self.tracker.settle(scope)
            for run in runs or ():
                _, findings, _, _ = lint_run(run, self.config, self.extras, self.selected)
                scope = followed.scope + _fit(run)
                followed.scopes.add(scope)
                changes += self.tracker.update(scope, findings)
        for key in [k for k in self._followed if k not in seen]:  # a run that went away: said no more
            for scope in self._followed.pop(key).scopes:
                self.tracker.forget(scope)
        return changes

    @property
    def following(self) -> int:
        return len(self._followed)


def _identity(source) -> str:
    """What stays the same while a run is written: a HF output folder whose newest state moves from
    ``checkpoint-500/`` to ``checkpoint-1000/`` and then to the folder itself is one run."""
    if source.format == "hf-trainer-state":
        from curvelint.discovery import _CHECKPOINT

        folder = os.path.dirname(source.path)
        parent, leaf = os.path.split(folder)
        return parent if _CHECKPOINT.match(leaf) else folder
    return source.path


def _fit(run) -> str:
    """A run's part of its source (``FILE:fit2`` for appended CSV fits, a Parquet run column)."""
    return run.name.removeprefix(run.path)


# -------------------------------------------------------------------------------------------------
# output
# -------------------------------------------------------------------------------------------------
_MARK = {"new": "new    ", "worse": "worse  ", "cleared": "cleared"}


def format_text(change, color: bool = False) -> str:
    from curvelint.reporters.escape import printable

    f = change.finding
    stamp = datetime.now().strftime("%H:%M:%S")
    where = f"{f.metric} @ step {f.step}: " if f.metric and f.step is not None else (f"{f.metric}: " if f.metric else "")
    if change.kind == "cleared":
        text = f"{stamp} {_MARK['cleared']} {f.severity!s:<7} {f.rule} {f.name}: {f.run}: {where}no longer holds"
    else:
        text = f"{stamp} {_MARK[change.kind]} {f.severity!s:<7} {f.rule} {f.name}: {f.run}: {where}{f.message}"
    text = printable(text)
    if color:
        colors = {"error": "red", "warning": "yellow", "info": "blue"}
        text = click.style(text, fg="green" if change.kind == "cleared" else colors.get(str(f.severity)))
    return text


def format_json(change) -> str:
    return json.dumps({"event": change.kind, "time": time.time(), "finding": change.finding.to_dict()},
                      allow_nan=False)


def watch(watcher: Watcher, interval: float, exit_on: int | None, timeout: float | None,
          emit: Callable[[object], None], say: Callable[[str], None],
          sleep: Callable[[float], None] = time.sleep) -> int:
    """Poll until interrupted, `timeout` seconds passed, or a change at/above `exit_on` (returns 1; else 0)."""
    start = time.monotonic()
    waiting = False

    def show(changes: list) -> int:
        for change in changes:
            emit(change)
        failed = exit_on is not None and any(c.kind != "cleared" and c.finding.severity >= exit_on for c in changes)
        return 1 if failed else 0

    try:
        while True:
            changes = watcher.poll()
            for path in watcher.started:
                say(f"following {path}")
            for note in watcher.notes:
                say(note)
            if not watcher.following and not waiting:
                say("no training log yet under " + ", ".join(watcher.paths) + "; waiting")
            waiting = not watcher.following
            if show(changes):
                return 1
            if timeout is not None and time.monotonic() - start + interval > timeout:
                break
            sleep(interval)
    except KeyboardInterrupt:
        pass
    return show(watcher.tracker.settle())  # stopped: what still waited for its confirmation is shown


@click.command("watch")
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--interval", type=click.FloatRange(min=0.05), default=5.0, show_default=True,
              help="Seconds between two looks at the files.")
@click.option("--exit-on", type=click.Choice(["error", "warning", "info"]), default=None,
              help="Exit 1 at the first finding of this severity or above (default: watch until interrupted).")
@click.option("--hold", type=click.IntRange(min=1), default=None,
              help="Updates of a run without a finding before it is reported as no longer holding (default: 3).")
@click.option("--confirm", type=click.IntRange(min=1), default=None,
              help="Updates in a row a finding must hold before it is shown (default: 2; 1: at once; "
                   "non-finite values are always shown at once).")
@click.option("--timeout", type=click.FloatRange(min=0), default=None, help="Stop watching after this many seconds.")
@click.option("--format", "fmt", type=click.Choice(["text", "jsonl"]), default="text", show_default=True,
              help="One line per change: text, or a JSON object per line.")
@click.option("--select", multiple=True, help="Only these rules (code, prefix or name).")
@click.option("--ignore", multiple=True, help="Rules to skip (code, prefix or name).")
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help="Use this configuration file.")
@click.option("--isolated", is_flag=True, help="Ignore all configuration files.")
@click.option("--exclude", multiple=True, help="Glob of paths to skip (repeatable).")
@click.option("--no-color", is_flag=True, help="Never colour the output.")
def watch_command(paths, interval, exit_on, hold, confirm, timeout, fmt, select, ignore, config_file, isolated,
                  exclude, no_color) -> None:
    """Follow the training runs under PATHS while they are written and report findings as they appear
    and when they no longer hold. Exit 1 at the first finding at --exit-on, else 0 when stopped."""
    from curvelint.cli_options import apply_options
    from curvelint.console import fail, say
    from curvelint.config import ConfigError, load_config
    from curvelint.model import Severity
    from curvelint.registry import RegistryError
    from curvelint.tracking import CONFIRM, HOLD

    paths = list(paths) or ["."]
    try:
        config = load_config(paths, config_file, isolated)
        apply_options(config, select, (), ignore, exclude, None, None)
        watcher = Watcher(paths, config, hold or HOLD, confirm or CONFIRM, idle=max(60.0, 10 * interval))
    except (ConfigError, RegistryError) as exc:
        fail(str(exc))
    color = not no_color and sys.stdout.isatty() and fmt == "text"

    def emit(change) -> None:
        click.echo(format_json(change) if fmt == "jsonl" else format_text(change, color), color=color)
        sys.stdout.flush()

    sys.exit(watch(watcher, interval, Severity.parse(exit_on) if exit_on else None, timeout, emit, say))
