"""Re-masking during decoding (choice noise, spans) and continuation masks in training."""

from __future__ import annotations

import pytest
import torch

from maskgmt.model import MaskGmt
from maskgmt.model.masking import sample_prefix
from maskgmt.model.remasking import remask_lowest

from .conftest import K, T, make_plan, random_codes, tiny_transformer


def test_remask_lowest_single_tokens_takes_the_lowest_candidates() -> None:
    scores = torch.tensor([[0.5, -1.0, 3.0, -2.0, 0.0, 1.0]])
    candidates = torch.tensor([[True, True, True, False, True, True]])
    out = remask_lowest(scores, candidates, torch.tensor([2]))
    # -2.0 is the lowest score but not a candidate: the two lowest candidates are -1.0 and 0.0
    assert out.tolist() == [[False, True, False, False, True, False]]


def test_remask_lowest_spans_hide_whole_grid_spans() -> None:
    gen = torch.Generator().manual_seed(0)
    scores = torch.randn(8, 24, generator=gen)
    candidates = torch.ones(8, 24, dtype=torch.bool)
    out = remask_lowest(scores, candidates, torch.full((8,), 7), span=4)
    spans = out.view(8, 6, 4)
    assert bool((spans.all(-1) | ~spans.any(-1)).all())  # every grid span all in or all out
    assert out.sum(-1).tolist() == [8] * 8  # covers 7 -> two spans of 4
    # the chosen spans are those holding the lowest scores
    span_min = scores.view(8, 6, 4).min(-1).values
    chosen = spans.any(-1)
    assert bool((span_min[chosen].view(8, 2).max(-1).values
                 <= span_min.masked_fill(chosen, float("inf")).min(-1).values).all())  # fmt: skip


def test_remask_lowest_spans_never_remask_every_candidate() -> None:
    candidates = torch.zeros(1, 12, dtype=torch.bool)
    candidates[0, 4:7] = True  # three candidates, all inside one span of 4
    out = remask_lowest(torch.randn(1, 12), candidates, torch.tensor([2]), span=4)
    assert not bool(out.all()) and int(out.sum()) < 3 and not bool((out & ~candidates).any())


def test_choice_temperature_anneals_to_zero_and_temperature_can_stay_flat() -> None:
    plan = make_plan(choice_temperature=4.0, anneal_temperature=False)
    assert plan.choice_temperature_at(0, 8) == pytest.approx(3.5)
    assert plan.choice_temperature_at(7, 8) == 0.0
    assert plan.temperature_at(7, 8) == 1.0
    assert make_plan().temperature_at(4, 8) == pytest.approx(0.5)


def _generate(model: MaskGmt, **kw) -> torch.Tensor:
    emb = torch.randn(2, 3, 16, generator=torch.Generator().manual_seed(1))
    mask = torch.ones(2, 3, dtype=torch.bool)
    return model.generate(
        text_embeds=emb, text_mask=mask, steps=6, temperature=0.0,
        generator=torch.Generator().manual_seed(0), **kw,
    )  # fmt: skip


def test_choice_noise_changes_greedy_decoding_and_stays_seeded() -> None:
    torch.manual_seed(0)
    model = MaskGmt(transformer=tiny_transformer()).eval()
    plain = _generate(model, choice_temperature=0.0)
    noisy = _generate(model, choice_temperature=8.0)
    assert plain.shape == noisy.shape == (2, K, T)
    assert not torch.equal(plain, noisy)  # greedy tokens, but another order of commitment
    assert torch.equal(noisy, _generate(model, choice_temperature=8.0))
    spans = _generate(model, remask_span=3)
    assert int(spans.max()) < model.transformer.config.num_tokens


@pytest.mark.parametrize(
    ("name", "value"),
    [("choice_temperature", -1.0), ("remask_span", 0), ("remask_span", 2.0),
     ("anneal_temperature", 1)],
)  # fmt: skip
def test_bad_remasking_options_are_refused(name: str, value: object) -> None:
    torch.manual_seed(0)
    model = MaskGmt(transformer=tiny_transformer()).eval()
    with pytest.raises(ValueError, match=name):
        _generate(model, **{name: value})


def test_sample_prefix_shares_and_rate() -> None:
    gen = torch.Generator().manual_seed(0)
    frames = torch.ones(4000, 40, dtype=torch.bool)
    frames[:, 30:] = False
    given = sample_prefix(frames, 0.25, generator=gen)
    length = given.sum(-1)
    assert not given[:, 30:].any()
    # a prefix: every given frame comes before every other frame
    assert torch.equal(given, torch.arange(40)[None] < length[:, None])
    with_prefix = length > 0
    assert 0.22 < with_prefix.float().mean() < 0.28
    share = length[with_prefix].float() / 30
    assert share.min() >= 0.09 and share.max() <= 0.7
    assert sample_prefix(frames, 0.0, generator=gen).sum() == 0


def test_continuation_samples_see_every_level_of_the_prefix() -> None:
    torch.manual_seed(0)
    model = MaskGmt(transformer=tiny_transformer(), prefix_prob=1.0, cond_drop_prob=0.0)
    codes = random_codes(3)
    seen: list[torch.Tensor] = []
    original = model.transformer.hidden

    def spy(inputs, level, text, frame_mask):
        seen.append(inputs.clone())
        return original(inputs, level, text, frame_mask)

    model.transformer.hidden = spy
    emb, mask = torch.randn(3, 2, 16), torch.ones(3, 2, dtype=torch.bool)
    model.train()
    out = model.compute_loss(codes, text_embeds=emb, text_mask=mask,
                             levels=torch.zeros(3, dtype=torch.long),
                             generator=torch.Generator().manual_seed(0))  # fmt: skip
    assert torch.isfinite(out.loss)
    inputs = seen[0]
    mask_id = model.transformer.config.mask_id
    for b in range(3):
        visible = (inputs[b] != mask_id).all(0)  # frames with every level visible
        prefix = int(visible.long().cumprod(0).sum())
        assert prefix >= 1  # a prefix given on all levels, level 1..K-1 included
        assert torch.equal(inputs[b, :, :prefix], codes[b, :, :prefix])
        assert bool((inputs[b, 1:, prefix:] == mask_id).all())  # above level 0: hidden after it


def test_non_finite_logits_stop_generation_with_a_clear_error() -> None:
    torch.manual_seed(0)
    model = MaskGmt(transformer=tiny_transformer()).eval()
    with torch.no_grad():
        model.transformer.head_bias[0, 3] = float("nan")
    with pytest.raises(ValueError, match="non-finite logits at level 0"):
        _generate(model)
