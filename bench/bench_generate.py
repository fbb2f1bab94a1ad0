"""Benchmark: training step and 10 s generation time of maskgmt vs a same-size autoregressive model.

Writes bench/results/generate.json. Configs:
  readme: the README quick start (dim 512, depth 2, 8 heads of 64, ff_mult 4, V 1024, K 8,
          T 750; its TokenCritic has dim 512, depth 6);
  small:  dim 256, depth 4 (same heads, V, K, T), no critic.
Timed on random weights with random text embeddings [B, 12, 384] (no text encoder in the timing).
"Training step" = forward + backward + AdamW step at batch 4, T 750. "Generate" = 10 s of codes
(K 8 x T 750), CFG scale 3, at batch 1 and 4. Every row is measured in the same run (same load):

  before           the first release's defaults: steps (16, 4 x 7), CFG on every level, full passes
  steps            new default steps (16, 2 x 7), still CFG on every level, full passes
  steps_cfg0       + CFG on level 0 only (upper levels run at batch B, not 2B)
  default          + last block and head only on still-masked frames: today's defaults, float32
  default_bf16     + compute_dtype=torch.bfloat16 (autocast; float32 weights, float32 sampling)
  default_critic   defaults, re-masking by the TokenCritic (readme config, full runs only)

The AR baseline (bench/ar_baseline.py) has the same width, depth and blocks, a KV cache and
MusicGen's delay pattern: T + K - 1 = 757 sequential steps, CFG in one batch, top-k 250. It runs
in float32 and in bfloat16 (weights cast: its fastest form); each masked row is compared with the
AR run of its own precision.

--quick times the `before` row and the AR runs on shortened runs and scales them to the full
pass / step counts (marked "extrapolated"): a full pass costs the same at every step, and an AR
step's cost barely depends on its position at these lengths. Other rows are always end to end.

    python bench/bench_generate.py [--quick] [--threads 2] [--configs readme,small]

--quality instead scores decoding schedules (no timing; bench/results/generate_quality.json): a
tiny model is trained on a synthetic code process whose likelihood is known, and the codes each
schedule generates are scored by that true log-likelihood per token and level (higher = more
plausible). Level 0 is a caption-specific Markov chain; a residual token copies a permutation of
the token below (p 0.6) or its left neighbour (p 0.3), else is uniform, so a residual level is
mostly, not wholly, determined by the level below.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parent))
import maskgmt.model.generate as generate_module  # noqa: E402
from ar_baseline import DelayPatternLM  # noqa: E402
from maskgmt.model import MaskGmt, debug_model, default_steps  # noqa: E402

V, K, T, TEXT_DIM, TEXT_LEN = 1024, 8, 750, 384, 12
CONFIGS = {
    "readme": dict(dim=512, depth=2, critic_depth=6),
    "small": dict(dim=256, depth=4, critic_depth=None),
}
HEADS, DIM_HEAD, FF_MULT = 8, 64, 4


def build(dim: int, depth: int, critic_depth: int | None) -> MaskGmt:
    # The README's critic: the keyword defaults of TokenCritic (8 heads of 64), at this width.
    critic = False
    if critic_depth is not None:
        critic = dict(dim=dim, depth=critic_depth, dim_head=64, heads=8)
    return debug_model(
        seed=None, critic=critic, num_tokens=V, seq_len=T, dim=dim, n_q=K, depth=depth,
        dim_head=DIM_HEAD, heads=HEADS, ff_mult=FF_MULT, text_dim=TEXT_DIM,
    )  # fmt: skip


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


OLD_STEPS = (16,) + (4,) * (K - 1)  # the first release's defaults
ROWS = {  # name -> (generate kwargs, last block pruned, float32 or bfloat16)
    "before": (dict(steps=OLD_STEPS, cfg_levels=None), False, "float32"),
    "steps": (dict(cfg_levels=None), False, "float32"),
    "steps_cfg0": ({}, False, "float32"),
    "default": ({}, True, "float32"),
    "default_bf16": (dict(compute_dtype=torch.bfloat16), True, "bfloat16"),
}


class PassCounter:
    """Counts transformer / critic passes, the batch rows they ran and the frames they asked."""

    def __init__(self, model: MaskGmt) -> None:
        self.passes = {"transformer": 0, "critic": 0}
        self.rows = 0  # sum of batch rows over transformer passes
        self.asked = 0.0  # sum over transformer passes of the share of frames the last block ran
        self.hooks = [
            model.transformer.backbone.register_forward_hook(self._main, with_kwargs=True)
        ]
        if model.token_critic is not None:
            self.hooks.append(
                model.token_critic.backbone.register_forward_hook(self._critic, with_kwargs=True)
            )

    def _main(self, module, args, kwargs, out) -> None:
        x, queries = args[0], kwargs.get("queries")
        self.passes["transformer"] += 1
        self.rows += x.shape[0]
        self.asked += 1.0 if queries is None else queries.shape[1] / x.shape[1]

    def _critic(self, module, args, kwargs, out) -> None:
        self.passes["critic"] += 1

    def reset(self) -> None:
        self.passes = {"transformer": 0, "critic": 0}
        self.rows, self.asked = 0, 0.0

    def close(self) -> None:
        for hook in self.hooks:
            hook.remove()


def time_generate(
    model: MaskGmt, batch: int, *, kwargs: dict, prune: bool, use_critic: bool, quick: bool
) -> dict:
    """Seconds to generate codes[batch, 8, 750] with `kwargs`, and the passes it took."""
    counter = PassCounter(model)
    emb, mask = text(batch)
    steps = kwargs.get("steps")
    extrapolate = quick and steps == OLD_STEPS  # uniform full passes: cost scales with the count
    run_kwargs = dict(kwargs, steps=(4,) + (1,) * (K - 1)) if extrapolate else kwargs
    generate_module.PRUNE_QUERIES = prune
    try:
        model.generate(  # warm-up: allocator, kernels, autocast
            text_embeds=emb[:, :4], text_mask=mask[:, :4], num_frames=32, steps=2,
            **{k: v for k, v in kwargs.items() if k == "compute_dtype"},
        )  # fmt: skip
        counter.reset()
        start = time.perf_counter()
        model.generate(
            text_embeds=emb, text_mask=mask, use_token_critic=use_critic,
            generator=torch.Generator().manual_seed(0), **run_kwargs,
        )  # fmt: skip
        seconds = time.perf_counter() - start
    finally:
        generate_module.PRUNE_QUERIES = True
        counter.close()
    passes = counter.passes["transformer"]
    result = {
        "seconds": seconds,
        "forward_passes": dict(counter.passes),
        # Cost in batch-B passes: CFG passes count 2, pruned last blocks count by the share asked.
        "transformer_rows_per_clip": counter.rows / batch,
        "mean_share_of_frames_asked": counter.asked / passes,
        "measured": "end_to_end",
    }
    if extrapolate:
        full = sum(OLD_STEPS)
        result.update(
            seconds=seconds * full / passes,
            forward_passes={"transformer": full, "critic": 0},
            transformer_rows_per_clip=2.0 * full,
            measured=f"extrapolated from {passes} passes ({seconds:.2f} s)",
        )
    return result


def time_passes(model: MaskGmt) -> dict:
    """Milliseconds of one transformer pass (blocks + head) at T 750, by batch rows and dtype.

    `half_asked` runs the last block and the head on every other frame, as a mid-level step does.
    """
    backbone, out = model.transformer.backbone, {}
    for dtype in (torch.float32, torch.bfloat16):
        autocast = torch.autocast("cpu", dtype, enabled=dtype != torch.float32)
        for rows in (1, 2):
            emb, mask = text(rows)
            x = torch.randn(rows, T, backbone.config.dim)
            half = torch.arange(0, T, 2).expand(rows, -1)
            with torch.inference_mode(), autocast:
                ctx = backbone.text_context(emb, mask)
                for name, queries in (("full", None), ("half_asked", half)):
                    times = []
                    for _ in range(4):  # the first warms up
                        start = time.perf_counter()
                        model.transformer.level_logits(backbone(x, ctx, queries=queries), 0)
                        times.append(time.perf_counter() - start)
                    key = f"{str(dtype).removeprefix('torch.')}_rows{rows}_{name}"
                    out[key] = statistics.median(times[1:]) * 1e3
    return out


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


# ---- --quality: schedules scored on a synthetic process with a known likelihood ---------------

QV, QK, QT, QC, QL = 16, 4, 32, 4, 3  # codes, levels, frames, captions, caption tokens
P_BELOW, P_LEFT = 0.6, 0.3  # residual token: permuted copy of the token below / of its left one


class SyntheticCodes:
    """codes[B, K, T]: level 0 a Markov chain per caption; level k copies level k-1 or its past."""

    def __init__(self, seed: int = 0) -> None:
        gen = torch.Generator().manual_seed(seed)
        self.trans = torch.softmax(torch.randn(QC, QV, QV, generator=gen) * 4.0, dim=-1)
        self.perm = torch.stack([torch.randperm(QV, generator=gen) for _ in range(QK)])
        self.text = torch.randn(QC, QL, 16, generator=gen)

    def sample(self, n: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """-> (caption ids [n], codes [n, K, T])."""
        cap = torch.randint(0, QC, (n,), generator=gen)
        codes = torch.zeros(n, QK, QT, dtype=torch.long)
        codes[:, 0, 0] = torch.randint(0, QV, (n,), generator=gen)
        for t in range(1, QT):
            probs = self.trans[cap, codes[:, 0, t - 1]]
            codes[:, 0, t] = torch.multinomial(probs, 1, generator=gen)[:, 0]
        for k in range(1, QK):
            for t in range(QT):
                left = codes[:, k, t - 1] if t else torch.zeros(n, dtype=torch.long)
                below = self.perm[k][codes[:, k - 1, t]]
                u = torch.rand(n, generator=gen)
                noise = torch.randint(0, QV, (n,), generator=gen)
                codes[:, k, t] = torch.where(
                    u < P_BELOW, below, torch.where(u < P_BELOW + P_LEFT, left, noise)
                )
        return cap, codes

    def log_likelihood(self, cap: torch.Tensor, codes: torch.Tensor) -> list[float]:
        """Mean true log p per token of each level of codes[n, K, T] (nats)."""
        first = torch.full_like(cap, -math.log(QV), dtype=torch.float)[:, None]
        rest = self.trans[cap[:, None], codes[:, 0, :-1], codes[:, 0, 1:]].log()
        out = [torch.cat([first, rest], dim=1).mean().item()]
        for k in range(1, QK):
            left = F.pad(codes[:, k, :-1], (1, 0))
            below = self.perm[k][codes[:, k - 1]]
            p = (1 - P_BELOW - P_LEFT) / QV + P_BELOW * (codes[:, k] == below).float()
            out.append((p + P_LEFT * (codes[:, k] == left).float()).log().mean().item())
        return out


QUALITY_RUNS = {  # name -> generate kwargs
    "before (16,4,4,4), CFG every level": dict(steps=(16, 4, 4, 4), cfg_levels=None),
    "(16,4,4,4), CFG level 0": dict(steps=(16, 4, 4, 4)),
    "default (16,2,2,2), CFG level 0": {},
    "default, bfloat16 autocast": dict(compute_dtype=torch.bfloat16),
    "(12,2,2,2)": dict(steps=(12, 2, 2, 2)),
    "(8,2,2,2)": dict(steps=(8, 2, 2, 2)),
    "(16,2,1,1)": dict(steps=(16, 2, 1, 1)),
    "(16,1,1,1)": dict(steps=(16, 1, 1, 1)),
}


def bf16_agreement(model: MaskGmt, codes: torch.Tensor, text_kwargs: dict) -> dict:
    """Per level: argmax agreement and largest logit gap, bfloat16 autocast vs float32 logits."""
    hide = torch.rand(codes.shape[0], codes.shape[2], generator=torch.Generator().manual_seed(2))
    out: dict = {"argmax_agreement": [], "max_abs_logit_diff": []}
    for level in range(codes.shape[1]):
        with torch.inference_mode():
            ref = model.logits(codes, level, token_mask=hide < 0.5, **text_kwargs)
            with torch.autocast("cpu", dtype=torch.bfloat16):
                low = model.logits(codes, level, token_mask=hide < 0.5, **text_kwargs).float()
        out["argmax_agreement"].append((ref.argmax(-1) == low.argmax(-1)).float().mean().item())
        out["max_abs_logit_diff"].append((ref - low).abs().max().item())
    return out


def quality(train_steps: int) -> dict:
    """Train the tiny model, then score each schedule over 3 seeds x 256 clips."""
    process = SyntheticCodes()
    model = debug_model(
        seed=0, num_tokens=QV, seq_len=QT, dim=64, n_q=QK, depth=2, dim_head=16, heads=4,
        text_dim=16, cond_drop_prob=0.2,
    )  # fmt: skip
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=0.0)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda i: min(1.0, (i + 1) / 50) * (1 - i / train_steps)
    )
    gen, mask = torch.Generator().manual_seed(1), torch.ones(64, QL, dtype=torch.bool)
    for _ in tqdm(range(train_steps), desc="train synthetic", unit="step"):
        cap, codes = process.sample(64, gen)
        out = model.compute_loss(codes, text_embeds=process.text[cap], text_mask=mask)
        opt.zero_grad(set_to_none=True)
        out.loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
    model.eval()
    cap, real = process.sample(256, torch.Generator().manual_seed(5))
    text_kwargs = dict(
        text_embeds=process.text[cap], text_mask=torch.ones(256, QL, dtype=torch.bool)
    )
    agreement = bf16_agreement(model, real, text_kwargs)
    print(f"  bfloat16 vs float32 logits: {agreement}", flush=True)
    scores = {"real codes": process.log_likelihood(cap, real)}
    for name, kwargs in QUALITY_RUNS.items():
        per_seed = [
            process.log_likelihood(
                cap,
                model.generate(
                    generator=torch.Generator().manual_seed(seed), **text_kwargs, **kwargs
                ),
            )
            for seed in range(3)
        ]
        scores[name] = torch.tensor(per_seed).mean(dim=0).tolist()
        print(f"  {name}: {[round(x, 3) for x in scores[name]]}", flush=True)
    return {
        "what": "mean true log-likelihood per token (nats) of generated codes, per level, on a "
        "synthetic process (see the docstring of bench/bench_generate.py); higher = better",
        "process": {
            "V": QV,
            "K": QK,
            "T": QT,
            "captions": QC,
            "p_below": P_BELOW,
            "p_left": P_LEFT,
        },
        "train_steps": train_steps,
        "final_train_level_loss": out.level_loss.tolist(),
        "cond_scale": 3.0,
        "bf16_vs_fp32_logits": agreement,
        "log_likelihood_by_level": scores,
        "mean_over_levels": {name: sum(v) / len(v) for name, v in scores.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--quick", action="store_true", help="extrapolate the slow rows from shortened runs"
    )
    parser.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (default 2)")
    parser.add_argument("--configs", default="readme,small", help="comma-separated: readme,small")
    parser.add_argument("--batches", default="1,4", help="comma-separated batch sizes")
    parser.add_argument(
        "--quality", action="store_true", help="score decoding schedules instead of timing"
    )
    parser.add_argument("--out", type=Path, default=None, help="default: bench/results/...")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    results_dir = Path(__file__).parent / "results"
    if args.quality:
        out = args.out or results_dir / "generate_quality.json"
        out.write_text(json.dumps(quality(train_steps=1200), indent=2) + "\n")
        print(f"wrote {out}")
        return
    args.out = args.out or results_dir / "generate.json"

    results: dict = {
        "what": "seconds on CPU; generate = 10 s of codes (K 8 x T 750), CFG 3; rows: see the "
        "docstring of bench/bench_generate.py",
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "cpu": platform.processor() or platform.machine(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "cpu_count": os.cpu_count(),
        "load_average_start": os.getloadavg(),
        "quick": args.quick,
        "default_steps": list(default_steps(K)),
        "before_steps": list(OLD_STEPS),
        "configs": {},
    }
    for name in args.configs.split(","):
        cfg = CONFIGS[name]
        print(f"[{name}] {cfg}", flush=True)
        model = build(**cfg).eval()
        entry: dict = {
            "config": {
                **cfg,
                "heads": HEADS,
                "dim_head": DIM_HEAD,
                "ff_mult": FF_MULT,
                "num_tokens": V,
                "n_q": K,
                "seq_len": T,
            },  # fmt: skip
            "params": {"transformer": params(model.transformer)},
        }
        if model.token_critic is not None:
            entry["params"]["critic"] = params(model.token_critic)
        entry["train_step_batch4_s"] = time_train_step(model, reps=1 if args.quick else 3)
        print(f"  train step {entry['train_step_batch4_s']:.2f} s", flush=True)
        entry["pass_ms"] = time_passes(model)
        print(f"  pass ms {json.dumps(entry['pass_ms'])}", flush=True)
        entry["generate"], entry["ar_baseline"], entry["speedup_vs_ar"] = {}, {}, {}
        entry["speedup_vs_before"] = {}
        for batch in (int(b) for b in args.batches.split(",")):
            gen, ar = {}, {}
            for dtype_name in ("float32", "bfloat16"):
                ar[dtype_name] = time_ar(
                    cfg["dim"], cfg["depth"], batch, quick=args.quick,
                    dtype=getattr(torch, dtype_name),
                )  # fmt: skip
                print(f"  batch {batch} AR {dtype_name}: {ar[dtype_name]['seconds']:.2f} s")
            rows = dict(ROWS)
            if model.token_critic is not None and not args.quick:
                rows["default_critic"] = ({}, True, "float32")
            for row, (kwargs, prune, dtype_name) in rows.items():
                gen[row] = time_generate(
                    model, batch, kwargs=kwargs, prune=prune, quick=args.quick,
                    use_critic=row == "default_critic",
                )  # fmt: skip
                gen[row]["dtype"] = dtype_name
                gen[row]["load_average_1min"] = os.getloadavg()[0]
                print(f"  batch {batch} {row}: {gen[row]['seconds']:.2f} s", flush=True)
            key = f"batch{batch}"
            entry["generate"][key], entry["ar_baseline"][key] = gen, ar
            entry["speedup_vs_ar"][key] = {
                row: ar[g["dtype"]]["seconds"] / g["seconds"] for row, g in gen.items()
            }
            entry["speedup_vs_before"][key] = {
                row: gen["before"]["seconds"] / g["seconds"] for row, g in gen.items()
            }
            print(f"  batch {batch} speedup vs AR: {entry['speedup_vs_ar'][key]}", flush=True)
        # Sequential passes bound latency where a pass is not compute-bound (a GPU).
        entry["sequential_pass_ratio_vs_ar"] = (T + K - 1) / sum(default_steps(K))
        results["configs"][name] = entry
        results["load_average_end"] = os.getloadavg()
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2) + "\n")  # after each config: keep it
        print(f"wrote {args.out}", flush=True)


if __name__ == "__main__":
    main()
