"""Command line: ``curvelint [PATHS]`` lints; ``curvelint rules`` / ``curvelint rule NAME`` document.

Exit status: 0 nothing at or above --fail-on; 1 something was; 2 usage or config
error, no training log found under the given paths, or a rule that crashed.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

# Before numpy is imported: its BLAS would start a thread pool (2 threads on 2 cores), and --jobs
# forks workers only from a single-threaded process (curvelint.workers). curvelint does no BLAS work.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import click  # noqa: E402

from curvelint import __version__  # noqa: E402
from curvelint.formats import FORMATS  # noqa: E402

if TYPE_CHECKING:
    from curvelint.model import Abstention, InputStats

from curvelint.console import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE  # noqa: E402
from curvelint.console import fail as _fail  # noqa: E402
from curvelint.console import say as _say  # noqa: E402
from curvelint.cli_options import apply_options  # noqa: E402


class DefaultGroup(click.Group):
    """A group whose default command is `lint`: ``curvelint logs/`` == ``curvelint lint logs/``."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args or (args[0] not in self.commands and args[0] not in ("--help", "-h", "--version")):
            args = ["lint", *args]  # `rules/` or `./rules` is a path, linted, though `rules` is a command
        elif args[0] != "lint" and os.path.exists(args[0]):
            _say(f"note: `{args[0]}` runs the command; to lint the path {args[0]!r}, write `curvelint ./{args[0]}`")
        return super().parse_args(ctx, args)

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The group's help, then the options of the default command, which `curvelint PATHS` runs."""
        super().format_help(ctx, formatter)
        lint = self.commands.get("lint")
        if lint is None:
            return
        sub = click.Context(lint, info_name="lint", parent=ctx)
        rows = [r for r in (p.get_help_record(sub) for p in lint.get_params(sub) if isinstance(p, click.Option))
                if r and r[0] != "-h, --help"]
        with formatter.section("Lint options (`curvelint [OPTIONS] PATHS` is `curvelint lint [OPTIONS] PATHS`)"):
            formatter.write_dl(rows)


@click.group(cls=DefaultGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="curvelint")
def main() -> None:
    """Lint training logs: TensorBoard, Keras history and CSV, Lightning CSV, HF trainer_state,
    MLflow, W&B, Parquet, JSON Lines and console logs (and an ONNX graph or a data sample).

    Run `curvelint PATHS...` to lint, `curvelint rules` to list the rules, `curvelint rule CODE`
    for one rule's documentation.
    """


def use_color(mode: str, terminal: bool) -> bool:
    """--color: always, never, or auto (a terminal; NO_COLOR=anything turns it off and FORCE_COLOR
    on, the no-color.org and FORCE_COLOR conventions)."""
    if mode != "auto":
        return mode == "always"
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return terminal


@main.command("lint")
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--format", "--output-format", "fmt", type=click.Choice(list(FORMATS)), default=None,
              help="Output format (default: text; concise: one line per finding; html: one self-contained page, "
                   "see `curvelint report`).")
@click.option("--fail-on", type=click.Choice(["error", "warning", "info"]), default=None,
              help="Lowest severity that makes the exit status 1 (default: error).")
@click.option("--select", multiple=True, help="Only these rules (code, code prefix like CL1, or name). Repeatable or comma-separated.")
@click.option("--extend-select", multiple=True, help="Rules to add to the selection.")
@click.option("--ignore", multiple=True, help="Rules to skip (code, prefix or name).")
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help="Use this configuration file.")
@click.option("--isolated", is_flag=True, help="Ignore all configuration files.")
@click.option("--exclude", multiple=True, help="Glob of paths to skip (repeatable).")
@click.option("--model", "model_file", type=click.Path(dir_okay=False), help="ONNX model graph that applies to every run.")
@click.option("--data", "data_file", type=click.Path(dir_okay=False), help="Sample of training inputs/labels (.npy, .npz, .parquet, .csv).")
@click.option("--reference", "references", multiple=True, type=click.Path(),
              help="Reference run(s) to compare every run with (repeatable: several seeds form a band).")
@click.option("--baseline", type=click.Path(dir_okay=False), help="Report only findings not in this baseline file.")
@click.option("--write-baseline", type=click.Path(dir_okay=False), help="Write the current findings as a baseline and exit 0.")
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="Write the report to this file instead of stdout.")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=None, help="Runs linted in parallel, at most (default: available cores): as many processes as the "
              "estimated work repays, one while the CPUs are busy.")
@click.option("--executor", default="local", envvar="CURVELINT_EXECUTOR", show_default=True,
              help="Where runs are linted: local (this machine, --jobs processes) or dask://HOST:PORT, a Dask "
                   "cluster's scheduler (pip install 'curvelint[dask]'; each worker reads its own runs).")
@click.option("--progress/--no-progress", default=None,
              help="Runs done/total, rate and ETA on stderr during a lint over 2 s (default: when stderr is a "
                   "terminal, not in CI).")
