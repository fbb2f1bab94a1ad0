"""TextToMusic: model folder -> audio, long outputs in overlapping windows, continuation."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from maskgmt.codecs.spectral import SpectralCodec, SpectralCodecConfig
from maskgmt.pipeline import TextToMusic

from .conftest import SR, WINDOW


@pytest.fixture(scope="module")
def pipe(model_dir: Path) -> TextToMusic:
    return TextToMusic.from_pretrained(model_dir)


def test_loads_codec_and_encoder_from_the_folder(pipe: TextToMusic, codec: SpectralCodec) -> None:
    assert pipe.codec.identity()["fingerprint"] == codec.identity()["fingerprint"]
    assert pipe.sample_rate == SR and pipe.frame_rate == 75
    assert pipe.max_seconds_per_window == pytest.approx(WINDOW / 75)


def test_long_output_is_made_in_windows_and_has_the_exact_length(pipe: TextToMusic) -> None:
    wav = pipe.generate(["a calm piano piece", "fast drums"], seconds=1.2, seed=0, steps=2)
    assert wav.shape == (2, 1, round(1.2 * SR))
    assert torch.isfinite(wav).all() and wav.abs().max() > 0
    # 90 frames with a 38-frame window and 19 frames of overlap: 38 + 19 + 19 + 14
    assert pipe.last_timings.windows == 4
    assert pipe.last_timings.audio_seconds == pytest.approx(90 / 75)
    assert pipe.last_timings.decode > 0 and pipe.last_timings.tokens > 0


def test_windows_continue_from_the_previous_window(pipe: TextToMusic, monkeypatch) -> None:
    seen: list[tuple[torch.Tensor, torch.Tensor | None]] = []
    original = pipe.model.generate

    def spy(**kwargs):
        out = original(**kwargs)
        seen.append((out.clone(), kwargs.get("prompt_mask")))
        return out

    monkeypatch.setattr(pipe.model, "generate", spy)
    codes = pipe.generate_codes(["a calm piano piece"], seconds=1.0, seed=1, steps=2)
    assert codes.shape == (1, 2, 75)
    first, mask0 = seen[0]
    assert mask0 is None and first.shape[-1] == WINDOW
    second, mask1 = seen[1]
    overlap = int(mask1[0, 0].sum())
    assert overlap == WINDOW // 2 and bool(mask1[..., :overlap].all())
    # the second window starts with the last frames of the first, given as a fixed prompt
    assert torch.equal(second[..., :overlap], first[..., -overlap:])
    assert torch.equal(codes[..., :WINDOW], first)


def test_same_seed_same_codes_other_seed_other_codes(pipe: TextToMusic) -> None:
    a = pipe.generate_codes(["soft strings"], seconds=0.6, seed=3, steps=2)
    b = pipe.generate_codes(["soft strings"], seconds=0.6, seed=3, steps=2)
    c = pipe.generate_codes(["soft strings"], seconds=0.6, seed=4, steps=2)
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_continuation_keeps_the_prompt(pipe: TextToMusic) -> None:
    prompt = torch.randint(0, 16, (1, 2, 20), generator=torch.Generator().manual_seed(0))
    codes = pipe.generate_codes(
        ["a folk tune", "a hymn"], seconds=0.8, seed=0, prompt_codes=prompt, steps=2
    )
    assert codes.shape == (2, 2, 60)
    assert torch.equal(codes[:, :, :20], prompt.expand(2, -1, -1))


def test_prompt_audio_is_encoded_with_the_models_codec(pipe: TextToMusic) -> None:
    wav = torch.zeros(1, SR // 2)
    wav[0] = 0.1 * torch.sin(torch.arange(SR // 2) * 0.05)
    codes = pipe.encode_prompt(wav, SR)
    assert codes.shape[:2] == (1, 2) and codes.dtype == torch.long
    assert torch.equal(codes, pipe.codec.encode(wav.unsqueeze(0), SR))


def test_bad_requests_name_the_argument(pipe: TextToMusic, model_dir: Path) -> None:
    # The pipeline's own messages, not a word that a check further down would also print.
    with pytest.raises(ValueError, match="texts: expected at least one caption, got an empty"):
        pipe.generate([], seconds=1.0)
    with pytest.raises(ValueError, match=r"seconds: expected > 0, got 0"):
        pipe.generate(["x"], seconds=0)
    with pytest.raises(ValueError, match=r"overlap_seconds: the overlap must be shorter than one"):
        pipe.generate(["x"], seconds=1.0, overlap_seconds=2.0)
    with pytest.raises(ValueError, match=r"overlap_seconds: .* longer than 0, got 0.001"):
        pipe.generate(["x"], seconds=1.0, overlap_seconds=0.001)
    with pytest.raises(ValueError, match=r"the prompt is 0.40 s but the output is only 0.20 s"):
        pipe.generate_codes(["x"], seconds=0.2, prompt_codes=torch.zeros(1, 2, 30).long())
    with pytest.raises(ValueError, match=r"prompt_codes: expected \[B=1 or 1, K=2, T\], got shape"):
        pipe.generate_codes(["x"], seconds=1.0, prompt_codes=torch.zeros(1, 3, 5).long())
    with pytest.raises(ValueError, match=r"prompt_codes: .*got shape \(3, 2, 5\)"):
        pipe.generate_codes(["x", "y"], seconds=1.0, prompt_codes=torch.zeros(3, 2, 5).long())
    with pytest.raises(FileNotFoundError, match=r"not a maskgmt model folder \(no config.json\)"):
        TextToMusic.from_pretrained(model_dir / "nowhere")


def test_a_codec_of_another_shape_is_refused(model_dir: Path) -> None:
    clips = [0.1 * torch.randn(1, SR)]
    other = SpectralCodec.fit(
        clips, sample_rate=SR, progress=False, config=SpectralCodecConfig(n_q=3, codebook_size=16)
    )
    with pytest.raises(ValueError, match="K=3"):
        TextToMusic.from_pretrained(model_dir, codec=other)
