"""The model that ships inside the package: where it lives and how it is found.

`maskgmt generate`, `maskgmt serve` and `TextToMusic.from_pretrained()` load it when no model
folder is given. Its folder holds what `maskgmt train` writes (config.json, model.safetensors)
plus the codec it was trained with; `scripts/train_shipped.sh` rebuilds it.
"""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_NAME = "maskgmt-tiny"
ENV_VAR = "MASKGMT_PRETRAINED_DIR"  # points the default at another folder (tests, custom installs)
REQUIRED_FILES = ("config.json", "model.safetensors")


def default_model_dir() -> Path:
    """The folder of the shipped model: $MASKGMT_PRETRAINED_DIR, else the packaged one."""
    override = os.environ.get(ENV_VAR)
    if override:
        return Path(override)
    return Path(__file__).resolve().parent / DEFAULT_NAME


def require_default_model() -> Path:
    """default_model_dir(), after checking that its files are there (else a clear error)."""
    path = default_model_dir()
    missing = [name for name in REQUIRED_FILES if not (path / name).is_file()]
    if missing:
        raise FileNotFoundError(
            f"the shipped maskgmt model is missing: {path} lacks {', '.join(missing)}. "
            f"Reinstall maskgmt (`pip install --force-reinstall .`), pass a model folder of your "
            f"own (--model DIR), or set {ENV_VAR} to one; `bash scripts/train_shipped.sh WORK` "
            "rebuilds the shipped model"
        )
    return path
