"""Mask schedules: which level and which frames a training step hides, and how many stay hidden."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def cosine_schedule(progress: torch.Tensor) -> torch.Tensor:
    """Share of tokens still masked at `progress` in [0, 1]: 1 at 0, 0 at 1 (MaskGIT)."""
    return torch.cos(progress * (math.pi / 2))


def masked_count_after_step(
    num_free: torch.Tensor, num_masked: torch.Tensor, step: int, num_steps: int
) -> torch.Tensor:
    """Tokens left masked after decoding step `step` (0-based) of `num_steps` -> long [B].

    num_free[B]: tokens of the level to generate; num_masked[B]: still masked before this step.
    The cosine schedule sets the count, capped at one fewer than before, so every step commits
    at least one token and the last step commits all.
    """
    share = math.cos(math.pi / 2 * (step + 1) / num_steps)
    left = torch.floor(num_free.to(torch.float64) * share).long()
    return torch.minimum(left, (num_masked - 1).clamp(min=0))


def sample_levels(
    batch: int, weights: torch.Tensor, *, device: torch.device, generator: torch.Generator | None
) -> torch.Tensor:
    """Level to train for each sample -> level[B] long, drawn with probability ~ weights[K]."""
    idx = torch.multinomial(weights, batch, replacement=True, generator=generator)
    return idx.to(device)


def rank_lowest(scores: torch.Tensor, counts: torch.Tensor) -> torch.Tensor:
    """True at the counts[b] lowest scores of each row of scores[B, T] -> bool [B, T]."""
    order = scores.argsort(dim=-1)
    ranks = order.argsort(dim=-1)
    return ranks < counts[:, None]


def sample_training_mask(
    frame_mask: torch.Tensor,
    *,
    span_len: int,
    generator: torch.Generator | None,
    min_share: float = 0.0,
) -> torch.Tensor:
    """Frames of the trained level to hide -> bool [B, T] (never a padded frame, at least one).

    frame_mask[B, T] bool is True on real frames. The hidden share follows the cosine schedule
    at a uniform random time; with min_share > 0 only the early times whose share is at least
    min_share are drawn (the first decoding steps). With span_len > 1, whole spans of frames are
    hidden (MAGNeT): span starts are drawn so that the spans cover about the target share.
    """
    b, t = frame_mask.shape
    device = frame_mask.device
    num_real = frame_mask.sum(dim=-1)  # (B,)
    u = torch.rand(b, generator=generator, device=device)
    if min_share > 0:
        u = u * (2 / math.pi) * math.acos(min(1.0, min_share))  # cos(pi/2 * u) >= min_share
    share = cosine_schedule(u)
    target = (share * num_real).round().long().clamp(min=1)
    noise = torch.rand(b, t, generator=generator, device=device)
    noise = noise.masked_fill(~frame_mask, 2.0)  # padded frames sort last, never chosen
    if span_len == 1:
        return rank_lowest(noise, target) & frame_mask
    # Starts of overlapping spans cover fewer frames than starts * span_len; the inverse of the
    # expected coverage of n random starts, 1 - (1 - span/T)^n, picks n for the target share.
    real = num_real.clamp(min=1).double()
    frac = (target.double() / real).clamp(max=1.0 - 1e-6)
    per_start = (span_len / real).clamp(max=1.0 - 1e-6)
    starts = torch.ceil(torch.log1p(-frac) / torch.log1p(-per_start)).long().clamp(min=1)
    start_mask = rank_lowest(noise, starts) & frame_mask
    # A frame is hidden when a span starts at it or at one of the span_len - 1 frames before it.
    spread = F.max_pool1d(
        F.pad(start_mask[:, None].float(), (span_len - 1, 0)), kernel_size=span_len, stride=1
    )
    return spread[:, 0].bool() & frame_mask


def sample_prefix(
    frame_mask: torch.Tensor, prob: float, *, generator: torch.Generator | None
) -> torch.Tensor:
    """Prompt frames of continuation samples -> bool [B, T], True = given on every level.

    With probability `prob` a sample gets a prefix of 10-70% of its real frames (frame_mask[B, T]
    True), as `generate` sees when it continues a prompt or a previous window; the other samples
    get none. At least one real frame always stays to be predicted.
    """
    b, t = frame_mask.shape
    device = frame_mask.device
    num_real = frame_mask.sum(dim=-1)  # (B,)
    pick = torch.rand(b, generator=generator, device=device) < prob
    share = 0.1 + 0.6 * torch.rand(b, generator=generator, device=device)
    length = torch.minimum((share * num_real).long(), num_real - 1) * pick
    return (torch.arange(t, device=device)[None, :] < length[:, None]) & frame_mask


def hide_codes(
    codes: torch.Tensor,
    level: torch.Tensor,
    hide: torch.Tensor,
    frame_mask: torch.Tensor,
    mask_id: int,
    given: torch.Tensor | None = None,
) -> torch.Tensor:
    """codes[B, K, T] -> the model's input for predicting level[B]: `mask_id` on every level
    above it, on hide[B, T] of the level itself, and on padded frames (frame_mask[B, T] False).
    given[B, T] bool marks prompt frames whose every level stays visible (the prefix of a
    continuation sample)."""
    k = codes.shape[1]
    k_idx = torch.arange(k, device=codes.device)[None, :, None]
    above = k_idx > level[:, None, None]
    if given is not None:
        above = above & ~given[:, None, :]
    at_hidden = (k_idx == level[:, None, None]) & hide[:, None, :]
    return codes.masked_fill(above | at_hidden | ~frame_mask[:, None, :], mask_id)
