"""Text information gain of a trained model on a token cache; writes JSON (per level, 2 conditions).

For each codec level: the teacher-forced loss with shuffled captions (each clip gets another
clip's caption) minus the loss with the true captions, in nats per token, with the level fully
hidden ("full", the first decoding step) and with half of it hidden ("partial", the training
mix at share 0.5). About 0 means the model ignores the text. See
`maskgmt.model.diagnostics.text_information_gain`.

    python bench/text_gain.py --model RUN/model --cache CACHE_DIR [--split valid] [--clips 256]
        [--batch 16] [--share 0.5] [--seed 0] [--device cpu] [--out bench/results/text_gain.json]

--split valid: the clips the run held out (its training config's split of this cache; use the
cache the model was trained on), train: the others, all: every clip (e.g. a cache prepared from
a separate test manifest). Clips are drawn in a seeded random order, so each batch, within
which captions are shuffled, mixes pieces. Text embeddings come from the cache when it holds
them for the model's text encoder, else from that encoder (`model.encode_text`).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402

from maskgmt.data.cache import load_cache  # noqa: E402
from maskgmt.data.dataset import CodesDataset  # noqa: E402
from maskgmt.model import MaskGmt  # noqa: E402
from maskgmt.model.diagnostics import TextGainMeter  # noqa: E402
from maskgmt.train.data import fixed_batch, split_indices  # noqa: E402

RESULTS = Path(__file__).parent / "results"


def pick_rows(dataset, model: MaskGmt, split: str, clips: int, seed: int) -> list[int]:
    """Up to `clips` rows of the split, in a seeded random order."""
    if split == "all":
        rows = list(range(len(dataset)))
    else:
        train_cfg = model.metadata.get("train", {}).get("config", {})
        data_cfg = train_cfg.get("data", {})
        train_rows, val_rows = split_indices(
            dataset,
            val_fraction=data_cfg.get("val_fraction", 0.05),
            max_val_clips=data_cfg.get("max_val_clips", 256),
            seed=train_cfg.get("seed", 0),
        )
        rows = val_rows if split == "valid" else train_rows
    order = np.random.default_rng(seed).permutation(len(rows))[:clips]
    return [rows[i] for i in order]


def check_pair(model: MaskGmt, info) -> None:
    """The cache's codes must be the model's codes (same number of levels and codes)."""
    tc = model.transformer.config
    if (info.n_q, info.codebook_size) != (tc.n_q, tc.num_tokens):
        raise SystemExit(
            f"--cache holds {info.n_q} levels x {info.codebook_size} codes, the model "
            f"{tc.n_q} x {tc.num_tokens}: use the cache made with the model's codec"
        )
    mine, theirs = model.metadata.get("codec", {}), info.codec
    if mine.get("kind") != theirs.get("kind"):
        print(f"warning: codec kind {theirs.get('kind')!r} of the cache, {mine.get('kind')!r} "
              "of the model")  # fmt: skip


def cached_embeds_fit(model: MaskGmt, dataset, info) -> bool:
    """Whether the cache's text embeddings are the ones the model was trained with."""
    name = model.metadata.get("text_encoder", model.config.text_encoder_name)
    return (
        "text_embeds" in dataset.column_names
        and info.text_encoder == name
        and info.text_dim == model.transformer.config.text_dim
    )


def measure(model, items, rows, *, cached: bool, batch: int, share, seed: int) -> dict:
    """The text-gain result over `rows` in batches of `batch`."""
    meter = TextGainMeter(model.transformer.config.n_q, share=share)
    for b in range(0, len(rows), batch):
        part = fixed_batch(items, rows[b : b + batch])
        if cached:
            emb, mask = part["text_embeds"], part["text_mask"]
        else:
            emb, mask = model.encode_text(part["texts"], None, None, batch=len(part["texts"]))
        meter.add(model, part["codes"], emb, mask, padding_mask=part["padding_mask"],
                  seed=seed * 7919 + b // batch)  # fmt: skip
    return meter.result()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="model folder (RUN/model)")
    parser.add_argument("--cache", required=True, help="token cache folder")
    parser.add_argument("--split", choices=("valid", "train", "all"), default="valid")
    parser.add_argument("--clips", type=int, default=256)
    parser.add_argument("--batch", type=int, default=16, help="clips per batch (shuffle group)")
    parser.add_argument("--share", type=float, default=0.5, help="hidden share, 'partial'")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", type=Path, default=RESULTS / "text_gain.json")
    args = parser.parse_args()

    started = time.perf_counter()
    model = MaskGmt.from_pretrained(args.model, device=args.device)
    dataset, info = load_cache(args.cache)
    check_pair(model, info)
    rows = pick_rows(dataset, model, args.split, args.clips, args.seed)
    if len(rows) < 2:
        raise SystemExit(f"--split {args.split}: {len(rows)} clip(s); the gain needs at least 2")
    cached = cached_embeds_fit(model, dataset, info)
    seq_len = model.metadata.get("train", {}).get("seq_len") or model.transformer.config.seq_len
    items = CodesDataset(dataset, seq_len=seq_len, random_crop=False, text_embeds=cached)
    gain = measure(model, items, rows, cached=cached, batch=args.batch, share=args.share,
                   seed=args.seed)  # fmt: skip
    report = {
        "model": str(Path(args.model).resolve()),
        "cache": str(Path(args.cache).resolve()),
        "split": args.split,
        "batch": args.batch,
        "seed": args.seed,
        "frames": seq_len,
        "train_steps": model.metadata.get("train", {}).get("steps"),
        "text": "cache" if cached else model.config.text_encoder_name,
        "seconds": round(time.perf_counter() - started, 2),
        **gain,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    for condition in ("full", "partial"):
        if report[condition] is not None:
            cells = ", ".join("-" if g is None else f"{g:.3f}" for g in report[condition]["gain"])
            print(f"{condition:8s} gain per level (nats/token): {cells}")
    if report["reason"]:
        print(report["reason"])
    print(f"{report['clips']} clips; wrote {args.out}")


if __name__ == "__main__":
    main()
