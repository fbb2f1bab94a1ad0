"""Size limits that keep each concept readable on a screen: no source file over 400 lines, and
no function in model/ or train/ over 60 lines of code (docstrings not counted)."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "maskgmt"
MAX_FILE_LINES = 400
MAX_FUNCTION_LINES = 60
LIMITED_PACKAGES = ("model", "train")


def _code_lines(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """Lines from `def` to the function's end, less its docstring's lines."""
    lines = node.end_lineno - node.lineno + 1
    first = node.body[0]
    value = getattr(first, "value", None)
    if (
        isinstance(first, ast.Expr)
        and isinstance(value, ast.Constant)
        and isinstance(value.value, str)
    ):
        lines -= first.end_lineno - first.lineno + 1
    return lines


def long_functions(source: str, limit: int = MAX_FUNCTION_LINES) -> list[tuple[str, int]]:
    """(name, code lines) of every function or method in `source` longer than `limit`."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            lines = _code_lines(node)
            if lines > limit:
                found.append((node.name, lines))
    return found


def test_no_source_file_is_over_400_lines() -> None:
    long = {
        str(p.relative_to(SRC)): n
        for p in SRC.rglob("*.py")
        if (n := len(p.read_text().splitlines())) > MAX_FILE_LINES
    }
    assert not long, f"files over {MAX_FILE_LINES} lines: {long}"


def test_no_function_in_model_or_train_is_over_60_lines() -> None:
    long = {}
    for package in LIMITED_PACKAGES:
        for path in (SRC / package).rglob("*.py"):
            for name, lines in long_functions(path.read_text()):
                long[f"{path.relative_to(SRC)}:{name}"] = lines
    assert not long, f"functions over {MAX_FUNCTION_LINES} lines of code: {long}"


def test_the_measure_sees_a_long_function_and_skips_docstrings() -> None:
    body = "\n".join(f"    x{i} = {i}" for i in range(61))
    doc = '    """' + "\n" * 30 + '    """\n'
    assert long_functions(f"def f():\n{body}\n") == [("f", 62)]
    short = "\n".join(f"    x{i} = {i}" for i in range(50))
    assert long_functions(f"def g():\n{doc}{short}\n") == []  # 30 docstring lines not counted
