"""Text -> wav real-time factor of a trained model folder, decode included, in one run: the
defaults (CFG on levels 0-3), CFG on level 0 only, no re-masking noise, and one 10 s clip for one
caption (what `maskgmt generate` does). Writes bench/results/text_to_wav.json.

    python bench/bench_text_to_wav.py --model RUN/model [--seconds 6] [--clips 8] [--repeats 2]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import torch

CAPTIONS = [
    "a slow, soft cello melody in D minor, low register",
    "a fast flute solo in G major, high register, loud",
    "Bach chorale for organ in C major, moderate tempo",
    "an oboe folk tune in A minor, middle register",
]


def measure(pipe, texts: list[str], seconds: float, repeats: int, **sampling) -> dict:
    """Best-of-`repeats` seconds for tokens + decode of len(texts) clips -> timings and RTF."""
    best = None
    for r in range(repeats):
        t0 = time.perf_counter()
        pipe.generate(texts, seconds=seconds, seed=r, **sampling)
        total = time.perf_counter() - t0
        t = pipe.last_timings
        if best is None or total < best["seconds"]:
            best = {"seconds": total, "tokens": t.tokens, "decode": t.decode, "windows": t.windows}
    best["real_time_factor"] = best["seconds"] / (seconds * len(texts))
    return {k: round(v, 4) if isinstance(v, float) else v for k, v in best.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, required=True)
    ap.add_argument("--seconds", type=float, default=6.0)
    ap.add_argument("--clips", type=int, default=8)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--out", type=Path, default=Path("bench/results/text_to_wav.json"))
    args = ap.parse_args()
    from maskgmt.pipeline import TextToMusic

    pipe = TextToMusic.from_pretrained(args.model)
    texts = [CAPTIONS[i % len(CAPTIONS)] for i in range(args.clips)]
    pipe.generate(texts[:1], seconds=1.0, seed=0)  # warm-up: text encoder, kernels
    result = {
        "model": str(args.model),
        "parameters": sum(p.numel() for p in pipe.model.parameters()),
        "clips": args.clips,
        "seconds_each": args.seconds,
        "threads": torch.get_num_threads(),
        "load_avg": os.getloadavg()[0],
        "machine": platform.processor() or platform.machine(),
        "default": measure(pipe, texts, args.seconds, args.repeats),
        "cfg_level0_only": measure(pipe, texts, args.seconds, args.repeats, cfg_levels=1),
        "choice_temperature_0": measure(
            pipe, texts, args.seconds, args.repeats, choice_temperature=0.0
        ),
        "one_10s_clip": measure(pipe, texts[:1], 10.0, args.repeats),
    }
    a = result["default"]["seconds"]
    result["ratio_default_over_cfg_level0_only"] = round(
        a / result["cfg_level0_only"]["seconds"], 3
    )
    result["ratio_default_over_no_noise"] = round(a / result["choice_temperature_0"]["seconds"], 3)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
