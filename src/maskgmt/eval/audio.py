"""Audio as the estimators see it: mono float32 at one analysis rate, at most a fixed length."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

# All estimators run at one rate: 16 kHz keeps every partial the estimators use (melody f0 up to
# C7 ~ 2.1 kHz, mel bands to 8 kHz) and halves the cost of 32 kHz analysis.
ANALYSIS_SR = 16_000
# Attributes of the corpus are constant over a clip, so the first 10 s say all there is.
MAX_SECONDS = 10.0


def to_analysis(
    wav: np.ndarray, sample_rate: int, *, max_seconds: float = MAX_SECONDS
) -> np.ndarray:
    """wav[S] or wav[C, S] at `sample_rate` Hz -> mono wav[S'] float32 at ANALYSIS_SR, cut to
    at most `max_seconds`."""
    x = np.asarray(wav, dtype=np.float32)
    if x.ndim == 2:
        x = x.mean(axis=0)
    if x.ndim != 1:
        raise ValueError(f"wav: expected shape [S] or [C, S], got {tuple(np.shape(wav))}")
    if sample_rate <= 0:
        raise ValueError(f"sample_rate: expected a positive rate in Hz, got {sample_rate}")
    x = x[: int(round(max_seconds * sample_rate))]
    if sample_rate != ANALYSIS_SR and x.size:
        x = soxr.resample(x, sample_rate, ANALYSIS_SR).astype(np.float32)
    if not np.all(np.isfinite(x)):
        raise ValueError("wav: contains NaN or inf samples; the audio source is broken")
    return x


def read_head(path: str | Path, *, max_seconds: float = MAX_SECONDS) -> tuple[np.ndarray, int]:
    """An audio file -> (wav[C, S] float32 at the file's rate, rate in Hz), at most `max_seconds`.

    Reads only the head (unlike `maskgmt.audio.read_audio`): evaluation never needs more, and
    users' generated files can be long.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"audio file {path} does not exist; check the manifest's 'audio' paths"
        )
    try:
        with sf.SoundFile(str(path)) as f:
            frames = min(f.frames, int(round(max_seconds * f.samplerate)))
            data = f.read(frames, dtype="float32", always_2d=True)  # [S, C]
            return np.ascontiguousarray(data.T), int(f.samplerate)
    except RuntimeError as e:  # soundfile's error for unreadable files
        raise ValueError(f"audio file {path} cannot be read ({e}); expected wav/flac/ogg") from e


def load_analysis(path: str | Path, *, max_seconds: float = MAX_SECONDS) -> np.ndarray:
    """An audio file -> mono wav[S] float32 at ANALYSIS_SR, at most `max_seconds` long."""
    wav, sr = read_head(path, max_seconds=max_seconds)
    return to_analysis(wav, sr, max_seconds=max_seconds)
