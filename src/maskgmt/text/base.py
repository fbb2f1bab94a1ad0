"""The `TextEncoder` contract: captions -> frozen token embeddings."""

from __future__ import annotations

from collections.abc import Sequence
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


def check_texts(texts: Sequence[str], *, arg: str = "texts") -> list[str]:
    """Validate a caption batch and return it as a list; raise a ValueError that says the fix.

    A bare string is refused rather than iterated character by character.
    """
    if isinstance(texts, str | bytes):
        raise ValueError(
            f"`{arg}` must be a list of captions, got a single {type(texts).__name__} "
            f"{texts[:40]!r}; wrap it: encode([caption])."
        )
    if not isinstance(texts, Sequence):
        raise ValueError(
            f"`{arg}` must be a list of strings, got {type(texts).__name__}; "
            "pass e.g. ['a slow solo piano']."
        )
    if len(texts) == 0:
        raise ValueError(f"`{arg}` is empty; pass at least one caption, e.g. ['a calm piano'].")
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise ValueError(
                f"`{arg}[{i}]` must be a str, got {type(text).__name__} ({text!r:.60}); "
                "convert captions to strings (use '' for an empty caption)."
            )
    return list(texts)
