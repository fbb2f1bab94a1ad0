"""Encoding one chunk of manifest rows: read audio, batch by length, encode, embed, write."""

from __future__ import annotations

import json
import math
import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import datasets
import numpy as np
import pyarrow as pa
import torch

from maskgmt.data.cache import atomic_write_text
from maskgmt.data.schema import cache_features
from maskgmt.progress import tqdm

CHUNK_META = "meta.json"  # inside a finished chunk folder: its rows, counts and skipped clips
_READ_THREADS = 4  # audio decoding releases the GIL; a few threads keep the encoder fed


class ChunkEncoder:
    """Reads, encodes and writes one chunk of rows as a finished chunk folder."""

    def __init__(
        self,
        *,
        codec: Any,
        text_encoder: Any,
        device: torch.device,
        columns: dict[str, pa.DataType],
        batch_size: int,
        min_seconds: float,
        max_padding: float,
    ) -> None:
        self.codec = codec
        self.text_encoder = text_encoder
        self.device = device
        self.columns = columns
        self.batch_size = batch_size
        self.min_seconds = min_seconds
        self.max_padding = max_padding
        self.features = cache_features(
            n_q=codec.n_q,
            extra=columns,
            text_dim=text_encoder.dim if text_encoder is not None else None,
        )
        self._pads_ok: dict[tuple[int, int], bool] = {}  # (sr, C) -> frame rule checked

    def write(self, rows: list[dict], lo: int, hi: int, final: Path, bar: tqdm) -> None:
        """Encode rows[lo:hi] into the chunk folder `final` (created atomically, all or nothing)."""
        kept: list[dict] = []
        skipped: list[dict] = []
        # Audio is held for one read group at a time, so memory does not grow with chunk_size.
        group = max(4 * self.batch_size, 16)
        with ThreadPoolExecutor(_READ_THREADS) as pool:
            for start in range(lo, hi, group):
                indices = list(range(start, min(start + group, hi)))
                group_kept, group_skipped = self._encode_rows(rows, indices, pool)
                kept += group_kept
                skipped += group_skipped
                bar.update(len(indices))
        table = {name: [row.get(name) for row in kept] for name in self.features}
        dataset = datasets.Dataset.from_dict(table, features=self.features)
        tmp = final.parent / f".tmp-{final.name}-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        dataset.save_to_disk(str(tmp))
        meta = {
            "rows": [lo, hi],
            "kept": len(kept),
            "seconds": sum(row["duration"] for row in kept),
            "frames": sum(row["num_frames"] for row in kept),
            "skipped": sorted(skipped, key=lambda r: r["index"]),
        }
        atomic_write_text(tmp / CHUNK_META, json.dumps(meta) + "\n")
        os.replace(tmp, final)  # the chunk appears whole or not at all

    def _encode_rows(
        self, rows: list[dict], indices: list[int], pool: ThreadPoolExecutor
    ) -> tuple[list[dict], list[dict]]:
        """Read and encode rows[indices] -> (cache rows in manifest order, skip records)."""
        loaded = pool.map(lambda i: self._read(rows[i]), indices)
        ready: dict[int, tuple[torch.Tensor, int]] = {}
        skipped = []
        for index, (clip, reason) in zip(indices, loaded, strict=True):
            if clip is None:
                skipped.append(_skip_record(rows[index], index, reason))
            else:
                ready[index] = clip
        codes, failed = self._encode(ready)
        skipped += [_skip_record(rows[i], i, reason) for i, reason in failed.items()]
        embeds = self._embed([rows[i]["text"] for i in codes])
        kept = []
        for n, (index, clip_codes) in enumerate(codes.items()):  # sorted: manifest order
            wav, sr = ready[index]
            kept.append(self._row(rows[index], clip_codes, wav.shape[-1] / sr))
            if self.text_encoder is not None:
                kept[-1].update(text_embeds=embeds[n], text_len=len(embeds[n]))
        return kept, skipped

    def _read(self, row: dict) -> tuple[tuple[torch.Tensor, int] | None, str]:
        """-> ((wav[C, S], sr), "") for a usable clip, else (None, why it is skipped)."""
        from maskgmt.audio import read_audio

        path = row["audio"]
        if not Path(path).is_file():
            return None, f"missing file: {path}"
        try:
            wav, sr = read_audio(path)
        except ValueError as e:  # read_audio's way of saying "cannot decode this file"
            return None, f"unreadable: {str(e).strip()[:500]}"
        except Exception as e:  # any other decoder failure also means "unreadable"
            return None, f"unreadable: {type(e).__name__}: {str(e).strip()[:500]}"
        if wav.ndim != 2 or wav.shape[-1] == 0:
            return None, f"unreadable: empty audio (shape {tuple(wav.shape)})"
        seconds = wav.shape[-1] / sr
        if seconds < self.min_seconds:
            return None, f"too short: {seconds:.3f} s < min_seconds {self.min_seconds:g}"
        if not torch.isfinite(wav).all():
            return None, "unreadable: audio holds NaN or infinite samples"
        return (wav, sr), ""

    def _encode(
        self, clips: dict[int, tuple[torch.Tensor, int]]
    ) -> tuple[dict[int, torch.Tensor], dict[int, str]]:
        """clips: index -> (wav[C, S], sr). Returns (index -> codes[K, T] int16, index -> why)."""
        codes: dict[int, torch.Tensor] = {}
        failed: dict[int, str] = {}
        for batch in self._batches(clips):
            try:
                out = self._encode_batch([clips[i] for i in batch])
            except Exception as e:
                if len(batch) == 1:
                    failed[batch[0]] = f"encode failed: {type(e).__name__}: {str(e)[:300]}"
                    continue
                # One bad clip (or memory) should not sink its batchmates: retry them one by one.
                for index in batch:
                    sub_codes, sub_failed = self._encode({index: clips[index]})
                    codes.update(sub_codes)
                    failed.update(sub_failed)
                continue
            for index, clip_codes in zip(batch, out, strict=True):
                if clip_codes.shape[-1] == 0:
                    failed[index] = "too short: the codec gives 0 frames"
                else:
                    codes[index] = clip_codes
        return dict(sorted(codes.items())), failed

    def _batches(self, clips: dict[int, tuple[torch.Tensor, int]]) -> list[list[int]]:
        """Group clips of one sample rate and channel count, longest first, similar lengths."""
        groups: dict[tuple[int, int], list[int]] = {}
        for index, (wav, sr) in clips.items():
            groups.setdefault((sr, wav.shape[0]), []).append(index)
        batches: list[list[int]] = []
        for key, indices in groups.items():
            indices.sort(key=lambda i: -clips[i][0].shape[-1])
            pad = self.max_padding if self._padding_is_safe(*key) else 0.0
            batch: list[int] = []
            for index in indices:
                longest = clips[batch[0]][0].shape[-1] if batch else 0
                fits = batch and clips[index][0].shape[-1] >= (1 - pad) * longest
                if batch and (len(batch) == self.batch_size or not fits):
                    batches.append(batch)
                    batch = []
                batch.append(index)
            batches.append(batch)
        return batches

    def _encode_batch(self, clips: list[tuple[torch.Tensor, int]]) -> list[torch.Tensor]:
        """[(wav[C, S_i], sr)] of one sr and C -> [codes[K, T_i] int16] (padded, then trimmed)."""
        sr = clips[0][1]
        longest = max(wav.shape[-1] for wav, _ in clips)
        batch = torch.zeros(len(clips), clips[0][0].shape[0], longest)  # (B, C, S)
        for b, (wav, _) in enumerate(clips):
            batch[b, :, : wav.shape[-1]] = wav
        with torch.inference_mode():
            codes = self.codec.encode(batch.to(self.device), sr).cpu()  # (B, K, T)
        if codes.ndim != 3 or codes.shape[:2] != (len(clips), self.codec.n_q):
            raise ValueError(
                f"codec.encode returned shape {tuple(codes.shape)}; expected "
                f"({len(clips)}, {self.codec.n_q}, T) for the AudioCodec protocol"
            )
        if codes.numel() and (codes.min() < 0 or codes.max() >= self.codec.codebook_size):
            raise ValueError(f"codec.encode returned codes outside [0, {self.codec.codebook_size})")
        out = []
        for b, (wav, _) in enumerate(clips):
            frames = codes.shape[-1]
            if wav.shape[-1] < longest:  # padded: keep only the frames of the real audio
                frames = min(frames, _num_frames(wav.shape[-1], sr, self.codec.frame_rate))
            out.append(codes[b, :, :frames].to(torch.int16))
        return out

    def _padding_is_safe(self, sr: int, channels: int) -> bool:
        """Whether the codec's frame count is ceil(S * frame_rate / sr), so padded codes can be
        trimmed to a clip's own length; checked once per (sr, C) by encoding short silences."""
        key = (sr, channels)
        if self.max_padding == 0:
            return False
        if key not in self._pads_ok:
            hop = sr / self.codec.frame_rate
            base = int(round(max(self.min_seconds, 1.0) * sr / hop) * hop)
            try:
                ok = all(
                    self._frames_of_silence(length, sr, channels)
                    == _num_frames(length, sr, self.codec.frame_rate)
                    for length in (base, base + 1, base - 1, base + int(hop // 2))
                )
            except Exception:  # a codec that cannot encode silence gets exact batches only
                ok = False
            self._pads_ok[key] = ok
        return self._pads_ok[key]

    def _frames_of_silence(self, length: int, sr: int, channels: int) -> int:
        with torch.inference_mode():
            silence = torch.zeros(1, channels, length, device=self.device)  # (1, C, S)
            return self.codec.encode(silence, sr).shape[-1]

    def _embed(self, texts: list[str]) -> list[np.ndarray]:
        """Captions -> [emb[L_i, D] float16] with padding tokens dropped."""
        if self.text_encoder is None or not texts:
            return []
        out: list[np.ndarray] = []
        for i in range(0, len(texts), self.batch_size):
            emb, mask = self.text_encoder.encode(texts[i : i + self.batch_size])  # (B,L,D), (B,L)
            emb, mask = emb.float().cpu(), mask.bool().cpu()
            out.extend(emb[b][mask[b]].to(torch.float16).numpy() for b in range(emb.shape[0]))
        return out

    def _row(self, row: dict, codes: torch.Tensor, seconds: float) -> dict:
        out = {name: row.get(name) for name in self.columns}
        out.update(
            codes=codes.numpy(),
            num_frames=codes.shape[-1],
            text=row["text"],
            duration=seconds,
            audio=row["audio"],
        )
        return out


def _num_frames(num_samples: int, sample_rate: int, frame_rate: float) -> int:
    """Frames a codec of hop sample_rate / frame_rate gives for `num_samples` (last partial)."""
    return math.ceil(num_samples * frame_rate / sample_rate - 1e-6)


def _skip_record(row: dict, index: int, reason: str) -> dict:
    return {"audio": row["audio"], "text": row["text"], "index": index, "reason": reason}
