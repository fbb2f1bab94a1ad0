"""The tempo clock (model/tempo.py): captions -> bpm, beat-phase features, and their wiring."""

from __future__ import annotations

import math

import pytest
import torch

from maskgmt.model import MaskGmt, debug_model
from maskgmt.model.cues import cue_inputs, drop_for_guidance
from maskgmt.model.tempo import caption_bpm, clock_features

from .conftest import K, T, V, fit_level0, random_codes, text_inputs

RATE = 8.0  # frames per second of the tiny test "codec": 120 BPM is one beat every 4 frames


def _clock_model(seed: int = 0, **overrides) -> MaskGmt:
    return debug_model(seed=seed, clock_frame_rate=RATE, **overrides).eval()


@pytest.mark.parametrize(
    ("caption", "bpm"),
    [
        ("a slow cello melody in D minor", 64.0),
        ("brisk, fast violin, 132 BPM", 132.0),  # a number wins over a word
        ("A moderate-tempo flute tune", 99.0),
        ("an allegro string quartet", 150.0),
        ("piano at 96 beats per minute", 96.0),
        ("a lively jig on the harp", None),  # no tempo named
        ("a piano in 3/4 time", None),
        ("9000 BPM then slow", 64.0),  # an impossible number is not a tempo
    ],
)
def test_caption_bpm_reads_numbers_then_words(caption: str, bpm: float | None) -> None:
    assert caption_bpm(caption) == bpm


def test_clock_features_run_at_the_beat_and_vanish_without_a_tempo() -> None:
    feats = clock_features(torch.tensor([120.0, math.nan]), torch.tensor([0, 0]), 9, RATE)
    assert feats.shape == (2, 9, 16)
    assert not feats[1].any()  # no tempo: the clock adds nothing
    beat_cos = feats[0, :, 5 + 1]  # cos of the beat-multiple-1 phase (sin block is 5 wide)
    # 120 BPM at 8 frames/s: a beat every 4 frames, so frames 0, 4, 8 are on the beat
    assert torch.allclose(beat_cos[[0, 4, 8]], torch.ones(3), atol=1e-5)
    assert torch.allclose(beat_cos[[2, 6]], -torch.ones(2), atol=1e-5)
    # a frame offset continues the phase: frames 3.. of a clip equal a clip started at 3
    later = clock_features(torch.tensor([120.0]), torch.tensor([3]), 6, RATE)
    assert torch.allclose(later[0], feats[0, 3:9], atol=1e-5)
    # the tempo code differs between tempi even at phase 0
    other = clock_features(torch.tensor([60.0]), torch.tensor([0]), 1, RATE)
    assert not torch.allclose(other[0, 0], feats[0, 0])


def test_cue_inputs_read_captions_and_refuse_bad_values() -> None:
    dev = torch.device("cpu")
    out = cue_inputs(None, None, None, ["slow, in D minor", "no tempo here"], batch=2, device=dev)
    assert out[0, 0] == 64.0 and math.isnan(out[1, 0]) and not out[:, 1].any()
    assert out[0, 2] == 2 + 12 and math.isnan(out[1, 2])  # D minor; no key named
    named = cue_inputs(90.0, 3, ["F# major", None], None, batch=2, device=dev)
    assert named[:, 0].tolist() == [90.0, 90.0] and named[:, 1].tolist() == [3.0, 3.0]
    assert named[0, 2] == 6 and math.isnan(named[1, 2])
    with pytest.raises(ValueError, match="bpm: expected tempi in"):
        cue_inputs(5000.0, 0, None, None, batch=1, device=dev)
    with pytest.raises(ValueError, match="bpm: expected one or 2 numbers"):
        cue_inputs([90.0], 0, None, None, batch=2, device=dev)
    with pytest.raises(ValueError, match="frame_offset: expected a tensor of 2 ints"):
        cue_inputs(90.0, torch.tensor([0.5, 1.0]), None, None, batch=2, device=dev)
    with pytest.raises(ValueError, match="frame_offset: expected frames >= 0"):
        cue_inputs(90.0, -1, None, None, batch=2, device=dev)
    with pytest.raises(ValueError, match="key: expected a key like 'D minor'"):
        cue_inputs(None, 0, "H minor", None, batch=1, device=dev)
    with pytest.raises(ValueError, match="key: expected key indices 0..23"):
        cue_inputs(None, 0, 24, None, batch=1, device=dev)


