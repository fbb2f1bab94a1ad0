"""Spectral representations computed once per clip, and the fixed features made from them."""

from __future__ import annotations

from dataclasses import dataclass

import librosa
import numpy as np

from maskgmt.eval.audio import ANALYSIS_SR

N_FFT = 1024  # 64 ms at 16 kHz: resolves partials of low notes
HOP = 256  # 16 ms
N_MELS = 64
N_MFCC = 20
MEL_STATS_DIM = 2 * N_MELS
TOP_DB = 80.0  # dynamic range kept below a clip's loudest bin: silence must not dominate logs
# The pitch CQT (shared by key and register): C2 .. C7, 3 bins a semitone.
CQT_FMIN_MIDI = 36
CQT_FMAX_MIDI = 96
CQT_BINS_PER_SEMITONE = 3
CQT_HOP = 512  # 32 ms: key and the register median need no finer time


@dataclass(frozen=True)
class Spectra:
    """One clip's spectra. F = N_FFT // 2 + 1 bins, N frames at HOP, M frames at CQT_HOP."""

    power: np.ndarray  # [F, N] STFT power
    log_mel: np.ndarray  # [N_MELS, N] dB re. full scale (absolute: loudness stays visible)
    cqt: np.ndarray  # [P, M] CQT magnitude, P = (CQT_FMAX_MIDI - CQT_FMIN_MIDI) * 3 + 1 bins


def spectra(wav: np.ndarray) -> Spectra:
    """Mono wav[S] at ANALYSIS_SR (at least N_FFT samples) -> its Spectra."""
    if wav.ndim != 1 or wav.size < N_FFT:
        raise ValueError(
            f"wav: expected mono audio [S] of at least {N_FFT} samples "
            f"({N_FFT / ANALYSIS_SR:.2f} s "
            f"at {ANALYSIS_SR} Hz), got shape {wav.shape}"
        )
    power = np.abs(librosa.stft(wav, n_fft=N_FFT, hop_length=HOP)) ** 2
    mel = librosa.feature.melspectrogram(S=power, sr=ANALYSIS_SR, n_mels=N_MELS, fmax=8000)
    log_mel = librosa.power_to_db(mel, ref=1.0, amin=1e-10, top_db=None).clip(min=-120.0)
    bpo = 12 * CQT_BINS_PER_SEMITONE
    cqt = np.abs(
        librosa.cqt(
            wav,
            sr=ANALYSIS_SR,
            hop_length=CQT_HOP,
            fmin=float(librosa.midi_to_hz(CQT_FMIN_MIDI)),
            n_bins=(CQT_FMAX_MIDI - CQT_FMIN_MIDI) * CQT_BINS_PER_SEMITONE + 1,
            bins_per_octave=bpo,
        )
    )
    return Spectra(power=power, log_mel=log_mel, cqt=cqt)


def relative_log_mel(s: Spectra) -> np.ndarray:
    """[N_MELS, N] dB re. the clip's loudest bin, floored at -TOP_DB (level-free)."""
    return np.maximum(s.log_mel - s.log_mel.max(), -TOP_DB)


def mel_statistics(s: Spectra) -> np.ndarray:
    """-> [MEL_STATS_DIM] float64: per-band mean and std of the absolute log-mel (dB).

    The embedding of the "Fréchet mel-statistics distance": fixed, needs no training, and sees
    spectral balance (timbre, register, loudness) and its variation (dynamics, note density).
    """
    return np.concatenate([s.log_mel.mean(axis=1), s.log_mel.std(axis=1)]).astype(np.float64)


def timbre_features(s: Spectra) -> np.ndarray:
    """-> [F] float64, the instrument classifier's input.

    MFCC 1..19 (level-free spectral envelope) and their deltas (attack/decay), mean and std;
    the level-free log-mel's per-band mean and std; spectral centroid and log-flatness, mean and
    std; onset-strength mean and std. Everything is relative to the clip's loudest bin, so the
    classifier cannot key on render gain. (Adding the log-mel bands: 55 % vs 49 % family accuracy
    in 5-fold by-piece cross-validation on 80 corpus clips, 9 families.)
    """
    lm = relative_log_mel(s)
    mfcc = librosa.feature.mfcc(S=lm, n_mfcc=N_MFCC)[1:]  # [19, N]
    width = min(9, mfcc.shape[1] if mfcc.shape[1] % 2 else mfcc.shape[1] - 1)
    delta = librosa.feature.delta(mfcc, width=width)
    mag = np.sqrt(s.power)
    centroid = librosa.feature.spectral_centroid(S=mag, sr=ANALYSIS_SR)[0] / ANALYSIS_SR
    flatness = np.log(librosa.feature.spectral_flatness(S=mag)[0] + 1e-8)
    onset = librosa.onset.onset_strength(S=lm, sr=ANALYSIS_SR)
    parts = [
        mfcc.mean(1), mfcc.std(1), delta.mean(1), delta.std(1), lm.mean(1), lm.std(1),
        [centroid.mean(), centroid.std(), flatness.mean(), flatness.std()],
        [onset.mean(), onset.std()],
    ]  # fmt: skip
    return np.concatenate([np.asarray(p, dtype=np.float64) for p in parts])
