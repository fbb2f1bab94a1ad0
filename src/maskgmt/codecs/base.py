"""The `AudioCodec` contract: audio <-> residual-quantized code matrices."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import torch


@runtime_checkable
class AudioCodec(Protocol):
    """Anything that turns audio into codes[B, K, T] and back.

    Shapes: wav[B, C, S] float in [-1, 1] (C channels, S samples); codes[B, K, T] long
    (K = n_q levels, T frames at `frame_rate` Hz, values in [0, codebook_size)).
    """

    sample_rate: int  # Hz of the audio `decode` returns
    channels: int  # C of the audio `decode` returns
    frame_rate: float  # code frames per second
    n_q: int  # K, number of residual levels
    codebook_size: int  # V, codes per level

    def encode(self, wav: torch.Tensor, sample_rate: int) -> torch.Tensor:
        """wav[B, C, S] at `sample_rate` Hz -> codes[B, K, T] (resamples and mixes channels)."""
        ...

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """codes[B, K, T] -> wav[B, C, S] at `self.sample_rate`."""
        ...

    def identity(self) -> dict:
        """JSON-able description (kind, name or folder, n_q, codebook_size, rates) stored with
        codes and models so that decoding with a different codec can be refused."""
        ...
