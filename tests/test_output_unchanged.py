"""The JSON report of every fixture and real-world log is unchanged (issue 15): a refactor or a speed-up
changes no byte of it.

`RECORD` (tests/output_digests.json) holds, per corpus (fixtures/, which takes in fixtures/realbench/runs,
and ../shared/realworld and realworld2 when present), the SHA-256 of the whole of ``curvelint --format
json --isolated CORPUS`` (run from the repository root, so paths are relative) and a short digest per run
(its summary and its findings), so that a failure names the runs whose output changed. A change meant to
alter findings re-records it, and says so in its commit. Byte identity holds for one numpy and scipy (a
p-value's last bits may differ in another): with other versions than those recorded (.ci/run's oldest and
newest environments) the comparison is skipped and says why.

    python tests/test_output_unchanged.py --record
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import FIXTURES, REPO, SHARED, curvelint_command

RECORD = REPO / "tests" / "output_digests.json"
CORPORA = {"fixtures": FIXTURES, "realworld": SHARED / "realworld", "realworld2": SHARED / "realworld2"}


def lint_json(corpus: Path) -> bytes:
    """The JSON report of `corpus`, linted from the repository root by the installed command."""
    done = subprocess.run([*curvelint_command(), "--format", "json", "--isolated", os.path.relpath(corpus, REPO)],
                          cwd=REPO, capture_output=True, timeout=600)
    assert done.returncode in (0, 1), done.stderr.decode(errors="replace")
    return done.stdout


def digests(output: bytes) -> dict:
    """``{"document": sha256 of the bytes, "runs": {path: 12 hex digits of its summary and findings}}``."""
    doc = json.loads(output)
    findings: dict[str, list] = {}
    for f in doc["findings"]:
        findings.setdefault(f["path"], []).append(f)
    runs = {}
    for run in doc["runs"]:
        text = json.dumps([run, findings.pop(run["path"], [])], sort_keys=True, ensure_ascii=False)
        runs[run["path"]] = hashlib.sha256(text.encode()).hexdigest()[:12]
    for path, rest in findings.items():  # findings of a path that is not a run (a file that is not read)
        runs[path] = hashlib.sha256(json.dumps(rest, sort_keys=True).encode()).hexdigest()[:12]
    return {"document": hashlib.sha256(output).hexdigest(), "runs": runs}


def changed(want: dict, got: dict) -> list[str]:
    """The runs whose digest differs, appeared or went (the document alone: an order or the tool's version)."""
    names = sorted(set(want["runs"]) | set(got["runs"]))
    out = [p for p in names if want["runs"].get(p) != got["runs"].get(p)]
    return out or ([] if want["document"] == got["document"] else ["(the document: order of runs or the tool)"])


def environment() -> dict[str, str]:
    """The versions the output's numbers depend on."""
    import numpy
    import scipy

    return {"numpy": numpy.__version__, "scipy": scipy.__version__}


@pytest.mark.parametrize("name", sorted(CORPORA))
def test_the_json_report_of_each_corpus_is_unchanged(name: str) -> None:
    record = json.loads(RECORD.read_text(encoding="utf-8"))
    if record["environment"] != environment():
        pytest.skip(f"recorded with {record['environment']}, this is {environment()}")
    if not CORPORA[name].is_dir():
        pytest.skip(f"{os.path.relpath(CORPORA[name], REPO)} is not present")
    assert name in record, "not recorded: python tests/test_output_unchanged.py --record"
    diff = changed(record[name], digests(lint_json(CORPORA[name])))
    assert not diff, (f"the JSON report of {name} changed for {len(diff)} run(s): {diff[:10]}; if meant, "
                      "python tests/test_output_unchanged.py --record")


def test_a_changed_finding_names_its_run() -> None:
    doc = {"version": 1, "tool": {}, "runs": [{"path": "a"}, {"path": "b"}],
           "findings": [{"path": "a", "rule": "CL100"}, {"path": "b", "rule": "CL101"}]}
    before = digests(json.dumps(doc).encode())
    doc["findings"][1]["rule"] = "CL102"
    assert changed(before, digests(json.dumps(doc).encode())) == ["b"]
    doc["findings"][1]["rule"] = "CL101"
    assert changed(before, digests(json.dumps(doc, indent=1).encode())) == ["(the document: order of runs or the tool)"]


def record() -> None:
    """Write `RECORD` from this checkout's output (the corpora that are present)."""
    found = {name: digests(lint_json(path)) for name, path in CORPORA.items() if path.is_dir()}
    RECORD.write_text(json.dumps({"environment": environment(), **found}, indent=1, sort_keys=True) + "\n",
                      encoding="utf-8")
    print(f"{RECORD.relative_to(REPO)}: " + ", ".join(f"{n} {len(d['runs'])} runs" for n, d in found.items()))


if __name__ == "__main__":
    if sys.argv[1:] != ["--record"]:
        sys.exit("usage: python tests/test_output_unchanged.py --record")
    record()
