"""Level-by-level iterative decoding, the loop behind `MaskGmt.generate`.

Level 0 starts all masked; each step predicts every masked token, samples it, and re-masks the
least confident share (cosine schedule) for the next step. Each level above is then decoded the
same way, conditioned on the finished levels below it.

Where the time goes: one transformer pass over T frames per step, so the work is few and cheap
passes. Level 0 gets many steps and classifier-free guidance (a 2B batch); the residual levels,
which the levels below largely determine, get two conditional-only steps (batch B). Each pass
runs its last block and the output head only on the frames still masked. The arguments were
checked before (`plan.plan_generation`, `decode_inputs.decode_inputs`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F

from maskgmt.model.decode_inputs import DecodeInputs, TextContexts, decode_inputs, text_contexts
from maskgmt.model.layers import TextContext, take_frames
from maskgmt.model.level_inputs import LevelInputs
from maskgmt.model.masking import masked_count_after_step
from maskgmt.model.plan import (
    ANNEAL_TEMPERATURE,
    CFG_LEVELS,
    CHOICE_TEMPERATURE,
    REMASK_SPAN,
    DecodePlan,
    autocast_for,
    plan_generation,
)
from maskgmt.model.remasking import add_choice_noise, masked_first, remask_lowest
from maskgmt.model.sampling import filter_logits, guide, sample
from maskgmt.progress import tqdm

if TYPE_CHECKING:
    from maskgmt.model.maskgmt import MaskGmt

PRUNE_QUERIES = True  # last block + head only on masked frames; False = full passes (ablations)


class GenerateMixin:
    """`MaskGmt.generate`: check every argument into a plan and inputs, then `decode`."""

    @torch.no_grad()
    def generate(
        self: MaskGmt,
        texts: Sequence[str] | None = None,
        *,
        text_embeds: torch.Tensor | None = None,
        text_mask: torch.Tensor | None = None,
        num_frames: int | None = None,
        steps: int | Sequence[int] | None = None,
        cond_scale: float = 3.0,
        min_cond_scale: float | None = None,
        temperature: float = 1.0,
        top_k: int | None = None,
        top_p: float | None = None,
        negative_texts: Sequence[str] | None = None,
        negative_text_embeds: torch.Tensor | None = None,
        negative_text_mask: torch.Tensor | None = None,
        prompt: torch.Tensor | None = None,
        prompt_mask: torch.Tensor | None = None,
        use_token_critic: bool | None = None,
        generator: torch.Generator | None = None,
        progress: bool = False,
        cfg_levels: int | None = CFG_LEVELS,
        compute_dtype: torch.dtype | None = None,
        choice_temperature: float = CHOICE_TEMPERATURE,
        anneal_temperature: bool = ANNEAL_TEMPERATURE,
        remask_span: int = REMASK_SPAN,
        bpm: float | Sequence[float | None] | torch.Tensor | None = None,
        key: int | str | Sequence[int | str | None] | torch.Tensor | None = None,
        frame_offset: int | Sequence[int] | torch.Tensor = 0,
    ) -> torch.Tensor:
        """Generate codes[B, K, T] long in [0, V): level 0 from all-masked, then each level above.

        Level k is decoded conditioned on the finished levels < k (model/generate.py). Every
        argument is checked before the first pass.

        texts: B captions (or text_embeds[B, L, text_dim] + text_mask[B, L] bool); with neither
          the clips are unconditional (B from `prompt`, else 1).
        num_frames: T <= seq_len; default: prompt_mask's T if given, else seq_len.
        steps: decoding iterations per level (K ints, or one int for all); default
          `default_steps(K)`: 16 for level 0 and 2 for each level above. Each iteration is one
          transformer forward pass (plus one critic pass when re-masking by critic, except on a
          level's last one).
        cond_scale: CFG scale; 1 uses the conditional logits alone (and skips the unconditional
          half). min_cond_scale: anneal linearly from cond_scale (first step) to it (last step)
          per level.
        cfg_levels: guide only the lowest `cfg_levels` levels (default 4: levels 0-3, or every
          level of a codec with fewer); the levels above use the conditional logits alone, at
          half the batch. None guides every level.
        temperature: sampling temperature, annealed linearly to 0 over each level's steps;
          0 = greedy. top_k / top_p filter the logits. The least confident sampled tokens are
          re-masked.
        anneal_temperature: False keeps `temperature` flat over the steps instead.
        choice_temperature: Gumbel noise of this scale is added to the re-masking scores
          (log-probs or critic scores) and fades linearly to 0 by each level's last step
          (MaskGIT); 0 re-masks by pure confidence, which commits held notes first and decodes
          drones.
        remask_span: re-mask spans of this many frames instead of single tokens (MAGNeT).
        negative_texts (or negative_text_embeds + negative_text_mask): replace the
          unconditional branch.
        prompt: codes[B, K, T'] (T' <= T) held fixed and never re-masked; prompt_mask[B, K, T']
          bool (True = given) selects which; without prompt_mask the whole prompt is a prefix
          to continue.
        use_token_critic: re-mask by critic score instead of confidence; default: if the model
          has one.
        generator: a torch.Generator on the model's device; the same seed gives identical codes.
        progress: show a tqdm bar over the decoding steps.
        compute_dtype: run the transformer (and critic) passes under autocast to this dtype,
          e.g. torch.bfloat16 on a CPU with AVX512-BF16 or AMX (about 2x faster there) or on a
          GPU; sampling stays float32. None: the model's own dtype (bit-exact with `logits`).
        bpm: for a model with a tempo clock, the tempo in quarter notes per minute (one number,
          or one per clip; None/NaN = none). Default: read from each caption ("96 BPM",
          "slow"). The unconditional branch has no tempo, so CFG strengthens it. Ignored
          without a clock.
        key: for a model with a key cue, the key ("D minor", or 0..23: tonic + 12 for minor),
          one or one per clip. Default: read from each caption. Ignored without a key cue.
        frame_offset: the first frame's index within the piece (the clock's phase), e.g. where
          a continuation window starts.
        """

        plan = plan_generation(
            self, steps=steps, cond_scale=cond_scale, min_cond_scale=min_cond_scale,
            cfg_levels=cfg_levels, temperature=temperature, top_k=top_k, top_p=top_p,
            use_token_critic=use_token_critic, choice_temperature=choice_temperature,
            anneal_temperature=anneal_temperature, remask_span=remask_span,
        )  # fmt: skip
        autocast = autocast_for(compute_dtype, self.device, self.dtype)
        plan, inputs = decode_inputs(
            self, plan, texts, text_embeds=text_embeds, text_mask=text_mask,
            num_frames=num_frames, prompt=prompt, prompt_mask=prompt_mask,
            negative_texts=negative_texts, negative_text_embeds=negative_text_embeds,
            negative_text_mask=negative_text_mask, bpm=bpm, key=key, frame_offset=frame_offset,
        )  # fmt: skip
        with autocast:  # after text encoding: the encoder keeps its own precision
            return decode(self, plan, inputs, generator=generator, progress=progress)


def decode(
    model: MaskGmt,
    plan: DecodePlan,
    inputs: DecodeInputs,
    *,
    generator: torch.Generator | None = None,
    progress: bool = False,
) -> torch.Tensor:
    """Fill inputs.codes[B, K, T] level by level, keeping the prompt's fixed tokens -> codes."""
    codes = inputs.codes.clone()
    contexts = text_contexts(model, plan, inputs)
    embeds = LevelInputs(model, codes, codes.shape[-1])
    bar = tqdm(total=sum(plan.steps), desc="generate", unit="step", disable=not progress)
    for level in range(codes.shape[1]):
        codes[:, level] = _decode_level(
            model, plan, embeds, level, codes[:, level], inputs.fixed[:, level], contexts, generator
        )
        embeds.commit(level, codes[:, level])
        bar.update(plan.steps[level])
    bar.close()
    return codes


def _decode_level(
    model: MaskGmt,
    plan: DecodePlan,
    embeds: LevelInputs,
    level: int,
    current: torch.Tensor,
    fixed: torch.Tensor,
    contexts: TextContexts,
    generator: torch.Generator | None,
) -> torch.Tensor:
    """Unmask one level over plan.steps[level] iterations -> codes [B, T] of that level."""
    mask_id = model.transformer.config.mask_id
    num_steps = plan.steps[level]
    num_free = (~fixed).sum(dim=-1)  # (B,): what this call decides
    base = embeds.base(level)  # (B, T, D): everything but this level's own embedding is constant
    for step in range(num_steps):
        masked = current == mask_id  # (B, T); fixed tokens are never the mask id
        num_masked = masked.sum(dim=-1)
        if not bool(num_masked.any()):
            break  # all decided early (fewer free tokens than steps, or all given): no more passes
        # Only masked frames need logits: put them first in each row and keep the longest row's
        # count; shorter rows then carry a few decided frames (computed, never used).
        frames = masked_first(masked, int(num_masked.max()))  # (B, N)
        x = base + model.transformer.backbone.embed_level(current, level)
        logits = _step_logits(model, plan, x, frames, contexts.at(plan, level), level, step)
        sampled = sample(
            filter_logits(logits, top_k=plan.top_k, top_p=plan.top_p),
            temperature=plan.temperature_at(step, num_steps),
            generator=generator,
        )  # (B, N)
        decided = torch.where(masked.gather(1, frames), sampled, current.gather(1, frames))
        filled = current.scatter(1, frames, decided)
        left = masked_count_after_step(num_free, num_masked, step, num_steps)
        if not bool(left.any()):
            current = filled
            continue  # nothing to re-mask: skip scoring (always so on a level's last step)
        if plan.use_critic:  # Token-Critic (Lezama et al.): may revise any token decided here
            keep_score = -embeds.critic_logits(level, filled, contexts.critic).float()  # (B, T)
            candidates = ~fixed
        else:
            keep_score, candidates = _confidence(logits, sampled, frames, masked), masked
        keep_score = add_choice_noise(
            keep_score, plan.choice_temperature_at(step, num_steps), generator
        )
        remask = remask_lowest(keep_score, candidates, left, span=plan.remask_span)
        current = filled.masked_fill(remask, mask_id)
    return current


def _step_logits(
    model: MaskGmt,
    plan: DecodePlan,
    x: torch.Tensor,
    frames: torch.Tensor,
    text: TextContext,
    level: int,
    step: int,
) -> torch.Tensor:
    """One step's float logits [B, N, V] at frames[B, N]; on a guided level the cond and uncond
    halves run in ONE 2B pass and are mixed at the step's CFG scale."""
    if plan.guided_at(level):
        both = _logits_at(model, x.repeat(2, 1, 1), frames.repeat(2, 1), text, level)
        cond, uncond = both.chunk(2)
        logits = guide(cond, uncond, plan.scale_at(step, plan.steps[level]))
    else:
        logits = _logits_at(model, x, frames, text, level)
    if not bool(torch.isfinite(logits).all()):
        raise ValueError(
            f"generate: the model gave non-finite logits at level {level}, step {step}; its "
            "weights hold NaN or inf, or compute_dtype overflowed (retry with the default)"
        )
    return logits


def _confidence(
    logits: torch.Tensor, sampled: torch.Tensor, frames: torch.Tensor, masked: torch.Tensor
) -> torch.Tensor:
    """keep_score[B, T] float: each token sampled at this step's frames[B, N] scored by its
    log-prob under logits[B, N, V] (0 elsewhere; only masked[B, T] frames are candidates)."""
    confidence = F.log_softmax(logits, dim=-1).gather(-1, sampled[..., None])[..., 0]
    return torch.zeros_like(masked, dtype=torch.float32).scatter(1, frames, confidence)


def _logits_at(
    model: MaskGmt, x: torch.Tensor, frames: torch.Tensor, text: TextContext, level: int
) -> torch.Tensor:
    """x[B, T, D] inputs -> float logits [B, N, V] of `level` at frames[B, N] (from masked_first).

    With PRUNE_QUERIES the last block and the head run on those N frames only; otherwise the
    full pass runs and is read at `frames` (the same numbers up to float rounding).
    """
    backbone = model.transformer.backbone
    if frames.shape[1] == x.shape[1]:
        hidden = backbone(x, text)  # all frames in order (masked_first): nothing to prune
    elif PRUNE_QUERIES:
        hidden = backbone(x, text, queries=frames)
    else:
        hidden = take_frames(backbone(x, text), frames)
    return model.transformer.level_logits(hidden, level).float()
