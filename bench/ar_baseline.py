"""Same-size autoregressive baseline (MusicGen-style): causal decoder, KV cache, delay pattern.

Only for `bench_generate.py`: it shows what parallel masked decoding saves. It reuses maskgmt's
cross-attention, feed-forward and norms so both models have the same width, depth and blocks.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from maskgmt.model.layers import CrossAttention, GatedFeedForward, TextContext, key_padding_mask
from maskgmt.model.sampling import filter_logits, guide, sample


class CachedCausalSelfAttention(nn.Module):
    """Self-attention for one new frame at a time over a preallocated key/value cache."""

    def __init__(self, *, dim: int, heads: int, dim_head: int) -> None:
        super().__init__()
        self.heads, self.dim_head = heads, dim_head
        self.to_qkv = nn.Linear(dim, 3 * heads * dim_head, bias=False)
        self.to_out = nn.Linear(heads * dim_head, dim, bias=False)

    def forward(self, x: torch.Tensor, cache: torch.Tensor, pos: int) -> torch.Tensor:
        """x[B, 1, D]; cache[2, B, H, S_max, dh] is written at `pos` -> [B, 1, D]."""
        b = x.shape[0]
        q, k, v = self.to_qkv(x).view(b, 1, 3, self.heads, self.dim_head).permute(2, 0, 3, 1, 4)
        cache[0, :, :, pos : pos + 1] = k
        cache[1, :, :, pos : pos + 1] = v
        # Only past keys are in the cache slice, so no causal mask is needed.
        out = F.scaled_dot_product_attention(
            q, cache[0, :, :, : pos + 1], cache[1, :, :, : pos + 1]
        )
        return self.to_out(out.transpose(1, 2).reshape(b, 1, -1))


class ARBlock(nn.Module):
    def __init__(
        self, *, dim: int, text_dim: int, heads: int, dim_head: int, ff_mult: float
    ) -> None:
        super().__init__()
        self.self_norm = nn.RMSNorm(dim)
        self.self_attn = CachedCausalSelfAttention(dim=dim, heads=heads, dim_head=dim_head)
        self.cross_norm = nn.RMSNorm(dim)
        self.cross_attn = CrossAttention(dim=dim, text_dim=text_dim, heads=heads, dim_head=dim_head)
        self.ff_norm = nn.RMSNorm(dim)
        self.ff = GatedFeedForward(dim=dim, ff_mult=ff_mult)


class DelayPatternLM(nn.Module):
    """Causal LM over codes[B, K, T] with MusicGen's delay pattern: level k lags k frames.

    One decode step sums K level embeddings into one input and predicts K heads, so a clip of T
    frames takes T + K - 1 sequential steps.
    """

    def __init__(
        self,
        *,
        num_tokens: int,
        n_q: int,
        dim: int,
        depth: int,
        heads: int = 8,
        dim_head: int = 64,
        ff_mult: float = 4.0,
        text_dim: int = 384,
        max_frames: int = 750,
    ) -> None:
        super().__init__()
        self.num_tokens, self.n_q = num_tokens, n_q
        self.heads, self.dim_head = heads, dim_head
        self.special = num_tokens  # "nothing yet" id, for the delayed start of each level
        self.code_emb = nn.Embedding(n_q * (num_tokens + 1), dim)
        self.pos_emb = nn.Parameter(torch.randn(max_frames + n_q, dim) * 0.02)
        self.text_norm = nn.LayerNorm(text_dim)
        self.blocks = nn.ModuleList(
            ARBlock(dim=dim, text_dim=text_dim, heads=heads, dim_head=dim_head, ff_mult=ff_mult)
            for _ in range(depth)
        )
        self.out_norm = nn.RMSNorm(dim)
        self.to_logits = nn.Linear(dim, n_q * num_tokens)  # K heads in one matmul
        self.register_buffer("offsets", torch.arange(n_q) * (num_tokens + 1), persistent=False)

    def text_context(self, emb: torch.Tensor, mask: torch.Tensor) -> TextContext:
        text = self.text_norm(emb)
        keep = torch.cat([mask.new_ones(mask.shape[0], 1), mask], dim=1)
        kv = tuple(block.cross_attn.text_kv(text) for block in self.blocks)
        return TextContext(kv=kv, mask=key_padding_mask(keep))

    def step(
        self, tokens: torch.Tensor, pos: int, caches: list[torch.Tensor], text: TextContext
    ) -> torch.Tensor:
        """tokens[B, K] of the previous step -> logits [B, K, V] for this step."""
        x = self.code_emb(tokens + self.offsets).sum(dim=1, keepdim=True) + self.pos_emb[pos]
        for block, cache, kv in zip(self.blocks, caches, text.kv, strict=True):
            x = x + block.self_attn(block.self_norm(x), cache, pos)
            x = x + block.cross_attn(block.cross_norm(x), kv, text.mask)
            x = x + block.ff(block.ff_norm(x))
        logits = self.to_logits(self.out_norm(x))  # (B, 1, K * V)
        return logits.view(-1, self.n_q, self.num_tokens)

    @torch.inference_mode()
    def generate(
        self,
        text_emb: torch.Tensor,
        text_mask: torch.Tensor,
        *,
        num_frames: int,
        cond_scale: float = 3.0,
        top_k: int = 250,
        temperature: float = 1.0,
        generator: torch.Generator | None = None,
    ) -> tuple[torch.Tensor, int]:
        """Sample codes[B, K, T] with CFG (cond + uncond in one batch) -> (codes, decode steps)."""
        b, k, t = text_emb.shape[0], self.n_q, num_frames
        device = text_emb.device
        null_emb, null_mask = text_emb * 0, text_mask & False
        text = self.text_context(torch.cat([text_emb, null_emb]), torch.cat([text_mask, null_mask]))
        steps = t + k - 1
        caches = [
            torch.zeros(
                2, 2 * b, self.heads, steps, self.dim_head, device=device, dtype=text_emb.dtype
            )
            for _ in self.blocks
        ]
        codes = torch.full((b, k, t), self.special, dtype=torch.long, device=device)
        prev = torch.full((b, k), self.special, dtype=torch.long, device=device)
        levels = torch.arange(k, device=device)
        for s in range(steps):
            cond, uncond = self.step(torch.cat([prev, prev]), s, caches, text).float().chunk(2)
            logits = filter_logits(guide(cond, uncond, cond_scale), top_k=top_k, top_p=None)
            new = sample(logits, temperature=temperature, generator=generator)  # (B, K)
            frame = s - levels  # level k emits the token of frame s - k
            valid = (frame >= 0) & (frame < t)
            prev = torch.where(valid, new, torch.full_like(new, self.special))
            codes[:, levels[valid], frame[valid]] = new[:, valid]
        return codes, steps
