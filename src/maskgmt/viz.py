"""Pictures of audio: log-mel spectrogram images for PNG files and TensorBoard."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch


def log_mel(wav: torch.Tensor | np.ndarray, sample_rate: int, *, n_mels: int = 96) -> np.ndarray:
    """wav[S] or wav[C, S] (channels are averaged) -> log-mel power in dB, [n_mels, frames]."""
    import librosa

    x = wav.detach().cpu().float().numpy() if isinstance(wav, torch.Tensor) else np.asarray(wav)
    if x.ndim == 2:
        x = x.mean(axis=0)
    if x.ndim != 1 or x.size == 0:
        raise ValueError(f"log_mel: wav must be [S] or [C, S] with S > 0, got shape {x.shape}")
    hop = max(1, sample_rate // 100)  # 10 ms columns
    mel = librosa.feature.melspectrogram(
        y=x.astype(np.float32), sr=sample_rate, n_fft=2048, hop_length=hop, n_mels=n_mels
    )
    return librosa.power_to_db(mel, ref=np.max, top_db=80.0)


def spectrogram_image(wav: torch.Tensor | np.ndarray, sample_rate: int) -> np.ndarray:
    """wav[S] or wav[C, S] -> RGB uint8 [H, W, 3] log-mel spectrogram (low bins at bottom)."""
    from matplotlib import colormaps

    db = log_mel(wav, sample_rate)
    norm = (db - db.min()) / max(float(db.max() - db.min()), 1e-6)
    rgb = colormaps["magma"](norm[::-1])[..., :3]
    return (rgb * 255).astype(np.uint8)


def save_spectrogram(
    path: str | Path, wav: torch.Tensor | np.ndarray, sample_rate: int, *, title: str | None = None
) -> Path:
    """Write a labelled log-mel spectrogram PNG of wav[S] or wav[C, S]; returns the path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    db = log_mel(wav, sample_rate)
    seconds = db.shape[1] / 100.0
    fig, ax = plt.subplots(figsize=(8, 3), dpi=100)
    im = ax.imshow(
        db, origin="lower", aspect="auto", cmap="magma", extent=(0, seconds, 0, db.shape[0])
    )
    ax.set_xlabel("time (s)")
    ax.set_ylabel("mel bin")
    if title:
        ax.set_title(title if len(title) <= 90 else title[:87] + "...", fontsize=9)
    fig.colorbar(im, ax=ax, format="%+.0f dB")
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path
