"""Text information gain: how many nats per token the true caption saves over a shuffled one."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F

from maskgmt.model.cues import CAPTION_CUE_NAMES
from maskgmt.model.masking import rank_lowest

if TYPE_CHECKING:
    from maskgmt.model.maskgmt import MaskGmt

# "full": the level wholly hidden (the first decoding step: the text must decide everything);
# "partial": a fixed share of it hidden at random (the training mix, at one comparable share).
CONDITIONS = ("full", "partial")
# Rows of TextGainMeter.totals[condition]: loss sums, scored tokens, clips measured, and clips
# whose shuffled caption differs from their own.
TRUE, SHUFFLED, TOKENS, CLIPS, DIFFERING = range(5)
NO_PAIRS = "no batch held 2 or more clips, so no clip could take another clip's caption"
SAME_CAPTIONS = (
    "every clip's shuffled caption equals its own (all captions in a batch are identical), "
    "so the gain is 0 by construction"
)


def caption_groups(text_emb: torch.Tensor, text_mask: torch.Tensor) -> torch.Tensor:
    """Same id for clips with identical captions (equal embeddings on the real tokens) -> [B]."""
    emb = text_emb.detach().float().cpu()
    mask = text_mask.detach().bool().cpu()
    ids: dict[bytes, int] = {}
    groups = [ids.setdefault(emb[i][mask[i]].numpy().tobytes(), len(ids)) for i in range(len(emb))]
    return torch.tensor(groups, dtype=torch.long)


def caption_derangement(
    text_emb: torch.Tensor, text_mask: torch.Tensor, *, generator: torch.Generator | None = None
) -> torch.Tensor | None:
    """Another clip's caption for each clip: perm[B] long on the CPU, perm[i] != i; None if B < 2.

    text_emb[B, L, D], text_mask[B, L] bool. A clip gets a caption that differs from its own
    whenever no caption is shared by more than half the batch; otherwise as many clips as
    possible do (2 * (B - largest group)). Groups of equal captions are laid out contiguously in
    a random order, then every clip takes the caption `largest group` places further on.
    """
    b = text_emb.shape[0]
    if b < 2:
        return None
    groups = caption_groups(text_emb, text_mask)  # (B,)
    sizes = torch.bincount(groups)
    group_key = torch.randperm(len(sizes), generator=generator)[groups]
    order = torch.argsort(group_key * b + torch.randperm(b, generator=generator))
    shift = int(sizes.max()) % b or 1  # all captions equal: any derangement will do
    perm = torch.empty(b, dtype=torch.long)
    perm[order] = order.roll(-shift)
    return perm


def fixed_share_mask(
    frame_mask: torch.Tensor,
    share: float,
    *,
    span_len: int = 1,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Hide `share` of each clip's real frames at random -> bool [B, T] (True = hidden, >= 1).

    frame_mask[B, T] bool (True = real frame). With span_len > 1, frames are cut into spans of
    span_len at a random offset per clip and whole spans are hidden (as MAGNeT-style training).
    """
    b, t = frame_mask.shape
    frame_mask = frame_mask.bool()
    span = torch.arange(t)[None, :].expand(b, t)
    if span_len > 1:
        span = (span + torch.randint(span_len, (b, 1), generator=generator)) // span_len
    n = int(span.max()) + 1
    real = (
        torch.zeros(b, n, dtype=torch.long)
        .scatter_reduce(1, span, frame_mask.long(), reduce="amax")
        .bool()
    )  # (B, n) spans holding a real frame
    noise = torch.rand(b, n, generator=generator).masked_fill(~real, 2.0)
    count = (share * real.sum(dim=-1)).round().long().clamp(min=1)
    hidden = rank_lowest(noise, count) & real
    return hidden.gather(1, span) & frame_mask


