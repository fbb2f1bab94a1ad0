"""`MaskGmtLoss`: the training loss and its per-level breakdown for logging."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class MaskGmtLoss:
    """What `MaskGmt.compute_loss` returns for one batch.

    `level_loss`, `level_acc` and `level_count` are [K] tensors (detached); a level that no sample
    trained this batch has count 0 and loss/acc 0.
    """

    loss: torch.Tensor  # scalar to backward: token cross-entropy + critic_loss_weight * critic BCE
    level_loss: torch.Tensor  # (K,) mean cross-entropy (nats) on the masked tokens of each level
    level_acc: torch.Tensor  # (K,) argmax accuracy on those tokens
    level_count: torch.Tensor  # (K,) long: masked tokens of each level in the batch
    critic_loss: torch.Tensor | None  # scalar BCE of the token critic, None without a critic
    # The caption contrast (model/contrast.py), when it ran: mean CE gap of the contrasted clips
    # (nats/token, detached; NaN when no clip was contrasted) and how many clips it used.
    contrast_gap: torch.Tensor | None = None
    contrast_clips: int = 0

    @classmethod
    def from_tokens(
        cls,
        ce: torch.Tensor,
        logits: torch.Tensor,
        target: torch.Tensor,
        token_level: torch.Tensor,
        num_levels: int,
        critic_loss: torch.Tensor | None = None,
        critic_weight: float = 1.0,
    ) -> MaskGmtLoss:
        """Per-token ce[N], logits[N, V], target[N] and token_level[N] of the masked tokens ->
        the batch's loss (mean ce, plus critic_weight * critic_loss) and its per-level stats."""
        with torch.no_grad():
            count = torch.bincount(token_level, minlength=num_levels)
            denom = count.clamp(min=1).float()
            zeros = torch.zeros(num_levels, device=ce.device)
            correct = (logits.argmax(-1) == target).float()
            level_loss = zeros.index_add(0, token_level, ce.detach()) / denom
            level_acc = zeros.index_add(0, token_level, correct) / denom
        loss = ce.mean()
        if critic_loss is not None:
            loss = loss + critic_weight * critic_loss
        return cls(loss, level_loss, level_acc, count, critic_loss)
