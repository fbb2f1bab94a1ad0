"""Torch's seed range and the one seed check that every seeded entry point shares.

The bottom layer, like `maskgmt.audio`: it imports no other part of maskgmt.
"""

from __future__ import annotations

import numbers

SEED_RANGE = (-(2**63), 2**64 - 1)  # what torch.Generator.manual_seed accepts


def check_seed(seed: object, *, name: str = "seed", count: int = 1) -> int:
    """`seed` as an int, refusing a non-integer (bool and 1.7 included) or one whose run of
    `count` seeds (seed .. seed + count - 1, one per batch item) leaves torch's range."""
    if not isinstance(seed, numbers.Integral) or isinstance(seed, bool):
        raise ValueError(f"{name}: expected an int, got {seed!r} ({type(seed).__name__})")
    lo, hi = SEED_RANGE
    if not lo <= int(seed) <= hi - max(count - 1, 0):
        raise ValueError(f"{name}: expected an int in [-2**63, 2**64 - 1], got {seed}")
    return int(seed)
