"""Console training logs, JSON Lines metrics and HF *_results.json: the fixtures written by the real libraries
(fixtures/textlogs/make_textlogs.py) read as the runs they are, other text files are skipped without a word,
configured patterns, and damage that costs only the damaged line."""

from __future__ import annotations

import json
import os
import random
import shutil
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import FIXTURES
from curvelint import readers
from curvelint.config import ConfigError, load_config
from curvelint.discovery import discover
from curvelint.engine import lint
from curvelint.model import Run
from curvelint.readers import text_log

TEXT = FIXTURES / "textlogs"


def _runs(path: Path) -> list[Run]:
    sources, errors = discover([str(path)])
    assert not errors
    runs = [run for source in sources for run in readers.read(source)]
    for run in runs:
        for p in run.problems:
            assert not p.message.split(":")[0].endswith(("Error", "Exception")), p  # readers.read's catch-all
    return runs


def _one(path: Path) -> Run:
    [run] = _runs(path)
    return run


def _values(run: Run, name: str) -> list[float]:
    return run.series[name].values.tolist()


# -- the fixtures ------------------------------------------------------------------------------------------
def test_keras_fit_output_verbose_1_and_2():
    two, one = _one(TEXT / "keras_verbose2.log"), _one(TEXT / "keras_verbose1.log")
    for run in (two, one):
        assert run.format == "text-log" and not run.problems
        assert set(run.series) == {"loss", "accuracy", "val_loss", "val_accuracy"}
        assert run.series["val_loss"].steps.tolist() == list(range(8))  # Epoch k/8 is step k - 1
        assert "Keras fit() output" in run.notes[0] and "'keras'" in run.notes[0]
    for name in two.series:  # the same seeded training: the progress bar's last state is the epoch's record
        assert _values(one, name) == _values(two, name)
    raw = (TEXT / "keras_verbose1.log").read_bytes()
    assert b"\r" in raw and b"\x08" in raw and b"\x1b[" in raw  # redrawn in place, with colours


def test_hf_trainer_console_matches_its_trainer_state_and_results_are_final_values():
    console, state = _one(TEXT / "hf_trainer" / "console.log"), _one(TEXT / "hf_trainer" / "output")
    assert console.format == "text-log" and state.format == "hf-trainer-state"
    for name in ("loss", "grad_norm", "learning_rate", "eval_loss"):
        printed, saved = np.array(_values(console, name)), np.array(_values(state, name))
        if name == "eval_loss":
            saved = saved[:len(printed)]  # the final evaluate() at the last step replaces the last eval
            printed, saved = printed[:-1], saved[:-1]
        np.testing.assert_allclose(printed, saved, rtol=6e-4)  # printed with 4 significant digits
    assert console.series["loss"].steps.tolist() == list(range(1, 9))
    assert console.series["eval_loss"].steps.tolist() == [2, 4, 6, 8]
    assert console.final == {"train_loss": pytest.approx(state.final["train_loss"], rel=1e-3)}
    results = json.loads((TEXT / "hf_trainer" / "output" / "all_results.json").read_text())
    assert state.final == results and any("all_results.json" in n and "eval_loss=" in n for n in state.notes)
    assert {os.path.basename(p) for p in state.sources} >= {"trainer_state.json", "all_results.json",
                                                            "eval_results.json", "train_results.json"}


def test_coqui_trainer_output():
    run = _one(TEXT / "coqui_trainer.log")
    assert not run.problems and "Coqui trainer output" in run.notes[0]
    assert run.series["loss"].steps.tolist()[:4] == [0, 2, 4, 6]  # GLOBAL_STEP
    assert len(run.series["eval_loss"]) == 6  # one EVAL PERFORMANCE block per epoch
    assert "grad_norm" not in run.series and any("grad_norm is 0" in n for n in run.notes)
    assert "Backend" not in run.series  # the environment block is not a training step


def test_nanogpt_output():
    run = _one(TEXT / "nanogpt.log")
    assert run.series["val_loss"].steps.tolist() == list(range(0, 301, 50))
    assert run.series["loss"].steps.tolist() == list(range(0, 301, 10))
    assert run.series["train_loss"].values[-1] < run.series["train_loss"].values[0]


def test_jsonl_metrics():
    run = _one(TEXT / "metrics.jsonl")
    assert run.format == "jsonl" and not run.problems
    assert set(run.series) == {"loss", "lr", "val.loss", "val.acc"}  # epoch is an axis key, "phase" text
    assert run.series["loss"].steps.tolist() == list(range(1, 121))
    assert run.series["val.acc"].steps.tolist() == list(range(20, 121, 20))
    assert _values(run, "lr")[0] == 0.1 and _values(run, "lr")[-1] == 0.05


