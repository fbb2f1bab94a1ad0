"""The layer rule of DESIGN.md: imports point down only."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "maskgmt"

# Every maskgmt package and module that takes part in the layering.
PACKAGES = {"model", "codecs", "text", "data", "train", "eval", "pipeline", "cli", "demo", "app",
            "audio", "viz", "seeding", "progress"}  # fmt: skip

# package -> maskgmt subpackages it must never import
FORBIDDEN = {
    "model": {"codecs", "text", "data", "train", "eval", "pipeline", "cli", "demo", "app"},
    "codecs": {"model", "text", "data", "train", "eval", "pipeline", "cli", "demo", "app"},
    "text": {"model", "codecs", "data", "train", "eval", "pipeline", "cli", "demo", "app"},
    "data": {"model", "train", "eval", "pipeline", "cli", "demo", "app"},
    "train": {"eval", "pipeline", "cli", "demo", "app"},
    "eval": {"train", "cli", "demo", "app"},
    "pipeline": {"train", "eval", "cli", "demo", "app"},
    "demo": {"cli", "app"},
    "app": {"cli", "demo", "train", "eval"},
    # the bottom: audio I/O and pictures import no other part of maskgmt
    "audio": PACKAGES - {"audio"},
    "viz": PACKAGES - {"viz"},
    "seeding": PACKAGES - {"seeding"},
    "progress": PACKAGES - {"progress"},
}


def _imported_subpackages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        for name in names:
            parts = name.split(".")
            if parts[0] == "maskgmt" and len(parts) > 1:
                found.add(parts[1])
    return found


def _files(package: str) -> list[Path]:
    single = SRC / f"{package}.py"
    return [single] if single.exists() else sorted((SRC / package).rglob("*.py"))


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_imports_point_down(package: str) -> None:
    files = _files(package)
    assert files, f"no source files for maskgmt.{package}"
    bad = {
        f"{f.relative_to(SRC)} imports maskgmt.{sub}"
        for f in files
        for sub in _imported_subpackages(f) & FORBIDDEN[package]
    }
    assert not bad, sorted(bad)


def test_checker_sees_violations(tmp_path: Path) -> None:
    f = tmp_path / "x.py"
    f.write_text("import maskgmt.text.base\nfrom maskgmt.codecs import load_codec\n")
    assert _imported_subpackages(f) == {"text", "codecs"}
