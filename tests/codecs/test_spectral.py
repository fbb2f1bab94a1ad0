"""SpectralCodec: shapes, the quality bar, persistence, determinism and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from maskgmt.codecs import SpectralCodec, SpectralCodecConfig, check_same_codec

SR = 24_000


def chroma_similarity(original: torch.Tensor, rebuilt: torch.Tensor) -> float:
    """Mean cosine similarity of chroma frames where the original is audible. wav[S] each."""
    import librosa

    a = librosa.feature.chroma_stft(y=original.numpy(), sr=SR, n_fft=2048, hop_length=512)
    b = librosa.feature.chroma_stft(y=rebuilt.numpy(), sr=SR, n_fft=2048, hop_length=512)
    rms = librosa.feature.rms(y=original.numpy(), frame_length=2048, hop_length=512)[0]
    n = min(a.shape[1], b.shape[1], rms.shape[0])
    a, b, audible = a[:, :n], b[:, :n], rms[:n] > 0.05 * rms.max()
    cos = (a * b).sum(0) / (np.linalg.norm(a, axis=0) * np.linalg.norm(b, axis=0) + 1e-9)
    return float(cos[audible].mean())


@pytest.fixture(scope="module")
def quality_codec(train_clips):
    """K=8 levels as EnCodec 24 kHz; V=256 codes keeps the fit to seconds on 60 s of audio."""
    config = SpectralCodecConfig(n_q=8, codebook_size=256)
    return SpectralCodec.fit(
        train_clips, sample_rate=SR, config=config, kmeans_iters=4, progress=False
    )


def test_quality_bar_on_held_out_notes(quality_codec, held_out_clips):
    codec = quality_codec
    wav = torch.stack(held_out_clips)  # (B, 1, S)
    codes = codec.encode(wav, SR)
    rebuilt = codec.decode(codes)
    sims = [chroma_similarity(wav[b, 0], rebuilt[b, 0]) for b in range(wav.shape[0])]
    assert np.mean(sims) >= 0.9, sims

    # Each added level lowers the spectral error (on audio the codebooks never saw).
    target = codec.features(wav[:, 0])
    errors = [float((codec.dequantize(codes[:, :k]) - target).pow(2).mean()) for k in range(1, 9)]
    assert all(later < earlier for earlier, later in zip(errors, errors[1:], strict=False)), errors
    # ... and after phase reconstruction, all levels beat one level.
    one_level = codec.decode(codes[:1], levels=1)[:, 0]
    err_1 = float((codec.features(one_level) - target[:1]).pow(2).mean())
    err_8 = float((codec.features(rebuilt[:1, 0]) - target[:1]).pow(2).mean())
    assert err_8 < err_1


def test_shapes_rates_and_ranges(tiny_codec):
    codec = tiny_codec
    assert (codec.sample_rate, codec.frame_rate, codec.channels) == (SR, 75.0, 1)
    wav = 0.1 * torch.randn(2, 2, 44_100)  # 1 s of stereo at 44.1 kHz: resampled and mixed
    codes = codec.encode(wav, 44_100)
    assert codes.dtype == torch.long and codes.shape == (2, 4, 75)
    assert int(codes.min()) >= 0 and int(codes.max()) < 32
    out = codec.decode(codes)
    assert out.shape == (2, 1, 75 * 320) and out.dtype == torch.float32
    assert torch.isfinite(out).all()
    # A clip that is not a whole number of hops gets ceil(S / hop) frames, as EnCodec.
    assert codec.encode(torch.zeros(1, 1, 321) + 0.01, SR).shape == (1, 4, 2)


def test_default_layout_matches_encodec_24khz():
    config = SpectralCodecConfig()
    assert (config.n_q, config.codebook_size) == (8, 1024)
    assert config.sample_rate / config.hop_length == 75.0


def test_fit_save_load_gives_identical_codes(tiny_codec, held_out_clips, tmp_path):
    tiny_codec.save(tmp_path / "codec")
    loaded = SpectralCodec.load(tmp_path / "codec")
    wav = held_out_clips[0][None]
    assert torch.equal(tiny_codec.encode(wav, SR), loaded.encode(wav, SR))
    assert loaded.identity() == tiny_codec.identity()
    assert loaded.identity()["source"] == str((tmp_path / "codec").resolve())
    json.dumps(loaded.identity())  # JSON-able


def test_fit_is_seeded_and_identity_tells_fits_apart(train_clips):
    config = SpectralCodecConfig(n_q=2, codebook_size=16, griffin_lim_iters=4)

    def fit(seed):
        clips = train_clips[:1]
        return SpectralCodec.fit(
            clips, sample_rate=SR, config=config, kmeans_iters=2, seed=seed, progress=False
        )

    a, b, c = fit(0), fit(0), fit(1)
    assert torch.equal(a.codebooks, b.codebooks)
    assert a.identity()["fingerprint"] == b.identity()["fingerprint"]
    assert a.identity()["fingerprint"] != c.identity()["fingerprint"]
    check_same_codec(a.identity(), b)
    with pytest.raises(ValueError, match="fingerprint"):
        check_same_codec(a.identity(), c)


def test_decode_first_levels_only(tiny_codec):
    codes = tiny_codec.encode(0.1 * torch.randn(1, 1, 4000), SR)
    assert tiny_codec.decode(codes[:, :2], levels=2).shape == (1, 1, codes.shape[-1] * 320)
    assert tiny_codec.decode(codes, levels=1).shape == (1, 1, codes.shape[-1] * 320)
    with pytest.raises(ValueError, match="K=2 levels but this codec has n_q=4"):
        tiny_codec.decode(codes[:, :2])
    with pytest.raises(ValueError, match="levels must be in 1..4"):
        tiny_codec.decode(codes, levels=5)


def test_long_audio_in_chunks_matches_one_pass(train_clips):
    whole = SpectralCodecConfig(n_q=2, codebook_size=16, griffin_lim_iters=2)
    chunked = SpectralCodecConfig(n_q=2, codebook_size=16, griffin_lim_iters=2, chunk_seconds=1.0)
    a = SpectralCodec.fit(
        train_clips[:1], sample_rate=SR, config=whole, kmeans_iters=1, progress=False
    )
    b = SpectralCodec(config=chunked, codebooks=a.codebooks)
    wav = train_clips[0][None, :, : 5 * SR]
    torch.testing.assert_close(a.features(wav[:, 0]), b.features(wav[:, 0]))
    codes = a.encode(wav, SR)
    assert torch.equal(codes, b.encode(wav, SR))
    out = b.decode(codes)  # five pieces joined by cross-fades
    assert out.shape == (1, 1, 5 * SR) and torch.isfinite(out).all()
    assert float(out.abs().max()) > 0.01


# ---- bad input -------------------------------------------------------------------------------
def test_codes_outside_codebook_are_refused(tiny_codec):
    codes = torch.zeros(1, 4, 10, dtype=torch.long)
    codes[0, 1, 3] = 32
    with pytest.raises(ValueError, match=r"\[0, 32\).*\[0, 32\]"):
        tiny_codec.decode(codes)
    with pytest.raises(ValueError, match="integer"):
        tiny_codec.decode(codes.float())
    with pytest.raises(ValueError, match=r"codes\[B, K, T\]"):
        tiny_codec.decode(codes[0])


@pytest.mark.parametrize(
    ("wav", "sample_rate", "message"),
    [
        (torch.full((1, 1, 100), float("nan")), SR, "NaN/inf"),
        (torch.tensor([[[0.1, float("inf")]]]), SR, "NaN/inf"),
        (torch.zeros(1, 1, 100), 0, "sample_rate"),
        (torch.zeros(1, 1, 100), -8000, "sample_rate"),
        (torch.zeros(100), SR, r"wav\[B, C, S\]"),
        (torch.zeros(1, 1, 0), SR, "empty"),
        (torch.zeros(1, 1, 100, dtype=torch.long), SR, "float"),
    ],
)
def test_bad_audio_is_refused(tiny_codec, wav, sample_rate, message):
    with pytest.raises(ValueError, match=message):
        tiny_codec.encode(wav, sample_rate)


def test_fit_refuses_silent_or_too_little_audio():
    config = SpectralCodecConfig(n_q=1, codebook_size=16)
    with pytest.raises(ValueError, match="silent"):
        SpectralCodec.fit([torch.zeros(1, SR)], sample_rate=SR, config=config, progress=False)
    with pytest.raises(ValueError, match="at least 16 frames"):
        short = 0.1 * torch.randn(1, 320 * 5)
        SpectralCodec.fit([short], sample_rate=SR, config=config, progress=False)
    with pytest.raises(ValueError, match="no training audio"):
        SpectralCodec.fit([], sample_rate=SR, config=config, progress=False)


def test_bad_config_and_corrupt_folder(tiny_codec, tmp_path):
    with pytest.raises(ValueError, match="n_fft"):
        SpectralCodecConfig(n_fft=320, hop_length=320)
    with pytest.raises(ValueError, match="codebook_size"):
        SpectralCodecConfig(codebook_size=0)
    with pytest.raises(FileNotFoundError, match="spectral_codec.json"):
        SpectralCodec.load(tmp_path / "nothing")
    folder = tiny_codec.save(tmp_path / "codec")
    (folder / "spectral_codec.json").write_text("{not json")
    with pytest.raises(ValueError, match="not a valid SpectralCodec config"):
        SpectralCodec.load(folder)


def test_decoding_a_single_frame_gives_one_hop_of_audio() -> None:
    clips = [0.1 * torch.sin(torch.arange(24_000) * 0.05).unsqueeze(0)]
    codec = SpectralCodec.fit(
        clips, sample_rate=24_000, progress=False,
        config=SpectralCodecConfig(n_q=2, codebook_size=4, griffin_lim_iters=2),
    )  # fmt: skip
    wav = codec.decode(torch.zeros(1, 2, 1, dtype=torch.long))
    assert wav.shape == (1, 1, 320) and torch.isfinite(wav).all()


def test_save_is_atomic_per_file(tiny_codec, tmp_path, monkeypatch) -> None:
    """A save that dies mid-write leaves the folder's previous codec whole and loadable."""
    import safetensors.torch

    folder = tiny_codec.save(tmp_path / "codec")
    before = {p.name: p.read_bytes() for p in folder.iterdir()}

    def dies(tensors, path, *args, **kwargs):
        Path(path).write_bytes(b"half a file")  # the write starts, then the disk fills up
        raise OSError("disk full")

    monkeypatch.setattr(safetensors.torch, "save_file", dies)
    with pytest.raises(OSError, match="disk full"):
        tiny_codec.save(folder)
    assert {p.name: p.read_bytes() for p in folder.iterdir() if p.suffix != ".tmp"} == before
    monkeypatch.undo()
    assert torch.equal(SpectralCodec.load(folder).codebooks, tiny_codec.codebooks)
    tiny_codec.save(folder)
    assert not list(folder.glob(".*.tmp"))  # a finished save leaves no temp file


