"""The layout stays one a newcomer can read (docs/layout.md): no module of curvelint/ or rules/ over
`MAX_LINES` lines, and no cycle among the imports that run when a module is imported (its top-level
statements, read with `ast`; tests/test_imports.py also counts the imports inside functions)."""

from __future__ import annotations

import ast
from pathlib import Path

from test_imports import PACKAGE, cycles, imports, modules

REPO = PACKAGE.parent
MAX_LINES = 450  # issue 15: a module past this is split along its seams


def test_no_module_is_over_the_line_limit() -> None:
    sizes = {path.relative_to(REPO).as_posix(): len(path.read_text(encoding="utf-8").splitlines())
             for folder in (REPO / "curvelint", REPO / "rules") for path in sorted(folder.rglob("*.py"))}
    assert len(sizes) > 50  # both folders were found
    over = {path: n for path, n in sizes.items() if n > MAX_LINES}
    assert not over, f"modules over {MAX_LINES} lines (split them along their seams): {over}"


def top_level(tree: ast.Module) -> ast.Module:
    """The statements that run at import: the module's own, those in its top-level ``if``/``try``/``with``
    blocks, less the ``if TYPE_CHECKING:`` ones; never a function's or a class's body."""
    found: list[ast.stmt] = []
    todo = list(tree.body)
    while todo:
        node = todo.pop(0)
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            found.append(node)
        elif isinstance(node, ast.If):
            checking = "TYPE_CHECKING" in ast.unparse(node.test)
            todo.extend(node.orelse if checking else [*node.body, *node.orelse])
        elif isinstance(node, ast.Try):
            todo.extend([*node.body, *(s for h in node.handlers for s in h.body), *node.orelse, *node.finalbody])
        elif isinstance(node, ast.With):
            todo.extend(node.body)
    return ast.Module(body=found, type_ignores=[])


def module_level_graph(root: Path = PACKAGE) -> dict[str, set[str]]:
    found = modules(root)
    known = set(found)
    graph = {}
    for name, path in found.items():
        tree = top_level(ast.parse(path.read_text(encoding="utf-8"), str(path)))
        graph[name] = imports(name, path, known, tree)
    return graph


def test_the_module_level_reader_ignores_lazy_and_type_checking_imports(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from pkg import b\ntry:\n    import pkg.c\nexcept ImportError:\n    pass\n")
    (pkg / "b.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg import a\n"
                              "def f():\n    from pkg import a\n")
    (pkg / "c.py").write_text("class C:\n    from pkg import a\n")
    assert module_level_graph(pkg) == {"pkg": set(), "pkg.a": {"pkg.b", "pkg.c"}, "pkg.b": set(), "pkg.c": set()}
    (pkg / "c.py").write_text("if True:\n    from . import a\n")
    assert cycles(module_level_graph(pkg)) == [frozenset({"pkg.a", "pkg.c"})]


def test_no_import_cycle_at_module_level() -> None:
    found = cycles(module_level_graph())
    assert not found, "module-level import cycle(s): " + "; ".join(" <-> ".join(sorted(c)) for c in found)
