"""Property-based and mutation fuzzing of every reader and of the configuration loader (issue 14).

Every case is a small valid log of one format (tests/fuzzing.py builds them byte by byte) with one
kind of damage; `fuzzing.check` asserts that no exception escapes a reader, a rule or a reporter, that
problems are one line of words, that the records the damage did not touch are read with their values,
that a case ends within seconds, and (here) that the process's memory stays bounded.

CI runs a bounded, derandomized number of cases (about 30 s on 2 cores). More cases, random each run:
``CURVELINT_FUZZ_CASES=2000 pytest tests/test_fuzz.py`` (per test), or the long run with per-format
counts, ``python tests/fuzz_long.py --cases 100000 --jobs 2`` (see tests/README.md).
"""

from __future__ import annotations

import math
import os
import struct
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fuzzing as F

pytestmark = pytest.mark.slow

CASES = int(os.environ.get("CURVELINT_FUZZ_CASES", "0"))
MEMORY_MB = 400  # peak RSS growth allowed over the whole suite (the inputs are a few KB)


def fuzz_settings(default: int):
    return settings(max_examples=CASES or default, deadline=None, database=None, derandomize=not CASES,
                    suppress_health_check=list(HealthCheck))


@pytest.fixture(scope="module", autouse=True)
def bounded_memory():
    F.seed("tensorboard")  # imports and seeds first: what follows is the cases' own memory
    start = F.rss_mb()
    yield
    grown = F.rss_mb() - start
    assert grown < MEMORY_MB, f"peak memory grew by {grown:.0f} MB over the fuzz cases"


def mutations(fmt: str) -> st.SearchStrategy[F.Mutation]:
    size = len(F.seed(fmt).files[F.seed(fmt).target])
    return st.builds(F.Mutation, kind=st.sampled_from(F.kinds(fmt)), at=st.integers(0, size),
                     arg=st.integers(0, 1 << 16), data=st.binary(max_size=16) | st.just(b""))


# -- random damage of every format ---------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", F.FORMATS)
def test_every_seed_reads_whole(fmt: str) -> None:
    s = F.seed(fmt)
    seen = F.check(F.Case(fmt, F.Mutation("none"), dict(s.files), F._copy(s.points)), cli=True)
    assert seen.get("runs", 1) >= 1 and seen.get("valid", True)


@pytest.mark.parametrize("fmt", F.FORMATS)
@given(data=st.data())
@fuzz_settings(60)
def test_damaged_logs(fmt: str, data) -> None:
    mutation = data.draw(mutations(fmt))
    F.check(F.mutate(fmt, mutation), cli=mutation.at % 8 == 0)


# -- TensorBoard: every byte, every record --------------------------------------------------------------------
SMALL = F.seed_tensorboard(6)
SMALL_FILE = SMALL.files[SMALL.target]


def _small_case(kind: str, at: int, arg: int = 0) -> F.Case:
    F._SEEDS["tb-small"] = SMALL
    case = F.mutate("tb-small", F.Mutation(kind, at, arg))
    return F.Case("tensorboard", case.mutation, case.files, case.keep)


def test_truncation_at_every_byte_of_an_event_file(tmp_path: Path) -> None:
    for at in range(len(SMALL_FILE) + 1):
        F.check(_small_case("truncate", at), tmp_path / str(at))


def test_a_bit_flipped_at_every_byte_of_an_event_file(tmp_path: Path) -> None:
    for at in range(len(SMALL_FILE)):
        F.check(_small_case("flip", at, at * 5), tmp_path / str(at))


@pytest.mark.parametrize("length", [0, 1, 11, 12, 16, 2 ** 31, 2 ** 63 + 5, 2 ** 64 - 1, -3, 40])
def test_forged_record_lengths_with_valid_crcs(tmp_path: Path, length: int) -> None:
    for k, (a, b, _) in enumerate(SMALL.records):
        forged = (b - a - 16 + length) if length in (-3, 40) else length
        head = struct.pack("<Q", forged % 2 ** 64)
        data = SMALL_FILE[:a] + head + struct.pack("<I", F._masked_crc(head)) + SMALL_FILE[a + 12:]
        keep = F._kept(SMALL, (a, b), None, "forge-length")
        F.check(F.Case("tensorboard", F.Mutation("forge-length", a, forged), {SMALL.target: data}, keep),
                tmp_path / f"{k}")


def test_records_spliced_from_two_event_files(tmp_path: Path) -> None:
    big = F.seed("tensorboard").files[F.seed("tensorboard").target]
    for k in range(0, len(SMALL_FILE), 7):
        F.check(F.Case("tensorboard", F.Mutation("splice", k), {SMALL.target: SMALL_FILE[:k] + big[k:]}, {}),
                tmp_path / str(k))


# -- JSON, CSV, YAML, TOML: any schema, any type --------------------------------------------------------------
def json_values(depth: int = 4) -> st.SearchStrategy:
    leaves = (st.none() | st.booleans() | st.integers(-(10 ** 30), 10 ** 30) | st.sampled_from([10 ** 400, -(2 ** 63)])
              | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=12))
    return st.recursive(leaves, lambda inner: st.lists(inner, max_size=6) | st.dictionaries(
        st.sampled_from(["loss", "val_loss", "accuracy", "step", "epoch", "history", "log_history", "lr", "x", ""])
        | st.text(max_size=6), inner, max_size=6), max_leaves=30)


