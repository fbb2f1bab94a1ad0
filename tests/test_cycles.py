"""No import cycles between the modules of maskgmt, inside a package or across packages.

The graph is built from the source with ast: every `import` and `from ... import`, at module
level or inside a function (a runtime import still closes a cycle), relative ones resolved.
Imports under `if TYPE_CHECKING:` do not run and are left out. `from pkg import sub` points at
the submodule `pkg.sub`, not at `pkg/__init__`, when `sub` is a module.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "maskgmt"


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip.update(id(sub) for sub in ast.walk(node))
    return skip


def _targets(node: ast.AST, package: str) -> list[str]:
    """The dotted names an import statement may load, most specific first."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    if not isinstance(node, ast.ImportFrom):
        return []
    if node.level:
        base = package.split(".")[: len(package.split(".")) - node.level + 1]
        module = ".".join(base + ([node.module] if node.module else []))
    else:
        module = node.module or ""
    return [f"{module}.{a.name}" for a in node.names] + [module]


def import_graph(root: Path) -> dict[str, set[str]]:
    """module -> the modules of `root`'s package it imports at run time."""
    files = {_module_name(p, root): p for p in root.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        skip, deps = _type_checking_nodes(tree), set()
        for node in ast.walk(tree):
            if id(node) in skip:
                continue
            targets = _targets(node, package)
            for target in targets:
                if target in files and target != name:
                    deps.add(target)
                    if isinstance(node, ast.ImportFrom):
                        break  # `from pkg import sub`: the submodule, not pkg/__init__
            else:
                for target in targets:  # a name inside a module: its nearest module
                    while target and target not in files:
                        target = target.rpartition(".")[0]
                    if target and target != name:
                        deps.add(target)
        graph[name] = deps
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_maskgmt_has_no_import_cycles() -> None:
    assert cycles(import_graph(SRC)) == []


def test_the_checker_sees_a_cycle_inside_a_package(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("from pkg.sub import b\n")  # a submodule: no cycle
    (pkg / "sub" / "a.py").write_text("from pkg.sub.b import g\n")
    (pkg / "sub" / "b.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from pkg.sub.c import h\n"  # never runs: no edge
        "def g():\n    from . import a\n"  # a runtime import closes the cycle
    )
    (pkg / "sub" / "c.py").write_text("from pkg.sub.b import g\n")
    assert cycles(import_graph(pkg)) == [["pkg.sub.a", "pkg.sub.b"]]
