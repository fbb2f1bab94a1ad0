"""The audio an evaluation scores, per source: the real clips, their codec round trip, what a
model generates from their captions, and a folder of audio generated elsewhere.

Each maker yields mono wav[S] float32 at ANALYSIS_SR, one per manifest row.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np
import soundfile as sf
import torch

from maskgmt.eval.audio import MAX_SECONDS, load_analysis, read_head, to_analysis

AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3")


class Generator(Protocol):
    """What `evaluate_model` needs from a model: `maskgmt.pipeline.TextToMusic` or a stand-in."""

    sample_rate: int  # Hz of what `generate` returns
    codec: object  # an AudioCodec: encode(wav[B,C,S], sr) -> codes[B,K,T], decode(codes) -> wav

    def generate(
        self, texts: list[str], *, seconds: float | None, seed: int | None
    ) -> torch.Tensor:
        """B captions -> wav[B, C, S] at `sample_rate`, `seconds` long, reproducible per seed."""
        ...


def real_audio(rows: Sequence[dict], seconds: float) -> Iterator[np.ndarray]:
    for r in rows:
        yield load_analysis(r["audio"], max_seconds=seconds)


def codec_audio(rows: Sequence[dict], codec, seconds: float) -> Iterator[np.ndarray]:
    if codec is None:
        raise ValueError("pipeline.codec: the model has no codec; the codec source needs one")
    for r in rows:
        data, sr = read_head(r["audio"], max_seconds=seconds)
        wav = torch.from_numpy(data)[None]  # [1, C, S]
        with torch.inference_mode():
            out = codec.decode(codec.encode(wav, sr))  # [1, C', S']
        yield to_analysis(as_numpy(out, 1)[0], int(codec.sample_rate))


def codec_identity(codec, *, cached: bool, notes: list[str]) -> dict | None:
    """The codec's identity() for the analysis cache; None (codec analyses not cached, with a
    note) when a cache is asked for but the codec cannot say what it is."""
    if not cached:
        return None
    identity = getattr(codec, "identity", None)
    if not callable(identity):
        notes.append("the codec has no identity(): its analyses are not cached")
        return None
    return dict(identity())


def generated_audio(
    pipeline: Generator,
    texts: Sequence[str],
    seconds: float,
    *,
    batch_size: int,
    seed: int,
    keep_seconds: float,
) -> Iterator[np.ndarray]:
    """Captions -> mono wav[S] at ANALYSIS_SR per caption, at most `keep_seconds` long; batch n
    is generated with seed `seed + n`."""
    b = batch_size
    for n, start in enumerate(range(0, len(texts), b)):
        batch = list(texts[start : start + b])
        with torch.inference_mode():
            wav = pipeline.generate(batch, seconds=seconds, seed=seed + n)
        for clip in as_numpy(wav, len(batch)):
            yield to_analysis(clip, int(pipeline.sample_rate), max_seconds=keep_seconds)


def as_numpy(wav, batch: int) -> np.ndarray:
    """wav[B, C, S] tensor or array -> float32 array, checking the batch size."""
    x = (
        wav.detach().cpu().float().numpy()
        if isinstance(wav, torch.Tensor)
        else np.asarray(wav, np.float32)
    )
    if x.ndim != 3 or x.shape[0] != batch:
        raise ValueError(
            f"generated/decoded audio: expected wav[B={batch}, C, S], got shape {x.shape}"
        )
    return x


def median_seconds(rows: Sequence[dict]) -> float:
    lengths = []
    for r in rows:
        info = sf.info(r["audio"])
        lengths.append(min(info.frames / info.samplerate, MAX_SECONDS))
    return float(np.median(lengths))


def match_files(audio_dir: Path, rows: Sequence[dict]) -> list[Path]:
    if audio_dir.exists() and not audio_dir.is_dir():
        raise ValueError(f"audio dir {audio_dir} is a file; pass the folder of generated audio")
    if not audio_dir.is_dir():
        raise FileNotFoundError(
            f"audio dir {audio_dir} does not exist; expected a folder of generated audio"
        )
    found, missing = [], []
    for r in rows:
        stem = Path(r["audio"]).stem
        hits = [audio_dir / f"{stem}{ext}" for ext in AUDIO_EXTENSIONS]
        hits = [h for h in hits if h.is_file()]
        if hits:
            found.append(hits[0])
        else:
            missing.append(stem)
    if missing:
        raise FileNotFoundError(
            f"audio dir {audio_dir}: no generated file for {len(missing)} of {len(rows)} rows "
            f"(first: {missing[0]}); name each file after its row's audio file, e.g. "
            f"{missing[0]}.wav"
        )
    return found
