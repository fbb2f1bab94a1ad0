"""`TokenCritic`: scores each token of a level as real (low) or sampled by the generator (high)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F
from torch import nn

from maskgmt.model.backbone import CodeBackbone
from maskgmt.model.config import BackboneConfig
from maskgmt.model.layers import TextContext

if TYPE_CHECKING:
    from maskgmt.model.maskgmt import MaskGmt

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

    def text_context(self, emb: torch.Tensor, mask: torch.Tensor) -> TextContext:
        """emb[B, L, text_dim], mask[B, L] bool -> the critic blocks' text keys (no cues)."""
        return self.backbone.text_context(emb, mask)

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


def check_critic(
    token_critic: Any, transformer: BackboneConfig, self_token_critic: bool
) -> TokenCritic | None:
    """A `MaskGmt`'s separate critic, checked against its transformer's config: same V, K and
    text_dim, a seq_len at least as long, and not combined with a self-critic."""
    if token_critic is None:
        return None
    if not isinstance(token_critic, TokenCritic):
        raise ValueError(
            f"token_critic: expected a TokenCritic or None, got {type(token_critic).__name__}"
        )
    if self_token_critic:
        raise ValueError(
            "token_critic: got a TokenCritic and self_token_critic=True; use one critic, not both"
        )
    cc = token_critic.config
    for field in ("num_tokens", "n_q", "text_dim"):
        want = getattr(transformer, field)
        if getattr(cc, field) != want:
            raise ValueError(
                f"token_critic: expected {field}={want} to match the transformer, "
                f"got {field}={getattr(cc, field)}; build TokenCritic(..., {field}={want})"
            )
    if cc.seq_len < transformer.seq_len:
        raise ValueError(
            f"token_critic: expected seq_len >= the transformer's {transformer.seq_len}, "
            f"got {cc.seq_len}"
        )
    return token_critic


def critic_loss(
    model: MaskGmt,
    *,
    inputs: torch.Tensor,
    level: torch.Tensor,
    target: torch.Tensor,
    hide: torch.Tensor,
    frame_mask: torch.Tensor,
    logits: torch.Tensor,
    text: TextContext,
    emb: torch.Tensor,
    text_mask: torch.Tensor,
    generator: torch.Generator | None,
) -> torch.Tensor:
    """BCE of the critic at telling the generator's sampled tokens (1) from real ones (0).

    inputs: the training input codes[B, K, T]; level[B]; target[B, T]: the real codes of each
    sample's level; hide[B, T]: its masked tokens, where logits[N, V] (N = hide.sum()) were
    predicted; text: the transformer's text context (the self-critic reuses it); emb[B, L,
    text_dim] and text_mask[B, L]: the caption, for a separate critic's own text context.
    """
    k = inputs.shape[1]
    with torch.no_grad():
        probs = logits.detach().float().softmax(dim=-1)  # (N, V) at the hidden tokens
        sampled = torch.multinomial(probs, 1, generator=generator)[:, 0]
        filled = target.clone()
        filled[hide] = sampled
        fake = (filled != target).float()  # a sample equal to the real token counts as real
    at_level = torch.arange(k, device=inputs.device)[None, :, None] == level[:, None, None]
    critic_inputs = torch.where(at_level & frame_mask[:, None, :], filled[:, None, :], inputs)
    if model.token_critic is not None:
        critic_text = model.token_critic.text_context(emb, text_mask)
        scores = model.token_critic(critic_inputs, level, critic_text, frame_mask)
    else:
        h = model.transformer.hidden(critic_inputs, level, text, frame_mask)
        scores = model.self_critic_head(h).squeeze(-1)
    return F.binary_cross_entropy_with_logits(scores[frame_mask].float(), fake[frame_mask])
