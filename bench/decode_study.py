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
import time
from pathlib import Path

import torch

from maskgmt.eval.evaluate import EvalConfig, evaluate_model, load_or_train_classifier
from maskgmt.pipeline import TextToMusic


class _Sampler:
    """A TextToMusic with fixed sampler keyword arguments: the eval's Generator protocol."""

    def __init__(self, pipe: TextToMusic, kwargs: dict):
        self.pipe, self.kwargs = pipe, kwargs
        self.sample_rate, self.codec = pipe.sample_rate, pipe.codec
        self.max_seconds_per_window = pipe.max_seconds_per_window

    def generate(self, texts, *, seconds, seed):
        """B captions -> wav[B, C, S], as TextToMusic.generate with this variant's settings."""
        return self.pipe.generate(texts, seconds=seconds, seed=seed, **self.kwargs)


def _parse_variant(text: str) -> tuple[str, dict]:
    name, _, spec = text.partition("=")
    kwargs = json.loads(spec or "{}")
    if "steps" in kwargs and isinstance(kwargs["steps"], list):
        kwargs["steps"] = tuple(kwargs["steps"])
    return name, kwargs


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


if __name__ == "__main__":
    main()
