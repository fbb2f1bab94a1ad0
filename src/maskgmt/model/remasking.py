"""Re-masking while decoding: which sampled tokens are hidden again for the next step.

The lowest-scoring candidates (confidence or critic score, with MaskGIT's fading Gumbel
"choice" noise), as single tokens or MAGNeT spans; and the masked-frames-first order that lets
the last block run on masked frames only.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from maskgmt.model.masking import rank_lowest
from maskgmt.model.sampling import gumbel_noise


def add_choice_noise(
    scores: torch.Tensor, scale: float, generator: torch.Generator | None
) -> torch.Tensor:
    """scores[B, T] + scale * Gumbel noise: re-mask by a noisy confidence, not pure argmin.

    Pure confidence order commits the most predictable tokens first (the previous frame's
    code, held), and each step then leans on them more: the decoding collapses into held notes.
    MaskGIT's "choice temperature" randomises that order early and fades out by the last step.
    """
    if scale <= 0.0:
        return scores
    noise = gumbel_noise(scores.shape, device=scores.device, generator=generator)
    return scores + scale * noise


def remask_lowest(
    keep_score: torch.Tensor, candidates: torch.Tensor, counts: torch.Tensor, *, span: int = 1
) -> torch.Tensor:
    """Which tokens to mask again -> bool [B, T]: about counts[b] of the candidates[B, T] with
    the lowest keep_score[B, T], never a non-candidate.

    span > 1 re-masks whole spans of `span` frames on a fixed grid (MAGNeT): a span scores as its
    least confident candidate, and spans are taken in score order until they cover counts[b]
    candidates, but never all of them, so every step commits at least one token. A hidden span
    cannot be filled by copying a committed neighbour frame by frame.
    """
    keep_score = keep_score.masked_fill(~candidates, float("inf"))
    if span == 1:
        return rank_lowest(keep_score, counts) & candidates
    b, t = keep_score.shape
    pad = (-t) % span
    spans = F.pad(keep_score, (0, pad), value=float("inf")).view(b, -1, span)
    per_span = F.pad(candidates, (0, pad)).view(b, -1, span).sum(-1)  # (B, S): candidates
    score = spans.min(dim=-1).values  # (B, S)
    order = score.argsort(dim=-1)
    covered = per_span.gather(1, order).cumsum(-1)  # candidates covered by the first n spans
    take = ((covered - per_span.gather(1, order)) < counts[:, None]).sum(-1)  # (B,)
    total = candidates.sum(-1)
    covers_all = covered.gather(1, (take - 1).clamp(min=0)[:, None])[:, 0] >= total
    take = torch.where((take > 0) & covers_all, take - 1, take)
    chosen = order.argsort(dim=-1) < take[:, None]  # (B, S)
    frames = chosen[:, :, None].expand(b, chosen.shape[1], span).reshape(b, -1)[:, :t]
    return frames & candidates  # counts[b] == 0 takes no span: no first span starts below 0


def masked_first(masked: torch.Tensor, count: int) -> torch.Tensor:
    """masked[B, T] bool -> frames[B, count] long: each row's masked frames in order, then others.

    count >= every row's masked count; count = T gives all frames in order.
    """
    if count == masked.shape[1]:
        return torch.arange(count, device=masked.device).expand(masked.shape[0], count)
    order = torch.argsort((~masked).to(torch.uint8), dim=-1, stable=True)
    return order[:, :count]
