"""SpectralCodecConfig: a spectral codec's validated settings, and the ones that change what its
codes mean (hashed into the codec's fingerprint)."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class SpectralCodecConfig:
    """Hyperparameters of a SpectralCodec (validated at construction)."""

    sample_rate: int = 24_000  # Hz the codec works at (input is resampled to it)
    hop_length: int = 320  # samples per frame: 24000 / 320 = 75 frames/s, as EnCodec 24 kHz
    n_fft: int = 1280  # window = 4 hops, so Hann windows overlap-add to a constant
    n_q: int = 8  # K residual levels
    codebook_size: int = 1024  # V codes per level
    floor_db: float = -60.0  # magnitudes below this (dB re a full-scale sine) count as silence
    # How k-means weighs the frequency bins. False (equal weights) keeps more timbre: on 240
    # held-out 3 s clips, codecs fitted so keep instrument identity +5.3 [+0.7, +10.2] points more
    # often than mel-weighted ones (4 and 5 k-means draws pooled), key -1.4 [-4.2, +1.3]
    # (bench/codec_fit_study.py, docs/QUALITY.md). True weighs bins by mel density (the low
    # partials); codecs saved before this default keep True from their spectral_codec.json.
    mel_weighting: bool = False
    griffin_lim_iters: int = 32  # phase iterations at decode: quality vs speed
    momentum: float = 0.99  # fast Griffin-Lim extrapolation (0 = classic Griffin-Lim)
    chunk_seconds: float = 30.0  # long audio is encoded/decoded in pieces this long

    def __post_init__(self):
        positive_ints = ("sample_rate", "hop_length", "n_fft", "n_q", "codebook_size")
        for name in (*positive_ints, "griffin_lim_iters"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"SpectralCodecConfig.{name} must be an int >= 0; got {value!r}")
        for name in positive_ints:
            if getattr(self, name) == 0:
                raise ValueError(f"SpectralCodecConfig.{name} must be > 0; got 0")
        if self.n_fft < 2 * self.hop_length:
            raise ValueError(
                f"SpectralCodecConfig.n_fft ({self.n_fft}) must be >= 2 * hop_length "
                f"({2 * self.hop_length}) so frames overlap enough to rebuild the phase"
            )
        if self.codebook_size < 2:
            raise ValueError("SpectralCodecConfig.codebook_size must be >= 2")
        if not -200.0 <= self.floor_db < 0.0:
            raise ValueError(
                f"SpectralCodecConfig.floor_db must be in [-200, 0); got {self.floor_db}"
            )
        if not 0.0 <= self.momentum < 1.0:
            raise ValueError(f"SpectralCodecConfig.momentum must be in [0, 1): {self.momentum}")
        if not self.chunk_seconds > 0:
            raise ValueError(
                f"SpectralCodecConfig.chunk_seconds must be > 0; got {self.chunk_seconds}"
            )

    @property
    def num_bins(self) -> int:
        """F, frequency bins per frame."""
        return self.n_fft // 2 + 1


def config_tensor(config: SpectralCodecConfig) -> torch.Tensor:
    """The settings that change what codes mean, as numbers to hash with the codebooks."""
    return torch.tensor(
        [
            config.sample_rate,
            config.hop_length,
            config.n_fft,
            config.floor_db,
            config.mel_weighting,
        ],
        dtype=torch.float64,
    )
