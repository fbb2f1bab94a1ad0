"""A small token cache of random codes written in the real cache format (shared by tests)."""

from __future__ import annotations

from pathlib import Path

import datasets
import numpy as np

from maskgmt.data.cache import CacheInfo, write_cache

N_Q, CODEBOOK, FRAME_RATE, TEXT_DIM = 2, 16, 10.0, 8


# One clip's attribute fields, as `maskgmt corpus build` writes them (tempo_bpm is separate).
_ATTRIBUTES = {"instrument": "cello", "tempo_word": "slow", "key": "D", "mode": "minor",
               "register": "high", "dynamics": "soft", "meter": "3/4",
               "accompaniment": "piano", "style": "jig"}  # fmt: skip


def make_cache(
    out: Path, *, num_clips: int = 12, seed: int = 0, embeds: bool = True, attributes: bool = False
) -> Path:
    """A cache of `num_clips` clips with 2 levels of 16 codes at 10 frames/s, 2-6 s long.

    Codes follow a per-caption repeating pattern (so a model can learn them quickly); captions
    come with cached text embeddings [L, 8] so no text encoder is needed. `attributes` adds the
    corpus's attribute columns (instrument, key, ...), which short captions are written from.
    """
    rng = np.random.default_rng(seed)
    rows: dict[str, list] = {"codes": [], "num_frames": [], "text": [], "duration": [], "audio": []}
    rows["tempo_bpm"] = []  # the manifest field the tempo clock trains on
    if embeds:
        rows["text_embeds"], rows["text_len"] = [], []
    for i in range(num_clips):
        t = int(rng.integers(20, 61))
        style = i % 3
        base = (np.arange(t) * (style + 1)) % CODEBOOK
        codes = np.stack([base, (base + 3 * style) % CODEBOOK]).astype(np.int16)  # (K, T)
        rows["codes"].append(codes.tolist())
        rows["num_frames"].append(t)
        rows["text"].append(f"style {style} clip {i}")
        rows["duration"].append(t / FRAME_RATE)
        rows["audio"].append(f"clip{i}.wav")
        rows["tempo_bpm"].append(60.0 + 30.0 * style)
        if embeds:
            length = 3 + style
            emb = np.zeros((length, TEXT_DIM), dtype=np.float16)
            emb[:, style] = 1.0
            emb[:, 4:] = rng.standard_normal((length, 4)) * 0.1
            rows["text_embeds"].append(emb.tolist())
            rows["text_len"].append(length)
    extra = _ATTRIBUTES if attributes else {}
    for name, value in extra.items():
        rows[name] = [value] * num_clips
    features = {
        **{name: datasets.Value("string") for name in extra},
        "codes": datasets.Sequence(datasets.Sequence(datasets.Value("int16"))),
        "num_frames": datasets.Value("int32"),
        "text": datasets.Value("string"),
        "duration": datasets.Value("float32"),
        "audio": datasets.Value("string"),
        "tempo_bpm": datasets.Value("float32"),
    }
    if embeds:
        features["text_embeds"] = datasets.Sequence(datasets.Sequence(datasets.Value("float16")))
        features["text_len"] = datasets.Value("int32")
    ds = datasets.Dataset.from_dict(rows, features=datasets.Features(features))
    info = CacheInfo(
        codec={
            "kind": "test",
            "source": "test-codec",
            "n_q": N_Q,
            "codebook_size": CODEBOOK,
            "sample_rate": 8000,
            "frame_rate": FRAME_RATE,
        },
        n_q=N_Q,
        codebook_size=CODEBOOK,
        frame_rate=FRAME_RATE,
        sample_rate=8000,
        num_clips=num_clips,
        num_skipped=0,
        seconds=float(sum(rows["duration"])),
        frames=int(sum(rows["num_frames"])),
        text_encoder="test-encoder" if embeds else None,
        text_dim=TEXT_DIM if embeds else None,
    )
    write_cache(ds, info, [], out, progress=False)
    return out
