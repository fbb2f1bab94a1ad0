"""The `TextEncoder` contract: captions -> frozen token embeddings."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import torch


@runtime_checkable
class TextEncoder(Protocol):
    """Frozen, eval-mode, no-grad caption encoder.

    `encode(texts)` returns emb[B, L, D] float32 and mask[B, L] bool (True = real token),
    with L <= `max_length`.
    """

    name: str  # what `load_text_encoder(name)` takes to rebuild it
    dim: int  # D
    max_length: int  # longest L; longer captions are truncated (logged once)

    def encode(self, texts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """texts (B strings) -> (emb[B, L, D] float32, mask[B, L] bool)."""
        ...
