"""What `generate` decides before it decodes: the checked sampling arguments as a `DecodePlan`
(steps per level, CFG levels and scales, temperatures, re-masking), the batch size, and the
autocast.

Nothing here runs the network; `model/generate.py` takes the plan and decodes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import torch

from maskgmt.model import checks

if TYPE_CHECKING:
    from maskgmt.model.maskgmt import MaskGmt

# Level 0 starts from nothing and fixes what the music is: 16 iterations, as SoundStorm. A
# residual level is largely determined by the levels below, but not wholly: on a synthetic
# process whose residual tokens also depend on their neighbours (bench/bench_generate.py
# --quality), one parallel pass per level loses most of that structure, while two passes (the
# second revisits the least confident 70%) keep nearly all that four give. Cutting level 0 to 12
# or 8 steps cost 0.18 or 0.42 nats per level-0 token there, so it stays at 16.
LEVEL0_STEPS = 16
UPPER_STEPS = 2
# Guide levels 0-3. Level 0 fixes the pitch, but the instrument's timbre lies in levels 0-3
# (decoded from level 0 alone the codec keeps 33% instrument accuracy, from levels 0-3 52%, from
# all 8 55%), and on the shipped model, 240 held-out captions, guiding them gave +5.0 [+0.8, +9.2]
# points of instrument accuracy (key -2.9 [-5.4, -0.4]) for 13% more passes (docs/QUALITY.md).
CFG_LEVELS = 4
# Re-masking defaults, measured on 240 held-out captions (docs/QUALITY.md): Gumbel noise of scale
# 4 on the confidences raised note activity from 0.67 to 1.00 of the real audio's, with key and
# register adherence unchanged within their intervals.
CHOICE_TEMPERATURE = 4.0
ANNEAL_TEMPERATURE = True
REMASK_SPAN = 1


def default_steps(num_levels: int) -> tuple[int, ...]:
    """Decoding iterations per level: many for level 0, few for the residual levels."""
    return (LEVEL0_STEPS,) + (UPPER_STEPS,) * (num_levels - 1)


@dataclass(frozen=True)
class DecodePlan:
    """Checked sampling settings of one `generate` call."""

    steps: tuple[int, ...]
    cond_scale: float
    min_cond_scale: float | None
    cfg_levels: int  # levels below this one are guided; the rest use the conditional logits
    temperature: float
    top_k: int | None
    top_p: float | None
    use_critic: bool
    choice_temperature: float = 0.0  # Gumbel noise on the re-masking scores (MaskGIT), annealed
    anneal_temperature: bool = True  # sampling temperature falls linearly to 0 over the steps
    remask_span: int = 1  # re-mask whole spans of this many frames (MAGNeT); 1 = single tokens

    @property
    def guided(self) -> bool:
        """Whether any step needs the unconditional branch (a scale other than 1)."""
        scaled = self.cond_scale != 1.0 or (
            self.min_cond_scale is not None and self.min_cond_scale != 1.0
        )
        return scaled and self.cfg_levels > 0

    def guided_at(self, level: int) -> bool:
        """Whether decoding `level` runs the unconditional branch too (a 2B batch)."""
        return self.guided and level < self.cfg_levels

    def scale_at(self, step: int, num_steps: int) -> float:
        """CFG scale at `step`: constant, or linear from cond_scale to min_cond_scale (MAGNeT)."""
        if self.min_cond_scale is None or num_steps == 1:
            return self.cond_scale
        frac = step / (num_steps - 1)
        return self.cond_scale + (self.min_cond_scale - self.cond_scale) * frac

    def temperature_at(self, step: int, num_steps: int) -> float:
        """Sampling temperature: annealed linearly towards 0 over the steps (MAGNeT), or flat."""
        if not self.anneal_temperature:
            return self.temperature
        return self.temperature * (1.0 - step / num_steps)

    def choice_temperature_at(self, step: int, num_steps: int) -> float:
        """Scale of the re-masking noise after `step`: linear to 0 at the last step (MaskGIT)."""
        return self.choice_temperature * (1.0 - (step + 1) / num_steps)


def plan_generation(
    model: MaskGmt,
    *,
    steps: int | Sequence[int] | None,
    cond_scale: float,
    min_cond_scale: float | None,
    cfg_levels: int | None,
    temperature: float,
    top_k: int | None,
    top_p: float | None,
    use_token_critic: bool | None,
    choice_temperature: float,
    anneal_temperature: bool,
    remask_span: int,
) -> DecodePlan:
    """`generate`'s sampling arguments, checked -> the plan its decoding follows."""
    k_levels, vocab = model.transformer.config.n_q, model.transformer.config.num_tokens
    steps = default_steps(k_levels) if steps is None else checks.check_steps(steps, k_levels)
    cond_scale = checks.check_number("cond_scale", cond_scale, low=0.0)
    if min_cond_scale is not None:
        min_cond_scale = checks.check_number("min_cond_scale", min_cond_scale, low=0.0)
    if cfg_levels is None or (cfg_levels == CFG_LEVELS and k_levels < CFG_LEVELS):
        cfg_levels = k_levels  # the default guides every level of a codec with fewer than 4
    elif not (isinstance(cfg_levels, int) and not isinstance(cfg_levels, bool)) or not (
        0 <= cfg_levels <= k_levels
    ):
        raise ValueError(
            f"cfg_levels: expected None (guide every level) or an int in [0, {k_levels}] "
            f"(how many of the lowest levels to guide), got {cfg_levels!r}"
        )
    temperature = checks.check_number("temperature", temperature, low=0.0)
    if top_k is not None and not (
        isinstance(top_k, int) and not isinstance(top_k, bool) and top_k >= 1
    ):
        raise ValueError(f"top_k: expected None or an int in [1, {vocab}], got {top_k!r}")
    if top_p is not None:
        top_p = checks.check_number("top_p", top_p, low=0.0, high=1.0, low_open=True)
    if use_token_critic is None:
        use_token_critic = model.has_critic
    elif use_token_critic and not model.has_critic:
        raise ValueError(
            "use_token_critic: got True but the model has no critic; build MaskGmt with "
            "token_critic=TokenCritic(...) or self_token_critic=True, "
            "or pass use_token_critic=False"
        )
    plan = DecodePlan(
        steps=steps, cond_scale=cond_scale, min_cond_scale=min_cond_scale, cfg_levels=cfg_levels,
        temperature=temperature, top_k=top_k, top_p=top_p, use_critic=bool(use_token_critic),
    )  # fmt: skip
    return _check_remasking(plan, choice_temperature, anneal_temperature, remask_span)


