"""`TokenCritic`: scores each token of a level as real (low) or sampled by the generator (high)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from maskgmt.model.backbone import CodeBackbone
from maskgmt.model.config import BackboneConfig
from maskgmt.model.layers import TextContext

# The critic's one default beyond `BackboneConfig`'s: built by keywords it may omit n_q
# (8 levels, EnCodec 24 kHz at 6 kbps), where the transformer must be told K.
CRITIC_DEFAULTS: dict[str, Any] = {"n_q": 8}


class TokenCritic(nn.Module):
    """A separate bidirectional transformer over the same inputs as `MaskGmtTransformer`.

    It sees a level with every token filled in and returns, per frame, the logit that the token
    was sampled rather than real. `generate(use_token_critic=True)` re-masks the highest scores.

    Build it as `TokenCritic(BackboneConfig(...))` or with the fields as keywords; the keyword
    defaults are `BackboneConfig`'s, plus `CRITIC_DEFAULTS`.
    """

    def __init__(self, config: BackboneConfig | None = None, /, **fields: Any) -> None:
        super().__init__()
        config = BackboneConfig.resolve(
            config, fields, defaults=CRITIC_DEFAULTS, where="TokenCritic"
        )
        self.config = config
        self.backbone = CodeBackbone(config)
        self.head = nn.Linear(config.dim, 1)

    __init__.__signature__ = BackboneConfig.signature(**CRITIC_DEFAULTS)

    @classmethod
    def from_config(cls, config: BackboneConfig) -> TokenCritic:
        return cls(config)

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
