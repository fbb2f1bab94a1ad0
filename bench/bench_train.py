"""Training throughput of a preset (tokens/s, steps/s) on a synthetic token cache.

The cache mimics the spectral codec (K=8 levels of 1024 codes at 75 frames/s) with random
10 s clips and cached 384-d text embeddings, so no codec or text encoder is run. The numbers
are the loop's own TensorBoard `train/tokens_per_s` (median over 5-step windows after the
first), so start-up is not counted.
Writes bench/results/train_{preset}_{device}.json.

    python bench/bench_train.py [--preset tiny] [--steps 30] [--batch-size N]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
from pathlib import Path

import datasets
import numpy as np
import torch

from maskgmt.data.cache import CacheInfo, write_cache
from maskgmt.train.config import config_from_dict, get_preset
from maskgmt.train.loop import train

N_Q, CODEBOOK, FRAME_RATE, TEXT_DIM = 8, 1024, 75.0, 384


def make_cache(out: Path, *, clips: int, seconds: float) -> Path:
    """`clips` clips of random codes, `seconds` long, with cached text embeddings [12, 384]."""
    rng = np.random.default_rng(0)
    t = int(seconds * FRAME_RATE)
    rows = {
        "codes": [
            rng.integers(0, CODEBOOK, (N_Q, t), dtype=np.int16).tolist() for _ in range(clips)
        ],
        "num_frames": [t] * clips,
        "text": [f"clip {i}" for i in range(clips)],
        "duration": [seconds] * clips,
        "audio": [f"{i}.wav" for i in range(clips)],
        "text_embeds": [
            rng.standard_normal((12, TEXT_DIM)).astype(np.float16).tolist() for _ in range(clips)
        ],
        "text_len": [12] * clips,
    }
    features = datasets.Features(
        {
            "codes": datasets.Sequence(datasets.Sequence(datasets.Value("int16"))),
            "num_frames": datasets.Value("int32"),
            "text": datasets.Value("string"),
            "duration": datasets.Value("float32"),
            "audio": datasets.Value("string"),
            "text_embeds": datasets.Sequence(datasets.Sequence(datasets.Value("float16"))),
            "text_len": datasets.Value("int32"),
        }
    )
    codec = {"kind": "synthetic", "source": "none", "n_q": N_Q, "codebook_size": CODEBOOK,
             "sample_rate": 24000, "frame_rate": FRAME_RATE}  # fmt: skip
    info = CacheInfo(
        codec=codec, n_q=N_Q, codebook_size=CODEBOOK, frame_rate=FRAME_RATE, sample_rate=24000,
        num_clips=clips, num_skipped=0, seconds=clips * seconds, frames=clips * t,
        text_encoder="minilm", text_dim=TEXT_DIM,
    )  # fmt: skip
    write_cache(datasets.Dataset.from_dict(rows, features=features), info, [], out, progress=False)
    return out


def _scalars(log_dir: Path, tag: str) -> list:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    return EventAccumulator(str(log_dir)).Reload().Scalars(tag)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="tiny", choices=["tiny", "small", "base"])
    parser.add_argument("--steps", type=int, default=30, help="timed steps (after 5 warm-up)")
    parser.add_argument("--batch-size", type=int, default=None, help="override the preset's")
    parser.add_argument("--clips", type=int, default=64)
    args = parser.parse_args()

    preset = get_preset(args.preset)
    batch = args.batch_size or preset.data.batch_size
    overrides = {
        "data": {"batch_size": batch, "val_fraction": 0.0},
        "log": {"val_every": 0, "sample_every": 0, "ckpt_every": 10**9, "progress": False,
                "log_every": 5},
    }  # fmt: skip
    cfg = config_from_dict(overrides, base=preset)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    with tempfile.TemporaryDirectory() as tmp:
        cache = make_cache(Path(tmp) / "cache", clips=max(args.clips, 2 * batch), seconds=10.0)
        train(cfg, data_dir=cache, out_dir=Path(tmp) / "warm", max_steps=2)  # imports, caches
        run = Path(tmp) / "run"
        long = train(cfg, data_dir=cache, out_dir=run, max_steps=5 + args.steps)
        # The loop's own tokens/s per 5-step window; the first window (warm-up) is left out.
        rates = [e.value for e in _scalars(run / "tensorboard", "train/tokens_per_s")[1:]]
    tokens_per_s = float(np.median(rates))
    tokens_per_step = long.tokens_seen / long.steps
    params = sum(p.numel() for p in long.model.parameters())
    result = {
        "bench": "train",
        "machine": {
            "platform": platform.platform(),
            "device": torch.cuda.get_device_name(0) if device == "cuda" else "cpu",
            "torch_threads": torch.get_num_threads(),
            # the CPU is shared: a busy machine (load above its core count) slows every number
            "load_average_1min": round(os.getloadavg()[0], 2),
        },
        "preset": args.preset,
        "params_millions": round(params / 1e6, 2),
        "batch_size": batch,
        "seq_len_frames": round(cfg.data.crop_seconds * FRAME_RATE),
        "levels": N_Q,
        "mixed_precision": long.model.metadata.get("train", {}).get("mixed_precision"),
        "timed_steps": args.steps,
        "steps_per_s": round(tokens_per_s / tokens_per_step, 3),
        "tokens_per_s": round(tokens_per_s, 1),
        "final_train_loss_per_level": long.train_loss,
    }
    out = Path(__file__).parent / "results" / f"train_{args.preset}_{device}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
