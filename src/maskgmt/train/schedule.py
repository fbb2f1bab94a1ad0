"""The learning-rate schedule (linear warmup, then cosine decay) and AdamW parameter groups."""

from __future__ import annotations

import math

import torch

from maskgmt.train.config import OptimConfig


def lr_factor(step: int, *, warmup_steps: int, max_steps: int, min_lr_ratio: float) -> float:
    """Multiplier of the peak LR for optimizer step `step` (0-based): linear from 1/warmup to 1
    over `warmup_steps`, then cosine down to `min_lr_ratio` at `max_steps`, flat after."""
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    span = max(1, max_steps - warmup_steps)
    progress = min(1.0, (step - warmup_steps) / span)
    return min_lr_ratio + (1.0 - min_lr_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))


def param_groups(model: torch.nn.Module, *, weight_decay: float) -> list[dict]:
    """Two AdamW groups: matrices of linear/attention layers decay; biases, norm gains and
    embedding tables (1-D tensors or `nn.Embedding` weights) do not, as decaying them only
    shrinks scales and rarely-seen codes toward zero."""
    no_decay_ids = {
        id(p)
        for module in model.modules()
        if isinstance(module, torch.nn.Embedding)
        for p in module.parameters(recurse=False)
    }
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        if p.ndim < 2 or id(p) in no_decay_ids or "emb" in name.split(".")[-1].lower():
            no_decay.append(p)
        else:
            decay.append(p)
    return [
        {"params": decay, "weight_decay": weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]


def build_optimizer(
    model: torch.nn.Module, cfg: OptimConfig
) -> tuple[torch.optim.AdamW, torch.optim.lr_scheduler.LambdaLR]:
    """AdamW over `param_groups` and its warmup + cosine `LambdaLR` (stepped once per
    optimizer step)."""
    groups = param_groups(model, weight_decay=cfg.weight_decay)
    devices = {p.device.type for group in groups for p in group["params"]}
    opt = torch.optim.AdamW(
        groups,
        lr=cfg.lr,
        betas=cfg.betas,
        eps=cfg.eps,
        # One fused kernel per step: ~5x faster than the per-tensor loop on CPU, and the
        # same kernel on CUDA (where the model is moved after this, by accelerate).
        fused=devices <= {"cpu", "cuda"},
    )

    def factor(step: int) -> float:
        return lr_factor(
            step,
            warmup_steps=cfg.warmup_steps,
            max_steps=cfg.max_steps,
            min_lr_ratio=cfg.min_lr_ratio,
        )

    return opt, torch.optim.lr_scheduler.LambdaLR(opt, factor)