@click.option("--statistics", is_flag=True, help="Count findings per rule.")
@click.option("--show-evidence", is_flag=True, help="Print each finding's evidence table (text format).")
@click.option("--quiet", "-q", is_flag=True, help="Only warnings and errors, no hints.")
@click.option("--verbose", "-v", is_flag=True, help="Also show why rules abstained.")
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when findings are reported.")
@click.option("--allow-empty", is_flag=True,
              help="Exit 0 when no training log is found (the pre-commit hook: it may pass JSON/CSV that are not logs).")
@click.option("--color", "color_mode", type=click.Choice(["auto", "always", "never"]), default="auto",
              help="Colour the text output: auto (a terminal, unless NO_COLOR is set; FORCE_COLOR forces it), "
                   "always or never.")
@click.option("--no-color", is_flag=True, help="Never colour the output (same as --color never).")
@click.option("--plot/--no-plot", default=None,
              help="Draw each curve finding's plot under it (text format; default: only on a terminal).")
def lint_command(paths, fmt, fail_on, select, extend_select, ignore, config_file, isolated, exclude, model_file,
                 data_file, baseline, write_baseline, output, jobs, statistics, show_evidence, quiet, verbose, plot,
                 exit_zero, no_color, allow_empty=False, references=(), color_mode="auto", executor="local",
                 progress=None) -> None:
    """Lint the training runs found under PATHS (default: the current folder)."""
    from curvelint.config import ConfigError, load_config
    from curvelint.engine import default_jobs, lint
    from curvelint.model import Severity
    from curvelint.registry import RegistryError
    from curvelint.reporters import Options, curve_request, render
    from curvelint.reporters import write as write_report
    from curvelint.stdin import StdinError, reading_stdin

    paths = list(paths) or ["."]
    plots = Options(plot=plot if plot is not None else output is None and sys.stdout.isatty(), width=_width())
    try:
        config = load_config(paths, config_file, isolated)
        apply_options(config, select, extend_select, ignore, exclude, fail_on, fmt)
        extras = _with_references(_extras(model_file, data_file), config, references)
        shown = _progress(progress)
        try:
            with reading_stdin(paths, sys.stdin.buffer) as (read, relabel):  # `-`: a log on stdin
                report = lint(read, config, jobs or default_jobs(), extras, curve_request(config.format, plots),
                              executor, shown)
                relabel(report)
        finally:
            if shown is not None:
                shown.close()
    except (ConfigError, RegistryError, StdinError) as exc:
        _fail(str(exc))
        return
    for err in report.errors:
        _say(f"error: {err}")
    crashed = _crashes(report.abstentions)
    for rule, (first, runs) in crashed.items():
        where = f"{first.run}" + (f" and {runs - 1} other run(s)" if runs > 1 else "")
        _say(f"error: rule {rule} failed on {where}, its verdict there is missing ({first.reason}); "
             "a bug in the rule: please report it with the log")
    if not report.runs and allow_empty and not report.errors:
        sys.exit(EXIT_OK)
    if not report.runs:
        _suggest_commands(paths, report.errors)
        searched = [p for p in paths if not any(e.startswith(f"{p}: no such ") for e in report.errors)]
        if not searched:  # every path is missing: its error line above says all there is to say
            sys.exit(EXIT_USAGE)
        _fail("no training logs found under " + ", ".join(searched)
              + " (looked for TensorBoard event files, Keras history JSON, Parquet, CSV logs, trainer_state.json, MLflow and W&B run folders, ONNX)")
    if write_baseline:
        from curvelint.baseline import write_baseline as write

        try:
            write(write_baseline, report.findings)
        except OSError as exc:
            _fail(f"{write_baseline}: cannot write baseline: {exc.strerror or exc}")
        _say(f"wrote {len(report.findings)} findings to baseline {write_baseline}")
        sys.exit(EXIT_OK)
    if baseline:
        from curvelint.suppression import apply_baseline

        try:
            apply_baseline(report, baseline)
        except (OSError, ValueError) as exc:
            _fail(f"{baseline}: cannot read baseline: {getattr(exc, 'strerror', None) or exc}")
    color = use_color("never" if no_color else color_mode, output is None and sys.stdout.isatty())
    options = Options(color, show_evidence, statistics, quiet, verbose, plots.plot, plots.width)
    if output:
        try:
            with open(output, "w", encoding="utf-8") as fh:
                write_report(report, config.format, options, fh)
        except OSError as exc:
            _fail(f"{output}: cannot write the report: {exc.strerror or exc}")
    else:
        click.echo(render(report, config.format, options), color=color)
    if crashed:  # as ruff: an internal error exits 2 whatever --exit-zero says (the lint is incomplete)
        sys.exit(EXIT_USAGE)
    threshold = Severity.parse(config.fail_on)
    failed = any(f.severity >= threshold for f in report.findings)
    sys.exit(EXIT_FINDINGS if failed and not exit_zero else EXIT_OK)


