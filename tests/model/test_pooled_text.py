"""The pooled caption cue (`pooled_text`): every frame gets it, a dropped caption gets a null."""

from __future__ import annotations

import torch

from maskgmt.model import MaskGmt

from .conftest import K, T, random_codes, tiny_transformer


def _model(pooled: bool) -> MaskGmt:
    torch.manual_seed(0)
    return MaskGmt(transformer=tiny_transformer(pooled_text=pooled)).eval()


def test_pooled_text_changes_logits_and_uses_the_null_for_a_dropped_caption() -> None:
    model = _model(True)
    backbone = model.transformer.backbone
    assert not backbone.text_pool.weight.any()  # zero-initialised: training starts as without it
    with torch.no_grad():
        backbone.text_pool.weight.normal_()
    emb = torch.randn(2, 3, 16, generator=torch.Generator().manual_seed(0))
    mask = torch.tensor([[True, True, False], [False, False, False]])
    ctx = backbone.text_context(emb, mask)
    assert ctx.pooled.shape == (2, 32)
    # a caption with no visible token gets the learned null vector, not a projection of zeros
    assert torch.equal(ctx.pooled[1], backbone.null_pool)
    # masked-out text tokens do not change the pooled cue
    emb2 = emb.clone()
    emb2[0, 2] += 5.0
    assert torch.allclose(backbone.text_context(emb2, mask).pooled[0], ctx.pooled[0])
    codes = random_codes(2)
    base = model.logits(codes, 0, text_embeds=emb, text_mask=mask)
    with torch.no_grad():
        backbone.text_pool.bias.add_(1.0)
    assert not torch.allclose(base, model.logits(codes, 0, text_embeds=emb, text_mask=mask))


def test_pooled_text_is_off_by_default_and_round_trips(tmp_path) -> None:
    assert (
        _model(False)
        .transformer.backbone.text_context(
            torch.zeros(1, 2, 16), torch.ones(1, 2, dtype=torch.bool)
        )
        .pooled
        is None
    )
    model = _model(True)
    model.save_pretrained(tmp_path / "m")
    loaded = MaskGmt.from_pretrained(tmp_path / "m")
    assert loaded.transformer.config.pooled_text
    emb, mask = torch.randn(2, 3, 16), torch.ones(2, 3, dtype=torch.bool)
    gen = lambda m: m.generate(  # noqa: E731
        text_embeds=emb, text_mask=mask, steps=3, generator=torch.Generator().manual_seed(0)
    )
    out = gen(model)
    assert out.shape == (2, K, T) and torch.equal(out, gen(loaded))
