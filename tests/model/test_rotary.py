"""Rotary positions: attention scores depend on frame offsets only, and training after generation
works (no inference-mode tensor leaks into a backward pass)."""

from __future__ import annotations

import torch

from maskgmt.model.layers import rotary_tables, rotate

from .conftest import random_codes, text_inputs, tiny_transformer


def test_scores_depend_only_on_the_offset_between_frames() -> None:
    g = torch.Generator().manual_seed(0)
    q, k = torch.randn(1, 1, 1, 16, generator=g), torch.randn(1, 1, 1, 16, generator=g)
    table = rotary_tables(40, 16, device="cpu", dtype=torch.float32)  # (2, T, dh/2)

    def score(i: int, j: int) -> float:
        qi = rotate(q, table[:, None, i : i + 1])
        kj = rotate(k, table[:, None, j : j + 1])
        return float((qi * kj).sum())

    assert abs(score(3, 7) - score(20, 24)) < 1e-4  # same offset, same score
    assert abs(score(3, 7) - score(3, 12)) > 1e-3  # another offset, another score
    # a rotation keeps lengths: it moves positions into phases, not into magnitudes
    assert torch.allclose(rotate(q, table[:, None, 5:6]).norm(), q.norm(), atol=1e-5)


def test_training_step_after_generation_backpropagates() -> None:
    from maskgmt.model.maskgmt import MaskGmt

    torch.manual_seed(0)
    model = MaskGmt(transformer=tiny_transformer(), cond_drop_prob=0.0)
    codes = random_codes(2)
    emb, mask = text_inputs(2)
    model.eval()
    model.generate(text_embeds=emb, text_mask=mask, steps=1)
    model.train()
    loss = model(music_ids=codes, text_embeds=emb, text_mask=mask)
    loss.backward()
    assert all(p.grad is not None for p in model.transformer.parameters() if p.requires_grad)
