"""`TokenCritic`: scores each token of a level as real (low) or sampled by the generator (high)."""

from __future__ import annotations

import torch
from torch import nn

from maskgmt.model.backbone import CodeBackbone
from maskgmt.model.config import BackboneConfig
from maskgmt.model.layers import TextContext


class TokenCritic(nn.Module):
    """A separate bidirectional transformer over the same inputs as `MaskGmtTransformer`.

    It sees a level with every token filled in and returns, per frame, the logit that the token
    was sampled rather than real. `generate(use_token_critic=True)` re-masks the highest scores.
    """

    def __init__(
        self,
        *,
        num_tokens: int,
        seq_len: int,
        dim: int,
        depth: int,
        n_q: int = 8,
        dim_head: int = 64,
        heads: int = 8,
        ff_mult: float = 4.0,
        text_dim: int = 384,
        pooled_text: bool = False,
    ) -> None:
        super().__init__()
        config = BackboneConfig(
            num_tokens=num_tokens, seq_len=seq_len, dim=dim, n_q=n_q, depth=depth,
            dim_head=dim_head, heads=heads, ff_mult=ff_mult, text_dim=text_dim,
            pooled_text=pooled_text,
        )  # fmt: skip
        self.config = config
        self.backbone = CodeBackbone(config)
        self.head = nn.Linear(dim, 1)

    def score(self, hidden: torch.Tensor) -> torch.Tensor:
        """hidden[..., D] -> fake-token logits [...]."""
        return self.head(hidden).squeeze(-1)

    def forward(
        self,
        codes: torch.Tensor,
        level: torch.Tensor,
        text: TextContext,
        frame_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """codes[B, K, T] (levels above `level` = mask id), level[B] long -> logits [B, T]."""
        t = codes.shape[-1]
        x = self.backbone.embed_codes(codes) + self.backbone.frame_bias(level, t)
        return self.score(self.backbone(x, text, frame_mask))
