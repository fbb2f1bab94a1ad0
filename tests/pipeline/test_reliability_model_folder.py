"""Loading a model folder refuses a swapped or missing codec, and corrupt or NaN weights."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from maskgmt.cli import main
from maskgmt.codecs.spectral import SpectralCodec, SpectralCodecConfig
from maskgmt.pipeline import TextToMusic

from .conftest import SR, _tones


@pytest.fixture(scope="module")
def other_codec() -> SpectralCodec:
    """Same K and V as the model's codec, fitted from another seed: a different fingerprint."""
    clips = [_tones(1.0, f) for f in (220.0, 330.0, 440.0, 262.0)]
    config = SpectralCodecConfig(n_q=2, codebook_size=16, griffin_lim_iters=4)
    return SpectralCodec.fit(clips, sample_rate=SR, config=config, progress=False, seed=1)


@pytest.fixture
def copy(model_dir: Path, tmp_path: Path) -> Path:
    out = tmp_path / "model"
    shutil.copytree(model_dir, out)
    return out


def test_a_refit_codec_is_refused(model_dir: Path, other_codec: SpectralCodec, codec) -> None:
    assert other_codec.identity()["fingerprint"] != codec.identity()["fingerprint"]
    with pytest.raises(ValueError, match="fingerprint"):
        TextToMusic.from_pretrained(model_dir, codec=other_codec)


def test_a_replaced_codec_folder_is_refused(copy: Path, other_codec: SpectralCodec) -> None:
    shutil.rmtree(copy / "codec")
    other_codec.save(copy / "codec")
    with pytest.raises(ValueError, match="not the codec model .* was trained with"):
        TextToMusic.from_pretrained(copy)
    rc = main(["generate", "x", "-o", str(copy / "x.wav"), "--model", str(copy)])
    assert rc == 2 and not (copy / "x.wav").exists()


def test_a_missing_codec_folder_is_never_looked_up_in_the_cwd(
    copy: Path, tmp_path: Path, codec: SpectralCodec, monkeypatch
) -> None:
    shutil.rmtree(copy / "codec")
    cwd = tmp_path / "cwd"
    codec.save(cwd / "codec")  # even the right codec, in ./codec, is not picked up
    monkeypatch.chdir(cwd)
    with pytest.raises(FileNotFoundError, match="lacks its codec folder"):
        TextToMusic.from_pretrained(copy)


def test_the_right_codec_still_loads(copy: Path, codec: SpectralCodec) -> None:
    assert TextToMusic.from_pretrained(copy, codec=codec).codec is codec


@pytest.mark.parametrize("damage", ["truncated", "garbage"])
def test_unreadable_weights_are_one_line_errors(copy: Path, damage: str, capsys) -> None:
    weights = copy / "model.safetensors"
    data = weights.read_bytes()
    weights.write_bytes(data[: len(data) // 2] if damage == "truncated" else b"\x00garbage" * 9)
    with pytest.raises(ValueError, match="model.safetensors: not a readable safetensors file"):
        TextToMusic.from_pretrained(copy)
    rc = main(["generate", "x", "-o", str(copy / "x.wav"), "--model", str(copy)])
    assert rc == 2 and "Traceback" not in capsys.readouterr().err


def test_nan_weights_are_refused_at_load(copy: Path) -> None:
    weights = copy / "model.safetensors"
    state = load_file(str(weights))
    name = next(n for n, t in state.items() if t.is_floating_point())
    state[name] = state[name].clone()
    state[name].view(-1)[0] = float("nan")
    save_file(state, str(weights), metadata={"format": "pt"})
    with pytest.raises(ValueError, match="NaN or inf"):
        TextToMusic.from_pretrained(copy)
    assert torch.isnan(load_file(str(weights))[name]).any()
