"""Inpainting geometry: which window fills which frames, and the crossfade back into the clip."""

from __future__ import annotations

import torch

SPLICE_SECONDS = 0.01  # crossfade where inpainted audio meets the kept audio


def inpaint_window(pos: int, end: int, total: int, window: int) -> tuple[int, int]:
    """The window [lo, hi) of frames for filling frames from `pos` (up to `end`) of `total`.

    Whatever of the range is left is centred when it fits with a quarter window of context;
    otherwise the window starts a quarter window before `pos`. lo <= pos < hi always.
    """
    if total <= window:
        return 0, total
    margin = window // 4
    fits = end - pos <= window - margin
    lo = pos - (window - (end - pos)) // 2 if fits else pos - margin
    lo = max(0, min(lo, total - window))
    return lo, lo + window


def splice(
    kept: torch.Tensor, made: torch.Tensor, start: float, end: float, sample_rate: int
) -> torch.Tensor:
    """`made` inside seconds [start, end], `kept` outside, crossfaded over SPLICE_SECONDS.

    No fade at an edge of the clip: a range from 0 s (or to the end) is all new there.
    """
    t = torch.arange(kept.shape[-1], device=kept.device) / sample_rate
    ones = torch.ones_like(t)
    fade_in = ((t - start) / SPLICE_SECONDS + 0.5).clamp(0.0, 1.0) if start > 0 else ones
    length = kept.shape[-1] / sample_rate
    fade_out = ((end - t) / SPLICE_SECONDS + 0.5).clamp(0.0, 1.0) if end < length else ones
    inside = torch.minimum(fade_in, fade_out)
    return inside * made + (1.0 - inside) * kept
