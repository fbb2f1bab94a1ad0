"""Token-cache throughput: `prepare_cache` (clips/s, x real time) and CodesDataset reads (items/s).

A synthetic corpus of tones at 24 kHz is encoded with a SpectralCodec fitted on it (the
offline default), once per batch size; then training items are read back from the cache.
Writes bench/results/prepare.json.

    python bench/bench_prepare.py [--clips 96] [--seconds 10] [--device cpu]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf
import torch


def make_corpus(folder: Path, *, clips: int, seconds: float, sample_rate: int = 24_000) -> Path:
    """`clips` WAVs of seconds x (0.8..1.2) (so lengths differ, as in real corpora) + manifest."""
    rng = np.random.default_rng(0)
    lines = []
    for i in range(clips):
        n = int(seconds * rng.uniform(0.8, 1.2) * sample_rate)
        t = np.arange(n) / sample_rate
        freq = 110.0 * 2 ** (rng.integers(0, 36) / 12)
        wav = 0.3 * np.sin(2 * np.pi * freq * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 2 * t))
        wav += 0.01 * rng.standard_normal(n)
        sf.write(folder / f"{i:04d}.wav", wav.astype(np.float32), sample_rate)
        lines.append(json.dumps({"audio": f"{i:04d}.wav", "text": f"a tone at {freq:.0f} Hz"}))
    manifest = folder / "manifest.jsonl"
    manifest.write_text("\n".join(lines) + "\n")
    return manifest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=96)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results/prepare.json")
    args = parser.parse_args()

    from maskgmt.codecs.spectral import SpectralCodec
    from maskgmt.data.cache import load_cache
    from maskgmt.data.dataset import CodesDataset, collate
    from maskgmt.data.prepare import prepare_cache

    work = Path(tempfile.mkdtemp(prefix="bench-prepare-"))
    manifest = make_corpus(work, clips=args.clips, seconds=args.seconds)
    files = sorted(work.glob("*.wav"))
    started = time.perf_counter()
    codec = SpectralCodec.fit_files(files, max_seconds=60, device=args.device, progress=False)
    fit_s = time.perf_counter() - started

    runs = []
    for batch_size in (1, 16):
        out = work / f"cache-b{batch_size}"
        report = prepare_cache(
            manifest, out, codec=codec, batch_size=batch_size, device=args.device, progress=False
        )
        runs.append(
            {
                "batch_size": batch_size,
                "seconds": round(report.elapsed_s, 3),
                "clips_per_s": round(report.kept / report.elapsed_s, 2),
                "x_real_time": round(report.seconds / report.elapsed_s, 1),
            }
        )
        print(runs[-1])

    dataset, info = load_cache(work / "cache-b16")
    items = CodesDataset(dataset, seq_len=500, seed=0)  # 500 frames = 6.7 s at 75 frames/s
    started = time.perf_counter()
    count = 0
    for epoch in range(3):
        items.set_epoch(epoch)
        for start in range(0, len(items), 16):
            collate([items[i] for i in range(start, min(start + 16, len(items)))])
            count += min(16, len(items) - start)
    read_s = time.perf_counter() - started

    result = {
        "bench": "prepare",
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
            "device": args.device,
        },
        "corpus": {"clips": args.clips, "seconds_each": args.seconds, "hours": info.seconds / 3600},
        "codec": {"kind": "spectral", "n_q": info.n_q, "fit_s": round(fit_s, 2)},
        "prepare": runs,
        "dataset_items_per_s": round(count / read_s, 1),
        "cache_bytes_per_audio_second": round(
            sum(f.stat().st_size for f in (work / "cache-b16").glob("*.arrow")) / info.seconds
        ),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