def autocast_for(
    dtype: torch.dtype | None, device: torch.device, model_dtype: torch.dtype
) -> torch.autocast:
    """Autocast context for `compute_dtype` (disabled for None or the model's own dtype)."""
    if dtype is not None and not (isinstance(dtype, torch.dtype) and dtype.is_floating_point):
        raise ValueError(
            f"compute_dtype: expected None or a floating torch.dtype such as torch.bfloat16, "
            f"got {dtype!r}"
        )
    enabled = dtype is not None and dtype != model_dtype
    return torch.autocast(device.type, dtype=dtype or model_dtype, enabled=enabled)


def _check_remasking(
    plan: DecodePlan, choice_temperature: float, anneal_temperature: bool, remask_span: int
) -> DecodePlan:
    """`plan` with the checked re-masking options."""
    choice_temperature = checks.check_number("choice_temperature", choice_temperature, low=0.0)
    if not isinstance(anneal_temperature, bool):
        raise ValueError(f"anneal_temperature: expected True or False, got {anneal_temperature!r}")
    if not (
        isinstance(remask_span, int) and not isinstance(remask_span, bool) and remask_span >= 1
    ):
        raise ValueError(f"remask_span: expected an int >= 1 (frames), got {remask_span!r}")
    return replace(
        plan, choice_temperature=choice_temperature, anneal_temperature=anneal_temperature,
        remask_span=remask_span,
    )  # fmt: skip


def unguided(plan: DecodePlan) -> DecodePlan:
    """Without text, cond and uncond logits coincide: skip the second half of the batch."""
    return replace(plan, cond_scale=1.0, min_cond_scale=None, cfg_levels=0)


def batch_size(
    texts: Sequence[str] | None, text_embeds: torch.Tensor | None, prompt: torch.Tensor | None
) -> int:
    """B from the captions, else the embeddings, else the prompt, else 1; all present must agree."""
    sizes = []
    if texts is not None:
        sizes.append(("texts", len(checks.check_texts("texts", texts, None))))
    if isinstance(text_embeds, torch.Tensor) and text_embeds.dim() >= 1:
        sizes.append(("text_embeds", text_embeds.shape[0]))
    if prompt is not None:
        sizes.append(("prompt", prompt.shape[0]))
    if not sizes:
        return 1
    first_name, batch = sizes[0]
    for name, size in sizes[1:]:
        if size != batch:
            raise ValueError(f"{name}: expected batch size {batch} (from {first_name}), got {size}")
    return batch
