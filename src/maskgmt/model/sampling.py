"""Token sampling: classifier-free guidance mixing, top-k / top-p filtering, seeded Gumbel draws."""

from __future__ import annotations

import torch


def guide(cond: torch.Tensor, uncond: torch.Tensor, scale: float) -> torch.Tensor:
    """CFG: uncond + scale * (cond - uncond); scale 1 returns `cond` itself, bit for bit."""
    if scale == 1.0:
        return cond
    return uncond + scale * (cond - uncond)


def filter_logits(logits: torch.Tensor, *, top_k: int | None, top_p: float | None) -> torch.Tensor:
    """Keep the top_k largest and/or the smallest set of mass >= top_p; others -> -inf. [..., V]."""
    if top_k is not None and top_k < logits.shape[-1]:
        kth = logits.topk(top_k, dim=-1).values[..., -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if top_p is not None and top_p < 1.0:
        sorted_logits, order = logits.sort(dim=-1, descending=True)
        cum = sorted_logits.softmax(dim=-1).cumsum(dim=-1)
        # Drop a token when the mass before it already reaches top_p (the best one always stays).
        drop_sorted = (cum - sorted_logits.softmax(dim=-1)) >= top_p
        drop = drop_sorted.scatter(-1, order, drop_sorted)
        logits = logits.masked_fill(drop, float("-inf"))
    return logits


def gumbel_noise(
    shape: torch.Size, *, device: torch.device, generator: torch.Generator | None
) -> torch.Tensor:
    """Standard Gumbel noise of `shape`, float32, drawn from `generator`."""
    u = torch.rand(shape, device=device, generator=generator).clamp_(1e-20, 1.0 - 1e-7)
    return -torch.log(-torch.log(u))


def sample(
    logits: torch.Tensor, *, temperature: float, generator: torch.Generator | None
) -> torch.Tensor:
    """Draw one token per row of logits[..., V] at `temperature` (0 = argmax) -> long [...]."""
    if temperature <= 0.0:
        return logits.argmax(dim=-1)
    noise = gumbel_noise(logits.shape, device=logits.device, generator=generator)
    return (logits / temperature + noise).argmax(dim=-1)  # Gumbel-max: an exact categorical draw
