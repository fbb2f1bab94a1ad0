"""The key cue (model/key_cue.py): captions -> key, pitch-class features, and their wiring."""

from __future__ import annotations

import math

import pytest
import torch

from maskgmt.model import MaskGmt, debug_model
from maskgmt.model.key_cue import caption_key, key_features, key_name

from .conftest import K, T, fit_level0, random_codes, text_inputs


def _key_model(seed: int = 0, **overrides) -> MaskGmt:
    return debug_model(seed=seed, key_cue=True, **overrides).eval()


@pytest.mark.parametrize(
    ("caption", "key"),
    [
        ("A hymn-like chorale in G minor (4/4)", 7 + 12),
        ("a pipe organ melody in Bb major, 4/4 time", 10),
        ("F# major, brisk", 6),
        ("in E-flat major", 3),
        ("A minor folk tune", 9 + 12),
        ("a minor change of plan", None),  # the article is not a key
        ("a slow cello", None),
        ("Cb major", 11),  # enharmonic: B
    ],
)
def test_caption_key_reads_tonic_accidental_and_mode(caption: str, key: int | None) -> None:
    assert caption_key(caption) == key


def test_key_features_spell_the_scale_and_vanish_without_a_key() -> None:
    feats = key_features(torch.tensor([2.0 + 12, 0.0, math.nan]))  # D minor, C major, none
    assert feats.shape == (3, 26)
    assert not feats[2].any()
    d_minor = {p for p in range(12) if feats[0, 12 + p] == 1}
    assert d_minor == {2, 4, 5, 7, 9, 10, 0}  # D E F G A Bb C
    assert feats[0, :12].argmax() == 2 and feats[0, 24:].tolist() == [0.0, 1.0]
    assert {p for p in range(12) if feats[1, 12 + p] == 1} == {0, 2, 4, 5, 7, 9, 11}
    assert key_name(2 + 12) == "D minor" and key_name(10) == "Bb major"


def test_a_new_key_cue_starts_silent_and_then_changes_the_logits() -> None:
    plain, cued = debug_model(seed=0).eval(), _key_model()
    assert not cued.transformer.backbone.key_proj.weight.any()  # zero-initialised
    cued.load_state_dict(plain.state_dict(), strict=False)
    codes, (emb, mask) = random_codes(2), text_inputs(2)
    key = torch.tensor([2.0, 14.0])
    base = plain.logits(codes, 0, text_embeds=emb, text_mask=mask)
    assert torch.equal(base, cued.logits(codes, 0, text_embeds=emb, text_mask=mask, key=key))
    with torch.no_grad():
        cued.transformer.backbone.key_proj.weight.normal_()
    moved = cued.logits(codes, 0, text_embeds=emb, text_mask=mask, key=key)
    assert not torch.allclose(base, moved)
    other = cued.logits(codes, 0, text_embeds=emb, text_mask=mask, key=["C major", "C major"])
    assert not torch.allclose(moved, other)
    none = torch.full((2,), math.nan)
    assert torch.equal(base, cued.logits(codes, 0, text_embeds=emb, text_mask=mask, key=none))


def test_generate_reads_the_key_from_the_caption(encoder) -> None:
    model = _key_model(text_encoder=encoder)
    with torch.no_grad():
        model.transformer.backbone.key_proj.weight.normal_(std=2.0)

    def make(texts, **kw):
        return model.generate(texts=texts, steps=4, generator=torch.Generator().manual_seed(0),
                              **kw)  # fmt: skip

    d_minor = make(["a tune in D minor"])
    assert torch.equal(d_minor, make(["a tune in D minor"], key="D minor"))
    assert not torch.equal(d_minor, make(["a tune in D minor"], key="E major"))
    assert d_minor.shape == (1, K, T)


def test_the_key_cue_teaches_what_the_text_does_not_carry() -> None:
    """Each clip's codes are its key's index: only the cue says which, the captions are blank."""
    key = torch.arange(16, dtype=torch.float32)
    codes = key.long()[:, None, None].expand(-1, K, T).contiguous()
    plain, cued = debug_model(seed=0, cond_drop_prob=0.0), _key_model(cond_drop_prob=0.0)
    final = {
        name: fit_level0(model, codes, key=key) for name, model in (("plain", plain), ("cue", cued))
    }
    assert final["plain"] > 2.0  # 16 equally likely codes: ln 16 = 2.77 at best without the cue
    assert final["cue"] < 0.25 * final["plain"]
