"""Test audio with known attributes: additive harmonic tones, and FluidSynth renders of MIDI."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import soundfile as sf

SOUNDFONT = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
MAJOR_STEPS = (0, 2, 4, 5, 7, 9, 11)
MINOR_STEPS = (0, 2, 3, 5, 7, 8, 10)  # natural minor
# Scale degrees of a tonal tune: the tonic triad (0, 2, 4) comes up most, as in real melodies.
_DEGREES = (0, 2, 4, 0, 1, 2, 4, 3, 2, 0, 4, 5, 4, 2, 6, 0)


def melody_pitches(tonic_pc: int, mode: str, center_midi: int, n: int) -> list[int]:
    """n MIDI pitches of a tonal melody in the key, within about a fifth of `center_midi`."""
    steps = MAJOR_STEPS if mode == "major" else MINOR_STEPS
    base = center_midi - ((center_midi - tonic_pc) % 12)  # the tonic at or below the centre
    if center_midi - base > 6:
        base += 12
    return [base + steps[_DEGREES[i % len(_DEGREES)]] - (12 if i % 8 == 7 else 0) for i in range(n)]


def harmonic_clip(
    *, tonic_pc: int, mode: str, bpm: float, center_midi: int, seconds: float = 4.0, sr: int = 16000
) -> np.ndarray:
    """wav[S] float32: one decaying harmonic tone per beat, melody in the key around center_midi."""
    beat = 60.0 / bpm
    n = int(seconds / beat) + 1
    out = np.zeros(int(seconds * sr), dtype=np.float64)
    t = np.arange(int(beat * sr)) / sr
    for i, p in enumerate(melody_pitches(tonic_pc, mode, center_midi, n)):
        f0 = 440.0 * 2 ** ((p - 69) / 12)
        tone = sum(np.sin(2 * np.pi * h * f0 * t) / h for h in range(1, 6) if h * f0 < sr / 2)
        tone *= np.exp(-3.0 * t / beat) * np.minimum(1.0, t / 0.005)
        start = int(i * beat * sr)
        seg = out[start : start + t.size]
        seg += tone[: seg.size]
    return (0.3 * out / np.abs(out).max()).astype(np.float32)


def write_midi(
    path: Path,
    *,
    program: int,
    tonic_pc: int,
    mode: str,
    bpm: float,
    center_midi: int,
    seconds: float,
    accompaniment_program: int | None = None,
) -> list[int]:
    """Write a one- or two-part MIDI file (melody in eighths and quarters, optional bass) via
    music21; returns the melody's pitches as written."""
    from music21 import instrument, meter, note, stream, tempo

    beats = int(seconds * bpm / 60.0) + 1
    score = stream.Score()
    melody = stream.Part()
    melody.insert(0, instrument.instrumentFromMidiProgram(program))
    melody.append(tempo.MetronomeMark(number=bpm))
    melody.append(meter.TimeSignature("4/4"))
    pitches = melody_pitches(tonic_pc, mode, center_midi, 2 * beats)
    t = 0.0
    written = []
    for i, p in enumerate(pitches):
        dur = 0.5 if i % 4 in (1, 2) else 1.0  # mixed durations, like a tune
        melody.append(note.Note(p, quarterLength=dur))
        written.append(p)
        t += dur
        if t >= beats:
            break
    score.insert(0, melody)
    if accompaniment_program is not None:
        bass = stream.Part()
        bass.insert(0, instrument.instrumentFromMidiProgram(accompaniment_program))
        root = 36 + tonic_pc if tonic_pc < 7 else 24 + tonic_pc
        fifth = root + 7
        for b in range(beats):
            n_ = note.Note(root if b % 2 == 0 else fifth, quarterLength=1.0)
            n_.volume.velocity = 50
            bass.append(n_)
        score.insert(0, bass)
    score.write("midi", fp=str(path))
    return written


def render(midi: Path, wav: Path, *, sr: int = 24000, seconds: float | None = None) -> Path:
    """FluidSynth render of a MIDI file to a mono wav (optionally cut to `seconds`)."""
    fluidsynth = shutil.which("fluidsynth")
    assert fluidsynth and SOUNDFONT.is_file(), "needs Debian fluidsynth + fluid-soundfont-gm"
    subprocess.run(
        [
            fluidsynth,
            "-ni",
            "-q",
            "-r",
            str(sr),
            "-g",
            "0.6",
            "-F",
            str(wav),
            str(SOUNDFONT),
            str(midi),
        ],
        check=True,
        capture_output=True,
    )
    x, file_sr = sf.read(str(wav), dtype="float32", always_2d=True)
    x = x.mean(axis=1)
    if seconds is not None:
        x = x[: int(seconds * file_sr)]
    sf.write(str(wav), x, file_sr)
    return wav