def level_loss_sum(
    model: MaskGmt,
    codes: torch.Tensor,
    level: int,
    text_emb: torch.Tensor,
    text_mask: torch.Tensor,
    hide: torch.Tensor,
    padding_mask: torch.Tensor | None,
    cues: dict[str, torch.Tensor] | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Summed cross-entropy (nats, float64) and count of the hidden real tokens of one level.

    codes[B, K, T]; levels below `level` are visible, levels above hidden, hide[B, T] bool
    (True = hidden) hides part of `level` itself; the text is never dropped (`MaskGmt.logits`).
    cues: `MaskGmt.logits` keywords of the tempo clock and key cue (bpm, frame_offset, key).
    """
    device = model.device
    logits = model.logits(
        codes, level, text_embeds=text_emb, text_mask=text_mask, padding_mask=padding_mask,
        token_mask=hide, **(cues or {}),
    )  # (B, T, V)  # fmt: skip
    scored = hide.to(device)
    if padding_mask is not None:
        scored = scored & padding_mask.to(device)
    target = codes[:, level].to(device)[scored]  # (N,)
    ce = F.cross_entropy(logits[scored].float(), target, reduction="sum")
    return ce.double(), scored.sum().double()


class TextGainMeter:
    """Sums over batches of the paired true/shuffled-caption losses of every codec level.

    totals: float64 [2, 5, K] = condition (`CONDITIONS`: full, partial) x (loss sum with the true
    captions, loss sum with shuffled captions, scored tokens, clips measured, clips whose
    shuffled caption differs from their own) x level. Sums add across batches and processes
    (reduce `totals`, then call `result(totals)`).
    """

    def __init__(self, num_levels: int, *, share: float | None = 0.5, device: Any = None) -> None:
        if share is not None and not 0.0 < share <= 1.0:
            raise ValueError(f"share: expected a number in (0, 1] or None, got {share!r}")
        self.share = share
        self.totals = torch.zeros(
            len(CONDITIONS), 5, num_levels, dtype=torch.float64, device=device
        )

    def add(
        self,
        model: MaskGmt,
        codes: torch.Tensor,
        text_emb: torch.Tensor,
        text_mask: torch.Tensor,
        *,
        padding_mask: torch.Tensor | None = None,
        levels: Sequence[int] | None = None,
        seed: int = 0,
        cues: dict[str, torch.Tensor] | None = None,
    ) -> None:
        """Score one batch: codes[B, K, T], text_emb[B, L, D], text_mask[B, L] bool,
        padding_mask[B, T] bool (True = real frame). A batch of one clip adds nothing.
        cues: per-clip [B] tensors for a model's tempo clock and key cue ("bpm",
        "frame_offset", "key"); bpm and key are shuffled with the captions (the caption says
        them), the frame offset stays with its clip.

        The masks and the caption shuffle come from a CPU generator seeded with `seed` (never
        the global RNG), and true and shuffled captions see the same masks. `model` is put in
        eval mode (no caption dropout) and back.
        """
        levels = _check_inputs(model, codes, text_emb, levels)
        gen = torch.Generator().manual_seed(seed)
        perm = caption_derangement(text_emb, text_mask, generator=gen)
        if perm is None:
            return
        differs = caption_groups(text_emb, text_mask)
        differs = float((differs != differs[perm]).sum())
        was_training = model.training
        model.eval()
        try:
            with torch.inference_mode():
                for q in levels:
                    self._add_level(
                        model, codes, q, (text_emb, text_mask, cues or {}), perm,
                        padding_mask, gen,
                    )  # fmt: skip
                    self.totals[:, CLIPS, q] += codes.shape[0]
                    self.totals[:, DIFFERING, q] += differs
        finally:
            model.train(was_training)

    def _add_level(
        self,
        model: MaskGmt,
        codes: torch.Tensor,
        level: int,
        text: tuple[torch.Tensor, torch.Tensor, dict[str, torch.Tensor]],
        perm: torch.Tensor,
        padding_mask: torch.Tensor | None,
        generator: torch.Generator,
    ) -> None:
        """Both conditions of one level, each with the true and the shuffled captions.

        text: (emb[B, L, D], mask[B, L], the cues as in `add`)."""
        text_emb, text_mask, cues = text
        b, _, t = codes.shape
        frames = torch.ones(b, t, dtype=torch.bool)
        if padding_mask is not None:
            frames = padding_mask.detach().bool().cpu()
        hides = [frames]  # full: every real frame of the level hidden
        if self.share is not None:
            span_len = model.config.span_len
            hides.append(
                fixed_share_mask(frames, self.share, span_len=span_len, generator=generator)
            )
        p = perm.to(text_emb.device)
        shuffled_cues = {
            name: value[perm.to(value.device)] if name in CAPTION_CUE_NAMES else value
            for name, value in cues.items()
        }
        captions = (
            (TRUE, text_emb, text_mask, cues),
            (SHUFFLED, text_emb[p], text_mask[p], shuffled_cues),
        )
        dev = self.totals.device
        for c, hide in enumerate(hides):
            for row, emb, mask, clip_cues in captions:
                ce, n = level_loss_sum(
                    model, codes, level, emb, mask, hide, padding_mask, clip_cues
                )
                self.totals[c, row, level] += ce.to(dev)
            self.totals[c, TOKENS, level] += n.to(dev)

    def result(self, totals: torch.Tensor | None = None) -> dict[str, Any]:
        """The gains of the batches added so far (`totals`: sums reduced across processes).

        -> {"share": float | None, "clips": int, "differing": int, "reason": str | None,
            "full": {...}, "partial": {...} | None}; each condition holds [K] lists "loss_true",
            "loss_shuffled" (mean nats per hidden token), "gain" (shuffled - true) and "tokens",
            with None where a level was not measured. "partial" is None when share is None.
        """
        t = (self.totals if totals is None else totals).detach().double().cpu()
        clips, differing = int(t[0, CLIPS].max()), int(t[0, DIFFERING].max())
        reason = NO_PAIRS if clips == 0 else SAME_CAPTIONS if differing == 0 else None
        out: dict[str, Any] = {
            "share": self.share, "clips": clips, "differing": differing, "reason": reason,
        }  # fmt: skip
        out["full"] = _condition(t[0])
        out["partial"] = None if self.share is None else _condition(t[1])
        return out


def text_information_gain(
    model: MaskGmt,
    codes: torch.Tensor,
    text_emb: torch.Tensor,
    text_mask: torch.Tensor,
    *,
    padding_mask: torch.Tensor | None = None,
    share: float | None = 0.5,
    levels: Sequence[int] | None = None,
    seed: int = 0,
    cues: dict[str, torch.Tensor] | None = None,
) -> dict[str, Any]:
    """Per codec level: teacher-forced loss with shuffled captions minus with the true ones.

    codes[B, K, T] long, text_emb[B, L, D], text_mask[B, L] bool, padding_mask[B, T] bool (True
    = real frame). Each clip gets another clip's caption (a derangement; a differing caption
    whenever the batch allows). Two conditions: "full" hides the whole level (levels below
    visible, above hidden: the first decoding step), "partial" hides a fixed `share` of it at
    random (None: skip it). Gains are in nats per token; about 0 means the text is ignored.
    levels: which levels to measure (default all, one at a time). A batch of one clip gives
    None gains and a "reason". cues: as in `TextGainMeter.add` (bpm and key are shuffled with
    the captions). See `TextGainMeter.result` for the returned dict.
    """
    meter = TextGainMeter(model.transformer.config.n_q, share=share)
    meter.add(
        model, codes, text_emb, text_mask, padding_mask=padding_mask, levels=levels, seed=seed,
        cues=cues,
    )  # fmt: skip
    return meter.result()


def _condition(t: torch.Tensor) -> dict[str, list]:
    """Rows of one condition's totals [5, K] -> per-level means; None where nothing scored."""
    tokens = t[TOKENS]

    def per(values: torch.Tensor) -> list[float | None]:
        return [float(v / n) if n > 0 else None for v, n in zip(values, tokens, strict=True)]

    return {
        "loss_true": per(t[TRUE]),
        "loss_shuffled": per(t[SHUFFLED]),
        "gain": per(t[SHUFFLED] - t[TRUE]),
        "tokens": [int(n) for n in tokens],
    }


def _check_inputs(
    model: MaskGmt, codes: torch.Tensor, text_emb: torch.Tensor, levels: Sequence[int] | None
) -> list[int]:
    """The levels to measure, after checking that codes and captions pair up."""
    n_q = model.transformer.config.n_q
    if not isinstance(codes, torch.Tensor) or codes.dim() != 3:
        raise ValueError(
            f"codes: expected a LongTensor [B, K, T], got {getattr(codes, 'shape', codes)!r}"
        )
    if not isinstance(text_emb, torch.Tensor) or text_emb.dim() != 3 or len(text_emb) != len(codes):
        raise ValueError(
            f"text_emb: expected [B={len(codes)}, L, D], "
            f"got {getattr(text_emb, 'shape', text_emb)!r}"
        )
    chosen = list(range(n_q)) if levels is None else [int(q) for q in levels]
    if not chosen or any(not 0 <= q < n_q for q in chosen):
        raise ValueError(
            f"levels: expected a non-empty list of levels in [0, {n_q}), got {levels!r}"
        )
    return chosen
