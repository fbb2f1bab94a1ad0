"""Pooled paired comparison: two groups of `maskgmt eval` folders (replicates of each arm) on the
same clips, group B minus group A.

A single fit or training run is one draw: two k-means seeds of one codec recipe differ by up to
7 points of instrument on 240 clips, and two training runs by 6 of key. So each arm is given as
several folders (its replicates), and the interval resamples both the clips and the replicates
(a two-level bootstrap): it covers the clip draw and the run draw. Writes JSON:

    python bench/pooled_paired.py --a mel=W/eval/s0,W/eval/s1 --b nomel=W/eval/n0,W/eval/n1 \
        --out W/pooled.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from decode_study import _per_clip  # noqa: E402


def _group(text: str) -> tuple[str, list[Path]]:
    name, _, folders = text.partition("=")
    return name, [Path(f) for f in folders.split(",") if f]


def _stack(folders: list[Path]) -> dict[str, np.ndarray]:
    """Folders -> {measure: values[R, n]} (R replicates of the same n clips, in one order)."""
    per = [_per_clip(f) for f in folders]
    return {key: np.stack([p[key] for p in per]) for key in per[0]}


def pooled_difference(
    a: list[Path], b: list[Path], *, resamples: int = 2000, seed: int = 0
) -> dict[str, dict]:
    """Group b minus group a per measure: {"a", "b", "diff": [mean, low, high]} (accuracy in
    points, notes in notes/s), each group's mean over its replicates and the clips; the 95 %
    interval resamples clips and, within each group, replicates."""
    sa, sb = _stack(a), _stack(b)
    n = sa["notes"].shape[1]
    if sb["notes"].shape[1] != n:
        raise ValueError(f"the groups score different clips: {n} against {sb['notes'].shape[1]}")
    rng = np.random.default_rng(seed)
    clips = rng.integers(0, n, size=(resamples, n))
    ra = rng.integers(0, len(a), size=(resamples, len(a)))
    rb = rng.integers(0, len(b), size=(resamples, len(b)))
    out = {}
    for key in sa:
        scale = 1.0 if key == "notes" else 100.0
        xa, xb = sa[key], sb[key]  # [R, n]
        boots = np.array([
            xb[rb[i]][:, clips[i]].mean() - xa[ra[i]][:, clips[i]].mean() for i in range(resamples)
        ]) * scale  # fmt: skip
        low, high = np.percentile(boots, [2.5, 97.5])
        out[key] = {
            "a": round(float(xa.mean() * scale), 2),
            "b": round(float(xb.mean() * scale), 2),
            "diff": [round(float((xb.mean() - xa.mean()) * scale), 2),
                     round(float(low), 2), round(float(high), 2)],
            "replicates": [len(a), len(b)],
        }  # fmt: skip
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--a", required=True, help="NAME=FOLDER,FOLDER,... (the base arm)")
    parser.add_argument("--b", required=True, action="append", help="NAME=FOLDER,... (others)")
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--resamples", type=int, default=2000)
    args = parser.parse_args()
    name_a, folders_a = _group(args.a)
    result = {}
    for text in args.b:
        name_b, folders_b = _group(text)
        diff = pooled_difference(folders_a, folders_b, resamples=args.resamples)
        result[f"{name_b}_minus_{name_a}"] = diff
        print(name_b, "-", name_a, {k: v["diff"] for k, v in diff.items()}, flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