def test_the_fixtures_lint_clean():
    report = lint([str(TEXT)])
    assert len(report.runs) == 7 and report.findings == []


# -- what is not a training log is skipped without a word ---------------------------------------------------
NOT_LOGS = {
    "README.txt": "This folder holds the checkpoints.\nEpoch 1/10 was the best.\nloss: 0.5\n",
    "server.log": "".join(f"2025-01-01 12:00:{i:02d} INFO GET /api/items?page={i} 200 loss=0\n" for i in range(60)),
    "notes.log": "step 1: started\nstep 2: done\n{'a': 1}\n{'loss': 'high'}\n",
    "dataset.jsonl": "".join(json.dumps({"id": i, "text": "hello", "label": i % 2}) + "\n" for i in range(100)),
    "chat.jsonl": "".join(json.dumps({"role": "user", "content": "hi", "step": i}) + "\n" for i in range(10)),
    "stream.jsonl": "".join(json.dumps({"step": i, "x": 0.5, "y": 1.0}) + "\n" for i in range(10)),  # no metric
    "once.log": "Epoch 1/1\n6/6 - 0s - loss: 0.5\n",  # one record is not "enough lines"
}


def test_other_text_files_are_not_runs(tmp_path):
    for name, text in NOT_LOGS.items():
        (tmp_path / name).write_text(text)
    (tmp_path / "wandb").mkdir()
    (tmp_path / "wandb" / "debug.log").write_text("step 1: train loss 1, val loss 2\n" * 2)  # W&B's own log
    assert _runs(tmp_path) == []
    report = lint([str(tmp_path)])
    assert report.runs == [] and report.findings == []


def test_console_log_beside_a_trainer_state_is_not_a_second_run(tmp_path):
    out = tmp_path / "out"
    shutil.copytree(TEXT / "hf_trainer" / "output", out)
    shutil.copy(TEXT / "hf_trainer" / "console.log", out / "train.log")
    (out / "events.jsonl").write_text((TEXT / "metrics.jsonl").read_text())
    [run] = _runs(tmp_path)
    assert run.format == "hf-trainer-state"
    assert any("not read as runs of their own: events.jsonl, train.log" in n for n in run.notes)


def test_results_go_with_the_newest_checkpoint_state(tmp_path):
    out = tmp_path / "out"
    for n in (8, 16):
        (out / f"checkpoint-{n}").mkdir(parents=True)
        state = json.loads((TEXT / "hf_trainer" / "output" / "trainer_state.json").read_text())
        state["log_history"] = [e for e in state["log_history"] if e.get("step", 0) <= n]
        (out / f"checkpoint-{n}" / "trainer_state.json").write_text(json.dumps(state))
    (out / "eval_results.json").write_text('{"eval_loss": 0.25, "epoch": 2.0}')
    [run] = _runs(tmp_path)
    assert run.path.endswith("checkpoint-16/trainer_state.json") and run.final == {"eval_loss": 0.25, "epoch": 2.0}
    (out / "eval_results.json").write_text('{"eval_loss": ')
    [run] = _runs(tmp_path)
    assert [(p.kind, p.path.endswith("eval_results.json")) for p in run.problems] == [("unreadable", True)]


def test_a_results_file_without_a_trainer_state_is_no_run(tmp_path):
    (tmp_path / "all_results.json").write_text('{"eval_loss": 0.25, "epoch": 2.0}')
    assert _runs(tmp_path) == []


# -- configured patterns ------------------------------------------------------------------------------------
SWIN = """\
[32m[2025-10-21 00:06:50 alexnet][0m(main.py 194): INFO Train: [0/5]\tlr 0.000300\tloss 2.3127 (2.3149)
[32m[2025-10-21 00:06:50 alexnet][0m(main.py 113): INFO  * Train Acc 10.144 Train Loss 2.315
[32m[2025-10-21 00:07:02 alexnet][0m(main.py 118): INFO  * Val Acc 10.000 Val Loss 2.303
[32m[2025-10-21 00:09:04 alexnet][0m(main.py 194): INFO Train: [1/5]\tlr 0.000271\tloss 2.2978 (2.3036)
[32m[2025-10-21 00:09:04 alexnet][0m(main.py 113): INFO  * Train Acc 9.836 Train Loss 2.304
[32m[2025-10-21 00:09:16 alexnet][0m(main.py 118): INFO  * Val Acc 10.000 Val Loss 2.301
""".replace("[", "\x1b[", 2)

PYPROJECT = r"""
[tool.curvelint.text-logs]
min-lines = 2
[tool.curvelint.text-logs.patterns]
swin = ['Train: \[(?P<epoch>\d+)/\d+\]\s+lr (?P<lr>\S+)', '\* Train Acc \S+ Train Loss (?P<train_loss>\S+)',
        '\* Val Acc (?P<val_acc>\S+) Val Loss (?P<val_loss>\S+)']
"""


