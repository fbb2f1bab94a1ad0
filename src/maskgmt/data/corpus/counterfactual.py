"""Counterfactual captions: a clip's caption with one attribute changed and every other word kept.

The caption contrast (`model/contrast.py`) trains the model to score a clip better under its
own caption than under such a rewrite: "in D minor" against "in D major". `bench/caption_gain.py`
uses the same rewrites to measure which words a trained model listens to.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

# A key as the corpus and the short captions write it: "D minor", "Bb major", "F# minor".
KEY_PATTERN = re.compile(r"\b([A-G][#b]?) (major|minor)\b")
_OTHER_MODE = {"major": "minor", "minor": "major"}


def swap_mode(caption: str) -> str | None:
    """The caption with major and minor swapped ("D minor" -> "D major"), same tonic; None when
    it names no key with a mode."""
    swapped, count = KEY_PATTERN.subn(lambda m: f"{m[1]} {_OTHER_MODE[m[2]]}", caption)
    return swapped if count else None


# Attribute -> its rewrite; what `model: {contrast: ...}` may name.
COUNTERFACTUALS: dict[str, Callable[[str], str | None]] = {"mode": swap_mode}


def counterfactual_captions(
    captions: Sequence[str], attribute: str
) -> tuple[list[str], list[bool]]:
    """Each caption rewritten for `attribute` -> (captions, which rows have one); a caption the
    rewrite does not apply to is kept as it is, with False."""
    if attribute not in COUNTERFACTUALS:
        raise ValueError(
            f"contrast: unknown attribute {attribute!r}; choose from {sorted(COUNTERFACTUALS)}"
        )
    rewrite = COUNTERFACTUALS[attribute]
    rewritten = [rewrite(c) for c in captions]
    return [c if r is None else r for c, r in zip(captions, rewritten, strict=True)], [
        r is not None for r in rewritten
    ]
