"""maskgmt.audio: read/write/resample round trips and a clear error for each bad file."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import soundfile as sf
import torch

from maskgmt.audio import list_audio_files, read_audio, resample, write_audio


def tone(freq: float, seconds: float, sr: int) -> torch.Tensor:
    t = torch.arange(int(seconds * sr)) / sr
    return 0.5 * torch.sin(2 * math.pi * freq * t)


def test_write_read_round_trip_keeps_channels_rate_and_samples(tmp_path):
    wav = torch.stack([tone(440, 0.5, 16_000), tone(660, 0.5, 16_000)])  # (2, S)
    path = write_audio(tmp_path / "sub" / "x.wav", wav, 16_000)
    back, sr = read_audio(path)
    assert sr == 16_000 and back.shape == wav.shape and back.dtype == torch.float32
    assert float((back - wav).abs().max()) < 1e-4  # PCM_16 rounding only


def test_write_clips_instead_of_wrapping(tmp_path):
    back, _ = read_audio(write_audio(tmp_path / "loud.wav", torch.full((1, 100), 3.0), 8_000))
    assert float(back.min()) > 0.99


def test_resample_keeps_pitch_and_length():
    wav = tone(1000, 1.0, 44_100)[None, None]  # (1, 1, S)
    out = resample(wav, 44_100, 24_000)
    assert out.shape == (1, 1, 24_000) and out.dtype == wav.dtype
    spectrum = torch.fft.rfft(out[0, 0]).abs()
    assert abs(int(spectrum.argmax()) - 1000) <= 1  # 1 Hz bins for 1 s
    assert resample(wav, 16_000, 16_000) is wav


@pytest.mark.parametrize(("sr_in", "sr_out"), [(0, 24_000), (24_000, 0), (-1, 8_000), (1.5, 8)])
def test_resample_refuses_bad_rates(sr_in, sr_out):
    with pytest.raises(ValueError, match="sr_"):
        resample(torch.zeros(1, 100), sr_in, sr_out)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.wav"):
        read_audio(tmp_path / "nope.wav")


def test_folder_is_not_a_file(tmp_path):
    with pytest.raises(ValueError, match="is not a file"):
        read_audio(tmp_path)


def test_corrupt_and_unreadable_files(tmp_path):
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"RIFF\x00\x00\x00\x00WAVEnot really audio" * 3)
    with pytest.raises(ValueError, match="could not read audio file .*junk.wav"):
        read_audio(junk)
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(ValueError, match="could not read audio file .*notes.txt"):
        read_audio(text)
    good = write_audio(tmp_path / "cut.wav", tone(440, 1.0, 8_000)[None], 8_000)
    truncated = tmp_path / "truncated.wav"
    truncated.write_bytes(good.read_bytes()[:30])  # header cut mid-way
    with pytest.raises(ValueError, match="truncated.wav"):
        read_audio(truncated)


def test_zero_length_file(tmp_path):
    path = tmp_path / "empty.wav"
    sf.write(str(path), np.zeros((0, 1), dtype=np.float32), 8_000)
    with pytest.raises(ValueError, match="zero length"):
        read_audio(path)


def test_nan_samples_in_file(tmp_path):
    path = tmp_path / "nan.wav"
    data = np.zeros((100, 1), dtype=np.float32)
    data[10] = np.nan
    sf.write(str(path), data, 8_000, subtype="FLOAT")
    with pytest.raises(ValueError, match="NaN/inf"):
        read_audio(path)


@pytest.mark.parametrize(
    ("wav", "sr", "message"),
    [
        (torch.zeros(100), 8_000, r"wav\[C, S\]"),
        (torch.zeros(1, 0), 8_000, "no samples"),
        (torch.full((1, 10), float("inf")), 8_000, "NaN/inf"),
        (torch.zeros(1, 10), 0, "sample_rate"),
    ],
)
def test_write_refuses_bad_input(tmp_path, wav, sr, message):
    with pytest.raises(ValueError, match=message):
        write_audio(tmp_path / "x.wav", wav, sr)


def test_list_audio_files_from_manifest_and_folder(tmp_path):
    write_audio(tmp_path / "a.wav", torch.zeros(1, 10), 8_000)
    write_audio(tmp_path / "deep" / "b.flac", torch.zeros(1, 10), 8_000)
    (tmp_path / "m.jsonl").write_text(json.dumps({"audio": "deep/b.flac", "text": "t"}) + "\n\n")
    assert list_audio_files(tmp_path / "m.jsonl") == [tmp_path / "deep" / "b.flac"]
    assert list_audio_files(tmp_path) == [tmp_path / "a.wav", tmp_path / "deep" / "b.flac"]
    (tmp_path / "bad.jsonl").write_text('{"text": "no audio"}\n')
    with pytest.raises(ValueError, match=r"bad.jsonl:1 needs an \"audio\""):
        list_audio_files(tmp_path / "bad.jsonl")
