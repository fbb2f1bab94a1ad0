"""The key cue: a caption's key ("in D minor") as a pitch-class vector added to every frame.

A text encoder sees "D minor" and "E minor" as nearly the same words, so cross-attention learns
the key slowly (key adherence 0.47 on the shipped model, docs/QUALITY.md). The cue hands the
model the key as music theory states it: the tonic's pitch class, the scale's seven pitch
classes and the mode, one 26-dim vector per clip, projected and added to every frame. A caption
that names no key gives zeros: the model without a cue.

Keys are indices 0..23: tonic pitch class (C = 0) + 12 for minor; NaN = no key.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import torch

NUM_FEATURES = 12 + 12 + 2
MAJOR_SCALE = (0, 2, 4, 5, 7, 9, 11)
MINOR_SCALE = (0, 2, 3, 5, 7, 8, 10)  # natural minor
_LETTER_PC = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
_KEY_RE = re.compile(r"\b([A-G])(#|♯|b|♭|-sharp| sharp|-flat| flat)?[ -]?(major|minor|maj|min)\b")
_SHIFT = {"#": 1, "♯": 1, "-sharp": 1, " sharp": 1, "b": -1, "♭": -1, "-flat": -1, " flat": -1}
KEY_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")


def caption_key(text: str) -> int | None:
    """The key a caption names -> index 0..23 (tonic pitch class, + 12 for minor), or None.

    The letter must be a capital ("A minor", "F# major", "Bb minor", "E-flat major"), so the
    article in "a minor change" is not read as a key.
    """
    match = _KEY_RE.search(text)
    if match is None:
        return None
    letter, accidental, mode = match.groups()
    pc = (_LETTER_PC[letter] + _SHIFT.get(accidental or "", 0)) % 12
    return pc + (12 if mode.startswith("min") else 0)


def key_name(index: int) -> str:
    """0..23 -> 'C major' ... 'B minor'."""
    return f"{KEY_NAMES[index % 12]} {'minor' if index >= 12 else 'major'}"


def captions_key(texts: Sequence[str], device: torch.device | str = "cpu") -> torch.Tensor:
    """B captions -> key float32 [B] (0..23), NaN where a caption names no key."""
    values = [caption_key(t) for t in texts]
    return torch.tensor([math.nan if v is None else float(v) for v in values], device=device)


def key_features(key: torch.Tensor) -> torch.Tensor:
    """key[B] float (0..23, NaN = none) -> features [B, 26] float32: tonic one-hot, the scale's
    pitch classes, mode one-hot. Rows without a key are all zero."""
    known = torch.isfinite(key)
    index = torch.where(known, key, torch.zeros_like(key)).long()  # (B,)
    tonic, minor = index % 12, index >= 12
    pcs = torch.arange(12, device=key.device)
    major_set = torch.zeros(12, device=key.device).index_fill_(0, torch.tensor(MAJOR_SCALE), 1.0)
    minor_set = torch.zeros(12, device=key.device).index_fill_(0, torch.tensor(MINOR_SCALE), 1.0)
    degree = (pcs[None, :] - tonic[:, None]) % 12  # (B, 12) interval above the tonic
    scale = torch.where(minor[:, None], minor_set[degree], major_set[degree])
    onehot = (pcs[None, :] == tonic[:, None]).float()
    mode = torch.stack([(~minor).float(), minor.float()], dim=-1)
    feats = torch.cat([onehot, scale, mode], dim=-1)
    return feats * known[:, None].float()
