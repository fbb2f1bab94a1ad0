"""Builds the `MaskGmt` a run trains from its config and its token cache, and the run identity."""

from __future__ import annotations

import dataclasses
from typing import Any

import torch

from maskgmt.model import MaskGmt, MaskGmtTransformer
from maskgmt.train.config import ModelConfig


def build_model(
    cfg: ModelConfig, *, info: Any, seq_len: int, text_dim: int, text_name: str, seed: int
) -> MaskGmt:
    """A freshly initialised `MaskGmt` (same weights for the same `seed`, on CPU).

    `info` is the cache's `CacheInfo`: V = `info.codebook_size` codes, K = `info.n_q` levels.
    `seq_len` is the crop length T in frames; `text_dim` the width D of the text embeddings;
    `text_name` the text encoder's name, stored so generation rebuilds the same encoder.
    """
    torch.manual_seed(seed)  # every process starts from identical weights
    shape = cfg.backbone(
        num_tokens=info.codebook_size, seq_len=seq_len, n_q=info.n_q, text_dim=text_dim,
        frame_rate=info.frame_rate,
    )  # fmt: skip
    choices = cfg.choices(n_q=info.n_q, text_encoder_name=text_name)
    return MaskGmt(transformer=MaskGmtTransformer.from_config(shape), **dataclasses.asdict(choices))


def run_identity(model: MaskGmt, *, codec_identity: dict[str, Any]) -> dict[str, Any]:
    """What a checkpoint must match to be resumed: the model's sizes and options, and the codec."""
    return {
        "model": {**model.transformer.config.to_dict(), **model.config.to_dict()},
        "codec": codec_identity,
    }
