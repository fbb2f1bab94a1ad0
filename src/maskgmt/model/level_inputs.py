"""`LevelInputs`: the decoding passes' input embeddings, kept as running sums across levels."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from maskgmt.model.layers import TextContext

if TYPE_CHECKING:
    from maskgmt.model.maskgmt import MaskGmt


class LevelInputs:
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
