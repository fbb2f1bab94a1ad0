"""Shared trunk: level-summed code embeddings -> bidirectional transformer over T frames."""

from __future__ import annotations

import torch
from torch import nn

from maskgmt.model import key_cue, tempo
from maskgmt.model.config import BackboneConfig
from maskgmt.model.cues import BPM, KEY, OFFSET
from maskgmt.model.layers import Block, TextContext, key_padding_mask


class CodeBackbone(nn.Module):
    """Embeds codes[B, K, T] as ONE vector per frame and runs the blocks over T frames.

    A frame's input is the sum over levels of a per-level embedding (V + 1 rows; row V is the
    mask id), plus a learned position and an embedding of the level being predicted;
    self-attention adds rotary relative positions. Attention therefore costs O(T^2), not
    O((K*T)^2).
    """

    def __init__(self, config: BackboneConfig) -> None:
        super().__init__()
        self.config = config
        c = config
        # One table for all levels: row k * (V + 1) + code, so embedding K levels is one lookup.
        self.code_emb = nn.Embedding(c.n_q * (c.num_tokens + 1), c.dim)
        self.pos_emb = nn.Parameter(torch.randn(c.seq_len, c.dim) * 0.02)
        self.level_emb = nn.Parameter(torch.randn(c.n_q, c.dim) * 0.02)
        self.text_norm = nn.LayerNorm(c.text_dim)
        self.blocks = nn.ModuleList(
            Block(
                dim=c.dim,
                text_dim=c.text_dim,
                heads=c.heads,
                dim_head=c.dim_head,
                ff_mult=c.ff_mult,
            )
            for _ in range(c.depth)
        )
        self.out_norm = nn.RMSNorm(c.dim)
        if c.pooled_text:
            # A global caption cue at every frame: cross-attention alone must be found by each
            # query, and a small model trained briefly leaves instrument and tempo to chance.
            self.text_pool = nn.Linear(c.text_dim, c.dim)
            self.null_pool = nn.Parameter(torch.zeros(c.dim))
            # Zero-initialised, so training starts from the cross-attention-only model: with the
            # default init the cue swamped the code embeddings (level-0 train loss 3.83 vs 2.80
            # after 1800 tiny-preset steps, docs/QUALITY.md).
            nn.init.zeros_(self.text_pool.weight)
            nn.init.zeros_(self.text_pool.bias)
        if c.clock_frame_rate > 0:
            # Zero-initialised like the pooled cue: a model gains a clock without losing what
            # it has learned (fine-tuning a clock-less folder starts from its exact outputs).
            self.clock_proj = nn.Linear(tempo.NUM_FEATURES, c.dim, bias=False)
            nn.init.zeros_(self.clock_proj.weight)
        if c.key_cue:
            self.key_proj = nn.Linear(key_cue.NUM_FEATURES, c.dim, bias=False)
            nn.init.zeros_(self.key_proj.weight)
        nn.init.normal_(self.code_emb.weight, std=0.02)
        self.register_buffer(
            "level_offsets", torch.arange(c.n_q) * (c.num_tokens + 1), persistent=False
        )

    # ---- inputs ------------------------------------------------------------------------------

    def text_context(
        self, text_emb: torch.Tensor, text_mask: torch.Tensor, cues: torch.Tensor | None = None
    ) -> TextContext:
        """text_emb[B, L, text_dim], text_mask[B, L] bool -> cross-attn keys/values per block.

        cues[B, 3] float: (bpm, frame offset, key) per clip (NaN = none, model/cues.py), for the
        tempo clock and the key cue; dropped by a backbone with neither.
        """
        text = self.text_norm(text_emb)
        keep = torch.cat([text_mask.new_ones(text_mask.shape[0], 1), text_mask], dim=1)
        kv = tuple(block.cross_attn.text_kv(text) for block in self.blocks)
        pooled = self._pool(text, text_mask) if self.config.pooled_text else None
        if not self.uses_cues:
            cues = None
        return TextContext(kv=kv, mask=key_padding_mask(keep), pooled=pooled, cues=cues)

    @property
    def uses_cues(self) -> bool:
        return self.config.clock_frame_rate > 0 or self.config.key_cue

    def cue_inputs(self, cues: torch.Tensor, num_frames: int) -> torch.Tensor:
        """cues[B, 3] (bpm, frame offset, key) -> what the clock and key cue add [B, T, D]."""
        c = self.config
        out = torch.zeros(cues.shape[0], 1, c.dim, device=cues.device)
        if c.clock_frame_rate > 0:
            offset = cues[:, OFFSET].round().long()
            feats = tempo.clock_features(cues[:, BPM], offset, num_frames, c.clock_frame_rate)
            out = out + self.clock_proj(feats.to(self.clock_proj.weight.dtype))
        if c.key_cue:
            feats = key_cue.key_features(cues[:, KEY])
            out = out + self.key_proj(feats.to(self.key_proj.weight.dtype))[:, None, :]
        return out

    def _pool(self, text: torch.Tensor, text_mask: torch.Tensor) -> torch.Tensor:
        """Normalised text[B, L, text_dim], mask[B, L] -> [B, D]; the learned null where the
        caption is dropped or empty (CFG's unconditional branch)."""
        weights = text_mask.to(text.dtype)[..., None]  # (B, L, 1)
        count = weights.sum(dim=1)  # (B, 1)
        mean = (text * weights).sum(dim=1) / count.clamp(min=1.0)
        return torch.where(count > 0, self.text_pool(mean), self.null_pool.to(text.dtype))

    def embed_codes(self, codes: torch.Tensor) -> torch.Tensor:
        """codes[B, K, T] (mask id V where hidden) -> sum of level embeddings [B, T, D]."""
        rows = codes + self.level_offsets[None, :, None]
        return self.code_emb(rows).sum(dim=1)

    def embed_level(self, codes: torch.Tensor, level: int) -> torch.Tensor:
        """codes[B, T] of one level -> [B, T, D]."""
        return self.code_emb(codes + int(self.level_offsets[level]))

    def mask_rows(self) -> torch.Tensor:
        """Embedding of the mask id at each level -> [K, D]."""
        return self.code_emb.weight[self.level_offsets + self.config.mask_id]

    def frame_bias(self, level: torch.Tensor | int, num_frames: int) -> torch.Tensor:
        """Position + predicted-level embedding: [T, D] for an int level, [B, T, D] for level[B]."""
        pos = self.pos_emb[:num_frames]
        if isinstance(level, int):
            return pos + self.level_emb[level]
        return pos[None] + self.level_emb[level][:, None, :]

    # ---- trunk -------------------------------------------------------------------------------

    def forward(
        self,
        x: torch.Tensor,
        text: TextContext,
        frame_mask: torch.Tensor | None = None,
        *,
        queries: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """x[B, T, D] frame inputs, frame_mask[B, T] bool (True = real) -> hidden [B, T, D].

        queries[B, N] long: frames whose hidden states are wanted -> hidden [B, N, D]. Earlier
        blocks still run on all T frames (they feed the last block's keys and values); the last
        block's queries, cross-attention and feed-forward run on the N frames only.
        """
        attn_mask = key_padding_mask(frame_mask)
        if text.pooled is not None:
            x = x + text.pooled[:, None, :]
        if text.cues is not None:
            x = x + self.cue_inputs(text.cues, x.shape[1]).to(x.dtype)
        last = len(self.blocks) - 1
        for i, (block, kv) in enumerate(zip(self.blocks, text.kv, strict=True)):
            x = block(
                x, frame_mask=attn_mask, text_kv=kv, text_mask=text.mask,
                queries=queries if i == last else None,
            )  # fmt: skip
        return self.out_norm(x)
