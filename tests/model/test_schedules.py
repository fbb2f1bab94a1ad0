"""Mask schedules and token sampling helpers."""

from __future__ import annotations

import torch

from maskgmt.model.masking import cosine_schedule, masked_count_after_step, sample_training_mask
from maskgmt.model.sampling import filter_logits, guide, sample


def test_cosine_schedule_ends() -> None:
    s = cosine_schedule(torch.tensor([0.0, 0.5, 1.0]))
    assert s[0] == 1.0 and abs(s[2]) < 1e-6 and 0.6 < s[1] < 0.8


def test_unmasking_counts_reach_zero_and_always_decrease() -> None:
    free = torch.tensor([750, 3, 1])
    masked = free.clone()
    for step in range(16):
        left = masked_count_after_step(free, masked, step, 16)
        assert torch.all((left < masked) | (masked == 0))
        masked = left
    assert masked.tolist() == [0, 0, 0]


def test_training_mask_respects_padding_and_spans() -> None:
    gen = torch.Generator().manual_seed(0)
    frames = torch.ones(64, 40, dtype=torch.bool)
    frames[:, 30:] = False
    for span in (1, 3):
        hide = sample_training_mask(frames, span_len=span, generator=gen)
        assert not hide[:, 30:].any()
        assert hide.sum(-1).min() >= 1
        share = hide.float().sum(-1).mean() / 30
        assert 0.45 < share < 0.9  # E[cos(pi u / 2)] = 2 / pi ~ 0.64
    runs = (hide[:, 1:] & ~hide[:, :-1]).sum()  # starts of masked runs
    assert runs < hide.sum() / 2  # spans: far fewer runs than masked frames


def test_filters_and_guidance() -> None:
    logits = torch.tensor([[1.0, 3.0, 2.0, 0.0]])
    assert torch.isinf(filter_logits(logits, top_k=2, top_p=None)).tolist() == [
        [True, False, False, True]
    ]
    kept = ~torch.isinf(filter_logits(logits, top_k=None, top_p=0.5))
    assert kept.tolist() == [[False, True, False, False]]
    cond, uncond = torch.randn(3, 5), torch.randn(3, 5)
    assert guide(cond, uncond, 1.0) is cond
    assert torch.allclose(guide(cond, uncond, 2.0), 2 * cond - uncond)
    assert sample(logits, temperature=0.0, generator=None).item() == 1
    draws = sample(
        logits.expand(4000, 4), temperature=1.0, generator=torch.Generator().manual_seed(0)
    )
    freq = torch.bincount(draws, minlength=4).float() / 4000
    assert torch.allclose(freq, logits.softmax(-1)[0], atol=0.03)
