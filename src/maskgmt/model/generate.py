"""Level-by-level iterative decoding (`MaskGmt.generate`): one-batch CFG, cached text and inputs.

Where the time goes: one transformer pass over T frames per step, so the work is few and cheap
passes. Level 0 gets many steps and classifier-free guidance (a 2B batch); the residual levels,
which the levels below largely determine, get two conditional-only steps (batch B). Each pass
runs its last block and the output head only on the frames still masked.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F

from maskgmt.model import checks
from maskgmt.model.cues import with_unconditional
from maskgmt.model.layers import TextContext, take_frames
from maskgmt.model.masking import masked_count_after_step
from maskgmt.model.plan import (  # noqa: F401 (the defaults and _Plan are imported from here too)
    ANNEAL_TEMPERATURE,
    CFG_LEVELS,
    CHOICE_TEMPERATURE,
    REMASK_SPAN,
    _autocast,
    _batch_size,
    _check_plan,
    _check_remasking,
    _Plan,
    _unguided,
    default_steps,
)
from maskgmt.model.remasking import (  # noqa: F401 (tests import them from here too)
    _add_choice_noise,
    masked_first,
    remask_lowest,
)
from maskgmt.model.sampling import filter_logits, guide, sample
from maskgmt.progress import tqdm

if TYPE_CHECKING:
    from maskgmt.model.maskgmt import MaskGmt

PRUNE_QUERIES = True  # last block + head only on masked frames; False = full passes (ablations)


def generate(
    model: MaskGmt,
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

    Level k is decoded conditioned on the finished levels < k.

    texts: B captions (or text_embeds[B, L, text_dim] + text_mask[B, L] bool); with neither the
      clips are unconditional (B from `prompt`, else 1).
    num_frames: T <= seq_len; default: prompt_mask's T if given, else seq_len.
    steps: decoding iterations per level (K ints, or one int for all); default `default_steps(K)`:
      16 for level 0 and 2 for each level above. Each iteration is one transformer
      forward pass (plus one critic pass when re-masking by critic, except on a level's last one).
    cond_scale: CFG scale; 1 uses the conditional logits alone (and skips the unconditional half).
      min_cond_scale: anneal linearly from cond_scale (first step) to it (last step) per level.
    cfg_levels: guide only the lowest `cfg_levels` levels (default 4: levels 0-3, or every level
      of a codec with fewer); the levels above use the conditional logits alone, at half the
      batch. None guides every level.
    temperature: sampling temperature, annealed linearly to 0 over each level's steps; 0 = greedy.
      top_k / top_p filter the logits. The least confident sampled tokens are re-masked.
    anneal_temperature: False keeps `temperature` flat over the steps instead.
    choice_temperature: Gumbel noise of this scale is added to the re-masking scores (log-probs
      or critic scores) and fades linearly to 0 by each level's last step (MaskGIT); 0 re-masks
      by pure confidence, which commits held notes first and decodes drones.
    remask_span: re-mask spans of this many frames instead of single tokens (MAGNeT).
    negative_texts (or negative_text_embeds + negative_text_mask): replace the unconditional branch.
    prompt: codes[B, K, T'] (T' <= T) held fixed and never re-masked; prompt_mask[B, K, T'] bool
      (True = given) selects which; without prompt_mask the whole prompt is a prefix to continue.
    use_token_critic: re-mask by critic score instead of confidence; default: if the model has one.
    generator: a torch.Generator on the model's device; the same seed gives identical codes.
    progress: show a tqdm bar over the decoding steps.
    compute_dtype: run the transformer (and critic) passes under autocast to this dtype, e.g.
      torch.bfloat16 on a CPU with AVX512-BF16 or AMX (about 2x faster there) or on a GPU;
      sampling stays float32. None: the model's own dtype (bit-exact with `MaskGmt.logits`).
    bpm: for a model with a tempo clock, the tempo in quarter notes per minute (one number, or
      one per clip; None/NaN = none). Default: read from each caption ("96 BPM", "slow").
      The unconditional branch has no tempo, so CFG strengthens it. Ignored without a clock.
    key: for a model with a key cue, the key ("D minor", or 0..23: tonic + 12 for minor), one
      or one per clip. Default: read from each caption. Ignored without a key cue.
    frame_offset: the first frame's index within the piece (the clock's phase), e.g. where a
      continuation window starts.
    """
    tc = model.transformer.config
    device = model.device

    # ---- check arguments -------------------------------------------------------------------------
    plan = _check_plan(
        model, steps, cond_scale, min_cond_scale, cfg_levels, temperature, top_k, top_p,
        use_token_critic,
    )  # fmt: skip
    plan = _check_remasking(plan, choice_temperature, anneal_temperature, remask_span)
    autocast = _autocast(compute_dtype, device, model.transformer.head_bias.dtype)
    if prompt is not None:
        checks.check_codes_shape("prompt", prompt, tc)
    if prompt_mask is not None:
        if prompt is None:
            raise ValueError(
                "prompt_mask: got a prompt_mask without a prompt; pass prompt= as well"
            )
        checks.check_bool_mask("prompt_mask", prompt_mask, prompt.shape, "True = given token")
    batch = _batch_size(texts, text_embeds, prompt)
    if texts is None and text_embeds is None:
        plan, text = _unguided(plan), _null_text(model, batch)
    else:
        text = model.encode_text(texts, text_embeds, text_mask, batch=batch)
    text = (*text, model._cues(bpm, frame_offset, key, texts, batch))
    codes, fixed = _start(model, batch, num_frames, prompt, prompt_mask)

    negative = None
    if plan.guided and (negative_texts is not None or negative_text_embeds is not None):
        negative = model.encode_text(
            negative_texts, negative_text_embeds, negative_text_mask, batch=batch,
            names=("negative_texts", "negative_text_embeds", "negative_text_mask"),
        )  # fmt: skip
    with autocast:  # after text encoding: the encoder keeps its own precision
        return _decode(model, plan, codes, fixed, text, negative, generator, progress)


