"""Text information gain: 0 when the text cannot matter, clearly > 0 once a model uses it."""

from __future__ import annotations

import pytest
import torch

from maskgmt.model import MaskGmt
from maskgmt.model.diagnostics import (
    NO_PAIRS,
    SAME_CAPTIONS,
    caption_derangement,
    fixed_share_mask,
    text_information_gain,
)

from .conftest import FakeTextEncoder, K, random_codes, text_inputs, tiny_transformer

CAPTIONS = ["slow piano in C major", "fast violin melody", "soft flute in a minor", "loud brass"]


def _gains(result: dict, condition: str) -> list[float]:
    return result[condition]["gain"]


def test_zeroed_cross_attention_gives_exactly_zero_gain(model: MaskGmt) -> None:
    for block in model.transformer.backbone.blocks:
        torch.nn.init.zeros_(block.cross_attn.to_out.weight)  # the text's only way in
    emb, mask = text_inputs(6, seed=3)
    result = text_information_gain(model, random_codes(6, seed=2), emb, mask)
    assert result["clips"] == result["differing"] == 6 and result["reason"] is None
    for condition in ("full", "partial"):
        assert _gains(result, condition) == [0.0] * K
        assert all(v > 0 for v in result[condition]["loss_true"])
    assert result["full"]["tokens"] == [6 * 16] * K
    assert result["partial"]["tokens"] == [6 * 8] * K  # 50% of 16 frames of 6 clips


def test_identical_captions_give_zero_gain_and_say_why(model: MaskGmt) -> None:
    emb, mask = text_inputs(1, seed=3)
    emb, mask = emb.expand(5, -1, -1), mask.expand(5, -1)
    result = text_information_gain(model, random_codes(5, seed=2), emb, mask)
    assert result["differing"] == 0 and result["reason"] == SAME_CAPTIONS
    assert _gains(result, "full") == _gains(result, "partial") == [0.0] * K


def test_one_clip_gives_none_with_a_reason(model: MaskGmt) -> None:
    emb, mask = text_inputs(1)
    result = text_information_gain(model, random_codes(1), emb, mask)
    assert result["reason"] == NO_PAIRS and result["clips"] == 0
    assert _gains(result, "full") == _gains(result, "partial") == [None] * K


def test_seeded_paired_and_side_effect_free(model: MaskGmt) -> None:
    codes, (emb, mask) = random_codes(4, seed=5), text_inputs(4, seed=6)
    padding = torch.ones(4, 16, dtype=torch.bool)
    padding[2, 11:] = False
    model.train()
    rng = torch.get_rng_state()
    first = text_information_gain(model, codes, emb, mask, padding_mask=padding, seed=7)
    assert torch.equal(torch.get_rng_state(), rng)  # the global RNG is never drawn from
    assert model.training  # train mode restored; eval inside, so no caption is dropped
    changed = codes.clone()
    changed[2, :, 11:] = 0  # padded frames do not count
    again = text_information_gain(model, changed, emb, mask, padding_mask=padding, seed=7)
    assert again == first
    assert first["full"]["tokens"] == [4 * 16 - 5] * K
    other = text_information_gain(model, codes, emb, mask, padding_mask=padding, seed=8)
    assert other["partial"] != first["partial"]  # another seed, other masks
    assert other["full"]["loss_true"] == first["full"]["loss_true"]  # full: no mask to draw
    some = text_information_gain(model, codes, emb, mask, share=None, levels=[1])
    assert some["partial"] is None
    assert [g is None for g in _gains(some, "full")] == [True, False, True, True]
    with pytest.raises(ValueError, match="levels"):
        text_information_gain(model, codes, emb, mask, levels=[K])


@pytest.mark.parametrize("groups", [[0, 1, 2, 3, 4], [0, 0, 0, 1, 1, 2], [0, 0, 0, 0, 1, 2]])
def test_derangement_prefers_a_differing_caption(groups: list[int]) -> None:
    b = len(groups)
    emb = torch.tensor(groups, dtype=torch.float32)[:, None, None].expand(b, 2, 3)
    mask = torch.ones(b, 2, dtype=torch.bool)
    ids = torch.tensor(groups)
    largest = int(torch.bincount(ids).max())
    gen = torch.Generator().manual_seed(0)
    for _ in range(20):
        perm = caption_derangement(emb, mask, generator=gen)
        assert sorted(perm.tolist()) == list(range(b))
        assert bool((perm != torch.arange(b)).all())
        assert int((ids[perm] != ids).sum()) == min(b, 2 * (b - largest))


@pytest.mark.parametrize("span_len", [1, 3])
def test_fixed_share_mask_hides_that_share_of_real_frames(span_len: int) -> None:
    frames = torch.ones(3, 30, dtype=torch.bool)
    frames[1, 12:] = False
    gen = torch.Generator().manual_seed(0)
    hide = fixed_share_mask(frames, 0.5, span_len=span_len, generator=gen)
    assert not bool((hide & ~frames).any())
    share = hide.sum(-1).float() / frames.sum(-1)
    assert bool(((share - 0.5).abs() <= 0.5 * span_len / 12 + 1e-6).all()), share
    if span_len == 1:
        assert hide.sum(-1).tolist() == [15, 6, 15]


def _train_tiny(*, relevant: bool, steps: int = 60) -> tuple[MaskGmt, torch.Tensor, tuple]:
    """A tiny model trained for about 1.5 s on 4 caption -> code patterns; with
    relevant=False every step pairs the codes with randomly reassigned captions."""
    torch.manual_seed(0)
    encoder = FakeTextEncoder()
    model = MaskGmt(transformer=tiny_transformer(), text_encoder=encoder, cond_drop_prob=0.1)
    codes = random_codes(4, seed=1)  # (4, K, T): one random pattern per caption
    emb, mask = encoder.encode(CAPTIONS)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.0)
    gen = torch.Generator().manual_seed(0)
    model.train()
    for _ in range(steps):
        rows = torch.arange(4).repeat(8)  # batch of 32
        cap = rows if relevant else rows[torch.randperm(len(rows), generator=gen)]
        out = model.compute_loss(
            codes[rows], text_embeds=emb[cap], text_mask=mask[cap], generator=gen
        )
        opt.zero_grad()
        out.loss.backward()
        opt.step()
    return model, codes, (emb, mask)


@pytest.mark.parametrize("relevant", [True, False])
def test_conditioning_tiny_model_trained_for_seconds_uses_the_text(relevant: bool) -> None:
    """THE conditioning test: where the caption decides the codes, the fully masked level-0
    gain is clearly > 0; where captions are reassigned at random, it is about 0."""
    model, codes, (emb, mask) = _train_tiny(relevant=relevant)
    result = text_information_gain(model, codes, emb, mask)
    full0, partial0 = result["full"]["gain"][0], result["partial"]["gain"][0]
    if relevant:
        assert full0 > 0.5, result["full"]
        assert partial0 > 0.3, result["partial"]
    else:
        assert abs(full0) < 0.25 and abs(partial0) < 0.25, result
