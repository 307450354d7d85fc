"""Benchmark: what the plots cost on the lint path (issue 12: plots must not slow `curvelint logs/`).

Three measurements, each in fresh interpreters:

1. which modules a plain lint imports (``--format json`` and piped text): no ``curvelint.plot``;
2. ``python -X importtime`` of the drawing modules (after byte-compiling the package) on top of what a lint has already imported
   (numpy, click, the text reporter): their own import time, median of REPEATS;
3. wall time of ``curvelint DEMO`` piped (no plots), with ``--plot``, and ``--format html``,
   median and min of REPEATS runs (on a shared machine this is mostly noise: see 4);
4. in this process, after the imports: `lint` + text `render` without and with plots (the plots'
   extra work: extracting the curves and drawing them), best of REPEATS.

    python benchmarks/bench_plot_import.py
    python benchmarks/bench_plot_import.py --repeats 20 --path fixtures/demo
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LINT_MODULES = """
import sys
from curvelint.cli import main
try:
    main([sys.argv[1], *sys.argv[2:]])
except SystemExit:
    pass
print(sorted(m for m in sys.modules if m.startswith("curvelint.plot")), file=sys.stderr)
"""
PRELOADED = "import numpy, click, curvelint.engine, curvelint.reporters.text"
DRAWING = ("curvelint.plot.terminal", "curvelint.reporters.html", "curvelint.reporters.markdown")


def plot_modules_imported(path: str, *args: str) -> str:
    done = subprocess.run([sys.executable, "-c", LINT_MODULES, path, *args], capture_output=True, text=True)
    return done.stderr.strip().splitlines()[-1]


def import_ms(module: str, repeats: int) -> float:
    """Median self + children time (ms) of importing `module` after PRELOADED, from -X importtime."""
    times = []
    for _ in range(repeats):
        done = subprocess.run([sys.executable, "-X", "importtime", "-c", f"{PRELOADED}\nimport {module}"],
                              capture_output=True, text=True)
        rows = [re.match(r"import time:\s+(\d+) \|\s+(\d+) \|(\s*)(\S+)", line) for line in done.stderr.splitlines()]
        top = [int(m.group(2)) for m in rows if m and m.group(4) == module]
        times.append(top[-1] / 1000 if top else 0.0)
    return statistics.median(times)


def wall(args: list[str], repeats: int) -> tuple[float, float]:
    runs = []
    for _ in range(repeats + 1):  # the first run warms the page cache and the byte-code
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "curvelint", *args], capture_output=True)
        runs.append(time.perf_counter() - start)
    return statistics.median(runs[1:]), min(runs[1:])


def compile_package() -> None:
    """Byte-compile curvelint and its rules first, as `pip install` does (with PYTHONDONTWRITEBYTECODE
    set, as in this VM, every run would otherwise recompile them and time that)."""
    import compileall

    for folder in ("curvelint", "rules"):
        compileall.compile_dir(str(REPO / folder), quiet=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--path", default=str(REPO / "fixtures" / "demo"))
    parser.add_argument("--repeats", type=int, default=10)
    a = parser.parse_args()
    compile_package()
    print("1. curvelint.plot modules imported by a lint that draws nothing:")
    print(f"   --format json: {plot_modules_imported(a.path, '--format', 'json')}")
    print(f"   text, piped:   {plot_modules_imported(a.path)}")
    print(f"   --plot:        {plot_modules_imported(a.path, '--plot')}")
    print(f"2. import time on top of `{PRELOADED}` (median of {a.repeats}):")
    for module in DRAWING:
        print(f"   {module:<32} {import_ms(module, a.repeats):6.1f} ms")
    shown = os.path.relpath(a.path, REPO) if os.path.abspath(a.path).startswith(str(REPO)) else a.path
    print(f"3. wall time of `curvelint {shown} ...` (median / min of {a.repeats}):")
    with_html = ["--format", "html", "-o", "/dev/null"]
    for label, extra in (("piped, no plot", []), ("--plot", ["--plot"]), ("--no-plot", ["--no-plot"]),
                         ("--format html", with_html)):
        med, best = wall([a.path, "--exit-zero", *extra], a.repeats)
        print(f"   {label:<16} {med * 1000:7.0f} ms / {best * 1000:5.0f} ms")
    in_process(a.path, a.repeats)


def in_process(path: str, repeats: int) -> None:
    from curvelint.engine import lint
    from curvelint.reporters import Options, curve_request, render
    import curvelint.plot.terminal  # noqa: F401  (its import is item 2)

    plots = Options(plot=True)
    best = {"plain": 1e9, "plots": 1e9}
    for _ in range(repeats + 1):
        t = time.perf_counter()
        render(lint([path]), "text", Options())
        best["plain"] = min(best["plain"], time.perf_counter() - t)
        t = time.perf_counter()
        render(lint([path], curves=curve_request("text", plots)), "text", plots)
        best["plots"] = min(best["plots"], time.perf_counter() - t)
    print(f"4. lint + render in this process (best of {repeats}): no plots {best['plain'] * 1e3:.1f} ms, "
          f"with plots {best['plots'] * 1e3:.1f} ms")


if __name__ == "__main__":
    main()
