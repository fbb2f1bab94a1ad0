"""Note activity: notes per second from the top voice's stable pitch changes (drones score ~0)."""

from __future__ import annotations

import numpy as np

from maskgmt.eval.audio import ANALYSIS_SR
from maskgmt.eval.features import CQT_HOP, Spectra, spectra
from maskgmt.eval.register import top_voice_track

# A note is a run of frames whose top-voice pitch stays within one semitone bin for at least
# this long: shorter runs are flicker between voices or overtones, not notes. 80 ms is shorter
# than a sixteenth at 180 BPM (83 ms) and 3 CQT frames (96 ms at 32 ms a frame).
MIN_NOTE_SECONDS = 0.08
# A rest this long between two runs of the same pitch makes the second a new note (repeated
# notes are re-struck); shorter gaps are dropouts of the track.
MIN_REST_SECONDS = 0.1
# Hysteresis of the pitch track (see `top_voice_track`): a melody note is followed down to this
# fraction of the frame's strongest salience before the track may drop to a louder lower voice.
# Measured on the 12 FluidSynth test renders of tests/eval (4 s, melody over a bass in 4):
# estimated / true notes per second 0.99 on 10 clips, 1.1 and 0.77 on two (a high piano melody
# under a louder bass: the track follows the bass); without the hold, 0.77 to 1.43.
HOLD_REL = 0.2


def note_rate_from_spectra(s: Spectra) -> float:
    """A clip's Spectra -> notes per second (>= 0): 0 for silence, one note per clip (1 /
    duration) for a held pitch.

    Counts the starts of stable top-voice notes: a run of >= MIN_NOTE_SECONDS at one rounded
    MIDI pitch that differs from the previous stable note (by anything but an octave), or
    follows a rest of >= MIN_REST_SECONDS. Amplitude alone (tremolo, codec pumping) never makes a
    note, so a sustained single pitch stays at one note however it wobbles in level; white noise,
    whose skyline never settles, reads about 0.5 notes/s.
    """
    track = top_voice_track(s, hold_rel=HOLD_REL)  # [M] MIDI per CQT frame, NaN in rests
    frames = track.size
    if frames == 0:
        return 0.0
    seconds = frames * CQT_HOP / ANALYSIS_SR
    return count_notes(track, frame_seconds=CQT_HOP / ANALYSIS_SR) / seconds


def count_notes(track: np.ndarray, *, frame_seconds: float) -> int:
    """Pitch track[M] (MIDI, NaN = rest), one value per `frame_seconds` -> number of note starts."""
    pitch = _smooth(np.round(track))
    min_run = max(1, int(np.ceil(MIN_NOTE_SECONDS / frame_seconds - 1e-9)))
    min_rest = max(1, int(np.ceil(MIN_REST_SECONDS / frame_seconds - 1e-9)))
    notes, last_pitch, rest = 0, None, min_rest  # the clip starts after a "rest"
    for value, length in _runs(pitch):
        if np.isnan(value):
            rest += length
            continue
        if length < min_run:
            continue  # flicker: neither a note nor a break between notes
        if rest >= min_rest or _new_pitch(value, last_pitch):
            notes += 1
        last_pitch, rest = value, 0
    return notes


def _new_pitch(value: float, last: float | None) -> bool:
    """Whether a stable pitch starts a new note after `last` without a rest between: any change
    but a whole octave, the top-voice track's usual error (a weak fundamental lets the 2nd
    harmonic win some frames)."""
    return last is None or (value != last and abs(value - last) != 12)


def estimate_note_rate(wav: np.ndarray) -> float:
    """Mono wav[S] at ANALYSIS_SR -> notes per second."""
    return note_rate_from_spectra(spectra(wav))


def _smooth(pitch: np.ndarray) -> np.ndarray:
    """[M] rounded pitches -> the same with one-frame blips (another pitch or a one-frame rest)
    replaced by their neighbours' value when both neighbours agree."""
    out = pitch.copy()
    if pitch.size < 3:
        return out
    prev, cur, nxt = pitch[:-2], pitch[1:-1], pitch[2:]
    same = (prev == nxt) & (cur != prev)  # NaN never compares equal: rests are untouched
    out[1:-1][same] = prev[same]
    return out


def _runs(x: np.ndarray) -> list[tuple[float, int]]:
    """[M] values -> (value, length) of each maximal run of equal values (NaNs form runs)."""
    runs: list[tuple[float, int]] = []
    for v in x:
        if runs and (runs[-1][0] == v or (np.isnan(runs[-1][0]) and np.isnan(v))):
            runs[-1] = (runs[-1][0], runs[-1][1] + 1)
        else:
            runs.append((float(v), 1))
    return runs
