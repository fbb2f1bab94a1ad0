"""Transformer building blocks: attention over SDPA, cached text keys/values, gated feed-forward."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class TextContext:
    """Per-block cross-attention keys/values of one text batch, computed once and reused.

    `kv[i]` is (k, v), each [B, H, 1 + L, dh] for block i; position 0 is the learned null token,
    which every query may attend to, so a fully dropped caption still has one key.
    `mask` is [B, 1, 1, 1 + L] bool (True = attend) or None when no text token is padded.
    `pooled` is [B, D], the caption's mean embedding projected to the model width and added to
    every frame, or None for a backbone built without `pooled_text`.
    `cues` is [B, 3] float: (bpm, frame offset, key) of each clip (NaN = no such cue) for the
    tempo clock and the key cue, or None for a backbone with neither (model/cues.py).
    """

    kv: tuple[tuple[torch.Tensor, torch.Tensor], ...]
    mask: torch.Tensor | None
    pooled: torch.Tensor | None = None
    cues: torch.Tensor | None = None

    def rows(self, stop: int) -> TextContext:
        """The first `stop` captions (the conditional half of a CFG batch), as views."""
        kv = tuple((k[:stop], v[:stop]) for k, v in self.kv)
        mask = None if self.mask is None else self.mask[:stop]
        return TextContext(
            kv=kv,
            mask=mask,
            pooled=None if self.pooled is None else self.pooled[:stop],
            cues=None if self.cues is None else self.cues[:stop],
        )

    @property
    def batch_size(self) -> int:
        return self.kv[0][0].shape[0]


def key_padding_mask(keep: torch.Tensor | None) -> torch.Tensor | None:
    """keep[B, S] bool (True = real) -> SDPA mask [B, 1, 1, S], or None when nothing is padded."""
    if keep is None or bool(keep.all()):
        return None  # lets SDPA pick its fastest kernel
    return keep[:, None, None, :]


def take_frames(x: torch.Tensor, frames: torch.Tensor) -> torch.Tensor:
    """x[B, T, ...] and frames[B, N] long -> x at those frames [B, N, ...]."""
    index = frames.view(*frames.shape, *([1] * (x.dim() - 2)))
    return torch.take_along_dim(x, index, dim=1)


def rotary_tables(num_frames: int, dim_head: int, *, device, dtype) -> torch.Tensor:
    """Rotary position tables for frames 0..T-1 -> [2, T, dh/2] (cos, sin).

    Self-attention scores then depend on the offset between two frames, not on where they sit:
    codec frames mostly continue their neighbours, and relative positions let every level
    (level 0 above all, which sees no lower level at its own frame) learn that from the first
    steps instead of rediscovering it at each absolute position.
    """
    exponent = torch.arange(0, dim_head, 2, device=device, dtype=torch.float32) / dim_head
    inv = 1.0 / (10_000**exponent)
    angles = torch.arange(num_frames, device=device, dtype=torch.float32)[:, None] * inv[None]
    return torch.stack([angles.cos(), angles.sin()]).to(dtype)


def rotate(x: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
    """x[B, H, N, dh] rotated by table[2, B or 1, N, dh/2] (channel pairs as complex numbers)."""
    cos, sin = table[0][:, None], table[1][:, None]  # (B or 1, 1, N, dh/2)
    x1, x2 = x[..., 0::2], x[..., 1::2]
    return torch.stack([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1).flatten(-2)


class SelfAttention(nn.Module):
    """Bidirectional multi-head self-attention over frames, with rotary relative positions."""

    def __init__(self, *, dim: int, heads: int, dim_head: int) -> None:
        super().__init__()
        self.heads, self.dim_head = heads, dim_head
        self.to_qkv = nn.Linear(dim, 3 * heads * dim_head, bias=False)
        self.to_out = nn.Linear(heads * dim_head, dim, bias=False)
        self._tables: dict[tuple, torch.Tensor] = {}  # rotary tables, reused across steps

    def _rotary(self, t: int, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
        # Keyed by inference mode too: a table made under torch.inference_mode cannot take part
        # in a training step's backward pass.
        key = (t, device, dtype, torch.is_inference_mode_enabled())
        if key not in self._tables:
            if len(self._tables) > 8:
                self._tables.clear()
            self._tables[key] = rotary_tables(t, self.dim_head, device=device, dtype=dtype)
        return self._tables[key]

    def forward(
        self, x: torch.Tensor, mask: torch.Tensor | None, queries: torch.Tensor | None = None
    ) -> torch.Tensor:
        """x[B, T, D], mask [B, 1, 1, T] or None -> [B, T, D].

        queries[B, N] long: only these frames ask (keys/values still come from all T) -> [B, N, D].
        """
        b, t, _ = x.shape
        if queries is None:
            qkv = self.to_qkv(x).view(b, t, 3, self.heads, self.dim_head)
            q, k, v = qkv.permute(2, 0, 3, 1, 4)  # each (B, H, T, dh)
        else:
            inner = self.heads * self.dim_head
            weight = self.to_qkv.weight  # rows: q, then k, then v; slices are views, not copies
            kv = F.linear(x, weight[inner:]).view(b, t, 2, self.heads, self.dim_head)
            k, v = kv.permute(2, 0, 3, 1, 4)  # each (B, H, T, dh)
            n = queries.shape[1]
            q = F.linear(take_frames(x, queries), weight[:inner])
            q = q.view(b, n, self.heads, self.dim_head).transpose(1, 2)  # (B, H, N, dh)
        table = self._rotary(t, x.device, q.dtype)  # (2, T, dh/2)
        k = rotate(k, table[:, None])
        # queries: the table rows of the asked frames, (2, B, N, dh/2)
        q = rotate(q, table[:, None] if queries is None else table[:, queries])
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        return self.to_out(out.transpose(1, 2).reshape(b, q.shape[2], -1))


class CrossAttention(nn.Module):
    """Frames attend to text tokens plus a learned null token (the CFG "no text" key/value)."""

    def __init__(self, *, dim: int, text_dim: int, heads: int, dim_head: int) -> None:
        super().__init__()
        self.heads, self.dim_head = heads, dim_head
        inner = heads * dim_head
        self.to_q = nn.Linear(dim, inner, bias=False)
        self.to_kv = nn.Linear(text_dim, 2 * inner, bias=False)
        self.null_kv = nn.Parameter(torch.randn(2, heads, 1, dim_head) * 0.02)
        self.to_out = nn.Linear(inner, dim, bias=False)

    def text_kv(self, text: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """text[B, L, text_dim] (normalized) -> k, v each [B, H, 1 + L, dh], null token first."""
        b, n, _ = text.shape
        kv = self.to_kv(text).view(b, n, 2, self.heads, self.dim_head).permute(2, 0, 3, 1, 4)
        null = self.null_kv.unsqueeze(1).expand(2, b, self.heads, 1, self.dim_head)
        k, v = torch.cat([null, kv], dim=3)  # (B, H, 1 + L, dh) each
        return k, v

    def forward(
        self, x: torch.Tensor, kv: tuple[torch.Tensor, torch.Tensor], mask: torch.Tensor | None
    ) -> torch.Tensor:
        """x[B, T, D], cached kv, mask [B, 1, 1, 1 + L] or None -> [B, T, D]."""
        b, t, _ = x.shape
        q = self.to_q(x).view(b, t, self.heads, self.dim_head).transpose(1, 2)  # (B, H, T, dh)
        out = F.scaled_dot_product_attention(q, kv[0], kv[1], attn_mask=mask)
        return self.to_out(out.transpose(1, 2).reshape(b, t, -1))


class GatedFeedForward(nn.Module):
    """SwiGLU feed-forward; hidden 2/3 * ff_mult * dim keeps the parameters of a GELU MLP."""

    def __init__(self, *, dim: int, ff_mult: float) -> None:
        super().__init__()
        hidden = max(8, int(round(2 * ff_mult * dim / 3 / 8)) * 8)  # multiple of 8 for fast matmuls
        self.to_hidden = nn.Linear(dim, 2 * hidden, bias=False)
        self.to_out = nn.Linear(hidden, dim, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        value, gate = self.to_hidden(x).chunk(2, dim=-1)
        return self.to_out(value * F.silu(gate))


class Block(nn.Module):
    """Pre-norm block: self-attention, cross-attention to text, gated feed-forward."""

    def __init__(
        self, *, dim: int, text_dim: int, heads: int, dim_head: int, ff_mult: float
    ) -> None:
        super().__init__()
        self.self_norm = nn.RMSNorm(dim)
        self.self_attn = SelfAttention(dim=dim, heads=heads, dim_head=dim_head)
        self.cross_norm = nn.RMSNorm(dim)
        self.cross_attn = CrossAttention(dim=dim, text_dim=text_dim, heads=heads, dim_head=dim_head)
        self.ff_norm = nn.RMSNorm(dim)
        self.ff = GatedFeedForward(dim=dim, ff_mult=ff_mult)

    def forward(
        self,
        x: torch.Tensor,
        *,
        frame_mask: torch.Tensor | None,
        text_kv: tuple[torch.Tensor, torch.Tensor],
        text_mask: torch.Tensor | None,
        queries: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """x[B, T, D] -> [B, T, D]; frame_mask [B, 1, 1, T], text_mask [B, 1, 1, 1 + L] or None.

        queries[B, N] long: compute only these frames' outputs -> [B, N, D]. Everything after
        self-attention is per frame, so a last block needs to run it only where logits are read.
        """
        attended = self.self_attn(self.self_norm(x), frame_mask, queries)
        x = (x if queries is None else take_frames(x, queries)) + attended
        x = x + self.cross_attn(self.cross_norm(x), text_kv, text_mask)
        return x + self.ff(self.ff_norm(x))
