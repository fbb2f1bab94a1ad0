"""EncodecCodec against transformers' own `EncodecModel.encode/decode` on the same randomly
initialised weights: the same codes, in the same level order, and the same audio."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from maskgmt.codecs import EncodecCodec

HOP = 320  # the 24 kHz layout: 75 frames/s


@pytest.fixture(scope="module")
def codec() -> EncodecCodec:
    # The 24 kHz architecture, thinner (4 filters, one LSTM layer) so it runs in milliseconds.
    return EncodecCodec.from_config(
        "24khz", config_overrides={"num_filters": 4, "num_lstm_layers": 1}
    )


@pytest.fixture(scope="module")
def wav() -> torch.Tensor:
    return 0.1 * torch.randn(2, 1, 9_000, generator=torch.Generator().manual_seed(0))


def _reference_codes(codec: EncodecCodec, wav: torch.Tensor) -> torch.Tensor:
    """transformers' codes [B, K, T] of wav zero-padded to whole hops, at the codec's bandwidth."""
    t = -(-wav.shape[-1] // HOP)
    padded = F.pad(wav, (0, t * HOP - wav.shape[-1]))
    with torch.no_grad():
        out = codec.model.encode(padded, bandwidth=codec.bandwidth)
    assert out.audio_codes.shape[0] == 1  # one chunk: the whole clip
    return out.audio_codes[0]


def test_codes_equal_transformers_encode_level_by_level(codec, wav) -> None:
    codes = codec.encode(wav, 24_000)
    ref = _reference_codes(codec, wav)
    assert codes.shape == ref.shape == (2, 8, 29)
    assert codes.unique().numel() > 16  # not the degenerate all-zero codebooks
    assert torch.equal(codes, ref.long())
    # Level 0 is the first residual quantizer: the nearest code to the encoder's embedding.
    with torch.no_grad():
        emb = codec.model.encoder(F.pad(wav, (0, 29 * HOP - wav.shape[-1])))  # (B, D, T)
        flat = emb.transpose(1, 2).reshape(2 * 29, -1)  # (B * T, D)
        first = codec.model.quantizer.layers[0].codebook.quantize(flat)
    assert torch.equal(codes[:, 0], first.reshape(2, 29).long())
    assert not torch.equal(codes[:, 0], codes[:, -1])


def _decode(codec: EncodecCodec, codes: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return codec.model.decode(codes[None], [None]).audio_values


# A random decoder hardly depends on its codes (levels swapped move the audio by ~1e-5), so the
# audio must match transformers' to float rounding, far tighter than what a swap changes.
EXACT = {"atol": 1e-7, "rtol": 0.0}


def test_audio_equals_transformers_decode(codec, wav) -> None:
    codes = codec.encode(wav, 24_000)
    ref = _decode(codec, codes)
    out = codec.decode(codes)
    assert out.shape == ref.shape == (2, 1, 29 * HOP)
    torch.testing.assert_close(out, ref, **EXACT)
    assert (_decode(codec, codes.flip(1)) - ref).abs().max() > 10 * EXACT["atol"]
    # The first levels alone decode as transformers decodes those levels (the lowest bandwidth).
    low = _decode(codec, codes[:, :2])
    torch.testing.assert_close(codec.decode(codes[:, :2], levels=2), low, **EXACT)
    torch.testing.assert_close(codec.decode(codes, levels=2), low, **EXACT)
    assert (_decode(codec, codes[:, -2:]) - low).abs().max() > 10 * EXACT["atol"]