def _null_text(model: MaskGmt, batch: int) -> TextContext:
    """Unconditional clips: an all-padded caption leaves only the learned null text visible."""
    tc = model.transformer.config
    dtype = model.transformer.head_bias.dtype
    emb = torch.zeros(batch, 1, tc.text_dim, device=model.device, dtype=dtype)
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


def _decode(
    model: MaskGmt,
    plan: _Plan,
    codes: torch.Tensor,
    fixed: torch.Tensor,
    text_in: tuple[torch.Tensor, torch.Tensor, torch.Tensor | None],
    negative: tuple[torch.Tensor, torch.Tensor] | None,
    generator: torch.Generator | None,
    progress: bool,
) -> torch.Tensor:
    """Fill codes[B, K, T] level by level, keeping prompt tokens where fixed[B, K, T] -> codes.

    text_in: (emb[B, L, text_dim], mask[B, L], cues[B, 3] or None); negative: (emb, mask) for
    the unconditional branch, or None for the learned null text. The unconditional branch has
    none of the caption's cues (tempo, key).
    """
    batch, k_levels, t = codes.shape
    emb, tmask, cues = text_in
    # ---- text: keys/values once per call ---------------------------------------------------
    if plan.guided:
        # Without negative texts the unconditional branch sees only the learned null token.
        neg_emb, neg_mask = negative or (emb[:, :1] * 0, tmask[:, :1] & False)
        both_emb, both_mask = _stack_padded(emb, tmask, neg_emb, neg_mask)
        guided_text = model.transformer.backbone.text_context(
            both_emb, both_mask, with_unconditional(cues)
        )  # cond, uncond
        cond_text = _first(guided_text, batch)  # a view: no second encoding for unguided levels
    else:
        guided_text = cond_text = model.transformer.backbone.text_context(emb, tmask, cues)
    critic_text = None
    if plan.use_critic and model.token_critic is not None:
        critic_text = model.token_critic.backbone.text_context(emb, tmask)
    elif plan.use_critic:
        critic_text = cond_text  # self-critic: the transformer's conditional half

    # ---- decode level by level -------------------------------------------------------------------
    runner = _LevelInputs(model, codes, t)
    bar = tqdm(total=sum(plan.steps), desc="generate", unit="step", disable=not progress)
    for level in range(k_levels):
        codes[:, level] = _decode_level(
            model,
            plan,
            runner,
            level,
            codes[:, level],
            fixed[:, level],
            guided_text if plan.guided_at(level) else cond_text,
            critic_text,
            generator,
        )
        runner.commit(level, codes[:, level])
        bar.update(plan.steps[level])
    bar.close()
    return codes


