"""Tempo estimation (quarter-note BPM from onset periodicity) and how an estimate is scored."""

from __future__ import annotations

import librosa
import numpy as np

from maskgmt.eval.audio import ANALYSIS_SR
from maskgmt.eval.features import HOP, Spectra, relative_log_mel, spectra

# "Accuracy 2" of Gouyon et al. (2006): an estimate within the tolerance of the truth or of 2, 3,
# 1/2 or 1/3 times it counts, because a beat tracker cannot know which metrical level the caption
# meant (in 3/4 and 6/8 the felt beat is often not the quarter). The word score (`tempo_word`)
# forgives nothing. 8 % rather than the usual 4 %: on a 4 s clip one 16 ms onset frame is ~4 %
# of the beat period at 150 BPM.
TEMPO_TOLERANCE = 0.08
METRICAL_FACTORS = (1 / 3, 1 / 2, 1.0, 2.0, 3.0)


def tempo_from_spectra(s: Spectra) -> float:
    """A clip's Spectra -> tempo in quarter-note BPM (one global value), 0.0 for silence.

    Onset-strength autocorrelation (librosa) weighted by a log-normal prior centred on 100 BPM,
    which pulls the choice of metrical level toward the 60-160 BPM range the captions use.
    """
    if s.log_mel.max() <= -100.0:  # digital silence (the floor of log_mel is -120 dB)
        return 0.0
    env = librosa.onset.onset_strength(S=relative_log_mel(s), sr=ANALYSIS_SR, aggregate=np.median)
    if not np.any(env > 0):
        return 0.0  # no onsets, no tempo; 0 BPM scores as wrong against any truth
    bpm = librosa.feature.tempo(
        onset_envelope=env, sr=ANALYSIS_SR, hop_length=HOP, start_bpm=100.0, std_bpm=1.0
    )
    return float(bpm[0])


def estimate_tempo(wav: np.ndarray) -> float:
    """Mono wav[S] at ANALYSIS_SR -> tempo in quarter-note BPM, 0.0 for silence."""
    return tempo_from_spectra(spectra(wav))


def tempo_matches(
    estimate_bpm: float, true_bpm: float, *, tolerance: float = TEMPO_TOLERANCE
) -> bool:
    """True when the estimate is within `tolerance` (relative) of the truth times one of
    METRICAL_FACTORS."""
    if true_bpm <= 0:
        raise ValueError(f"true_bpm: expected a positive tempo, got {true_bpm}")
    return any(
        abs(estimate_bpm - f * true_bpm) <= tolerance * f * true_bpm for f in METRICAL_FACTORS
    )
