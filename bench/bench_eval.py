"""Benchmark: attribute-analysis throughput of `maskgmt.eval` (clips per second, real-time factor).

Writes bench/results/eval.json. Run: python bench/bench_eval.py [--clips 20] [--seconds 10]
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np
import torch

from maskgmt.eval.analyse import analyse
from maskgmt.eval.audio import ANALYSIS_SR, to_analysis
from maskgmt.eval.features import spectra, timbre_features
from maskgmt.eval.notes import note_rate_from_spectra
from maskgmt.eval.scoring import score


def _tone_clip(seconds: float, sr: int, seed: int) -> np.ndarray:
    """A harmonic melody with a beat: what the estimators face, minus the renderer."""
    rng = np.random.default_rng(seed)
    beat = 60.0 / rng.uniform(60, 160)
    t = np.arange(int(beat * sr)) / sr
    out = np.zeros(int(seconds * sr))
    for i in range(int(seconds / beat)):
        f0 = 440.0 * 2 ** ((rng.integers(48, 84) - 69) / 12)
        tone = sum(np.sin(2 * np.pi * h * f0 * t) / h for h in range(1, 6))
        seg = out[int(i * beat * sr) :][: t.size]
        seg += (tone * np.exp(-3 * t / beat))[: seg.size]
    return (0.3 * out / np.abs(out).max()).astype(np.float32)


def _score_seconds(analyses: list, n: int) -> float:
    """Seconds to score n clips (the analyses recycled) as four sources with intervals."""
    rows = [{"audio": f"{i}.wav", "text": "t", "tempo_bpm": 100.0, "key": "C", "mode": "major",
             "register": "middle"} for i in range(n)]  # fmt: skip
    clips = [analyses[i % len(analyses)] for i in range(n)]
    sources = {s: clips[k:] + clips[:k] for k, s in enumerate(("real", "codec", "generated",
                                                                "shuffled"))}  # fmt: skip
    t0 = time.perf_counter()
    score(rows, sources, classifier=None, manifest="bench", seed=0, resamples=1000, notes=[])
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--clips", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--score-clips", type=int, default=200, help="clips in the scoring timing")
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "eval.json")
    args = ap.parse_args()
    sr = 24000
    clips = [_tone_clip(args.seconds, sr, i) for i in range(args.clips)]
    analyse(to_analysis(clips[0], sr), classifier=None)  # warm librosa's numba kernels

    t0 = time.perf_counter()
    analyses = [analyse(to_analysis(c, sr), classifier=None) for c in clips]
    analyse_s = time.perf_counter() - t0
    specs = [spectra(to_analysis(c, sr)) for c in clips]
    t0 = time.perf_counter()
    for s in specs:
        note_rate_from_spectra(s)
    notes_s = time.perf_counter() - t0
    _score_seconds(analyses, 10)  # warm: the first Fréchet distance imports scikit-learn
    score_s = _score_seconds(analyses, args.score_clips)
    t0 = time.perf_counter()
    for c in clips:
        timbre_features(spectra(to_analysis(c, sr)))
    timbre_s = time.perf_counter() - t0

    result = {
        "bench": "eval.analyse",
        "clips": args.clips,
        "clip_seconds": args.seconds,
        "analysis_sample_rate": ANALYSIS_SR,
        "analyse_seconds_per_clip": analyse_s / args.clips,
        "analyse_real_time_factor": analyse_s / (args.clips * args.seconds),
        "classifier_features_seconds_per_clip": timbre_s / args.clips,
        "note_activity_seconds_per_clip": notes_s / args.clips,
        "score_clips": args.score_clips,
        "score_seconds": score_s,  # intervals of every figure (1000 resamples), 4 sources
        "machine": {
            "cpu": platform.processor() or platform.machine(),
            "torch_threads": torch.get_num_threads(),
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