def test_configured_pattern_from_the_nearest_pyproject(tmp_path):
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "train.log").write_text(SWIN)
    text_log.settings_for.cache_clear()
    run = _one(tmp_path / "logs")
    assert "the configured pattern 'swin'" in run.notes[0]
    assert {k: (s.steps.tolist(), s.values.tolist()) for k, s in run.series.items()} == {
        "lr": ([0, 1], [0.0003, 0.000271]), "train_loss": ([0, 1], [2.315, 2.304]),
        "val_acc": ([0, 1], [10.0, 10.0]), "val_loss": ([0, 1], [2.303, 2.301])}
    assert load_config([str(tmp_path / "logs")]).text_logs.patterns["swin"][2].startswith(r"\* Val Acc")
    text_log.settings_for.cache_clear()


def test_the_lint_s_configuration_reaches_the_text_log_reader(tmp_path):
    """--config names the file whose patterns apply, --isolated applies none (the built-ins only)."""
    import json
    import subprocess
    import sys

    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "train.log").write_text(SWIN)
    (tmp_path / "other.toml").write_text(PYPROJECT.replace("[tool.curvelint.", "["))

    def runs(*args: str) -> list:
        out = subprocess.run([sys.executable, "-m", "curvelint", "lint", "--format", "json", "--allow-empty",
                              *args, str(tmp_path / "logs")], capture_output=True, text=True, timeout=120)
        return json.loads(out.stdout)["runs"] if out.stdout.strip() else []

    assert [r["series"] for r in runs("--config", str(tmp_path / "other.toml"))] == [4]
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    assert [r["series"] for r in runs()] == [4]
    assert runs("--isolated") == []  # no configured pattern: the Swin log is not a run


@pytest.mark.parametrize("table, words", [
    ("patterns = {x = '(?P<loss>\\d+'}", "tool.curvelint.text-logs.patterns.x: invalid regex"),
    ("patterns = {x = '(?P<step>\\d+) loss'}", "names no value"),
    ("patterns = {x = 3}", "expected a regex or a list of regexes"),
    ("min-lines = 0", "text-logs.min-lines: expected a whole number"),
    ("builtin = 'no'", "text-logs.builtin: expected true or false"),
    ("pattern = {}", "text-logs.pattern: unknown key"),
])
def test_configured_patterns_are_validated(tmp_path, table, words):
    (tmp_path / "pyproject.toml").write_text(f"[tool.curvelint.text-logs]\n{table}\n")
    with pytest.raises(ConfigError, match=words.replace(".", r"\.").replace("(", r"\(")):
        load_config([str(tmp_path)])


def test_builtin_printers_can_be_turned_off(tmp_path):
    (tmp_path / "nanogpt.log").write_text((TEXT / "nanogpt.log").read_text())
    assert _runs(tmp_path) != []
    [source] = discover([str(tmp_path)])[0]
    assert text_log.read(source, text_log.Settings(builtin=False)) == []


# -- damage costs only the damaged line ---------------------------------------------------------------------
def _damaged(tmp_path: Path, fixture: str, line_of: str, mutate) -> tuple[Run, Run, int]:
    lines = (TEXT / fixture).read_text().splitlines(keepends=True)
    number = next(i for i, line in enumerate(lines) if line_of in line) + 1
    lines[number - 1] = mutate(lines[number - 1])
    path = tmp_path / Path(fixture).name
    path.write_text("".join(lines))
    return _one(TEXT / fixture), _one(path), number


@pytest.mark.parametrize("fixture, line_of, series", [
    ("nanogpt.log", "step 150:", "val_loss"),
    ("nanogpt.log", "iter 70:", "loss"),
    ("metrics.jsonl", '"step": 33,', "loss"),
    ("hf_trainer/console.log", "'loss': '0.307'", "loss"),
    ("keras_verbose2.log", "val_loss", "val_loss"),
    ("coqui_trainer.log", "| > loss:", "loss"),
])
def test_a_mutated_number_costs_only_its_line(tmp_path, fixture, line_of, series):
    def mutate(line: str) -> str:  # the first decimal after the line's marker (a loss)
        i = line.index(".", line.index(line_of.split(":")[0].strip("'| >") if "loss" not in line_of else "loss")) + 1
        return line[:i] + "x" + line[i + 1:]

    full, run, number = _damaged(tmp_path, fixture, line_of, mutate)
    [problem] = run.problems
    assert problem.kind == "unreadable" and problem.offset == number and f"line {number}" in problem.message
    lost = len(full.series[series]) - len(run.series[series])
    assert lost in (0, 1) and (lost == 1 or fixture.startswith("keras"))  # Keras keeps the epoch's good values
    kept = set(run.series[series].steps.tolist())
    assert kept <= set(full.series[series].steps.tolist())
    findings = [f for f in lint([str(tmp_path)]).findings if f.rule == "CL001"]
    assert len(findings) == 1 and f"line {number}" in findings[0].message


