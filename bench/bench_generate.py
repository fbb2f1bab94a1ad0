"""Benchmark: training step and 10 s generation time of maskgmt vs a same-size autoregressive model.

Writes bench/results/generate.json. Configs:
  readme: the README quick start (dim 512, depth 2, 8 heads of 64, ff_mult 4, V 1024, K 8,
          T 750; its TokenCritic has dim 512, depth 6);
  small:  dim 256, depth 4 (same heads, V, K, T), no critic.
Timed on random weights with random text embeddings [B, 12, 384] (no text encoder in the timing).
"Training step" = forward + backward + AdamW step at batch 4, T 750. "Generate" = 10 s of codes
(K 8 x T 750) with the default steps (16 for level 0, 4 per upper level), CFG scale 3 (cond and
uncond in one batch). The AR baseline (bench/ar_baseline.py) has the same width, depth and blocks,
a KV cache and MusicGen's delay pattern: T + K - 1 = 757 sequential steps, CFG in one batch,
top-k 250.

--quick times shortened runs and scales them to the full pass / step counts (marked
"extrapolated" in the JSON): a maskgmt pass costs the same at every step, and an AR step's cost
barely depends on its position at these lengths.

    python bench/bench_generate.py [--quick] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ar_baseline import DelayPatternLM  # noqa: E402
from maskgmt.model import MaskGmt, MaskGmtTransformer, TokenCritic, default_steps  # noqa: E402

V, K, T, TEXT_DIM, TEXT_LEN = 1024, 8, 750, 384, 12
CONFIGS = {
    "readme": dict(dim=512, depth=2, critic_depth=6),
    "small": dict(dim=256, depth=4, critic_depth=None),
}
HEADS, DIM_HEAD, FF_MULT = 8, 64, 4


def build(dim: int, depth: int, critic_depth: int | None) -> MaskGmt:
    transformer = MaskGmtTransformer(
        num_tokens=V, seq_len=T, dim=dim, n_q=K, depth=depth,
        dim_head=DIM_HEAD, heads=HEADS, ff_mult=FF_MULT, text_dim=TEXT_DIM,
    )  # fmt: skip
    critic = None
    if critic_depth is not None:
        critic = TokenCritic(num_tokens=V, seq_len=T, dim=dim, depth=critic_depth, n_q=K)
    return MaskGmt(transformer=transformer, token_critic=critic)


def text(batch: int) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    return torch.randn(batch, TEXT_LEN, TEXT_DIM, generator=gen), torch.ones(
        batch, TEXT_LEN, dtype=torch.bool
    )


def params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def time_train_step(model: MaskGmt, reps: int) -> float:
    """Median seconds of forward + backward + AdamW step at batch 4, T 750."""
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    codes = torch.randint(0, V, (4, K, T), generator=torch.Generator().manual_seed(0))
    emb, mask = text(4)
    times = []
    for i in range(reps + 1):
        start = time.perf_counter()
        loss = model(codes, text_embeds=emb, text_mask=mask)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if i:  # the first step warms up allocators and kernels
            times.append(time.perf_counter() - start)
    model.eval()
    return statistics.median(times)


def time_generate(model: MaskGmt, batch: int, *, use_critic: bool, quick: bool) -> dict:
    """Seconds to generate codes[batch, 8, 750] and the forward passes it took."""
    counts = {"transformer": 0, "critic": 0}
    hooks = [
        model.transformer.backbone.register_forward_hook(
            lambda *a: counts.__setitem__("transformer", counts["transformer"] + 1)
        )
    ]
    if model.token_critic is not None:
        hooks.append(
            model.token_critic.backbone.register_forward_hook(
                lambda *a: counts.__setitem__("critic", counts["critic"] + 1)
            )
        )
    emb, mask = text(batch)
    full_steps = default_steps(K)
    steps = (4,) + (1,) * (K - 1) if quick else full_steps
    model.generate(text_embeds=emb[:, :4], text_mask=mask[:, :4], num_frames=32, steps=1)  # warm-up
    counts.update(transformer=0, critic=0)
    start = time.perf_counter()
    model.generate(
        text_embeds=emb, text_mask=mask, steps=steps, use_token_critic=use_critic,
        generator=torch.Generator().manual_seed(0),
    )  # fmt: skip
    seconds = time.perf_counter() - start
    for hook in hooks:
        hook.remove()
    measured = dict(counts)
    if not quick:
        return {"seconds": seconds, "forward_passes": measured, "measured": "end_to_end"}
    full_passes = sum(full_steps)
    return {
        "seconds": seconds * full_passes / measured["transformer"],
        "forward_passes": {"transformer": full_passes, "critic": 0},
        "measured": f"extrapolated from {measured['transformer']} passes ({seconds:.2f} s)",
    }


def time_ar(dim: int, depth: int, batch: int, *, quick: bool, dtype: torch.dtype) -> dict:
    """Seconds for the AR baseline to generate codes[batch, 8, 750] and its decode steps."""
    torch.manual_seed(0)
    model = DelayPatternLM(
        num_tokens=V, n_q=K, dim=dim, depth=depth, heads=HEADS, dim_head=DIM_HEAD,
        ff_mult=FF_MULT, text_dim=TEXT_DIM, max_frames=T,
    ).eval().to(dtype)  # fmt: skip
    emb, mask = text(batch)
    emb = emb.to(dtype)
    model.generate(emb, mask, num_frames=8)  # warm-up
    frames = 100 if quick else T
    start = time.perf_counter()
    _, steps = model.generate(
        emb, mask, num_frames=frames, generator=torch.Generator().manual_seed(0)
    )
    seconds = time.perf_counter() - start
    full = T + K - 1
    result = {"seconds": seconds * full / steps, "forward_passes": full, "params": params(model)}
    result["measured"] = (
        "end_to_end" if not quick else f"extrapolated from {steps} steps ({seconds:.2f} s)"
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--quick", action="store_true", help="shortened runs, scaled to full counts"
    )
    parser.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (default 2)")
    parser.add_argument(
        "--dtype", choices=["float32", "bfloat16"], default="float32", help="weights of both models"
    )
    parser.add_argument("--configs", default="readme,small", help="comma-separated: readme,small")
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).parent / "results" / "generate.json"
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    dtype = getattr(torch, args.dtype)

    results: dict = {
        "what": "seconds on CPU; generate = 10 s of codes (K 8 x T 750), default steps, CFG 3",
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "cpu": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "load_average_start": os.getloadavg(),
        "quick": args.quick,
        "dtype": args.dtype,
        "default_steps": list(default_steps(K)),
        "configs": {},
    }
    for name in args.configs.split(","):
        cfg = CONFIGS[name]
        print(f"[{name}] {cfg}", flush=True)
        model = build(**cfg).to(dtype)
        entry: dict = {
            "config": {
                **cfg,
                "heads": HEADS,
                "dim_head": DIM_HEAD,
                "ff_mult": FF_MULT,
                "num_tokens": V,
                "n_q": K,
                "seq_len": T,
            },
            "params": {"transformer": params(model.transformer)},
        }
        if model.token_critic is not None:
            entry["params"]["critic"] = params(model.token_critic)
        if dtype == torch.float32:  # mixed-precision training is the trainer's business
            entry["train_step_batch4_s"] = time_train_step(model, reps=1 if args.quick else 3)
            print(f"  train step {entry['train_step_batch4_s']:.2f} s", flush=True)
        entry["generate"], entry["ar_baseline"], entry["speedup_vs_ar"] = {}, {}, {}
        for batch in (1, 4):
            mg = time_generate(model, batch, use_critic=False, quick=args.quick)
            ar = time_ar(cfg["dim"], cfg["depth"], batch, quick=args.quick, dtype=dtype)
            entry["generate"][f"batch{batch}"] = mg
            entry["ar_baseline"][f"batch{batch}"] = ar
            entry["speedup_vs_ar"][f"batch{batch}"] = ar["seconds"] / mg["seconds"]
            # Sequential forward passes: what bounds latency where a pass is not FLOP-bound (GPU).
            entry["sequential_pass_ratio_vs_ar"] = ar["forward_passes"] / sum(default_steps(K))
            print(
                f"  batch {batch}: maskgmt {mg['seconds']:.2f} s, AR {ar['seconds']:.2f} s",
                flush=True,
            )
            if model.token_critic is not None and not args.quick:
                with_critic = time_generate(model, batch, use_critic=True, quick=False)
                entry["generate"][f"batch{batch}_with_critic"] = with_critic
                print(f"  batch {batch} with critic: {with_critic['seconds']:.2f} s", flush=True)
        results["configs"][name] = entry
    results["load_average_end"] = os.getloadavg()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
