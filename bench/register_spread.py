"""How far "low" and "high register" captions move the pitch, on captions unlike the corpus's.

For each caption set (the shipped-model test's sentences, and short user-style prompts) and
each seed: the mean median pitch (MIDI) of 4 clips captioned "... high" minus that of the same
4 captioned "... low". The shipped-model test asks for more than 5 semitones. Writes JSON:

    python bench/register_spread.py MODEL_DIR [MODEL_DIR ...] --out bench/results/register.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from maskgmt.eval.audio import to_analysis
from maskgmt.eval.register import estimate_median_pitch
from maskgmt.pipeline import TextToMusic

_VOICES = (("flute", "moderate", "G major"), ("violin", "slow", "D minor"),
           ("clarinet", "fast", "C major"), ("piano", "moderate", "A minor"))  # fmt: skip
CAPTION_SETS = {
    "test": "A {tempo} {inst} plays a folk song in {key}, 4/4 time, pitched {reg}.",
    "short": "a {tempo} {inst} melody in {key}, pitched {reg}",
}


def spread(pipe: TextToMusic, template: str, seed: int, seconds: float = 2.0) -> float:
    """Mean median pitch of the 4 "high" clips minus that of the 4 "low" ones, in semitones."""
    means = []
    for reg in ("low", "high"):
        captions = [template.format(inst=i, tempo=t, key=k, reg=reg) for i, t, k in _VOICES]
        torch.manual_seed(seed)
        wav = pipe.generate(captions, seconds=seconds).numpy().reshape(len(captions), -1)
        means.append(np.nanmean([estimate_median_pitch(to_analysis(w, pipe.sample_rate))
                                 for w in wav]))  # fmt: skip
    return float(means[1] - means[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+", type=Path)
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    result = {}
    for model in args.models:
        pipe = TextToMusic.from_pretrained(model)
        result[str(model)] = {
            name: [round(spread(pipe, template, seed), 1) for seed in range(args.seeds)]
            for name, template in CAPTION_SETS.items()
        }
        print(model, result[str(model)], flush=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
