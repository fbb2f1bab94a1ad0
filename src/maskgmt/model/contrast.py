"""Caption contrast: a clip must be likelier under its own caption than under a counterfactual.

The masked loss rewards what the caption says only as far as it helps predict the tokens. Some
words barely do: a trained model scores a clip's level 0 nearly as well under "D major" as
under its true "D minor" (`bench/caption_gain.py`), and its music follows the tonic but not the
mode. The contrast term asks for a margin. Level 0 of each contrasted clip is hidden at an early
decoding share (>= `contrast_min_share`, where the text must decide), scored once under its own
caption and once under the counterfactual (`data/corpus/counterfactual.py`) on the same input,
and the loss is

    mean over clips of relu(margin - (CE_counterfactual - CE_own))     (nats per hidden token)

A clip whose gap already exceeds the margin adds nothing, so the term only pushes where the
model does not yet tell the two captions apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F

from maskgmt.model.cues import KEY
from maskgmt.model.decode_inputs import _stack_padded
from maskgmt.model.masking import hide_codes, sample_training_mask

if TYPE_CHECKING:
    from maskgmt.model.maskgmt import MaskGmt


@dataclass(frozen=True)
class ContrastBatch:
    """The counterfactual side of a batch: emb[B, L, D] and mask[B, L] of the rewritten
    captions, rows[B] bool (which clips have one), and key[B] float (0..23, NaN = none), the key
    they name, for a model with a key cue (None: the own captions' cues serve both)."""

    emb: torch.Tensor
    mask: torch.Tensor
    rows: torch.Tensor
    key: torch.Tensor | None = None


@dataclass(frozen=True)
class ContrastResult:
    """loss: the scalar hinge (0 without clips); gap: mean CE gap in nats/token over the
    contrasted clips (detached, NaN without clips); clips: how many were contrasted."""

    loss: torch.Tensor
    gap: torch.Tensor
    clips: int


def caption_contrast(
    model: MaskGmt,
    codes: torch.Tensor,
    frame_mask: torch.Tensor,
    own: tuple[torch.Tensor, torch.Tensor, torch.Tensor | None],
    other: ContrastBatch,
    generator: torch.Generator | None = None,
) -> ContrastResult:
    """The contrast term of one batch.

    codes[B, K, T] long, frame_mask[B, T] bool (True = real frame); own = (emb[B, L, D],
    mask[B, L] bool, cues[B, 3] or None) of the captions the loss saw (after caption dropout:
    a dropped caption is never contrasted). See the module docstring for the loss.
    """
    cfg, tc = model.config, model.transformer.config
    own_emb, own_mask, own_cues = own
    rows = (other.rows.to(codes.device) & own_mask.any(-1)).nonzero(as_tuple=True)[0]
    if rows.numel() == 0:
        zero = codes.new_zeros((), dtype=torch.float32)
        return ContrastResult(zero, torch.full_like(zero, float("nan")), 0)
    c, frames = codes[rows], frame_mask[rows]
    r = len(rows)
    level = torch.zeros(r, dtype=torch.long, device=codes.device)
    hide = sample_training_mask(
        frames, span_len=cfg.span_len, generator=generator, min_share=cfg.contrast_min_share
    )
    x = hide_codes(c, level, hide, frames, tc.mask_id, None)
    emb, mask = _stack_padded(own_emb[rows], own_mask[rows], other.emb[rows], other.mask[rows])
    cues = None
    if own_cues is not None:
        theirs = own_cues[rows].clone()
        if other.key is not None:
            theirs[:, KEY] = other.key.to(theirs)[rows]
        cues = torch.cat([own_cues[rows], theirs])
    text = model.transformer.text_context(emb, mask, cues)
    h = model.transformer.hidden(x.repeat(2, 1, 1), level.repeat(2), text, frames.repeat(2, 1))
    both = hide.repeat(2, 1)  # (2R, T)
    rows_b, rows_t = both.nonzero(as_tuple=True)
    logits = model.transformer.level_logits(h[rows_b, rows_t], 0)  # (N, V)
    target = c[:, 0].repeat(2, 1)[rows_b, rows_t]
    ce = F.cross_entropy(logits.float(), target, reduction="none")
    per_clip = torch.zeros(2 * r, device=ce.device).index_add(0, rows_b, ce)
    per_clip = per_clip / both.sum(-1).clamp(min=1)
    gap = per_clip[r:] - per_clip[:r]  # (R,) counterfactual minus own
    loss = F.relu(cfg.contrast_margin - gap).mean()
    return ContrastResult(loss, gap.detach().mean(), r)
