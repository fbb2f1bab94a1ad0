"""Benchmark: corpus clips rendered per second (FluidSynth, 2 workers), and score parsing cost.

Writes bench/results/corpus.json.
Run: python bench/bench_corpus.py [--clips 40] [--seconds 10] [--workers 2]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

from maskgmt.data.corpus import build_corpus, find_fluidsynth
from maskgmt.data.corpus.render import fluidsynth_version


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--clips", type=int, default=40)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "corpus.json")
    args = ap.parse_args()

    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="bench-corpus-") as tmp:
        cache = Path(tmp) / "cache"  # cold: this build pays for parsing every score
        t0 = time.perf_counter()
        cold = build_corpus(
            Path(tmp) / "cold",
            clips=args.clips,
            seconds=args.seconds,
            workers=args.workers,
            cache_dir=cache,
            progress=False,
        )
        cold_wall = time.perf_counter() - t0
        # Warm: same scores from the cache, a new folder, so every clip is rendered again.
        warm = build_corpus(
            Path(tmp) / "warm",
            clips=args.clips,
            seconds=args.seconds,
            workers=args.workers,
            cache_dir=cache,
            progress=False,
        )
        pieces = sum(len(v) for v in cold.pieces.values())

    result = {
        "clips": args.clips,
        "seconds_per_clip": args.seconds,
        "workers": args.workers,
        "render_seconds": warm.render_seconds,
        "clips_per_second": round(warm.rendered / warm.render_seconds, 3),
        "audio_seconds_per_second": round(warm.rendered * args.seconds / warm.render_seconds, 2),
        "cold_build_seconds": round(cold_wall, 2),
        "pieces": pieces,
        "parse_seconds_cold": cold.parse_seconds,
        "parse_seconds_per_piece": round(cold.parse_seconds / max(pieces, 1), 3),
        "parse_seconds_warm": warm.parse_seconds,
        "fluidsynth": fluidsynth_version(find_fluidsynth()),
        "cpu_count": os.cpu_count(),
        "load_average_before": [round(x, 2) for x in load_before],
        "python": platform.python_version(),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