def _crashes(abstentions: list[Abstention]) -> dict[str, tuple[Abstention, int]]:
    """Rules that raised: per rule, its first crash and on how many runs (one stderr line each)."""
    found: dict[str, tuple[Abstention, int]] = {}
    for a in abstentions:
        if a.internal:
            first, runs = found.get(a.rule, (a, 0))
            found[a.rule] = (first, runs + 1)
    return found


def _suggest_commands(paths: list[str], errors: list[str]) -> None:
    """A missing path spelt like a command (`curvelint rulez`): say which command was meant."""
    import difflib

    for path in paths:
        close = sorted(difflib.get_close_matches(path, main.commands, n=2, cutoff=0.75))
        if close and f"{path}: no such file or directory" in errors:
            _say(f"{path!r} is no file or folder; did you mean " + " or ".join(f"`curvelint {c}`" for c in close) + "?")


def _progress(flag: bool | None):  # noqa: ANN202  (a curvelint.progress.Progress, or None)
    """The progress display of a lint (`curvelint.progress`, imported only then), or None: shown with
    --progress, or by default when stderr is a terminal outside CI; never with --no-progress."""
    if flag is False or (flag is None and (not sys.stderr.isatty() or os.environ.get("CI"))):
        return None
    from curvelint.progress import Progress

    return Progress()


def _width() -> int:
    """Columns for terminal plots: the terminal's, within 50..80."""
    import shutil

    return max(50, min(80, shutil.get_terminal_size((80, 24)).columns))


def _extras(model_file: str | None, data_file: str | None):
    """Load --model and --data once; they apply to every run."""
    from curvelint.engine import Extras

    graph, labels = None, None
    inputs: tuple[InputStats, ...] = ()
    if model_file:
        from curvelint.readers.onnx_graph import load_graph

        graph, problems = load_graph(model_file)
        for p in problems:
            _say(f"{p.path}: {p.message}")
        for note in graph.notes if graph is not None else ():
            _say(note)
    if data_file:
        from curvelint.data import load_sample

        stats, labels, problems = load_sample(data_file)
        inputs = tuple(stats)
        for p in problems:
            _say(f"{p.path}: {p.message}")
    return Extras(graph, inputs, labels)


def _with_references(extras, config, paths: tuple[str, ...]):
    """`extras` with the reference runs of --reference (else of [tool.curvelint.reference]) read once."""
    from dataclasses import replace

    from curvelint.engine import load_references

    paths = tuple(paths) or config.reference_paths
    if not paths:
        return extras
    references, errors = load_references(config.reference, paths, config.exclude)
    for err in errors:
        _say(f"error: {err}")
    if not references.runs:
        _fail("no reference run could be read from " + ", ".join(paths))
    return replace(extras, references=references)


@main.command("compare")
@click.argument("run_a", type=click.Path())
@click.argument("run_b", type=click.Path())
def compare_command(run_a: str, run_b: str) -> None:
    """Show two runs side by side on the metrics they share (A: the reference, B: the new run)."""
    from curvelint.compare import render
    from curvelint.engine import load_references
    from curvelint.model import ReferenceSet

    runs = []
    for path in (run_a, run_b):
        found, errors = load_references(ReferenceSet(), [path])
        for err in errors:
            _say(f"error: {err}")
        if len(found.runs) != 1:
            _fail(f"{path}: {len(found.runs)} runs found; name one run folder or file")
        runs.append(found.runs[0])
    from curvelint.reporters.escape import printable_lines

    click.echo(printable_lines(render(*runs)))  # run paths and series names from the tree cannot drive the terminal


def _report(output: str, **options) -> None:
    """Write ONE self-contained HTML page about the runs under PATHS (default: curvelint-report.html).

    A summary of runs and findings (filter by severity, rule, run; sortable), then per run every
    role's curve with each finding's window shaded, its evidence and the rule's documentation. The
    page opens offline and loads nothing. Exit status as for `curvelint lint`.
    """
    try:
        click.get_current_context().invoke(lint_command, fmt="html", output=output, **options)
    except SystemExit as done:
        if done.code in (EXIT_OK, EXIT_FINDINGS):
            _say(f"wrote {output}")
        raise


_NOT_FOR_REPORT = {"fmt", "plot", "output", "no_color", "color_mode", "show_evidence", "statistics", "write_baseline"}
main.add_command(click.Command(
    "report", callback=_report, help=_report.__doc__, short_help="Write a self-contained HTML report.",
    params=[p for p in lint_command.params if p.name not in _NOT_FOR_REPORT] + [
        click.Option(["--output", "-o"], type=click.Path(dir_okay=False), default="curvelint-report.html",
                     show_default=True, help="The HTML file to write.")]))


from curvelint.rule_commands import rule_command, rules_command  # noqa: E402  (`curvelint rules`, `rule KEY`)
from curvelint.watch import watch_command  # noqa: E402  (`curvelint watch PATHS`; imports only click up front)

main.add_command(rules_command)
main.add_command(rule_command)
main.add_command(watch_command)
