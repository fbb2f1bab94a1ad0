"""Fitting a SpectralCodec's codebooks: the checked options, the frame collection, residual k-means.

`SpectralCodec.fit` / `fit_files` build one `FitOptions` (which checks itself) and hand it here
with a probe codec (placeholder codebooks) whose `features` give the frames to cluster.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

from maskgmt.codecs.checks import prepare_wav
from maskgmt.codecs.kmeans import residual_kmeans
from maskgmt.seeding import check_seed

if TYPE_CHECKING:
    from maskgmt.codecs.spectral import SpectralCodec


@dataclass(frozen=True)
class FitOptions:
    """How much audio to read and how to cluster it; refused at construction when torch would
    turn a value into a traceback or silently bend it."""

    max_seconds: float | None = None  # audio read at most (None: all of it)
    max_frames: int = 40_000  # random frames k-means runs on at most
    kmeans_iters: int = 10  # Lloyd iterations per level
    seed: int = 0  # same seed, same codebooks
    device: str | torch.device = "cpu"
    progress: bool = True

    def __post_init__(self) -> None:
        s = self.max_seconds
        if s is not None and not (isinstance(s, (int, float)) and math.isfinite(s) and s > 0):
            raise ValueError(
                f"max_seconds: expected a finite number > 0 (or None for all audio), got {s!r}"
            )
        for name in ("max_frames", "kmeans_iters"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name}: expected an int >= 0, got {value!r}")
        check_seed(self.seed)


def fit_codebooks(
    probe: SpectralCodec, clips: Iterable[tuple[torch.Tensor, int]], options: FitOptions
) -> torch.Tensor:
    """Clips (wav[C, S], sample rate) -> codebooks[K, V, F]; level k is fitted on the residual
    left by levels < k. `probe` is a SpectralCodec of the target config (codebooks unused)."""
    config = probe.config
    if options.max_frames < config.codebook_size:
        raise ValueError(
            f"max_frames ({options.max_frames}) must be >= codebook_size ({config.codebook_size})"
        )
    x = _collect_frames(probe, clips, options.max_seconds)  # (N, F)
    _check_frames(probe, x)
    generator = torch.Generator().manual_seed(options.seed)
    if x.shape[0] > options.max_frames:
        keep = torch.randperm(x.shape[0], generator=generator)[: options.max_frames]
        x = x[keep.to(x.device)]
    return residual_kmeans(
        x,
        levels=config.n_q,
        k=config.codebook_size,
        iters=options.kmeans_iters,
        generator=generator,
        progress=options.progress,
    )


@torch.no_grad()
def _collect_frames(
    probe: SpectralCodec, clips: Iterable[tuple[torch.Tensor, int]], max_seconds: float | None
) -> torch.Tensor:
    """Feature frames x[N, F] of the clips, read until `max_seconds` of audio."""
    budget = math.inf if max_seconds is None else int(max_seconds * probe.frame_rate)
    frames, total = [], 0
    for clip, rate in clips:
        if total >= budget:
            break
        if not isinstance(clip, torch.Tensor) or clip.dim() != 2:
            got = tuple(clip.shape) if isinstance(clip, torch.Tensor) else type(clip)
            raise ValueError(f"each clip must be wav[C, S]; got {got}")
        wav = prepare_wav(clip[None], rate, target_rate=probe.config.sample_rate, target_channels=1)
        feats = probe.features(wav[:, 0].to(probe.device))[0]  # (T, F)
        feats = feats[: int(min(budget - total, feats.shape[0]))]
        frames.append(feats)
        total += feats.shape[0]
    if not frames:
        raise ValueError("no training audio was given; pass at least one clip")
    return torch.cat(frames)


def _check_frames(probe: SpectralCodec, x: torch.Tensor) -> None:
    """Refuse silent audio, and too few frames for the codebook size."""
    config = probe.config
    floor = math.log(probe._eps) * probe._bin_scale
    if not (x > floor + 1e-3).any():
        raise ValueError(
            f"the training audio is silent (every frame below {config.floor_db} dB); "
            "fit on audio that has sound in it"
        )
    if x.shape[0] < config.codebook_size:
        need = config.codebook_size / probe.frame_rate
        raise ValueError(
            f"fitting {config.codebook_size} codes needs at least {config.codebook_size} "
            f"frames ({need:.1f} s of audio); got {x.shape[0]} frames "
            f"({x.shape[0] / probe.frame_rate:.1f} s). Add audio or lower codebook_size"
        )
