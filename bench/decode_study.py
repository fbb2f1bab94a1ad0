"""Decoding study: score one trained model under several sampler settings on the same clips.

Each variant is a set of `TextToMusic.generate` keyword arguments (steps, cond_scale, cfg_levels,
choice_temperature, ...). Every variant generates the same held-out captions with the same seeds
and is scored by `maskgmt eval` (real and codec analyses are cached and shared), so the rows
differ only in the sampler. Writes one metrics.json per variant and a summary JSON:

    python bench/decode_study.py --model src/maskgmt/pretrained/maskgmt-tiny \
        --split /work/ship/corpus/test.jsonl --limit 240 --out /work/exp/decode \
        --variant base='{}' --variant cfg_all='{"cfg_levels": null}'
"""

from __future__ import annotations

import argparse
import json
import re
import time
from pathlib import Path

import numpy as np
import torch

from maskgmt.eval.attributes import is_correct
from maskgmt.eval.evaluate import EvalConfig, evaluate_model, load_or_train_classifier
from maskgmt.pipeline import TextToMusic


class _Sampler:
    """A TextToMusic with fixed sampler keyword arguments: the eval's Generator protocol."""

    def __init__(self, pipe: TextToMusic, kwargs: dict):
        self.pipe, self.kwargs = pipe, kwargs
        self.sample_rate, self.codec = pipe.sample_rate, pipe.codec
        self.max_seconds_per_window = pipe.max_seconds_per_window

    def generate(self, texts, *, seconds, seed):
        """B captions -> wav[B, C, S], as TextToMusic.generate with this variant's settings.

        The pseudo-setting `"negative": "other_mode"` makes each caption's negative the same
        caption with major and minor swapped, so guidance pushes away from the other mode."""
        kwargs = dict(self.kwargs)
        if kwargs.pop("negative", None) == "other_mode":
            kwargs["negative_texts"] = [other_mode(t) for t in texts]
        return self.pipe.generate(texts, seconds=seconds, seed=seed, **kwargs)


def other_mode(caption: str) -> str:
    """The caption with "major" and "minor" swapped (unchanged where it names neither)."""
    return re.sub(r"\b(major|minor)\b", lambda m: {"major": "minor", "minor": "major"}[m[1]],
                  caption)  # fmt: skip


def _parse_variant(text: str) -> tuple[str, dict]:
    name, _, spec = text.partition("=")
    kwargs = json.loads(spec or "{}")
    if "steps" in kwargs and isinstance(kwargs["steps"], list):
        kwargs["steps"] = tuple(kwargs["steps"])
    return name, kwargs


ATTRIBUTES = ("instrument_family", "tempo", "key", "mode", "register")


def _per_clip(folder: Path) -> dict[str, np.ndarray]:
    """A variant's estimates.jsonl -> {attribute: correct[n] float, "notes": notes_per_s[n]}."""
    rows = [json.loads(line) for line in (folder / "estimates.jsonl").read_text().splitlines()]
    out = {a: np.array([is_correct(a, r["generated"].get(a), r["reference"][a]) for r in rows],
                       float) for a in ATTRIBUTES}  # fmt: skip
    out["notes"] = np.array([r["generated"].get("notes_per_s") or 0.0 for r in rows])
    return out


def paired(base: Path, other: Path, *, resamples: int = 1000, seed: int = 0) -> dict:
    """Variant minus base on the same clips and seeds: {attribute: [mean, low, high]}, accuracy
    in points and notes in notes/s, with 95 % intervals from resampling the clips together."""
    a, b = _per_clip(base), _per_clip(other)
    rng = np.random.default_rng(seed)
    n = len(a["notes"])
    idx = rng.integers(0, n, size=(resamples, n))
    out = {}
    for key in a:
        d = b[key] - a[key]
        scale = 100.0 if key != "notes" else 1.0
        boots = d[idx].mean(1) * scale
        out[key] = [
            round(float(d.mean() * scale), 2),
            *(round(float(v), 2) for v in np.percentile(boots, [2.5, 97.5])),
        ]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--split", required=True)
    parser.add_argument("--limit", type=int, default=240)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--out", required=True)
    parser.add_argument("--variant", action="append", required=True, help="name=JSON kwargs")
    parser.add_argument("--control", action="store_true", help="also the shuffled control")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    pipe = TextToMusic.from_pretrained(args.model)
    clf = load_or_train_classifier(args.split, save_to=out / "instrument_classifier",
                                   saved=(out / "instrument_classifier")
                                   if (out / "instrument_classifier").is_dir() else None,
                                   progress=False)  # fmt: skip
    config = EvalConfig(seconds=args.seconds, limit=args.limit, progress=False,
                        control=args.control, cache_dir=out / "cache")  # fmt: skip
    summary_path = out / "summary.json"
    summary = json.loads(summary_path.read_text()) if summary_path.exists() else {}
    for name, kwargs in map(_parse_variant, args.variant):
        if (out / name / "metrics.json").exists():
            print(f"{name}: done before, skipped", flush=True)
            continue
        start = time.perf_counter()
        evaluate_model(_Sampler(pipe, kwargs), args.split, out_dir=out / name,
                                 classifier=clf, config=config)  # fmt: skip
        summary[name] = {"kwargs": kwargs, "seconds": round(time.perf_counter() - start, 1)}
        summary_path.write_text(json.dumps(summary, indent=1, default=str))
        print(f"{name}: {summary[name]['seconds']} s", flush=True)
        print((out / name / "report.md").read_text(), flush=True)
    names = [name for name, _ in map(_parse_variant, args.variant)]
    for name in names[1:]:
        summary.setdefault(name, {})["minus_" + names[0]] = paired(out / names[0], out / name)
        print(name, "minus", names[0], summary[name]["minus_" + names[0]], flush=True)
    summary_path.write_text(json.dumps(summary, indent=1, default=str))


if __name__ == "__main__":
    main()