def test_bin_weighting_decides_where_the_error_goes(train_clips, held_out_clips, tmp_path):
    """Equal bin weights (the default) spend the codes across the whole spectrum, so the upper
    partials (timbre) come back closer; mel weights favour the bins below 1 kHz (pitch). A codec
    saved with mel weights keeps them when loaded, so older codecs decode as they were fitted."""
    assert SpectralCodecConfig().mel_weighting is False

    def fit(mel: bool) -> SpectralCodec:
        config = SpectralCodecConfig(n_q=2, codebook_size=64, mel_weighting=mel)
        return SpectralCodec.fit(
            train_clips, sample_rate=SR, config=config, kmeans_iters=4, progress=False
        )

    wav = torch.stack(held_out_clips)  # (B, 1, S)
    freqs = torch.linspace(0.0, SR / 2, SpectralCodecConfig().num_bins)

    def band_errors(codec: SpectralCodec) -> tuple[float, float]:
        """Mean squared log-magnitude error below 1 kHz and above 3 kHz (where it is audible)."""
        feats = codec.features(wav[:, 0])
        err = codec.log_magnitude(codec.dequantize(codec.encode(wav, SR)) - feats).pow(2)
        audible = codec.log_magnitude(feats) > -9.0  # ~-78 dB, clear of the -60 dB floor
        low, high = (freqs < 1000.0), (freqs > 3000.0)
        return tuple(float(err[..., band][audible[..., band]].mean()) for band in (low, high))

    mel, flat = fit(True), fit(False)
    (mel_low, mel_high), (flat_low, flat_high) = band_errors(mel), band_errors(flat)
    assert flat_high < mel_high and mel_low < flat_low, (mel_low, mel_high, flat_low, flat_high)
    mel.save(tmp_path / "mel")
    loaded = SpectralCodec.load(tmp_path / "mel")
    assert loaded.config.mel_weighting is True
    assert torch.equal(loaded.encode(wav, SR), mel.encode(wav, SR))
    meta_path = tmp_path / "mel" / "spectral_codec.json"
    meta = json.loads(meta_path.read_text())
    del meta["config"]["mel_weighting"]  # a config written before the key was spelled out
    meta_path.write_text(json.dumps(meta))
    assert SpectralCodec.load(tmp_path / "mel").identity() == loaded.identity()
