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
