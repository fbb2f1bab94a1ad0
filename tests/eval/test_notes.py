"""Note activity: one note for a drone, the true rate for melodies (monotone), close on renders."""

from __future__ import annotations

import numpy as np
import pytest
from synth import harmonic_clip, melody_pitches

from maskgmt.eval.audio import ANALYSIS_SR, load_analysis
from maskgmt.eval.notes import count_notes, estimate_note_rate

SECONDS = 4.0


def _tone(f0: float, *, tremolo: float = 0.0, vibrato: float = 0.0) -> np.ndarray:
    """A held harmonic tone wav[S], optionally with 6 Hz tremolo (depth) and 5.5 Hz vibrato
    (relative frequency depth): a drone, however it wobbles."""
    t = np.arange(int(SECONDS * ANALYSIS_SR)) / ANALYSIS_SR
    phase = 2 * np.pi * np.cumsum(f0 * (1 + vibrato * np.sin(2 * np.pi * 5.5 * t))) / ANALYSIS_SR
    x = sum(np.sin(h * phase) / h for h in range(1, 6)) * (1 + tremolo * np.sin(2 * np.pi * 6 * t))
    return (0.3 * x / np.abs(x).max()).astype(np.float32)


def _legato(rate: float, centre: int = 64) -> np.ndarray:
    """A melody of `rate` notes/s without attacks or gaps: only the pitch changes."""
    n = int(SECONDS * rate)
    pitches = np.array(melody_pitches(0, "major", centre, n))
    t = np.arange(int(SECONDS * ANALYSIS_SR)) / ANALYSIS_SR
    f = 440.0 * 2 ** ((pitches[np.minimum((t * rate).astype(int), n - 1)] - 69) / 12)
    phase = 2 * np.pi * np.cumsum(f) / ANALYSIS_SR
    x = sum(np.sin(h * phase) / h for h in range(1, 6))
    return (0.3 * x / np.abs(x).max()).astype(np.float32)


@pytest.mark.parametrize(
    "wav",
    [_tone(220.0), _tone(220.0, tremolo=0.8), _tone(440.0, vibrato=0.01), _tone(110.0)],
    ids=["held", "tremolo", "vibrato", "low"],
)
def test_a_drone_is_one_note_whatever_its_level_does(wav):
    assert estimate_note_rate(wav) <= 1.01 / SECONDS  # the one note it is, nothing more


def test_silence_has_no_notes():
    assert estimate_note_rate(np.zeros(ANALYSIS_SR * 2, dtype=np.float32)) == 0.0


@pytest.mark.parametrize("centre", [50, 64, 79])
def test_melodies_give_their_note_rate_monotonically(centre):
    rates = [1.0, 2.0, 3.0, 4.0]
    struck = [
        estimate_note_rate(harmonic_clip(tonic_pc=0, mode="major", bpm=60 * r, center_midi=centre))
        for r in rates
    ]
    legato = [estimate_note_rate(_legato(r, centre)) for r in rates]
    for est in (struck, legato):
        assert np.all(np.diff(est) > 0.5), est  # monotone in the true rate
        for r, e in zip(rates, est, strict=True):
            assert abs(e - r) <= 0.25 * r, (r, e)


def test_rendered_melodies_over_a_bass_are_counted_close_to_the_score(rendered):
    # conftest's melodies: durations 1, 1/2, 1/2, 1 quarters (4 notes per 3 beats).
    ratios = []
    for r in rendered.test_rows:
        beats = np.cumsum([0.0] + [0.5 if j % 4 in (1, 2) else 1.0 for j in range(39)])
        true = np.sum(beats * 60.0 / r["tempo_bpm"] < SECONDS) / SECONDS
        ratios.append(estimate_note_rate(load_analysis(rendered.root / r["audio"])) / true)
    assert 0.95 <= np.median(ratios) <= 1.05, ratios
    assert min(ratios) >= 0.7 and max(ratios) <= 1.3, ratios  # a buried melody, a flicker


def test_counting_rules_on_a_pitch_track():
    def track(*runs):  # (MIDI or None, frames) -> track[M]
        return np.concatenate([np.full(n, np.nan if p is None else p, float) for p, n in runs])

    count = lambda *runs: count_notes(track(*runs), frame_seconds=0.032)  # noqa: E731
    assert count((60, 10), (62, 10), (64, 10)) == 3  # each new pitch
    assert count((60, 10), (67, 2), (60, 10)) == 1  # a 64 ms excursion is flicker
    assert count((60, 10), (None, 4), (60, 10)) == 2  # a re-strike after a rest
    assert count((60, 10), (None, 1), (60, 10)) == 1  # a one-frame dropout is not a rest
    assert count((60, 10), (72, 10), (60, 10)) == 1  # octave errors of the track
    assert count((None, 20)) == 0
