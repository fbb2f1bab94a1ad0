"""Shared fixtures: instrument notes rendered by FluidSynth (or synthesized), fitted codecs."""

from __future__ import annotations

import shutil
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch

SOUNDFONT = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
SAMPLE_RATE = 24_000


def _varlen(value: int) -> bytes:
    """MIDI variable-length quantity."""
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    return bytes(reversed(out))


def write_midi(path: Path, notes: list[tuple[int, float, float]], *, program: int) -> None:
    """A one-track MIDI file: notes are (pitch, start_s, duration_s) at 120 bpm, GM `program`."""
    ticks_per_beat = 480
    ticks_per_second = 2 * ticks_per_beat  # 120 bpm
    events = []
    for pitch, start, dur in notes:
        events.append((round(start * ticks_per_second), 0x90, pitch, 90))
        events.append((round((start + dur) * ticks_per_second), 0x80, pitch, 0))
    events.sort(key=lambda e: (e[0], e[1] == 0x90))
    track = bytearray(b"\x00\xff\x51\x03" + (500_000).to_bytes(3, "big"))  # tempo: 120 bpm
    track += b"\x00" + bytes([0xC0, program])
    now = 0
    for tick, status, pitch, velocity in events:
        track += _varlen(tick - now) + bytes([status, pitch, velocity])
        now = tick
    track += b"\x00\xff\x2f\x00"
    header = b"MThd" + struct.pack(">IHHH", 6, 0, 1, ticks_per_beat)
    path.write_bytes(header + b"MTrk" + struct.pack(">I", len(track)) + bytes(track))


def synth_notes(notes: list[tuple[int, float, float]], *, seconds: float) -> np.ndarray:
    """Fallback when FluidSynth is absent: decaying harmonic tones, float32 [S]."""
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    out = np.zeros_like(t)
    for pitch, start, dur in notes:
        f0 = 440.0 * 2 ** ((pitch - 69) / 12)
        on = (t >= start) & (t < start + dur)
        local = t[on] - start
        env = np.exp(-3.0 * local) * np.minimum(1.0, local * 200)
        for h in range(1, 8):
            if f0 * h < SAMPLE_RATE / 2:
                out[on] += env * np.sin(2 * np.pi * f0 * h * local) / h
    return (0.3 * out / max(1e-9, np.abs(out).max())).astype(np.float32)


def render(notes, *, program: int, seconds: float, workdir: Path) -> torch.Tensor:
    """Render notes with FluidSynth and GM `program` -> wav[1, S] float32 at 24 kHz."""
    import soundfile as sf

    if shutil.which("fluidsynth") is None or not SOUNDFONT.exists():
        return torch.from_numpy(synth_notes(notes, seconds=seconds))[None]
    midi, wav_path = workdir / f"p{program}.mid", workdir / f"p{program}.wav"
    write_midi(midi, notes, program=program)
    subprocess.run(
        [
            "fluidsynth",
            "-ni",
            "-q",
            "-g",
            "0.8",
            "-r",
            str(SAMPLE_RATE),
            "-F",
            str(wav_path),
            str(SOUNDFONT),
            str(midi),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    data, sr = sf.read(str(wav_path), dtype="float32", always_2d=True)
    assert sr == SAMPLE_RATE
    wav = torch.from_numpy(data.T.mean(0, keepdims=True).copy())
    return wav[:, : int(seconds * SAMPLE_RATE)]


def melody(seed: int, *, seconds: float, low: int = 48, high: int = 84) -> list:
    """A random melody with some two-note chords: (pitch, start_s, duration_s) tuples."""
    rng = np.random.default_rng(seed)
    notes, t = [], 0.0
    while t < seconds - 0.5:
        dur = float(rng.choice([0.25, 0.5, 0.75]))
        pitch = int(rng.integers(low, high))
        notes.append((pitch, t, dur))
        if rng.random() < 0.3:
            notes.append((pitch + int(rng.choice([3, 4, 7])), t, dur))
        t += dur
    return notes


# ---- fixtures -------------------------------------------------------------------------------
# (program, seed) pairs: GM piano, violin, nylon guitar, flute, organ.
TRAIN_PARTS = [(0, 1), (40, 2), (24, 3), (73, 4), (19, 5)]
HELD_OUT_PARTS = [(0, 11), (40, 12), (24, 13), (73, 14)]


@pytest.fixture(scope="session")
def render_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("renders")


@pytest.fixture(scope="session")
def train_clips(render_dir) -> list[torch.Tensor]:
    """Five instruments x 12 s of random melodies: wav[1, S] at 24 kHz each."""
    return [
        render(melody(seed, seconds=12), program=program, seconds=12, workdir=render_dir)
        for program, seed in TRAIN_PARTS
    ]


@pytest.fixture(scope="session")
def held_out_clips(render_dir) -> list[torch.Tensor]:
    """Other melodies on the same instruments, never seen by the fitted codecs: wav[1, S]."""
    return [
        render(melody(seed, seconds=6), program=program, seconds=6, workdir=render_dir)
        for program, seed in HELD_OUT_PARTS
    ]


@pytest.fixture(scope="session")
def tiny_codec(train_clips):
    """A small, quickly fitted SpectralCodec (K=4, V=32) for plumbing tests."""
    from maskgmt.codecs import SpectralCodec, SpectralCodecConfig

    config = SpectralCodecConfig(n_q=4, codebook_size=32, griffin_lim_iters=8)
    return SpectralCodec.fit(
        train_clips[:2], sample_rate=SAMPLE_RATE, config=config, kmeans_iters=3, progress=False
    )
