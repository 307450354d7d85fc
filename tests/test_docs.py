"""The README and docs/ci.md stay true: every rule is listed, every snippet is valid,
and `.ci/run` runs exactly the README's two set-up commands."""

from __future__ import annotations

import re
import sys

import pytest

from conftest import REPO
from curvelint.config import parse_config
from curvelint.registry import load_rules

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

README = (REPO / "README.md").read_text(encoding="utf-8")
CI_DOC = (REPO / "docs" / "ci.md").read_text(encoding="utf-8")


def fenced(text: str, lang: str) -> list[str]:
    return re.findall(rf"^```{lang}\n(.*?)^```", text, flags=re.M | re.S)


def test_readme_rule_table_lists_every_builtin_rule():
    rows = dict(re.findall(r"^\| (CL\d{3}) \| `([a-z-]+)` \|", README, flags=re.M))
    builtin = {r.code: r.name for r in load_rules() if r.code.startswith("CL")}
    assert rows == builtin


def test_readme_has_exactly_two_setup_commands_and_ci_runs_them():
    setup = README.split("## Set up", 1)[1].split("\n## ", 1)[0]
    commands = [block.strip() for block in fenced(setup, "sh")]
    assert commands == ["pip install . && curvelint fixtures/demo", "pip install '.[test]' && pytest"]
    ci = (REPO / ".ci" / "run").read_text()
    for command in commands:
        assert f"\n{command}\n" in ci


@pytest.mark.parametrize("doc", ["README.md", "docs/ci.md"])
def test_toml_snippets_are_valid_configuration(doc):
    text = README if doc == "README.md" else CI_DOC
    blocks = [b for b in fenced(text, "toml") if "tool.curvelint" in b]
    assert blocks
    for block in blocks:
        table = tomllib.loads(block)["tool"]["curvelint"]
        parse_config(table, "pyproject.toml")  # raises ConfigError on any unknown key/option


def test_ci_snippets_use_real_options():
    from click.testing import CliRunner

    from curvelint.cli import main

    lines = [line.strip().removeprefix("- ").removeprefix("run: ")
             for block in fenced(README, "yaml") + fenced(CI_DOC, "yaml") for line in block.splitlines()]
    invocations = [line for line in lines if line.startswith("curvelint ")]
    assert len(invocations) >= 4
    for line in invocations:
        args = line.split()[1:]
        # unknown options fail parsing before the trailing --help acts
        result = CliRunner().invoke(main, ["lint", *[a for a in args if a != "runs/"], "--help"])
        assert result.exit_code == 0, (line, result.output)


def test_every_package_is_listed_for_setuptools():
    """pyproject.toml names the packages one by one (curvelint_rules is the rules/ folder): a
    subpackage missing there is absent from `pip install .` although an editable install works."""
    listed = set(re.findall(r'"(curvelint[\w.]*)"', (REPO / "pyproject.toml").read_text().split("packages = [", 1)[1]
                            .split("]", 1)[0]))
    found = {"curvelint"} | {"curvelint." + p.parent.relative_to(REPO / "curvelint").as_posix().replace("/", ".")
                             for p in (REPO / "curvelint").rglob("__init__.py") if p.parent != REPO / "curvelint"}
    tracked = {f for f in found if (REPO / f.replace(".", "/") / "__init__.py").exists()}
    assert tracked - listed == set(), f"add to [tool.setuptools] packages: {sorted(tracked - listed)}"
