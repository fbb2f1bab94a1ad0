"""`MaskGmtTransformer`: predicts the masked codes of one level given lower levels and text."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from maskgmt.model.backbone import CodeBackbone
from maskgmt.model.config import BackboneConfig
from maskgmt.model.layers import TextContext


class MaskGmtTransformer(nn.Module):
    """Bidirectional transformer over T frames with one V-way output head per codec level.

    Input codes[B, K, T] hold the mask id V wherever a token is hidden (all of the levels above
    the predicted one, and the masked part of the predicted level).

    Build it from a shape config, `MaskGmtTransformer(BackboneConfig(...))`, or from the same
    fields as keywords, `MaskGmtTransformer(num_tokens=..., seq_len=..., dim=..., n_q=...,
    depth=...)`; the defaults of the other fields are those declared on `BackboneConfig`.
    """

    def __init__(self, config: BackboneConfig | None = None, /, **fields: Any) -> None:
        super().__init__()
        config = BackboneConfig.resolve(config, fields, where="MaskGmtTransformer")
        self.config = config
        self.backbone = CodeBackbone(config)
        k, d, v = config.n_q, config.dim, config.num_tokens
        self.head_weight = nn.Parameter(torch.randn(k, d, v) * 0.02)  # (K, D, V)
        self.head_bias = nn.Parameter(torch.zeros(k, v))  # (K, V)

    __init__.__signature__ = BackboneConfig.signature()

    @classmethod
    def from_config(cls, config: BackboneConfig) -> MaskGmtTransformer:
        return cls(config)

    @property
    def device(self) -> torch.device:
        return self.head_bias.device

    @property
    def dtype(self) -> torch.dtype:
        """The parameters' dtype (float32, or float16 after `.half()`)."""
        return self.head_bias.dtype

    def text_context(
        self, emb: torch.Tensor, mask: torch.Tensor, cues: torch.Tensor | None = None
    ) -> TextContext:
        """emb[B, L, text_dim], mask[B, L] bool, cues[B, 3] or None -> the blocks' text keys."""
        return self.backbone.text_context(emb, mask, cues)

    def hidden(
        self,
        codes: torch.Tensor,
        level: torch.Tensor,
        text: TextContext,
        frame_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """codes[B, K, T] (mask id where hidden), level[B] long -> hidden states [B, T, D]."""
        t = codes.shape[-1]
        x = self.backbone.embed_codes(codes) + self.backbone.frame_bias(level, t)
        return self.backbone(x, text, frame_mask)

    def level_logits(self, hidden: torch.Tensor, level: int) -> torch.Tensor:
        """hidden[..., D] -> logits[..., V] of codec level `level`."""
        return torch.matmul(hidden, self.head_weight[level]) + self.head_bias[level]

    def logits_by_row(self, hidden: torch.Tensor, level: torch.Tensor) -> torch.Tensor:
        """hidden[R, ..., D] with level[R] long (each row's level) -> logits[R, ..., V]."""
        logits = hidden.new_empty(*hidden.shape[:-1], self.config.num_tokens)
        for q in level.unique().tolist():
            rows = level == q
            logits[rows] = self.level_logits(hidden[rows], q)
        return logits

    def forward(
        self,
        codes: torch.Tensor,
        level: torch.Tensor,
        text: TextContext,
        frame_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """codes[B, K, T], level[B] long, text -> logits [B, T, V] of each sample's level."""
        return self.logits_by_row(self.hidden(codes, level, text, frame_mask), level)
