"""The checks TextToMusic runs on its arguments before any work, and the codec it pairs with a
model folder: one ValueError naming the argument and the fix."""

from __future__ import annotations

import math
import numbers
import os
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from maskgmt.codecs import AudioCodec, load_codec
from maskgmt.model.checks import check_texts

if TYPE_CHECKING:
    from maskgmt.model import MaskGmt

MAX_SECONDS = 3600.0  # longest output `generate` makes: one hour


class GenerationCancelled(RuntimeError):
    """`generate(..., should_stop=...)` was asked to stop before the output was complete."""


def model_path(model_dir: object) -> Path:
    if not isinstance(model_dir, (str, os.PathLike)):
        raise TypeError(
            f"model_dir: expected a folder path (str or Path), got {type(model_dir).__name__}"
        )
    return Path(model_dir)


def check_seconds(name: str, seconds: object) -> float:
    ok = isinstance(seconds, numbers.Real) and not isinstance(seconds, bool)
    if ok and seconds <= 0:
        raise ValueError(f"{name}: expected > 0, got {seconds}")
    if not ok or not math.isfinite(seconds) or not 0 < seconds <= MAX_SECONDS:
        raise ValueError(
            f"{name}: expected a number of seconds in (0, {MAX_SECONDS:g}] (at most one hour), "
            f"got {seconds!r}"
        )
    return float(seconds)


def check_prompt_codes(prompt_codes: object) -> torch.Tensor:
    if not isinstance(prompt_codes, torch.Tensor):
        raise ValueError(
            f"prompt_codes: expected a LongTensor [B, K, T], got {type(prompt_codes).__name__}"
        )
    dtype = prompt_codes.dtype
    if dtype.is_floating_point or dtype.is_complex or dtype == torch.bool:
        raise ValueError(
            f"prompt_codes: expected integer codec codes (torch.long), got dtype {dtype}; "
            "pass codes from encode_prompt (or codec.encode), not audio or a mask"
        )
    if prompt_codes.device.type == "meta":
        raise ValueError("prompt_codes: got a tensor on the meta device (no data); pass real codes")
    return prompt_codes


def resolve_codec(model_dir: Path, metadata: dict, codec: AudioCodec | str | None) -> AudioCodec:
    """The codec given, else the one the model folder names: `MODEL/SOURCE` for a local codec
    (never a folder relative to the current directory), or a short name / hub id."""
    if codec is not None and not isinstance(codec, str):
        return codec
    if codec is not None:
        return load_codec(codec)
    source = (metadata.get("codec") or {}).get("source")
    if not isinstance(source, str) or not source:
        raise ValueError(
            f"model folder {model_dir} does not say which codec made its tokens "
            "(config.json metadata.codec.source is missing); pass codec=NAME_OR_DIR"
        )
    local = model_dir / source
    if local.exists():
        return load_codec(str(local))
    from maskgmt.codecs.hub import looks_like_hub_id
    from maskgmt.codecs.loading import SHORT_NAMES

    if Path(source).is_absolute() or source in SHORT_NAMES or looks_like_hub_id(source):
        return load_codec(source)
    raise FileNotFoundError(
        f"model folder {model_dir} lacks its codec folder {local}; copy the codec the model "
        "was trained with there (`maskgmt train` writes it), or pass codec=NAME_OR_DIR"
    )


def check_codec(model: MaskGmt, codec: AudioCodec, what: str) -> None:
    """Refuse a codec whose shape or (when the model recorded one) fingerprint differs from
    the codec the model was trained with."""
    tr = model.transformer.config
    if codec.n_q != tr.n_q or codec.codebook_size != tr.num_tokens:
        raise ValueError(
            f"codec gives K={codec.n_q} levels of {codec.codebook_size} codes but the model "
            f"expects K={tr.n_q} of {tr.num_tokens}; load the codec the model was trained with"
        )
    expected = (model.metadata or {}).get("codec")
    if not isinstance(expected, dict) or not expected.get("fingerprint"):
        return
    from maskgmt.codecs.checks import identity_mismatch

    diffs = identity_mismatch(expected, codec.identity())
    if diffs:
        raise ValueError(
            f"codec {codec.identity().get('source')!r} is not the codec {what} was trained "
            f"with ({'; '.join(diffs)}); load the model with its own codec (the model folder's "
            "codec/, or the name in its config.json metadata.codec)"
        )


def check_captions(texts: object) -> list[str]:
    """One caption or a non-empty list of them -> the list, checked."""
    if isinstance(texts, str):
        texts = [texts]
    if isinstance(texts, (list, tuple)) and not texts:
        raise ValueError("texts: expected at least one caption, got an empty list")
    return check_texts("texts", texts, None)


def check_code_shape(name: str, codes: torch.Tensor, b: int, k: int) -> None:
    """codes must be [B or 1, K, T] for B captions and a K-level codec."""
    if codes.dim() != 3 or codes.shape[1] != k or codes.shape[0] not in (1, b):
        raise ValueError(f"{name}: expected [B={b} or 1, K={k}, T], got shape {tuple(codes.shape)}")


def caption_kwargs(texts: list[str], sampling: dict) -> dict:
    """The captions for `MaskGmt.generate`, with `negative_texts` taken out of `sampling` (one
    string stands for every clip).

    Captions go to the model as strings: it encodes them once per call with the encoder attached
    at load time and caches their keys/values across steps."""
    negative = sampling.pop("negative_texts", None)
    if isinstance(negative, str):
        negative = [negative] * len(texts)
    return {"texts": list(texts), "negative_texts": negative}
