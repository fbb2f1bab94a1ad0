"""The final model folder of a run: `save_pretrained` + metadata + a copy of a local codec."""

from __future__ import annotations

import copy
import shutil
from pathlib import Path
from typing import Any

import torch

from maskgmt.train.ema import Ema


def final_model(model: torch.nn.Module, ema: Ema | None) -> torch.nn.Module:
    """A CPU copy of `model` in eval mode, holding the EMA weights when there are some."""
    final = copy.deepcopy(model).cpu().eval()
    if ema is not None:
        ema.copy_to(final)
    return final


def write_model_folder(
    model: torch.nn.Module,
    model_dir: Path,
    *,
    codec_identity: dict[str, Any],
    text_encoder: str,
    train_summary: dict[str, Any],
    cache_dir: Path | None = None,
) -> Path:
    """`save_pretrained` the model with the metadata `generate` needs (codec identity, text
    encoder name, a training summary); a local codec folder is copied to `model_dir/codec` and
    referenced as "codec". Replaces an older `model_dir`."""
    codec_meta = dict(codec_identity)
    source = _local_codec_folder(codec_identity.get("source"), cache_dir)
    if model_dir.exists():
        shutil.rmtree(model_dir)
    model_dir.mkdir(parents=True)
    if source is not None:
        shutil.copytree(source, model_dir / "codec")
        codec_meta["source"] = "codec"
    model.metadata = {"codec": codec_meta, "text_encoder": text_encoder, "train": train_summary}
    model.save_pretrained(model_dir)
    return model_dir


def _local_codec_folder(source: Any, cache_dir: Path | None) -> Path | None:
    """The codec folder the cache names: an absolute path, or one relative to the cache. Never
    a folder relative to the current directory (a relative source is a hub id such as
    'facebook/encodec_24khz', and a same-named folder where `train` runs is not that codec)."""
    if not isinstance(source, str) or not source:
        return None
    path = Path(source)
    if not path.is_absolute():
        path = cache_dir / source if cache_dir is not None else None
    return path if path is not None and path.is_dir() else None
