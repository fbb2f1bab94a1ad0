"""Text-encoder throughput (captions/s) and load time; writes bench/results/text.json.

MiniLM uses the real packaged weights. T5 has no weights here, so t5-small and t5-base are
random-initialised from their published shapes with a SentencePiece tokenizer trained on the
fly: the compute per caption is the real model's, the embeddings are meaningless.

    python bench/bench_text.py [--captions 256] [--device cpu] [--out bench/results/text.json]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import random
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402

# Published encoder shapes: (d_model, d_kv, heads, d_ff, layers).
T5_SHAPES = {"t5-small": (512, 64, 8, 2048, 6), "t5-base": (768, 64, 12, 3072, 12)}
_VOCAB = "slow fast calm loud soft solo piano violin cello flute drums jazz minor major a low high"
WORDS = _VOCAB.split(" ")


def make_captions(n: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.choices(WORDS, k=rng.randint(4, 16))) for _ in range(n)]


def t5_tokenizer(captions: list[str]):
    import sentencepiece as spm
    from transformers import AutoTokenizer

    folder = Path(tempfile.mkdtemp(prefix="bench-spiece-"))
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(captions),
        model_writer=model,
        vocab_size=64,
        model_type="unigram",
        pad_id=0,
        eos_id=1,
        unk_id=2,
        bos_id=-1,
        hard_vocab_limit=False,
        minloglevel=2,
    )
    (folder / "spiece.model").write_bytes(model.getvalue())
    (folder / "config.json").write_text('{"model_type": "t5"}')
    return AutoTokenizer.from_pretrained(folder, local_files_only=True)


def measure(encoder, captions: list[str], repeats: int) -> dict:
    encoder.encode(captions[:8])  # warm-up
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        emb, mask = encoder.encode(captions, progress=False)
        if emb.is_cuda:
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - start)
    return {
        "captions": len(captions),
        "batch_size": encoder.batch_size,
        "seconds": round(best, 4),
        "captions_per_s": round(len(captions) / best, 1),
        "mean_tokens": round(float(mask.sum(1).float().mean()), 1),
        "dim": encoder.dim,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--captions", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", type=Path, default=Path("bench/results/text.json"))
    args = parser.parse_args()

    from transformers import T5Config

    from maskgmt.text import MiniLMTextEncoder, T5TextEncoder, clear_text_encoder_cache

    captions = make_captions(args.captions)
    results: dict = {
        "device": args.device,
        "torch_threads": torch.get_num_threads(),
        "machine": platform.machine(),
        "load_average_1min": round(os.getloadavg()[0], 2),  # other jobs skew CPU numbers
        "encoders": {},
    }

    clear_text_encoder_cache()
    start = time.perf_counter()
    minilm = MiniLMTextEncoder(device=args.device, progress=False)
    cold = time.perf_counter() - start
    start = time.perf_counter()
    MiniLMTextEncoder(device=args.device, progress=False)
    warm = time.perf_counter() - start
    entry = {"load_s": round(cold, 3), "cached_load_s": round(warm, 5)}
    for batch_size in (16, 64):
        minilm.batch_size = batch_size
        entry[f"batch_{batch_size}"] = measure(minilm, captions, args.repeats)
    results["encoders"]["minilm"] = entry

    tokenizer = t5_tokenizer(captions)
    for name, (d_model, d_kv, heads, d_ff, layers) in T5_SHAPES.items():
        config = T5Config(
            vocab_size=len(tokenizer),
            d_model=d_model,
            d_kv=d_kv,
            num_heads=heads,
            d_ff=d_ff,
            num_layers=layers,
        )
        encoder = T5TextEncoder.from_config(config, tokenizer, device=args.device, progress=False)
        timing = measure(encoder, captions, args.repeats)
        results["encoders"][f"{name} (random init)"] = {"batch_64": timing}

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
