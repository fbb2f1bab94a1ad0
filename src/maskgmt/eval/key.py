"""Key and mode estimation: CQT chroma correlated with Temperley's key profiles."""

from __future__ import annotations

import librosa
import numpy as np

from maskgmt.data.attributes import pitch_class_name
from maskgmt.eval.features import CQT_BINS_PER_SEMITONE, CQT_FMIN_MIDI, Spectra, spectra

# Temperley (1999) profiles, tonic first. Chosen over Krumhansl & Kessler (1982) on FluidSynth
# renders of the corpus (80 clips of 4 s): key 60 % vs 54 %, mode on par. KK's heavier
# dominant weight adds to the chroma's own dominant excess (every tonic's 3rd harmonic).
_MAJOR = np.array([5.0, 2.0, 3.5, 2.0, 4.5, 4.0, 2.0, 4.5, 2.0, 3.5, 1.5, 4.0])
_MINOR = np.array([5.0, 2.0, 3.5, 4.5, 2.0, 4.0, 2.0, 4.5, 3.5, 2.0, 1.5, 4.0])


def _profiles() -> np.ndarray:
    """[24, 12] unit-norm, zero-mean: rows 0..11 major on C..B, rows 12..23 minor on C..B."""
    rows = [np.roll(_MAJOR, k) for k in range(12)] + [np.roll(_MINOR, k) for k in range(12)]
    p = np.stack(rows)
    p = p - p.mean(axis=1, keepdims=True)
    return p / np.linalg.norm(p, axis=1, keepdims=True)


_PROFILES = _profiles()


def key_scores(s: Spectra) -> np.ndarray:
    """A clip's Spectra -> [24] Pearson correlations of its chroma with the key profiles
    (0..11 major on C..B, 12..23 minor on C..B); zeros for silence."""
    # Chroma folded from the pitch CQT: log-frequency bins resolve semitones in the bass.
    chroma = librosa.feature.chroma_cqt(
        C=s.cqt,
        fmin=float(librosa.midi_to_hz(CQT_FMIN_MIDI)),
        bins_per_octave=12 * CQT_BINS_PER_SEMITONE,
        n_chroma=12,
    )
    profile = chroma.sum(axis=1)
    profile = profile - profile.mean()
    norm = np.linalg.norm(profile)
    return np.zeros(24) if norm == 0 else _PROFILES @ (profile / norm)


def key_from_spectra(s: Spectra) -> tuple[str, str] | None:
    """A clip's Spectra -> (tonic name as in manifests, e.g. 'F#'; 'major' | 'minor'), or None
    for silence (which has no key, and must not score as C major)."""
    scores = key_scores(s)
    if not np.any(scores):
        return None
    best = int(np.argmax(scores))
    return pitch_class_name(best % 12), ("major" if best < 12 else "minor")


def estimate_key(wav: np.ndarray) -> tuple[str, str] | None:
    """Mono wav[S] at ANALYSIS_SR -> (tonic name, mode), None for silence."""
    return key_from_spectra(spectra(wav))
