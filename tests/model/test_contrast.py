"""The caption contrast: counterfactual captions, the hinge on the CE gap, and its training step."""

from __future__ import annotations

import math

import pytest
import torch

from maskgmt.data.corpus.counterfactual import counterfactual_captions, swap_mode
from maskgmt.model import MaskGmt
from maskgmt.model.contrast import ContrastBatch, caption_contrast
from maskgmt.model.masking import sample_training_mask
from maskgmt.train.config import ModelConfig

from .conftest import random_codes, text_inputs, tiny_transformer

B = 4


def _model(**config) -> MaskGmt:
    torch.manual_seed(0)
    return MaskGmt(transformer=tiny_transformer(), cond_drop_prob=0.0, **config)


def _inputs(seed: int = 0):
    codes = random_codes(B, seed=seed)
    frames = torch.ones(B, codes.shape[-1], dtype=torch.bool)
    emb, mask = text_inputs(B, seed=seed)
    other_emb, other_mask = text_inputs(B, seed=seed + 100)
    return (
        codes,
        frames,
        (emb, mask, None),
        ContrastBatch(other_emb, other_mask, torch.ones(B, dtype=torch.bool)),
    )


def test_swap_mode_swaps_major_and_minor_and_keeps_every_other_word() -> None:
    assert swap_mode("A slow cello melody in D minor, pitched high.") == (
        "A slow cello melody in D major, pitched high."
    )
    assert swap_mode("Bb major folk tune, F# minor bridge") == "Bb minor folk tune, F# major bridge"
    assert swap_mode("a slow cello melody") is None  # names no key: no counterfactual
    texts, rows = counterfactual_captions(["in G major", "solo flute"], "mode")
    assert texts == ["in G minor", "solo flute"] and rows == [True, False]
    with pytest.raises(ValueError, match="unknown attribute 'tempo'"):
        counterfactual_captions(["x"], "tempo")


def test_the_same_caption_as_counterfactual_gives_no_gap_and_the_margin_as_loss() -> None:
    model = _model(contrast_weight=1.0, contrast_margin=0.4)
    codes, frames, own, _ = _inputs()
    same = ContrastBatch(own[0], own[1], torch.ones(B, dtype=torch.bool))
    out = caption_contrast(model, codes, frames, own, same, torch.Generator().manual_seed(0))
    assert out.clips == B
    assert abs(float(out.gap)) < 1e-5
    assert float(out.loss.detach()) == pytest.approx(0.4, abs=1e-5)


def test_unmarked_and_dropped_captions_are_not_contrasted() -> None:
    model = _model(contrast_weight=1.0)
    codes, frames, own, other = _inputs()
    none = ContrastBatch(other.emb, other.mask, torch.zeros(B, dtype=torch.bool))
    out = caption_contrast(model, codes, frames, own, none)
    assert out.clips == 0 and float(out.loss) == 0.0 and math.isnan(float(out.gap))
    dropped = own[1].clone()
    dropped[:2] = False  # caption dropout for CFG: the null text has nothing to contrast
    out = caption_contrast(model, codes, frames, (own[0], dropped, None), other)
    assert out.clips == B - 2


def test_a_step_on_the_contrast_widens_the_gap() -> None:
    """The hinge's gradient makes the own caption likelier than the counterfactual (same masks:
    the same generator seed before and after the step)."""
    model = _model(contrast_weight=1.0, contrast_margin=10.0)  # the hinge stays active
    codes, frames, own, other = _inputs(seed=3)

    def gap() -> float:
        """CE under the counterfactual minus under the own caption, measured apart from the
        module: level 0 hidden by the mask the term draws first from the same seed."""
        hide = sample_training_mask(frames, span_len=1, min_share=0.75,
                                    generator=torch.Generator().manual_seed(5))  # fmt: skip
        ce = []
        for emb, mask in ((own[0], own[1]), (other.emb, other.mask)):
            with torch.no_grad():
                logits = model.logits(codes, 0, text_embeds=emb, text_mask=mask, token_mask=hide)
            ce.append(torch.nn.functional.cross_entropy(logits[hide], codes[:, 0][hide]))
        return float(ce[1] - ce[0])

    before = gap()
    term = caption_contrast(model, codes, frames, own, other, torch.Generator().manual_seed(5))
    assert float(term.gap) == pytest.approx(before, abs=0.05)  # per-clip vs per-token means
    term.loss.backward()
    torch.optim.SGD(model.parameters(), lr=0.05).step()
    assert gap() > before + 1e-3


def test_compute_loss_adds_weight_times_the_contrast_term() -> None:
    codes, frames, own, other = _inputs(seed=1)

    def loss(weight: float, contrast: ContrastBatch | None) -> torch.Tensor:
        model = _model(contrast_weight=weight)
        model.eval()  # no caption dropout: every row is contrasted
        with torch.no_grad():
            return model.compute_loss(
                codes, text_embeds=own[0], text_mask=own[1], contrast=contrast,
                generator=torch.Generator().manual_seed(7),
            )  # fmt: skip

    plain, off = loss(1.0, None), loss(0.0, other)
    one, two = loss(1.0, other), loss(2.0, other)
    assert float(off.loss) == pytest.approx(float(plain.loss)) and off.contrast_gap is None
    assert one.contrast_clips == B and torch.isfinite(one.contrast_gap)
    term = float(one.loss - plain.loss)
    assert term > 0
    assert float(two.loss - plain.loss) == pytest.approx(2 * term, rel=1e-4)


def test_min_share_hides_at_least_that_share_of_each_clip() -> None:
    frames = torch.ones(64, 40, dtype=torch.bool)
    frames[::2, 30:] = False  # shorter clips
    gen = torch.Generator().manual_seed(0)
    hide = sample_training_mask(frames, span_len=1, generator=gen, min_share=0.75)
    share = hide.sum(1) / frames.sum(1)
    assert bool((share >= 0.75 - 1 / 30).all()) and not bool((hide & ~frames).any())
    full = sample_training_mask(frames, span_len=1, generator=gen)
    assert float((full.sum(1) / frames.sum(1)).min()) < 0.75  # without it, the whole schedule


def test_the_training_config_names_the_attribute_or_turns_the_contrast_off() -> None:
    assert ModelConfig().choices(n_q=2, text_encoder_name="x").contrast_weight == 0.0
    on = ModelConfig(contrast="mode", contrast_weight=0.5).choices(n_q=2, text_encoder_name="x")
    assert on.contrast_weight == 0.5
    with pytest.raises(ValueError, match="model.contrast must be one of \\['mode'\\]"):
        ModelConfig(contrast="tempo")
    with pytest.raises(ValueError, match="contrast_min_share"):
        ModelConfig(contrast="mode", contrast_min_share=1.5)
