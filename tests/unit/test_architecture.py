"""The layering the architecture promises, checked on the source tree: imports at the top and without cycles, the
arrows that must never exist, and functions small enough to read (radon's cyclomatic complexity)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from radon.complexity import cc_visit

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("connector", "adapters", "mappings")
#: frameworks and I/O the pure domain (``connector/governance``) must not know
FRAMEWORKS = ("flask", "flask_sqlalchemy", "flask_smorest", "flask_wtf", "sqlalchemy", "werkzeug", "requests",
              "authlib", "psycopg")
MAX_LINES = 60
MAX_COMPLEXITY = 15
#: a lazy first-party import is allowed only with a comment saying why; "a handful, not 76"
MAX_JUSTIFIED_LAZY_IMPORTS = 8


@dataclass(frozen=True)
class Import:
    module: str  # the importing module
    target: str  # the first-party module it names
    line: int
    top_level: bool  # at module level, not in a function nor under ``if TYPE_CHECKING``
    justified: bool  # a comment on its line or the two lines above says why it is not at the top


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if path.is_relative_to(ROOT / "connector" / "migrations"):  # Alembic's scripts, shipped as data
                continue
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


MODULES = _modules()


def _is_sandbox(name: str) -> bool:
    return ".sandbox" in name or name.rsplit(".", 1)[-1].startswith("sandbox")


def _resolve(module: str, node: ast.ImportFrom | ast.Import, is_package: bool) -> Iterator[str]:
    """The first-party modules an import statement loads (``from a import b`` names ``a.b`` if it is a module)."""
    if isinstance(node, ast.Import):
        for alias in node.names:
            if alias.name.split(".")[0] in PACKAGES:
                yield alias.name
        return
    if node.level:
        base = module.split(".") if is_package else module.split(".")[:-1]
        base = base[: len(base) - (node.level - 1)]
        source = ".".join([*base, node.module] if node.module else base)
    else:
        source = node.module or ""
    if source.split(".")[0] not in PACKAGES:
        return
    for alias in node.names:
        candidate = f"{source}.{alias.name}"
        yield candidate if candidate in MODULES else source


def _type_checking(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def _imports(module: str, path: Path) -> list[Import]:
    text = path.read_text()
    lines = text.splitlines()
    found: list[Import] = []

    def justified(line: int) -> bool:
        return any("#" in lines[i] for i in range(max(0, line - 2), line))

    def visit(node: ast.AST, top: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import | ast.ImportFrom):
                for target in _resolve(module, child, path.name == "__init__.py"):
                    found.append(Import(module, target, child.lineno, top, justified(child.lineno)))
            elif isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) or _type_checking(child):
                visit(child, False)
            else:
                visit(child, top)

    visit(ast.parse(text), True)
    return found


IMPORTS = [imp for name, path in MODULES.items() for imp in _imports(name, path)]


def test_first_party_imports_sit_at_the_top() -> None:
    lazy = [imp for imp in IMPORTS if not imp.top_level and not _is_sandbox(imp.module)]
    unexplained = [f"{MODULES[i.module].relative_to(ROOT)}:{i.line} imports {i.target}"
                   for i in lazy if not i.justified]
    assert unexplained == [], "imports hidden in a function or under TYPE_CHECKING without a comment saying why"
    assert len(lazy) <= MAX_JUSTIFIED_LAZY_IMPORTS, [f"{i.module}:{i.line}" for i in lazy]


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every back edge of a depth-first walk, as the cycle it closes."""
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1: on the stack, 2: done
    stack: list[str] = []

    def walk(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append([*stack[stack.index(nxt):], nxt])
            elif nxt not in state:
                walk(nxt)
        stack.pop()
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            walk(name)
    return cycles


def test_no_import_cycles() -> None:
    graph: dict[str, set[str]] = {name: set() for name in MODULES}
    for imp in IMPORTS:
        if imp.top_level and imp.target in graph and imp.target != imp.module:
            graph[imp.module].add(imp.target)
    cycles = _cycles(graph)
    assert cycles == [], "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


@pytest.mark.parametrize("package", ["adapters", "mappings"])
def test_adapters_and_mappings_never_import_the_connector(package: str) -> None:
    wrong = [f"{i.module}:{i.line} -> {i.target}" for i in IMPORTS
             if i.module.split(".")[0] == package and i.target.split(".")[0] == "connector"]
    assert wrong == []


def test_governance_imports_no_framework() -> None:
    wrong = []
    for name, path in MODULES.items():
        if not name.startswith("connector.governance"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else [])
            wrong += [f"{name}:{node.lineno} imports {n}" for n in names if n.split(".")[0] in FRAMEWORKS]
        wrong += [f"{i.module}:{i.line} imports {i.target}" for i in IMPORTS if i.module == name
                  and i.target.split(".")[0] == "connector" and not i.target.startswith("connector.governance")]
    assert wrong == []


def _functions() -> Iterator[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
    for name, path in MODULES.items():
        if _is_sandbox(name):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                yield name, node


def test_no_function_longer_than_sixty_lines() -> None:
    long = [f"{module}.{fn.name} ({(fn.end_lineno or fn.lineno) - fn.lineno + 1} lines)"
            for module, fn in _functions() if (fn.end_lineno or fn.lineno) - fn.lineno + 1 > MAX_LINES]
    assert long == []


def test_no_function_of_complexity_above_fifteen() -> None:
    complex_ = []
    for name, path in MODULES.items():
        if _is_sandbox(name):
            continue
        for block in cc_visit(path.read_text()):
            for item in [block, *getattr(block, "methods", [])]:
                if not hasattr(item, "methods") and item.complexity > MAX_COMPLEXITY:
                    complex_.append(f"{name}.{item.fullname} ({item.complexity})")
    assert complex_ == []


def test_the_checks_see_what_they_look_for(tmp_path: Path) -> None:
    """The walkers find a cycle, a hidden import and a known top-level edge: a check that sees nothing passes."""
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == [["a", "b", "c", "a"]]
    source = tmp_path / "example.py"
    source.write_text("from connector import audit\n\n\ndef f():\n    from connector import db\n")
    found = _imports("connector.example", source)
    assert [(i.target, i.top_level, i.justified) for i in found] == [
        ("connector.audit", True, False), ("connector.db", False, False)]
    assert ("connector.operations", "connector.audit") in {(i.module, i.target) for i in IMPORTS}
