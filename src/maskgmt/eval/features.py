"""Fixed audio features: log-mel statistics (the Fréchet embedding) and the classifier's timbre vector."""

from __future__ import annotations

import librosa
import numpy as np

from maskgmt.eval.audio import ANALYSIS_SR

N_MELS = 64
N_FFT = 1024  # 64 ms at 16 kHz: resolves partials of low notes
HOP = 256  # 16 ms
N_MFCC = 20
MEL_STATS_DIM = 2 * N_MELS
# Silence floor in dB below full scale: keeps quiet frames from dominating log statistics.
_TOP_DB = 80.0


def _check(wav: np.ndarray) -> np.ndarray:
    if wav.ndim != 1:
        raise ValueError(f"wav: expected mono [S] at {ANALYSIS_SR} Hz, got shape {wav.shape}")
    if wav.size < N_FFT:
        raise ValueError(
            f"wav: {wav.size} samples is shorter than one {N_FFT}-sample analysis frame; "
            "expected at least 0.1 s of audio"
        )
    return wav


def log_mel(wav: np.ndarray) -> np.ndarray:
    """Mono wav[S] at ANALYSIS_SR -> log-mel power in dB re. full scale, [N_MELS, frames]."""
    mel = librosa.feature.melspectrogram(
        y=_check(wav), sr=ANALYSIS_SR, n_fft=N_FFT, hop_length=HOP, n_mels=N_MELS, fmax=8000
    )
    # Absolute reference (not the clip's max) so that loudness differences stay visible.
    return librosa.power_to_db(mel, ref=1.0, amin=1e-10, top_db=None).clip(min=-_TOP_DB - 40)


def mel_statistics(wav: np.ndarray) -> np.ndarray:
    """Mono wav[S] -> [MEL_STATS_DIM] float64: per-band mean and std of the log-mel (dB).

    This is the embedding of the "Fréchet mel-statistics distance": fixed, needs no training,
    and sees spectral balance (timbre, register) and its variation (dynamics, note density).
    """
    lm = log_mel(wav)
    return np.concatenate([lm.mean(axis=1), lm.std(axis=1)]).astype(np.float64)


def timbre_features(wav: np.ndarray) -> np.ndarray:
    """Mono wav[S] -> [F] float64: the instrument classifier's input.

    MFCC 1..19 (level-free spectral envelope) and their deltas (attack/decay), mean and std,
    plus spectral centroid, flatness, and onset-strength statistics. MFCC 0 (loudness) is left out
    so that the classifier cannot key on render gain.
    """
    wav = _check(wav)
    s = np.abs(librosa.stft(wav, n_fft=N_FFT, hop_length=HOP)) ** 2
    mel = librosa.feature.melspectrogram(S=s, sr=ANALYSIS_SR, n_mels=N_MELS, fmax=8000)
    lm = librosa.power_to_db(mel, ref=np.max, top_db=_TOP_DB)
    mfcc = librosa.feature.mfcc(S=lm, n_mfcc=N_MFCC)[1:]  # [19, frames]
    d = librosa.feature.delta(mfcc, width=min(9, mfcc.shape[1] - (1 - mfcc.shape[1] % 2)))
    centroid = librosa.feature.spectral_centroid(S=np.sqrt(s), sr=ANALYSIS_SR)[0] / ANALYSIS_SR
    flatness = np.log(librosa.feature.spectral_flatness(S=np.sqrt(s))[0] + 1e-8)
    onset = librosa.onset.onset_strength(S=lm, sr=ANALYSIS_SR)
    parts = [
        mfcc.mean(1), mfcc.std(1), d.mean(1), d.std(1),
        [centroid.mean(), centroid.std(), flatness.mean(), flatness.std()],
        [onset.mean(), onset.std()],
    ]  # fmt: skip
    return np.concatenate([np.asarray(p, dtype=np.float64) for p in parts])
