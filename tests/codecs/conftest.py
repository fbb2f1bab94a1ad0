"""Shared fixtures: instrument notes rendered by FluidSynth, fitted codecs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from maskgmt.data.corpus import Renderer, find_soundfont

SAMPLE_RATE = 24_000


def render(notes, *, program: int, seconds: float, workdir: Path) -> torch.Tensor:
    """Render (pitch, start_s, duration_s) notes with FluidSynth and GM `program` -> wav[1, S]
    float32 at 24 kHz. FluidSynth and the SoundFont are required (the install script brings
    them): a missing one fails the test rather than quietly testing something else."""
    del workdir  # the renderer works in its own temporary folder
    renderer = Renderer(soundfont=find_soundfont(None), sample_rate=SAMPLE_RATE)
    wav = renderer.synthesize_notes(notes, program=program, seconds=seconds)
    return torch.from_numpy(wav)[None]


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
