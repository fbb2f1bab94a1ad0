"""Fixtures for the data tests: a fast fake codec, a fake text encoder, and real WAV files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch


class FakeCodec:
    """A tiny `AudioCodec`: 16 kHz mono, frames of 320 samples, each level a fixed random
    projection of the frame quantised to `codebook_size` bins. Frames are independent, so
    zero-padding never changes the codes of the real frames."""

    sample_rate = 16_000
    channels = 1
    frame_rate = 50.0
    hop = 320

    def __init__(self, *, n_q: int = 4, codebook_size: int = 64, seed: int = 0) -> None:
        self.n_q, self.codebook_size = n_q, codebook_size
        g = torch.Generator().manual_seed(seed)
        self.projection = torch.randn(self.hop, n_q, generator=g) / self.hop**0.5  # (hop, K)
        self.calls = 0  # encode calls, for resume tests
        self.clips = 0  # clips encoded

    def encode(self, wav: torch.Tensor, sample_rate: int) -> torch.Tensor:
        """wav[B, C, S] -> codes[B, K, ceil(S' / 320)] where S' is S at 16 kHz."""
        self.calls += 1
        self.clips += wav.shape[0]
        wav = wav.mean(dim=1)  # (B, S) mono
        if sample_rate != self.sample_rate:  # the tests only use whole-number ratios
            factor = self.sample_rate // sample_rate
            wav = wav.repeat_interleave(factor, dim=-1)
        frames = -(-wav.shape[-1] // self.hop)
        wav = torch.nn.functional.pad(wav, (0, frames * self.hop - wav.shape[-1]))
        feats = wav.reshape(wav.shape[0], frames, self.hop) @ self.projection  # (B, T, K)
        codes = (torch.sigmoid(8 * feats) * self.codebook_size).long()
        return codes.clamp(0, self.codebook_size - 1).transpose(1, 2)  # (B, K, T)

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        return torch.zeros(codes.shape[0], 1, codes.shape[-1] * self.hop)

    def identity(self) -> dict:
        return {
            "kind": "fake",
            "source": "tests",
            "n_q": self.n_q,
            "codebook_size": self.codebook_size,
            "sample_rate": self.sample_rate,
            "frame_rate": self.frame_rate,
        }


class Crash(BaseException):
    """Like a kill: not an Exception, so nothing in the library catches it."""


def _crashing(codec_cls: type, after_clips: int = 2) -> type:
    """A subclass of `codec_cls` whose encode raises Crash once it has encoded `after_clips`."""

    class Crashing(codec_cls):
        def encode(self, wav: torch.Tensor, sample_rate: int) -> torch.Tensor:
            if self.clips >= after_clips:
                raise Crash
            return super().encode(wav, sample_rate)

    return Crashing


class FakeTextEncoder:
    """A `TextEncoder` whose caption of n words gives n tokens of a fixed per-word vector."""

    name = "fake-words"
    dim = 8
    max_length = 16

    def encode(self, texts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        words = [t.split()[: self.max_length] for t in texts]
        length = max(len(w) for w in words)
        emb = torch.zeros(len(texts), length, self.dim)  # (B, L, D)
        mask = torch.zeros(len(texts), length, dtype=torch.bool)  # (B, L)
        for b, ws in enumerate(words):
            for i, w in enumerate(ws):
                g = torch.Generator().manual_seed(sum(map(ord, w)))
                emb[b, i] = torch.randn(self.dim, generator=g)
                mask[b, i] = True
        return emb, mask


def _tone(seconds: float, sr: int, channels: int, freq: float) -> np.ndarray:
    t = np.arange(int(round(seconds * sr))) / sr
    wave = 0.3 * np.sin(2 * np.pi * freq * t) + 0.05 * np.sin(2 * np.pi * 3.3 * freq * t)
    return np.stack([wave * (1 - 0.2 * c) for c in range(channels)], axis=1).astype(np.float32)


# name, seconds, sample rate, channels, caption, extra fields
GOOD_CLIPS = [
    ("a.wav", 2.0, 16_000, 1, "a calm piano tune", {"instrument": "piano", "tempo_bpm": 80.0}),
    ("b.wav", 1.9, 16_000, 1, "a fast violin line", {"instrument": "violin", "tempo_bpm": 140}),
    ("c.wav", 3.0, 16_000, 2, "stereo strings", {"instrument": "cello", "accompaniment": "piano"}),
    ("d.wav", 2.5, 8_000, 1, "a low flute", {"instrument": "flute"}),
]


@pytest.fixture(scope="session")
def clips_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four good WAVs (mono/stereo, 16 and 8 kHz), one too short, one corrupt; captions in .txt."""
    folder = tmp_path_factory.mktemp("clips")
    for i, (name, seconds, sr, channels, caption, _) in enumerate(GOOD_CLIPS):
        sf.write(folder / name, _tone(seconds, sr, channels, 220.0 * (i + 1)), sr)
        (folder / name).with_suffix(".txt").write_text(caption + "\n")
    sf.write(folder / "short.wav", _tone(0.4, 16_000, 1, 330.0), 16_000)
    (folder / "short.txt").write_text("too short to keep")
    (folder / "corrupt.wav").write_bytes(b"RIFF\x00\x01not really a wave file" * 10)
    (folder / "corrupt.txt").write_text("a broken file")
    return folder


@pytest.fixture(scope="session")
def manifest_path(clips_dir: Path) -> Path:
    """A manifest (relative paths) of the good clips, the short one and the corrupt one."""
    lines = [
        {"audio": name, "text": caption, **extra} for name, _, _, _, caption, extra in GOOD_CLIPS
    ]
    lines.insert(2, {"audio": "corrupt.wav", "text": "a broken file", "instrument": "piano"})
    lines.insert(4, {"audio": "short.wav", "text": "too short to keep", "instrument": "oboe"})
    path = clips_dir / "manifest.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


@pytest.fixture(scope="session")
def make_codec() -> type[FakeCodec]:
    """The FakeCodec class (tests build fresh ones, or subclass it)."""
    return FakeCodec


@pytest.fixture(scope="session")
def good_clips() -> list[tuple]:
    """(name, seconds, sample rate, channels, caption, extra fields) of the good WAVs."""
    return GOOD_CLIPS


@pytest.fixture
def fake_text_encoder() -> FakeTextEncoder:
    return FakeTextEncoder()


@pytest.fixture
def crashing():
    """`crashing(codec_cls)`: a codec class whose encode raises `crashing.Crash` (a stand-in for
    a kill) after two clips."""
    _crashing.Crash = Crash
    return _crashing
