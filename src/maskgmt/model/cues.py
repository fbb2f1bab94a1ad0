"""Caption cues: the tempo clock's and the key cue's inputs per clip, checked and assembled.

`MaskGmt` reads each cue from the caption unless it is given: `bpm` (model/tempo.py), `key`
(model/key_cue.py), and `frame_offset`, the clip's first frame within its piece (the clock's
phase). They travel as one float tensor cues[B, 3] = (bpm, frame offset, key), NaN where a cue
is absent, inside the `TextContext`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from maskgmt.model.key_cue import caption_key, captions_key
from maskgmt.model.tempo import MAX_BPM, MIN_BPM, captions_bpm

CUE_NAMES = ("bpm", "frame_offset", "key")  # the keyword arguments, in column order
BPM, OFFSET, KEY = range(3)
CAPTION_CUES = (BPM, KEY)  # the columns a caption decides (dropped and shuffled with it)
CAPTION_CUE_NAMES = tuple(CUE_NAMES[c] for c in CAPTION_CUES)  # ("bpm", "key")


def cue_inputs(
    bpm: torch.Tensor | Sequence[float | None] | float | None,
    frame_offset: torch.Tensor | Sequence[int] | int | None,
    key: torch.Tensor | Sequence[int | str | None] | int | str | None,
    texts: Sequence[str] | None,
    *,
    batch: int,
    device: torch.device,
) -> torch.Tensor:
    """The cues of B clips -> float32 [B, 3] (bpm, frame offset, key) on `device`.

    bpm: [B] quarter notes per minute (NaN or None = no tempo), or one number for every clip.
    key: [B] indices 0..23 (tonic pitch class, + 12 for minor; NaN = none), or names like
    "D minor". Either one None reads it from each caption (no cue without texts).
    frame_offset: [B] or one int >= 0 (default 0).
    """
    nan = torch.full((batch,), math.nan, device=device)
    if bpm is None:
        bpms = captions_bpm(texts, device) if texts is not None else nan
    else:
        bpms = _per_clip("bpm", bpm, batch, device, integer=False)
        bad = torch.isfinite(bpms) & ((bpms < MIN_BPM) | (bpms > MAX_BPM))
        if bool(bad.any()):
            raise ValueError(
                f"bpm: expected tempi in [{MIN_BPM:g}, {MAX_BPM:g}] quarter notes per minute "
                f"(NaN = none), got {bpms[bad][0].item():g}"
            )
    if key is None:
        keys = captions_key(texts, device) if texts is not None else nan
    else:
        keys = _per_clip("key", _key_indices(key), batch, device, integer=False)
        bad = torch.isfinite(keys) & ((keys < 0) | (keys > 23) | (keys != keys.round()))
        if bool(bad.any()):
            raise ValueError(
                f"key: expected key indices 0..23 (tonic + 12 for minor) or names like "
                f"'D minor', got {keys[bad][0].item():g}"
            )
    offset = 0 if frame_offset is None else frame_offset
    offsets = _per_clip("frame_offset", offset, batch, device, integer=True)
    if bool((offsets < 0).any()):
        raise ValueError(f"frame_offset: expected frames >= 0, got {offsets.min().item():g}")
    return torch.stack([bpms, offsets, keys], dim=-1)


def drop_caption_cues(cues: torch.Tensor, rows: torch.Tensor, column: int | None = None):
    """A copy of cues[B, 3] without the caption's cues (all, or one `column`) on rows[B] bool."""
    out = cues.clone()
    for c in CAPTION_CUES if column is None else (column,):
        out[rows, c] = math.nan
    return out


def drop_for_guidance(
    text_mask: torch.Tensor,
    cues: torch.Tensor | None,
    prob: float,
    *,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Caption dropout for CFG: text_mask[B, L] False on dropped captions (null text only).

    The caption's cues (bpm, key) in cues[B, 3] are dropped with each dropped caption, and each
    on its own with the same probability, so that captions that name no tempo or key are seen
    in training too. Without cues this draws exactly what caption dropout drew before cues.
    """
    b, device = text_mask.shape[0], text_mask.device
    drop = torch.rand(b, device=device, generator=generator) < prob
    text_mask = text_mask & ~drop[:, None]
    if cues is not None:
        cues = drop_caption_cues(cues, drop)
        for column in CAPTION_CUES:
            alone = torch.rand(b, device=device, generator=generator) < prob
            cues = drop_caption_cues(cues, alone, column)
    return text_mask, cues


def with_unconditional(cues: torch.Tensor | None) -> torch.Tensor | None:
    """cues[B, 3] -> [2B, 3]: the conditional rows, then the same rows without the caption's
    cues (CFG's unconditional half); None stays None."""
    if cues is None:
        return None
    every = torch.ones(len(cues), dtype=torch.bool, device=cues.device)
    return torch.cat([cues, drop_caption_cues(cues, every)])


def _key_indices(key: object) -> object:
    """Key names ('D minor') -> indices; anything else is passed on for `_per_clip` to check."""

    def one(k: object) -> object:
        if isinstance(k, str):
            index = caption_key(k)
            if index is None:
                raise ValueError(f"key: expected a key like 'D minor' or 'F# major', got {k!r}")
            return index
        return k

    if isinstance(key, (list, tuple)):
        return [one(k) for k in key]
    return one(key)


def _per_clip(
    name: str, value: object, batch: int, device: torch.device, *, integer: bool
) -> torch.Tensor:
    """A number, a list of numbers (None = NaN) or a [B] tensor -> float32 [B]."""
    kind = "ints" if integer else "numbers"
    if isinstance(value, torch.Tensor):
        ok = value.shape in ((batch,), ()) and value.dtype != torch.bool
        ok = ok and (not integer or not value.dtype.is_floating_point)
        if not ok:
            raise ValueError(
                f"{name}: expected a tensor of {batch} {kind} (one per clip), "
                f"got {value.dtype} of shape {tuple(value.shape)}"
            )
        return value.to(device=device, dtype=torch.float32).expand(batch).clone()
    items = list(value) if isinstance(value, (list, tuple)) else [value] * batch
    ok = len(items) == batch and all(
        (v is None and not integer)
        or (isinstance(v, (int, float)) and not isinstance(v, bool)
            and (not integer or isinstance(v, int)))
        for v in items
    )  # fmt: skip
    if not ok:
        raise ValueError(f"{name}: expected one or {batch} {kind} (one per clip), got {value!r}")
    return torch.tensor([math.nan if v is None else float(v) for v in items], device=device)