def _decode_level(
    model: MaskGmt,
    plan: _Plan,
    inputs: _LevelInputs,
    level: int,
    current: torch.Tensor,
    fixed: torch.Tensor,
    text: TextContext,
    critic_text: TextContext | None,
    generator: torch.Generator | None,
) -> torch.Tensor:
    """Unmask one level over plan.steps[level] iterations -> codes [B, T] of that level.

    `text` is the 2B (cond, uncond) context on guided levels, else the B conditional one.
    """
    backbone = model.transformer.backbone
    mask_id = model.transformer.config.mask_id
    num_steps = plan.steps[level]
    guided = plan.guided_at(level)
    free = ~fixed  # (B, T): what this call decides
    num_free = free.sum(dim=-1)
    base = inputs.base(level)  # (B, T, D): everything but this level's own embedding is constant
    for step in range(num_steps):
        masked = current == mask_id  # (B, T); fixed tokens are never the mask id
        num_masked = masked.sum(dim=-1)
        if not bool(num_masked.any()):
            break  # all decided early (fewer free tokens than steps, or all given): no more passes
        # Only masked frames need logits: put them first in each row and keep the longest row's
        # count; shorter rows then carry a few decided frames (computed, never used).
        frames = masked_first(masked, int(num_masked.max()))  # (B, N)
        at_masked = masked.gather(1, frames)  # (B, N)
        x = base + backbone.embed_level(current, level)
        if guided:  # cond and uncond in ONE forward pass
            both = _logits_at(model, x.repeat(2, 1, 1), frames.repeat(2, 1), text, level)
            cond, uncond = both.chunk(2)
            logits = guide(cond, uncond, plan.scale_at(step, num_steps))
        else:
            logits = _logits_at(model, x, frames, text, level)
        if not bool(torch.isfinite(logits).all()):
            raise ValueError(
                f"generate: the model gave non-finite logits at level {level}, step {step}; its "
                "weights hold NaN or inf, or compute_dtype overflowed (retry with the default)"
            )
        tau = plan.temperature_at(step, num_steps)
        sampled = sample(
            filter_logits(logits, top_k=plan.top_k, top_p=plan.top_p),
            temperature=tau,
            generator=generator,
        )  # (B, N)
        decided = torch.where(at_masked, sampled, current.gather(1, frames))
        filled = current.scatter(1, frames, decided)
        left = masked_count_after_step(num_free, num_masked, step, num_steps)
        if not bool(left.any()):
            current = filled
            continue  # nothing to re-mask: skip scoring (always so on a level's last step)
        if plan.use_critic:
            # Critic mode may revise any token this call decided (Token-Critic, Lezama et al.).
            keep_score = -inputs.critic_logits(level, filled, critic_text).float()  # (B, T)
            candidates = free
        else:
            confidence = F.log_softmax(logits, dim=-1).gather(-1, sampled[..., None])[..., 0]
            keep_score = torch.zeros_like(filled, dtype=torch.float32).scatter(
                1, frames, confidence
            )  # (B, T): log-prob of each token sampled at this step
            candidates = masked
        keep_score = _add_choice_noise(
            keep_score, plan.choice_temperature_at(step, num_steps), generator
        )
        remask = remask_lowest(keep_score, candidates, left, span=plan.remask_span)
        current = filled.masked_fill(remask, mask_id)
    return current


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


class _LevelInputs:
    """Running sums of the input embeddings, so no step re-embeds levels that no longer change.

    While level q is decoded, a frame's input is sum_{k<q} E_k(final codes) + sum_{k>q} E_k(mask)
    + position + level embedding + E_q(current codes); only the last term changes per step.
    """

    def __init__(self, model: MaskGmt, codes: torch.Tensor, num_frames: int) -> None:
        self.model = model
        self.num_frames = num_frames
        self.nets = [model.transformer.backbone]
        if model.token_critic is not None:
            self.nets.append(model.token_critic.backbone)
        b, t = codes.shape[0], num_frames
        self.visible = [
            torch.zeros(b, t, net.config.dim, device=codes.device, dtype=net.pos_emb.dtype)
            for net in self.nets
        ]
        # upper[i][q] = sum of the mask-id embeddings of levels above q: (K, D)
        self.upper = []
        for net in self.nets:
            rows = net.mask_rows()
            suffix = rows.flip(0).cumsum(0).flip(0)
            self.upper.append(torch.cat([suffix[1:], torch.zeros_like(rows[:1])]))

    def base(self, level: int, net_index: int = 0) -> torch.Tensor:
        net = self.nets[net_index]
        return (
            self.visible[net_index]
            + self.upper[net_index][level]
            + net.frame_bias(level, self.num_frames)
        )

    def commit(self, level: int, codes: torch.Tensor) -> None:
        """Level `level` is final: fold its embedding into the running sums."""
        for i, net in enumerate(self.nets):
            self.visible[i] = self.visible[i] + net.embed_level(codes, level)

    def critic_logits(self, level: int, codes: torch.Tensor, text: TextContext) -> torch.Tensor:
        """Fake-token logits [B, T] of the filled level codes[B, T]."""
        if self.model.token_critic is not None:
            net = self.nets[1]
            x = self.base(level, 1) + net.embed_level(codes, level)
            return self.model.token_critic.score(net(x, text))
        net = self.nets[0]
        x = self.base(level, 0) + net.embed_level(codes, level)
        return self.model.self_critic_head(net(x, text)).squeeze(-1)


# ---- helpers -----------------------------------------------------------------------------------


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


def _first(text: TextContext, batch: int) -> TextContext:
    """The first `batch` rows of a text context (the conditional half of a CFG batch)."""
    return text.rows(batch)
