"""Builds the `MaskGmt` a run trains from its config and its token cache, and the run identity."""

from __future__ import annotations

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
    transformer = MaskGmtTransformer(
        num_tokens=info.codebook_size,
        seq_len=seq_len,
        dim=cfg.dim,
        n_q=info.n_q,
        depth=cfg.depth,
        dim_head=cfg.dim_head,
        heads=cfg.heads,
        ff_mult=cfg.ff_mult,
        text_dim=text_dim,
        pooled_text=cfg.pooled_text,
    )
    return MaskGmt(
        transformer=transformer,
        cond_drop_prob=cfg.cond_drop_prob,
        self_token_critic=cfg.self_token_critic,
        critic_loss_weight=cfg.critic_loss_weight,
        text_encoder_name=text_name,
        span_len=cfg.span_len,
        prefix_prob=cfg.prefix_prob,
        level_weights=cfg.weights_for(info.n_q),
    )


def run_identity(model: MaskGmt, *, codec_identity: dict[str, Any]) -> dict[str, Any]:
    """What a checkpoint must match to be resumed: the model's sizes and options, and the codec."""
    return {
        "model": {**model.transformer.config.to_dict(), **model.config.to_dict()},
        "codec": codec_identity,
    }
