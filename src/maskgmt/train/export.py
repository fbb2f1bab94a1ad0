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
    if not isinstance(source, str) or not source:
        return None
    candidates = [Path(source)]
    if cache_dir is not None and not Path(source).is_absolute():
        candidates.append(cache_dir / source)
    return next((p for p in candidates if p.is_dir()), None)
