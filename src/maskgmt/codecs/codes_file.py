"""Code files: codes[K, T] in safetensors, with the identity of the codec that made them."""

from __future__ import annotations

import json
from pathlib import Path

import torch

FORMAT = "maskgmt-codes"


def save_codes(path: str | Path, codes: torch.Tensor, *, codec_identity: dict, **meta) -> Path:
    """Write codes[K, T] (one clip) to `path` with `codec_identity` and string-able `meta`
    (e.g. num_samples: the clip length at the codec's rate, to trim decoded audio)."""
    from safetensors.torch import save_file

    if not isinstance(codes, torch.Tensor) or codes.dim() != 2:
        shape = tuple(codes.shape) if isinstance(codes, torch.Tensor) else type(codes).__name__
        raise ValueError(f"codes must be codes[K, T] for one clip; got {shape}")
    from maskgmt.audio import AUDIO_EXTENSIONS

    path = Path(path)
    if path.suffix.lower() in AUDIO_EXTENSIONS:
        raise ValueError(
            f"{str(path)!r}: a code file is safetensors, not audio ({path.suffix}); name it "
            f"{str(path.with_suffix('.safetensors'))!r}"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    metadata = {"format": FORMAT, "codec": json.dumps(codec_identity)}
    metadata.update({key: json.dumps(value) for key, value in meta.items()})
    save_file({"codes": codes.detach().long().cpu().contiguous()}, str(path), metadata=metadata)
    return path


def load_codes(path: str | Path) -> tuple[torch.Tensor, dict, dict]:
    """Read a code file -> (codes[K, T] long, codec identity, other metadata).

    Raises FileNotFoundError / ValueError naming the file when it is missing or not a code file.
    """
    from safetensors import SafetensorError, safe_open

    path = Path(path)
    if path.is_dir():
        raise ValueError(
            f"code file {str(path)!r} is a folder; pass a .safetensors file written by "
            "`maskgmt tokenize`"
        )
    if not path.is_file():
        raise FileNotFoundError(
            f"code file {str(path)!r} does not exist; make one with `maskgmt tokenize`"
        )
    try:
        with safe_open(str(path), framework="pt") as f:
            metadata = f.metadata() or {}
            codes = f.get_tensor("codes")
    except (SafetensorError, OSError, KeyError) as e:
        raise ValueError(
            f"{str(path)!r} is not a code file written by `maskgmt tokenize` ({e})"
        ) from None
    if metadata.get("format") != FORMAT or "codec" not in metadata:
        raise ValueError(
            f"{str(path)!r} lacks maskgmt code metadata (format/codec); re-create it with "
            "`maskgmt tokenize`"
        )
    meta = {k: json.loads(v) for k, v in metadata.items() if k not in ("format", "codec")}
    return codes.long(), json.loads(metadata["codec"]), meta
