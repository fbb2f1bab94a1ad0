"""maskgmt.model is pure torch: it never imports the adapter or application layers."""

from __future__ import annotations

import ast
from pathlib import Path

import maskgmt.model

FORBIDDEN = ("text", "codecs", "data", "train", "eval", "cli", "pipeline", "audio")


def test_model_imports_point_down_only() -> None:
    package = Path(maskgmt.model.__file__).parent
    offenders = []
    for path in sorted(package.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                parts = name.split(".")
                if parts[0] == "maskgmt" and len(parts) > 1 and parts[1] in FORBIDDEN:
                    offenders.append(f"{path.name}: {name}")
    assert not offenders, offenders


def test_public_names() -> None:
    for name in ("MaskGmtTransformer", "TokenCritic", "MaskGmt", "MaskGmtLoss"):
        assert hasattr(maskgmt.model, name)
    assert callable(maskgmt.model.set_text_encoder_loader)
