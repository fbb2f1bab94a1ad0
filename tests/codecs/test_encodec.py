"""EncodecCodec from config (24 and 32 kHz layouts): shapes, ranges, persistence, hub errors."""

from __future__ import annotations

import pytest
import torch

from maskgmt.codecs import EncodecCodec, load_codec


@pytest.fixture(scope="module")
def codec_24k():
    return EncodecCodec.from_config("24khz")


@pytest.fixture(scope="module")
def codec_32k():
    return EncodecCodec.from_config("32khz")


def test_24khz_layout_shapes_and_ranges(codec_24k):
    c = codec_24k
    assert (c.sample_rate, c.frame_rate, c.n_q, c.codebook_size) == (24_000, 75.0, 8, 1024)
    wav = 0.1 * torch.randn(2, 1, 9_000)  # 0.375 s: not a whole number of hops
    codes = c.encode(wav, 24_000)
    assert codes.dtype == torch.long and codes.shape == (2, 8, 29)  # ceil(9000 / 320)
    assert int(codes.min()) >= 0 and int(codes.max()) < 1024
    assert codes.unique().numel() > 16  # the random codebooks are really used
    out = c.decode(codes)
    assert out.shape == (2, 1, 29 * 320) and torch.isfinite(out).all()
    assert c.decode(codes[:, :2], levels=2).shape == out.shape


def test_32khz_layout_resamples_and_mixes(codec_32k):
    c = codec_32k
    assert (c.sample_rate, c.frame_rate, c.n_q, c.codebook_size) == (32_000, 50.0, 4, 2048)
    assert c.identity()["bandwidth"] == 2.2
    wav = 0.1 * torch.randn(1, 2, 12_000)  # 0.5 s stereo at 24 kHz -> 16000 samples mono
    codes = c.encode(wav, 24_000)
    assert codes.shape == (1, 4, 25) and int(codes.max()) < 2048
    assert c.decode(codes).shape == (1, 1, 25 * 640)


def test_bandwidth_picks_k(codec_24k):
    c = EncodecCodec(model=codec_24k.model, source="test", bandwidth=1.5)
    assert c.n_q == 2
    assert c.encode(0.1 * torch.randn(1, 1, 3_200), 24_000).shape == (1, 2, 10)
    with pytest.raises(ValueError, match="bandwidth 5.0 kbps is not offered"):
        EncodecCodec(model=codec_24k.model, source="test", bandwidth=5.0)
    with pytest.raises(ValueError, match="layout"):
        EncodecCodec.from_config("48khz")


def test_save_then_from_pretrained_folder_gives_identical_codes(codec_24k, tmp_path):
    folder = codec_24k.save(tmp_path / "encodec")
    assert (folder / "config.json").is_file() and (folder / "model.safetensors").is_file()
    reloaded = EncodecCodec.from_pretrained(folder)
    wav = 0.1 * torch.randn(1, 1, 4_800)
    assert torch.equal(codec_24k.encode(wav, 24_000), reloaded.encode(wav, 24_000))
    assert reloaded.identity() == codec_24k.identity()
    via_loader = load_codec(str(folder))
    assert isinstance(via_loader, EncodecCodec)
    assert via_loader.identity()["fingerprint"] == codec_24k.identity()["fingerprint"]


def test_chunked_encode_decode_matches_one_pass(codec_24k):
    # Context longer than the clip: every chunk sees all of it, so only the bookkeeping of
    # chunk offsets can make a difference.
    chunked = EncodecCodec(
        model=codec_24k.model, source="x", chunk_seconds=0.1, context_seconds=1.0
    )
    wav = 0.1 * torch.randn(2, 1, 4_000)  # 13 frames: chunks of 7 and 6
    codes = codec_24k.encode(wav, 24_000)
    assert torch.equal(chunked.encode(wav, 24_000), codes)
    torch.testing.assert_close(chunked.decode(codes), codec_24k.decode(codes), atol=1e-4, rtol=0)


def test_bad_codes_and_audio(codec_24k):
    with pytest.raises(ValueError, match=r"\[0, 1024\)"):
        codec_24k.decode(torch.full((1, 8, 5), 1024))
    with pytest.raises(ValueError, match="K=4 levels but this codec has n_q=8"):
        codec_24k.decode(torch.zeros(1, 4, 5, dtype=torch.long))
    with pytest.raises(ValueError, match="NaN/inf"):
        codec_24k.encode(torch.full((1, 1, 640), float("nan")), 24_000)
    with pytest.raises(ValueError, match="sample_rate"):
        codec_24k.encode(torch.zeros(1, 1, 640), 0)


def test_models_with_per_chunk_scales_are_refused():
    with pytest.raises(ValueError, match="per-chunk scales"):
        EncodecCodec.from_config(
            "24khz", config_overrides={"normalize": True, "num_filters": 4, "num_lstm_layers": 1}
        )


@pytest.fixture
def no_hub(monkeypatch, tmp_path):
    """An empty cache and a hub endpoint that refuses connections (no real network used)."""
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub-cache"))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "ENDPOINT", "http://127.0.0.1:9")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub-cache"))


def test_hub_id_without_network_says_what_to_do(no_hub):
    with pytest.raises(FileNotFoundError, match="could not download 'facebook/encodec_24khz'"):
        EncodecCodec.from_pretrained("facebook/encodec_24khz")
    with pytest.raises(FileNotFoundError, match="pass a local folder"):
        load_codec("encodec_32khz")


def test_hub_id_in_offline_mode_fails_fast(no_hub, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(FileNotFoundError, match="HF_HUB_OFFLINE"):
        EncodecCodec.from_pretrained("facebook/encodec_24khz")
