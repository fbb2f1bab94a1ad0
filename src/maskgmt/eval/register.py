"""Register estimation: median MIDI pitch of the melody, the top voice of a pitch salience."""

from __future__ import annotations

import librosa
import numpy as np

from maskgmt.eval.features import (
    CQT_BINS_PER_SEMITONE,
    CQT_FMIN_MIDI,
    Spectra,
    spectra,
)

# Why not pYIN: it is monophonic, and under a bass accompaniment it reports the combined period
# (measured on FluidSynth renders: 20-30 semitones low), and it is ~50x slower. A harmonic-sum
# salience sees every voice; the melody is taken as the highest strong one (the "skyline").
HARMONICS = (1, 2, 3, 4, 5)
WEIGHTS = (1.0, 0.5, 0.33, 0.25, 0.2)  # decaying, so f0/2 never outscores f0
# A peak joins the skyline when its salience is >= this fraction of the frame's strongest:
# high enough to skip overtone ghosts, low enough to catch a melody over a loud bass.
SKYLINE_REL = 0.7
ACTIVE_REL = 0.1  # frames weaker than this fraction of the clip's strongest are rests
# The skyline's top peak may be the 2nd or 3rd harmonic of a note with a weak fundamental (low
# FluidSynth notes, organ, sax): when the salience an octave or a twelfth below is at least this
# fraction of the peak's, the lower note is taken. Measured on 80 corpus clips: register word
# 82 % -> 88 %, median error 1 -> 0 semitones (and never worse on two other builds).
SUBHARMONIC_REL = 0.7
SUBHARMONIC_SEMITONES = (12, 19)  # checked in this order


def median_pitch_from_spectra(s: Spectra) -> float:
    """A clip's Spectra -> median MIDI pitch (fractional) of the melody over active frames,
    NaN for silence. The range is the pitch CQT's, C2..C7."""
    n_bins = s.cqt.shape[0]
    freqs = librosa.cqt_frequencies(
        n_bins,
        fmin=float(librosa.midi_to_hz(CQT_FMIN_MIDI)),
        bins_per_octave=12 * CQT_BINS_PER_SEMITONE,
    )
    sal = librosa.salience(
        s.cqt, freqs=freqs, harmonics=list(HARMONICS), weights=list(WEIGHTS), fill_value=0.0
    )
    sal = np.nan_to_num(sal)  # [bins, frames]
    frame_max = sal.max(axis=0)
    if not np.any(frame_max > 1e-6):
        return float("nan")
    s_act = sal[:, frame_max > ACTIVE_REL * frame_max.max()]
    # Local maxima along pitch that are strong within their frame; the highest per frame.
    pad = np.pad(s_act, ((1, 1), (0, 0)))
    strong = s_act >= SKYLINE_REL * s_act.max(axis=0, keepdims=True)
    peak = (s_act >= pad[:-2]) & (s_act >= pad[2:]) & strong
    top = n_bins - 1 - np.argmax(peak[::-1], axis=0)  # [frames]
    frames = np.arange(top.size)
    top_sal = s_act[top, frames]
    # Salience near each candidate below (within a third of a semitone), max over 3 bins.
    wide = np.maximum(np.maximum(pad[:-2], pad[2:]), s_act)
    chosen = top.copy()
    undecided = np.ones(top.size, dtype=bool)
    for semitones in SUBHARMONIC_SEMITONES:
        below = top - semitones * CQT_BINS_PER_SEMITONE
        ok = below >= 0
        take = undecided & ok
        take[ok] &= wide[below[ok], frames[ok]] >= SUBHARMONIC_REL * top_sal[ok]
        chosen[take] = below[take]
        undecided &= ~take
    return float(np.median(CQT_FMIN_MIDI + chosen / CQT_BINS_PER_SEMITONE))


def estimate_median_pitch(wav: np.ndarray) -> float:
    """Mono wav[S] at ANALYSIS_SR -> median MIDI pitch of the melody, NaN for silence."""
    return median_pitch_from_spectra(spectra(wav))