@pytest.mark.parametrize("name", ["history.json", "trainer_state.json", "metrics.jsonl"])
@given(value=json_values())
@fuzz_settings(80)
def test_any_json_value(tmp_path_factory, name: str, value) -> None:
    text = F._json_dumps(value)
    if name.endswith(".jsonl"):
        text = b"\n".join(F._json_dumps(v) for v in (value if isinstance(value, list) else [value])) + b"\n"
    F.check(F.Case("keras-json", F.Mutation("json"), {f"run/{name}": text}, {}), tmp_path_factory.mktemp("j"))


CELLS = st.sampled_from(["0", "1", "2", "0.5", "-1", "nan", "inf", "-inf", "1e308", "1e999", "", " ", "text", '"',
                         '"a,b"', "9" * 30, "\x00", "\ufeff1", "1\r", "0x10", "1_0"])
HEADERS = st.sampled_from(["epoch", "step", "loss", "val_loss", "accuracy", "lr", "id", "name", "price", "",
                           "wall_time", "Step", "Value", "Wall time", "global_step", "epoch"])


@given(header=st.lists(HEADERS, min_size=1, max_size=6), rows=st.lists(st.lists(CELLS, max_size=7), max_size=12),
       sep=st.sampled_from([",", ";", "\t"]), end=st.sampled_from(["\n", "\r\n", "\r\r\n", "\r"]))
@fuzz_settings(150)
def test_any_csv_table(tmp_path_factory, header, rows, sep, end) -> None:
    text = end.join(sep.join(r) for r in [header, *rows]) + end
    F.check(F.Case("keras-csv", F.Mutation("csv"), {"run/metrics.csv": text.encode()}, {}),
            tmp_path_factory.mktemp("c"))


@given(rows=st.lists(st.tuples(st.integers(1, 10 ** 6), st.sampled_from(["Widget", "b", "ü"]),
                               st.floats(0, 1000, allow_nan=False)), min_size=1, max_size=10))
@fuzz_settings(40)
def test_a_data_csv_is_not_a_training_run(tmp_path_factory, rows) -> None:
    from curvelint.config import Config
    from curvelint.engine import lint

    root = tmp_path_factory.mktemp("d")
    lines = ["id,name,price"] + [f"{i + k},{n},{p}" for k, (i, n, p) in enumerate(sorted(rows))]
    (root / "products.csv").write_text("\n".join(lines) + "\n")
    assert lint([str(root)], Config()).runs == []


@given(lines=st.lists(st.tuples(st.integers(0, 12), st.sampled_from(["lr", "model", "- 1", "a b", "'q'", "k"]),
                                st.sampled_from([": 1", ":", ": [1, 2", ": !!python/tuple", ": 1e999", ": 'x",
                                                 ": \"\\u00e9\"", ": 9" + "9" * 4500, " 5", ": &a", ": *a", ": {}"])),
                      max_size=30))
@fuzz_settings(120)
def test_any_hparams_yaml(tmp_path_factory, lines) -> None:
    seed = F.seed("hparams-yaml")
    text = "".join(" " * indent + key + value + "\n" for indent, key, value in lines)
    F.check(F.Case("hparams-yaml", F.Mutation("yaml"), {**seed.files, seed.target: text.encode()}, {}),
            tmp_path_factory.mktemp("y"))


def toml_values() -> st.SearchStrategy:
    leaves = (st.booleans() | st.integers(-(2 ** 63), 2 ** 63 - 1) | st.floats() | st.text(max_size=10)
              | st.sampled_from(["CL1", "CL101", "overfitting", "warning", "json", "1 GiB", "(?P<loss>x)", "**"]))
    return st.recursive(leaves, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["select", "ignore", "fail-on", "format", "exclude", "rules", "metrics", "severity",
                         "limits", "lines", "depth", "text-logs", "patterns", "reference", "overfitting", "min_rise",
                         "per-path-ignores", "reason", "monitor", "mode"]), inner, max_size=4), max_leaves=12)


def _toml(value) -> str:
    """A TOML document of `value` (hand-written: no TOML writer is a dependency)."""
    def one(v) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, float):
            return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf") if math.isinf(v) else repr(v)
        if isinstance(v, int):
            return str(v)
        if isinstance(v, str):
            return '"' + v.encode("unicode_escape").decode("ascii").replace('"', '\\"') + '"'
        if isinstance(v, list):
            return "[" + ", ".join(one(x) for x in v) + "]"
        return "{" + ", ".join(f'"{k}" = {one(x)}' for k, x in v.items()) + "}"

    table = value if isinstance(value, dict) else {"select": value}
    return "[tool.curvelint]\n" + "".join(f'"{k}" = {one(v)}\n' for k, v in table.items())


@given(value=toml_values(), junk=st.sampled_from([b"", b"\xff", b"\x00", b"\xef\xbb\xbf", b"[[[", b"\r\n"]))
@fuzz_settings(150)
def test_any_configuration(tmp_path_factory, value, junk) -> None:
    seed = F.seed("config")
    F.check(F.Case("config", F.Mutation("toml"), {**seed.files, "pyproject.toml": _toml(value).encode() + junk}, {}),
            tmp_path_factory.mktemp("t"))


@given(arg=st.integers(0, 1 << 16), at=st.integers(0, 1 << 16))
@fuzz_settings(60)
def test_any_parquet_schema(tmp_path_factory, arg: int, at: int) -> None:
    F.check(F.mutate("parquet", F.Mutation("table", at, arg)), tmp_path_factory.mktemp("p"))