def test_a_new_clock_starts_silent_and_then_changes_the_logits() -> None:
    plain, clocked = debug_model(seed=0).eval(), _clock_model()
    assert not clocked.transformer.backbone.clock_proj.weight.any()  # zero-initialised
    missing = clocked.load_state_dict(plain.state_dict(), strict=False).missing_keys
    assert missing == ["transformer.backbone.clock_proj.weight"]
    codes, (emb, mask) = random_codes(2), text_inputs(2)
    bpm = torch.tensor([120.0, 60.0])
    base = plain.logits(codes, 0, text_embeds=emb, text_mask=mask)
    assert torch.equal(base, clocked.logits(codes, 0, text_embeds=emb, text_mask=mask, bpm=bpm))
    with torch.no_grad():
        clocked.transformer.backbone.clock_proj.weight.normal_()
    moved = clocked.logits(codes, 0, text_embeds=emb, text_mask=mask, bpm=bpm)
    assert not torch.allclose(base, moved)
    # no tempo (NaN) is the clock-less model again; another offset is another phase
    none = torch.full((2,), math.nan)
    assert torch.equal(base, clocked.logits(codes, 0, text_embeds=emb, text_mask=mask, bpm=none))
    shifted = clocked.logits(
        codes, 0, text_embeds=emb, text_mask=mask, bpm=bpm, frame_offset=torch.tensor([1, 1])
    )
    assert not torch.allclose(moved, shifted)
    # a model without a clock ignores bpm altogether
    assert torch.equal(base, plain.logits(codes, 0, text_embeds=emb, text_mask=mask, bpm=bpm))


def test_generate_reads_the_tempo_from_the_caption(encoder) -> None:
    model = _clock_model(text_encoder=encoder)
    with torch.no_grad():
        model.transformer.backbone.clock_proj.weight.normal_(std=2.0)

    def make(texts, **kw):
        gen = torch.Generator().manual_seed(0)
        return model.generate(texts=texts, steps=4, generator=gen, **kw)

    slow = make(["piano at 60 BPM"])
    assert torch.equal(slow, make(["piano at 60 BPM"], bpm=60.0))  # read from the caption
    assert not torch.equal(slow, make(["piano at 60 BPM"], bpm=180.0))  # an explicit bpm wins
    assert not torch.equal(slow, make(["piano at 60 BPM"], frame_offset=2))
    assert slow.shape == (1, K, T) and int(slow.max()) < V


def test_caption_dropout_drops_the_tempo_with_the_caption_and_alone() -> None:
    cues = torch.tensor([[90.0, 7.0, 3.0]] * 64)
    tmask, dropped = drop_for_guidance(
        torch.ones(64, 3, dtype=torch.bool), cues, 0.5, generator=torch.Generator().manual_seed(0)
    )
    no_caption = ~tmask.any(dim=1)
    no_tempo, no_key = torch.isnan(dropped[:, 0]), torch.isnan(dropped[:, 2])
    assert no_tempo[no_caption].all() and no_key[no_caption].all()  # they go with the caption
    assert (no_tempo & ~no_caption).any() and (no_key & ~no_caption).any()  # and alone
    assert (no_tempo != no_key).any()  # each on its own draw
    assert (dropped[:, 1] == 7.0).all()  # the frame offset is never dropped
    assert not torch.isnan(cues).any()  # the caller's tensor is left alone


def test_the_clock_teaches_a_beat_that_the_text_does_not_carry() -> None:
    """Codes mark the beat (1 on a beat frame, 0 elsewhere) at a tempo the captions never
    state: only a model with a clock can learn where the beats fall."""
    gen = torch.Generator().manual_seed(0)
    bpm = torch.tensor([120.0, 240.0, 160.0, 80.0] * 4)  # 4, 2, 3 and 6 frames per beat
    offset = torch.randint(0, 12, (16,), generator=gen)
    frames = offset[:, None] + torch.arange(T)
    period = (60.0 * RATE / bpm).round().long()[:, None]
    codes = (frames % period == 0).long()[:, None, :].expand(-1, K, -1).contiguous()
    plain, clock = debug_model(seed=0, cond_drop_prob=0.0), _clock_model(cond_drop_prob=0.0)
    final = {
        name: fit_level0(model, codes, bpm=bpm, frame_offset=offset)
        for name, model in (("plain", plain), ("clock", clock))
    }
    # the beat share is about 0.3: without the clock the best is its entropy (~0.6 nats)
    assert final["plain"] > 0.4
    assert final["clock"] < 0.5 * final["plain"]
