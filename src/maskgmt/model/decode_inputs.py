"""What `MaskGmt.generate` decodes from, checked before any pass: the starting codes with the
prompt's tokens fixed, the caption (or none) with its cues, the negative caption, and the text
contexts each level's passes read.

Nothing here samples; `model/generate.py` takes a `DecodeInputs` and decodes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F

from maskgmt.model import checks
from maskgmt.model.cues import with_unconditional
from maskgmt.model.layers import TextContext
from maskgmt.model.plan import DecodePlan, batch_size, unguided

if TYPE_CHECKING:
    from maskgmt.model.maskgmt import MaskGmt


@dataclass(frozen=True)
class DecodeInputs:
    """The checked inputs of one `generate` call, on the model's device."""

    codes: torch.Tensor  # (B, K, T) long: the prompt's tokens where given, else the mask id
    fixed: torch.Tensor  # (B, K, T) bool: True = given by the prompt, never re-masked
    emb: torch.Tensor  # (B, L, text_dim): the captions (all padded for unconditional clips)
    text_mask: torch.Tensor  # (B, L) bool
    cues: torch.Tensor | None  # (B, 3) bpm, frame offset, key; None for a model without cues
    negative: tuple[torch.Tensor, torch.Tensor] | None  # (emb, mask) for CFG's other branch


@dataclass(frozen=True)
class TextContexts:
    """The text keys of the decoding passes, computed once per call."""

    guided: TextContext  # 2B rows (cond, uncond) when the plan guides, else `cond`
    cond: TextContext  # B rows: the captions with their cues
    critic: TextContext | None  # what critic re-masking reads, None without it

    def at(self, plan: DecodePlan, level: int) -> TextContext:
        return self.guided if plan.guided_at(level) else self.cond


def decode_inputs(
    model: MaskGmt,
    plan: DecodePlan,
    texts: Sequence[str] | None,
    *,
    text_embeds: torch.Tensor | None,
    text_mask: torch.Tensor | None,
    num_frames: int | None,
    prompt: torch.Tensor | None,
    prompt_mask: torch.Tensor | None,
    negative_texts: Sequence[str] | None,
    negative_text_embeds: torch.Tensor | None,
    negative_text_mask: torch.Tensor | None,
    bpm: Any,
    key: Any,
    frame_offset: Any,
) -> tuple[DecodePlan, DecodeInputs]:
    """Check and encode what `generate` decodes from -> (plan, inputs); the plan drops guidance
    for unconditional clips (no text: both CFG branches would be the same)."""
    tc = model.transformer.config
    if prompt is not None:
        checks.check_codes_shape("prompt", prompt, tc)
    if prompt_mask is not None:
        if prompt is None:
            raise ValueError(
                "prompt_mask: got a prompt_mask without a prompt; pass prompt= as well"
            )
        checks.check_bool_mask("prompt_mask", prompt_mask, prompt.shape, "True = given token")
    batch = batch_size(texts, text_embeds, prompt)
    if texts is None and text_embeds is None:
        plan, (emb, tmask) = unguided(plan), _null_text(model, batch)
    else:
        emb, tmask = model.encode_text(texts, text_embeds, text_mask, batch=batch)
    cues = model._cues(bpm, frame_offset, key, texts, batch)
    codes, fixed = _start(model, batch, num_frames, prompt, prompt_mask)
    negative = None
    if plan.guided and (negative_texts is not None or negative_text_embeds is not None):
        negative = model.encode_text(
            negative_texts, negative_text_embeds, negative_text_mask, batch=batch,
            names=("negative_texts", "negative_text_embeds", "negative_text_mask"),
        )  # fmt: skip
    return plan, DecodeInputs(codes, fixed, emb, tmask, cues, negative)


def text_contexts(model: MaskGmt, plan: DecodePlan, inputs: DecodeInputs) -> TextContexts:
    """The passes' text keys. Without a negative caption the unconditional branch sees only the
    learned null token; it never has the caption's cues (tempo, key), so guidance strengthens
    them."""
    emb, tmask, cues = inputs.emb, inputs.text_mask, inputs.cues
    if plan.guided:
        neg_emb, neg_mask = inputs.negative or _null_text(model, emb.shape[0])
        both_emb, both_mask = _stack_padded(emb, tmask, neg_emb, neg_mask)
        guided = model.transformer.text_context(both_emb, both_mask, with_unconditional(cues))
        cond = guided.rows(emb.shape[0])  # views: no second encoding for unguided levels
    else:
        guided = cond = model.transformer.text_context(emb, tmask, cues)
    critic = None
    if plan.use_critic and model.token_critic is not None:
        critic = model.token_critic.text_context(emb, tmask)
    elif plan.use_critic:
        critic = cond  # self-critic: the transformer's conditional half
    return TextContexts(guided, cond, critic)


def _null_text(model: MaskGmt, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Unconditional clips: an all-padded caption leaves only the learned null text visible."""
    emb = torch.zeros(
        batch, 1, model.transformer.config.text_dim, device=model.device, dtype=model.dtype
    )
    return emb, torch.zeros(batch, 1, dtype=torch.bool, device=model.device)


def _start(
    model: MaskGmt,
    batch: int,
    num_frames: int | None,
    prompt: torch.Tensor | None,
    prompt_mask: torch.Tensor | None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The checked frame count and prompt -> codes[B, K, T] (mask id where not given) and
    fixed[B, K, T] (True = given by the prompt, never re-masked)."""
    tc, device = model.transformer.config, model.device
    if num_frames is None:
        num_frames = prompt.shape[-1] if prompt_mask is not None else tc.seq_len
    ok = (
        isinstance(num_frames, int)
        and not isinstance(num_frames, bool)
        and 1 <= num_frames <= tc.seq_len
    )
    if not ok:
        raise ValueError(
            f"num_frames: expected an int in [1, seq_len = {tc.seq_len}], got {num_frames!r}"
        )
    t = num_frames
    if prompt is not None and prompt.shape[-1] > t:
        raise ValueError(
            f"prompt: expected at most num_frames = {t} frames, got {prompt.shape[-1]}"
        )
    codes = torch.full((batch, tc.n_q, t), tc.mask_id, dtype=torch.long, device=device)
    fixed = torch.zeros(batch, tc.n_q, t, dtype=torch.bool, device=device)
    if prompt is not None:
        given = torch.ones_like(prompt, dtype=torch.bool) if prompt_mask is None else prompt_mask
        given = given.to(device)
        prompt = prompt.to(device).long()
        checks.check_code_values("prompt", prompt, tc, given)
        tp = prompt.shape[-1]
        fixed[..., :tp] = given
        codes[..., :tp] = torch.where(given, prompt, codes[..., :tp])
    return codes, fixed


def _stack_padded(
    emb_a: torch.Tensor, mask_a: torch.Tensor, emb_b: torch.Tensor, mask_b: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Concatenate two text batches along B, padding the shorter L with masked zeros."""
    length = max(emb_a.shape[1], emb_b.shape[1])

    def pad(emb: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        extra = length - emb.shape[1]
        return F.pad(emb, (0, 0, 0, extra)), F.pad(mask, (0, extra), value=False)

    (ea, ma), (eb, mb) = pad(emb_a, mask_a), pad(emb_b, mask_b)
    return torch.cat([ea, eb]), torch.cat([ma, mb])
