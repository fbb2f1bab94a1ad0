"""Tiny, seeded models for tests, benchmarks and examples (cf. audiocraft's get_debug_lm_model).

    >>> from maskgmt.model import debug_model
    >>> model = debug_model()  # V=32, K=4, T=16, text_dim=16; random weights under seed 0
    >>> model = debug_model(critic=True, n_q=2, cond_drop_prob=0.0)

Shapes of the default model: codes[B, K=4, T<=16] in 0..V-1 (V=32, mask id 32), text
embeddings [B, L, text_dim=16]; `logits` are [B, T, V] and `generate` returns codes[B, K, T].
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch

from maskgmt.model.config import BackboneConfig

if TYPE_CHECKING:
    from maskgmt.model.critic import TokenCritic
    from maskgmt.model.maskgmt import MaskGmt
    from maskgmt.model.transformer import MaskGmtTransformer

# A transformer small enough for a unit test on one CPU thread: 2 blocks of width 32.
DEBUG_TRANSFORMER: dict[str, Any] = dict(
    num_tokens=32, seq_len=16, dim=32, n_q=4, depth=2, dim_head=8, heads=4, text_dim=16
)
# The critic is narrower and one block deep; it shares V, K, T and text_dim with its transformer.
DEBUG_CRITIC: dict[str, Any] = dict(dim=16, depth=1, dim_head=8, heads=2)
_SHARED = ("num_tokens", "seq_len", "n_q", "text_dim")


def debug_transformer(**overrides: Any) -> MaskGmtTransformer:
    """A tiny `MaskGmtTransformer`; `overrides` are `BackboneConfig` fields (e.g. n_q=6)."""
    from maskgmt.model.transformer import MaskGmtTransformer

    return MaskGmtTransformer(BackboneConfig(**{**DEBUG_TRANSFORMER, **overrides}))


def debug_critic(**overrides: Any) -> TokenCritic:
    """A tiny `TokenCritic` matching `debug_transformer()`'s V, K, T and text_dim by default."""
    from maskgmt.model.critic import TokenCritic

    shared = {name: DEBUG_TRANSFORMER[name] for name in _SHARED}
    return TokenCritic(BackboneConfig(**{**shared, **DEBUG_CRITIC, **overrides}))


def debug_model(
    *, seed: int | None = 0, critic: bool | dict[str, Any] = False, **overrides: Any
) -> MaskGmt:
    """A tiny `MaskGmt` with random weights -> codes[B, K, T] in, logits[B, T, V] out.

    `overrides` that name `BackboneConfig` fields shape the transformer (num_tokens=V, n_q=K,
    seq_len=T, text_dim, dim, depth, ...); the rest go to `MaskGmt` (cond_drop_prob,
    text_encoder, metadata, self_token_critic, ...). `critic=True` adds a `debug_critic()`
    sharing the transformer's V, K, T and text_dim; a dict also overrides the critic's fields.
    `seed` seeds torch's global generator right before building (as `torch.manual_seed(seed)`
    would), so equal arguments give equal weights; None keeps the current generator state.
    """
    from maskgmt.model.maskgmt import MaskGmt

    names = set(BackboneConfig.__dataclass_fields__)
    shape = {k: v for k, v in overrides.items() if k in names}
    options = {k: v for k, v in overrides.items() if k not in names}
    if seed is not None:
        torch.manual_seed(seed)
    transformer = debug_transformer(**shape)
    token_critic = None
    if critic is not False:
        config = transformer.config
        shared = {name: getattr(config, name) for name in _SHARED}
        extra = critic if isinstance(critic, dict) else {}
        token_critic = debug_critic(**{**shared, **extra})
    return MaskGmt(transformer=transformer, token_critic=token_critic, **options)
