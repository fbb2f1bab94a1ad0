"""Exponential moving average of model weights (kept in float32, updated after each step)."""

from __future__ import annotations

import torch


class Ema:
    """Shadow copy of a model's floating-point parameters and buffers.

    `update()` after each optimizer step does `shadow = d * shadow + (1 - d) * param` with
    `d = min(decay, (1 + n) / (10 + n))` (n = updates so far), so early shadows are not
    dominated by the random initialization.
    """

    def __init__(self, model: torch.nn.Module, *, decay: float) -> None:
        if not 0.0 < decay < 1.0:
            raise ValueError(f"Ema decay must be in (0, 1), got {decay!r}")
        self.decay = decay
        self.num_updates = 0
        self.shadow: dict[str, torch.Tensor] = {
            name: t.detach().to(torch.float32, copy=True)
            for name, t in model.state_dict().items()
            if t.is_floating_point()
        }

    @torch.no_grad()
    def update(self, model: torch.nn.Module) -> None:
        """Fold the current weights of `model` (unwrapped, same architecture) into the shadow."""
        d = min(self.decay, (1 + self.num_updates) / (10 + self.num_updates))
        state = model.state_dict()
        for name, shadow in self.shadow.items():
            shadow.lerp_(state[name].detach().to(torch.float32), 1.0 - d)
        self.num_updates += 1

    def state_dict(self) -> dict[str, torch.Tensor]:
        """The shadow tensors (what `copy_to` writes), keyed like the model's state dict."""
        return dict(self.shadow)

    def load_state_dict(self, state: dict[str, torch.Tensor], *, num_updates: int) -> None:
        """Restore shadows saved by `state_dict` (names and shapes must match)."""
        missing = set(self.shadow) - set(state)
        unexpected = set(state) - set(self.shadow)
        if missing or unexpected:
            raise ValueError(
                f"EMA state does not match the model: missing {sorted(missing)[:5]}, "
                f"unexpected {sorted(unexpected)[:5]}"
            )
        for name, shadow in self.shadow.items():
            shadow.copy_(state[name])
        self.num_updates = num_updates

    @torch.no_grad()
    def copy_to(self, model: torch.nn.Module) -> None:
        """Overwrite `model`'s floating-point weights with the shadow (cast to their dtype)."""
        state = model.state_dict()
        for name, shadow in self.shadow.items():
            state[name].copy_(shadow.to(state[name].dtype))
