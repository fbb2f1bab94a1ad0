"""Phase reconstruction: a waveform from an STFT magnitude (fast Griffin-Lim with momentum)."""

from __future__ import annotations

import math

import torch


def stft(wav: torch.Tensor, *, n_fft: int, hop_length: int, window: torch.Tensor) -> torch.Tensor:
    """wav[B, S] -> complex spec[B, F, S // hop + 1] (centered frames, reflect padding; zero
    padding for clips shorter than half a window, which reflection cannot pad)."""
    return torch.stft(
        wav,
        n_fft=n_fft,
        hop_length=hop_length,
        window=window,
        center=True,
        pad_mode="reflect" if wav.shape[-1] > n_fft // 2 else "constant",
        return_complex=True,
    )


def istft(spec: torch.Tensor, *, n_fft: int, hop_length: int, window: torch.Tensor, length: int):
    """complex spec[B, F, T] -> wav[B, length] (inverse of `stft`, least-squares overlap-add)."""
    return torch.istft(
        spec, n_fft=n_fft, hop_length=hop_length, window=window, center=True, length=length
    )


def griffin_lim(
    mag: torch.Tensor,
    *,
    n_fft: int,
    hop_length: int,
    window: torch.Tensor,
    length: int,
    iters: int = 32,
    momentum: float = 0.99,
) -> torch.Tensor:
    """mag[B, F, T] (linear STFT magnitude) -> wav[B, length] whose STFT magnitude is close to it.

    T must be `length // hop_length + 1`, the frame count `stft` gives for `length` samples.

    Fast Griffin-Lim (Perraudin et al. 2013): each iteration projects onto consistent
    spectrograms and extrapolates the phase with `momentum`. The initial phase advances each
    bin at its centre frequency, as a steady sinusoid would: for sustained notes this starts
    far closer to the answer than random phase, so fewer iterations are needed.
    """
    f, t = mag.shape[-2:]
    if t != length // hop_length + 1:
        raise ValueError(f"mag has {t} frames; {length} samples need {length // hop_length + 1}")
    bins = torch.arange(f, device=mag.device, dtype=mag.dtype)
    frames = torch.arange(t, device=mag.device, dtype=mag.dtype)
    phase = 2.0 * math.pi * hop_length / n_fft * bins[:, None] * frames[None, :]  # (F, T)
    angles = torch.polar(torch.ones_like(phase), phase).expand_as(mag).to(torch.complex64)
    previous = torch.zeros_like(angles)
    blend = momentum / (1.0 + momentum)
    for _ in range(iters):
        wav = istft(mag * angles, n_fft=n_fft, hop_length=hop_length, window=window, length=length)
        rebuilt = stft(wav, n_fft=n_fft, hop_length=hop_length, window=window)
        angles = torch.sgn(rebuilt - blend * previous)  # unit phasors (0 where silent)
        previous = rebuilt
    return istft(mag * angles, n_fft=n_fft, hop_length=hop_length, window=window, length=length)
