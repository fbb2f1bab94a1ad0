"""`maskgmt generate` options that could be dropped unnoticed: --prompt-audio must become the
first frames of the output's codes, and --negative must reach the model's unconditional branch."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from maskgmt.audio import read_audio
from maskgmt.cli import main
from maskgmt.model import MaskGmt
from maskgmt.pipeline import TextToMusic


def _generate(model_dir: Path, out: Path, *extra: str) -> int:
    args = ["generate", "a hymn", "-o", str(out), "--model", str(model_dir), "--steps", "1"]
    return main([*args, *extra])


@pytest.fixture
def decoded(monkeypatch: pytest.MonkeyPatch) -> list[torch.Tensor]:
    """The codes every `TextToMusic.decode` call turns into audio."""
    seen: list[torch.Tensor] = []
    original = TextToMusic.decode

    def spy(self, codes):
        seen.append(codes.clone())
        return original(self, codes)

    monkeypatch.setattr(TextToMusic, "decode", spy)
    return seen


@pytest.fixture
def model_calls(monkeypatch: pytest.MonkeyPatch) -> list[dict]:
    """The keyword arguments of every `MaskGmt.generate` call."""
    seen: list[dict] = []
    original = MaskGmt.generate

    def spy(self, *args, **kwargs):
        seen.append(kwargs)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(MaskGmt, "generate", spy)
    return seen


def test_prompt_audio_codes_begin_the_output(
    model_dir: Path, tmp_path: Path, decoded: list[torch.Tensor]
) -> None:
    prompt = tmp_path / "prompt.wav"
    assert _generate(model_dir, prompt, "--seconds", "0.4") == 0
    decoded.clear()
    out = tmp_path / "longer.wav"
    assert _generate(model_dir, out, "--seconds", "1", "--prompt-audio", str(prompt)) == 0
    (codes,) = decoded
    wav, sr = read_audio(prompt)
    expected = TextToMusic.from_pretrained(model_dir).encode_prompt(wav, sr)  # [1, K, Tp]
    assert expected.shape[-1] == 30 and codes.shape[-1] == 75  # 0.4 s and 1 s at 75 frames/s
    assert torch.equal(codes[..., :30], expected)


def test_negative_prompt_reaches_the_model(
    model_dir: Path, tmp_path: Path, model_calls: list[dict], decoded: list[torch.Tensor]
) -> None:
    assert _generate(model_dir, tmp_path / "a.wav", "--seconds", "0.4", "--negative", "noise") == 0
    assert model_calls and all(c.get("negative_texts") == ["noise"] for c in model_calls)
    assert all(c.get("cond_scale", 3.0) != 1.0 for c in model_calls)  # guided: the branch is used
    model_calls.clear()
    assert _generate(model_dir, tmp_path / "b.wav", "--seconds", "0.4") == 0
    assert all(c.get("negative_texts") is None for c in model_calls)
    with_negative, without = decoded
    assert not torch.equal(with_negative, without)  # same seed: only the negative differs


def test_choice_temperature_reaches_the_model(
    model_dir: Path, tmp_path: Path, model_calls: list[dict]
) -> None:
    args = ("--seconds", "0.4", "--choice-temperature", "0")
    assert _generate(model_dir, tmp_path / "a.wav", *args) == 0
    assert model_calls and all(c.get("choice_temperature") == 0.0 for c in model_calls)