@pytest.mark.parametrize("fixture, marker", [("nanogpt.log", "loss "), ("metrics.jsonl", '"loss"'),
                                             ("hf_trainer/console.log", "'train_loss'")])
def test_a_cut_off_last_line_is_truncated(tmp_path, fixture, marker):
    text = (TEXT / fixture).read_bytes().decode()
    cut = text[: text.rindex(marker) + len(marker) + 4]  # inside the last record's values
    (tmp_path / "log").mkdir()
    path = tmp_path / "log" / Path(fixture).name
    path.write_bytes(cut.encode())
    run = _one(path)
    [problem] = run.problems
    assert problem.kind == "truncated" and problem.offset == cut.count("\n") + 1
    assert {f.rule for f in lint([str(path)]).findings} == {"CL002"}


FUZZ_FIXTURES = ["keras_verbose1.log", "keras_verbose2.log", "hf_trainer/console.log", "coqui_trainer.log",
                 "nanogpt.log", "metrics.jsonl"]


@pytest.mark.parametrize("fixture", FUZZ_FIXTURES)
def test_random_mutations_never_raise(tmp_path, fixture):
    rng = random.Random(fixture)
    data = (TEXT / fixture).read_bytes()
    full = _one(TEXT / fixture)
    junk = [b"\x00", b"\xff\xfe", b"\r", b"\x1b[2K", b"{'", b"}", b"nan", b"-", b":", b" - loss: ", b"\n", b"1e999"]
    for i in range(25):
        damaged = bytearray(data)
        for _ in range(rng.randint(1, 12)):
            pos = rng.randrange(len(damaged))
            if rng.random() < 0.5:
                damaged[pos:pos + 1] = rng.choice(junk)
            else:
                damaged[pos] = rng.randrange(256)
        if i % 4 == 0:
            damaged = damaged[: rng.randrange(len(damaged))]
        folder = tmp_path / str(i)
        folder.mkdir()
        (folder / Path(fixture).name).write_bytes(bytes(damaged))
        for run in _runs(folder):
            assert all(p.kind in ("unreadable", "truncated") and isinstance(p.offset, int) for p in run.problems)
            assert all(f"line {p.offset}" in p.message for p in run.problems)
            for name, series in run.series.items():
                if name in full.series:
                    assert len(series) <= len(full.series[name]) + 12


def test_lines_of_any_length_and_encoding(tmp_path):
    big = "step 1: train loss 2.0, val loss 2.1\n" + "x" * (3 << 20) + "\nstep 2: train loss 1.5, val loss 1.7\n"
    (tmp_path / "a.log").write_text(big)
    (tmp_path / "b.log").write_bytes(b"\xef\xbb\xbfiter 1: loss 2.0\n\xff\xfe garbage\r\niter 2: loss 1.0\r\n")
    runs = {Path(r.path).name: r for r in _runs(tmp_path)}
    assert runs["a.log"].series["val_loss"].values.tolist() == [2.1, 1.7]
    assert runs["b.log"].series["loss"].values.tolist() == [2.0, 1.0]


# -- speed: streamed, and only the head of a file that is not a log ----------------------------------------
def test_a_large_file_that_is_not_a_log_is_given_up_after_its_head(tmp_path):
    line = "the quick brown fox jumps over the lazy dog " * 3 + "\n"
    (tmp_path / "corpus.txt").write_text(line * 400_000)  # 53 MB
    (tmp_path / "data.jsonl").write_text((json.dumps({"text": line}) + "\n") * 300_000)
    start = time.perf_counter()
    assert _runs(tmp_path) == []
    assert time.perf_counter() - start < 2.0


def test_a_long_log_reads_in_linear_time(tmp_path):
    lines = [f"iter {i}: loss {2.0 / (1 + i / 1000):.4f}, time 1.00ms, mfu 10.00%\n" for i in range(200_000)]
    (tmp_path / "train.log").write_text("".join(lines))
    start = time.perf_counter()
    run = _one(tmp_path / "train.log")
    assert len(run.series["loss"]) == 200_000 and time.perf_counter() - start < 10.0


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes on this platform")
def test_fifos_named_like_text_logs_are_never_opened(tmp_path):
    os.mkfifo(tmp_path / "metrics.jsonl")  # a candidate by its name: reported, not read
    os.mkfifo(tmp_path / "train.log")  # never a run unless a pattern reads it: not even opened
    [run] = _runs(tmp_path)
    assert [p.message for p in run.problems] == ["cannot read: not a regular file (a FIFO)"]
