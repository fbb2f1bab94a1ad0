"""Audio I/O: read, write and resample waveforms (soundfile + soxr), with clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

# Extensions picked up when a folder is given instead of a manifest.
AUDIO_EXTENSIONS: tuple[str, ...] = (".wav", ".flac", ".ogg", ".mp3", ".aiff", ".aif", ".opus")


def check_sample_rate(sample_rate: object, name: str = "sample_rate") -> int:
    """Return `sample_rate` as a positive int, or raise ValueError naming `name`."""
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, (int, np.integer, float)):
        raise ValueError(f"{name} must be a positive number of Hz; got {sample_rate!r}")
    if not sample_rate > 0 or int(sample_rate) != sample_rate:
        raise ValueError(
            f"{name} must be a positive whole number of Hz (e.g. 24000); got {sample_rate!r}"
        )
    return int(sample_rate)


def check_finite(wav: torch.Tensor, name: str = "wav") -> None:
    """Raise ValueError if `wav` holds NaN or inf samples (they poison every later step)."""
    if not torch.isfinite(wav).all():
        bad = int((~torch.isfinite(wav)).sum())
        raise ValueError(
            f"{name} has {bad} NaN/inf samples; clean the audio (e.g. torch.nan_to_num) first"
        )


def read_audio(path: str | Path) -> tuple[torch.Tensor, int]:
    """Read an audio file -> (wav[C, S] float32 in [-1, 1], sample_rate in Hz).

    Raises FileNotFoundError for a missing file and ValueError for a file that cannot be
    decoded, holds no samples, or holds NaN/inf samples.
    """
    import soundfile as sf

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"audio file {str(path)!r} does not exist; check the path")
    if not path.is_file():
        raise ValueError(f"audio path {str(path)!r} is not a file; pass a WAV/FLAC/OGG/MP3 file")
    try:
        data, sample_rate = sf.read(str(path), dtype="float32", always_2d=True)  # (S, C)
    except (sf.LibsndfileError, RuntimeError, OSError, TypeError) as e:
        raise ValueError(
            f"could not read audio file {str(path)!r} ({e}); expected a WAV/FLAC/OGG/MP3 file "
            "that libsndfile can decode; re-encode it, e.g. `ffmpeg -i IN OUT.wav`"
        ) from None
    if data.shape[0] == 0:
        raise ValueError(f"audio file {str(path)!r} has no samples (zero length); remove it")
    wav = torch.from_numpy(np.ascontiguousarray(data.T))  # (C, S)
    check_finite(wav, name=f"audio file {str(path)!r}")
    return wav, int(sample_rate)


def write_audio(
    path: str | Path, wav: torch.Tensor, sample_rate: int, *, subtype: str = "PCM_16"
) -> Path:
    """Write wav[C, S] (float, clipped to [-1, 1]) to `path` (format from the extension).

    Creates missing parent folders. Returns the path written.
    """
    import soundfile as sf

    sample_rate = check_sample_rate(sample_rate)
    if not isinstance(wav, torch.Tensor) or wav.dim() != 2:
        shape = tuple(wav.shape) if isinstance(wav, torch.Tensor) else type(wav).__name__
        raise ValueError(f"wav must be a tensor wav[C, S]; got {shape} (mono: use wav[None])")
    if wav.shape[-1] == 0:
        raise ValueError("wav has no samples (S == 0); nothing to write")
    check_finite(wav)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Clip ourselves: integer subtypes would otherwise wrap around on overshoot.
    data = wav.detach().float().clamp(-1.0, 1.0).cpu().numpy().T  # (S, C)
    sf.write(str(path), data, sample_rate, subtype=subtype)
    return path


def resample(wav: torch.Tensor, sr_in: int, sr_out: int) -> torch.Tensor:
    """Resample wav[..., S] from `sr_in` to `sr_out` Hz with soxr (high quality).

    Returns wav[..., S'] with S' = round(S * sr_out / sr_in), same dtype and device.
    """
    import soxr

    sr_in = check_sample_rate(sr_in, "sr_in")
    sr_out = check_sample_rate(sr_out, "sr_out")
    if sr_in == sr_out:
        return wav
    if wav.shape[-1] == 0:
        raise ValueError("wav has no samples (S == 0); nothing to resample")
    lead = wav.shape[:-1]
    flat = wav.detach().reshape(-1, wav.shape[-1]).to("cpu", torch.float32).numpy().T  # (S, N)
    out = soxr.resample(np.ascontiguousarray(flat), sr_in, sr_out, quality="HQ")  # (S', N)
    out = torch.from_numpy(np.ascontiguousarray(out.T)).reshape(*lead, -1)
    return out.to(device=wav.device, dtype=wav.dtype)


def list_audio_files(manifest_or_folder: str | Path) -> list[Path]:
    """Audio files named by a JSONL manifest (`{"audio": path, ...}` per line; relative paths
    are relative to the manifest's folder) or found recursively in a folder, sorted.

    Raises FileNotFoundError if the path does not exist, ValueError if it names no audio.
    """
    source = Path(manifest_or_folder)
    if not source.exists():
        raise FileNotFoundError(
            f"{str(source)!r} does not exist; pass a JSONL manifest or a folder of audio files"
        )
    if source.is_dir():
        files = sorted(
            p for p in source.rglob("*") if p.is_file() and p.suffix.lower() in AUDIO_EXTENSIONS
        )
        if not files:
            raise ValueError(
                f"folder {str(source)!r} holds no audio files "
                f"(looked for {', '.join(AUDIO_EXTENSIONS)})"
            )
        return files
    files = []
    with source.open(encoding="utf-8") as f:
        for line_no, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                raise ValueError(f"{source}:{line_no} is not valid JSON ({e})") from None
            if not isinstance(row, dict) or not isinstance(row.get("audio"), str):
                raise ValueError(
                    f'{source}:{line_no} needs an "audio" path string, e.g. '
                    '{"audio": "clips/a.wav", "text": "..."}'
                )
            audio = Path(row["audio"])
            files.append(audio if audio.is_absolute() else source.parent / audio)
    if not files:
        raise ValueError(f"manifest {str(source)!r} lists no audio files")
    return files
