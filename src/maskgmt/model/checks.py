"""Input checks for the model's public methods: a ValueError naming the argument."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch

from maskgmt.model.config import BackboneConfig


def _shape(x: Any) -> str:
    return (
        f"shape {tuple(x.shape)} dtype {x.dtype}"
        if isinstance(x, torch.Tensor)
        else type(x).__name__
    )


def check_has_data(name: str, x: Any) -> None:
    """A tensor on the meta device has a shape but no values: refuse it by name."""
    if isinstance(x, torch.Tensor) and x.device.type == "meta":
        raise ValueError(
            f"{name}: got a tensor on the meta device (a shape without data); pass real "
            "values, e.g. on cpu"
        )


def check_codes_shape(name: str, codes: Any, config: BackboneConfig) -> None:
    """codes must be an integer tensor [B, K, T] with B >= 1, K = n_q and 1 <= T <= seq_len."""
    if not isinstance(codes, torch.Tensor) or codes.dim() != 3:
        raise ValueError(
            f"{name}: expected a LongTensor [B, K, T] (batch, codec levels, frames), "
            f"got {_shape(codes)}"
        )
    if codes.dtype.is_floating_point or codes.dtype.is_complex or codes.dtype == torch.bool:
        raise ValueError(
            f"{name}: expected integer codes (torch.long), got dtype {codes.dtype}; "
            "pass codec token ids, e.g. codes.long()"
        )
    check_has_data(name, codes)
    b, k, t = codes.shape
    if b == 0:
        raise ValueError(f"{name}: expected at least one clip, got batch size 0")
    if k != config.n_q:
        raise ValueError(
            f"{name}: expected K = n_q = {config.n_q} codec levels in dim 1, got K = {k} "
            f"(shape {tuple(codes.shape)}); encode with a codec of {config.n_q} levels"
        )
    if not 1 <= t <= config.seq_len:
        raise ValueError(
            f"{name}: expected 1 <= T <= seq_len = {config.seq_len} frames in dim 2, got T = {t}; "
            "crop the clip or build the model with a larger seq_len"
        )


def check_code_values(
    name: str, codes: torch.Tensor, config: BackboneConfig, where: torch.Tensor | None
) -> None:
    """Code values must lie in [0, V); `where` (bool, codes' shape) limits the check."""
    values = codes if where is None else codes[where]
    if values.numel() and (int(values.min()) < 0 or int(values.max()) >= config.num_tokens):
        raise ValueError(
            f"{name}: expected code values in [0, {config.num_tokens}), got values in "
            f"[{int(values.min())}, {int(values.max())}]; "
            "the codec's codebook size must equal num_tokens"
        )


def check_bool_mask(name: str, mask: Any, shape: Sequence[int], what: str) -> None:
    if (
        not isinstance(mask, torch.Tensor)
        or mask.dtype != torch.bool
        or tuple(mask.shape) != tuple(shape)
    ):
        raise ValueError(
            f"{name}: expected a bool tensor of shape {tuple(shape)} ({what}), got {_shape(mask)}"
        )
    check_has_data(name, mask)


def check_music_ids(
    name: str,
    codes: Any,
    padding_mask: Any,
    config: BackboneConfig,
    device: torch.device,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Checked codes[B, K, T] long and frame mask [B, T] bool (True = real frame, default all),
    both on `device`; every real frame's codes must lie in [0, V)."""
    check_codes_shape(name, codes, config)
    b, k, t = codes.shape
    if padding_mask is None:
        frame_mask = torch.ones(b, t, dtype=torch.bool, device=device)
    else:
        check_bool_mask("padding_mask", padding_mask, (b, t), "True = real frame")
        if not bool(padding_mask.any(dim=-1).all()):
            raise ValueError(
                "padding_mask: expected at least one real (True) frame per clip, got none"
            )
        frame_mask = padding_mask.to(device)
    codes = codes.to(device).long()
    check_code_values(name, codes, config, frame_mask[:, None, :].expand(b, k, t))
    return codes, frame_mask


def check_levels(levels: Any, batch: int, n_q: int, device: torch.device) -> torch.Tensor:
    """levels[B] long in [0, n_q): the level each sample trains, on `device`."""
    ok = isinstance(levels, torch.Tensor) and levels.shape == (batch,)
    ok = ok and not levels.dtype.is_floating_point and levels.dtype != torch.bool
    if not ok or int(levels.min()) < 0 or int(levels.max()) >= n_q:
        raise ValueError(f"levels: expected a LongTensor [{batch}] in [0, {n_q}), got {levels!r}")
    return levels.to(device).long()


def check_level(level: Any, n_q: int) -> int:
    """One codec level: an int in [0, n_q)."""
    if not (isinstance(level, int) and not isinstance(level, bool) and 0 <= level < n_q):
        raise ValueError(f"level: expected an int in [0, {n_q}), got {level!r}")
    return level


def check_token_mask(
    token_mask: Any, frame_mask: torch.Tensor, *, need_hidden: bool
) -> torch.Tensor:
    """token_mask[B, T] bool (True = hidden), on frame_mask's device; with need_hidden, at least
    one token of a real frame must be hidden (a loss needs something to predict)."""
    check_bool_mask("token_mask", token_mask, tuple(frame_mask.shape), "True = hidden token")
    hide = token_mask.to(frame_mask.device)
    if need_hidden:
        hide = hide & frame_mask
        if not bool(hide.any()):
            raise ValueError(
                "token_mask: expected at least one hidden token on a real frame, got none"
            )
    return hide


def check_level_weights(weights: Sequence[float] | None, n_q: int) -> None:
    """Training weights of the levels: None (uniform) or one per codec level."""
    if weights is not None and len(weights) != n_q:
        raise ValueError(
            f"level_weights: expected {n_q} weights (one per codec level), got {len(weights)}"
        )


def check_texts(name: str, texts: Any, batch: int | None) -> list[str]:
    """texts must be a non-empty list of str, of length `batch` when that is known."""
    if isinstance(texts, (str, bytes, bytearray)) or not isinstance(texts, Sequence):
        raise ValueError(f"{name}: expected a list of captions (str), got {type(texts).__name__}")
    texts = list(texts)
    if not texts:
        raise ValueError(f"{name}: expected a non-empty list of captions, got an empty list")
    bad = [type(t).__name__ for t in texts if not isinstance(t, str)]
    if bad:
        raise ValueError(f"{name}: expected every caption to be a str, got {bad[0]}")
    if batch is not None and len(texts) != batch:
        raise ValueError(
            f"{name}: expected one caption per clip ({batch}), got {len(texts)} captions"
        )
    return texts


def check_text_embeds(
    emb: Any, mask: Any, *, text_dim: int, batch: int | None, emb_name: str, mask_name: str
) -> None:
    """emb must be finite float [B, L, text_dim]; mask bool [B, L] (True = real token)."""
    if not isinstance(emb, torch.Tensor) or emb.dim() != 3 or not emb.dtype.is_floating_point:
        raise ValueError(
            f"{emb_name}: expected a float tensor [B, L, {text_dim}], got {_shape(emb)}"
        )
    check_has_data(emb_name, emb)
    b, n, d = emb.shape
    if d != text_dim:
        raise ValueError(
            f"{emb_name}: expected text width {text_dim} (the model's text_dim) in dim 2, got {d}; "
            "use the text encoder the model was built for"
        )
    if batch is not None and b != batch:
        raise ValueError(f"{emb_name}: expected batch size {batch} in dim 0, got {b}")
    if n == 0:
        raise ValueError(f"{emb_name}: expected at least one text token (L >= 1), got L = 0")
    if not bool(torch.isfinite(emb).all()):
        raise ValueError(
            f"{emb_name}: expected finite values, got NaN or inf; check the text encoder"
        )
    if mask is None:
        raise ValueError(
            f"{mask_name}: expected a bool tensor [{b}, {n}] alongside {emb_name}, got None"
        )
    check_bool_mask(mask_name, mask, (b, n), "True = real text token")


def parse_steps_text(
    text: str, name: str = "steps", *, max_steps: int | None = None
) -> int | tuple[int, ...]:
    """The text form of `steps` (the CLI flag, the web page's box): '12' -> 12, '16, 8, 4' ->
    (16, 8, 4). A list shorter than the model's levels repeats its last value (`check_steps`)."""
    parts = [p.strip() for p in str(text).split(",")]
    if not all(p.isdigit() for p in parts):
        raise ValueError(
            f"{name}: expected an int, or comma-separated ints like 16,2 (the last value "
            f"repeats for the levels above), got {text!r}"
        )
    values = tuple(int(p) for p in parts)
    if min(values) < 1 or (max_steps is not None and max(values) > max_steps):
        limit = ">= 1" if max_steps is None else f"in [1, {max_steps}]"
        raise ValueError(f"{name}: every step count must be {limit}, got {text!r}")
    return values[0] if len(values) == 1 else values


def check_steps(steps: Any, num_levels: int) -> tuple[int, ...]:
    """steps: an int for every level, or one int per level -> tuple of K ints >= 1.

    A shorter sequence repeats its last value for the remaining levels: (16, 8, 4) on 8 levels
    is (16, 8, 4, 4, 4, 4, 4, 4)."""
    if isinstance(steps, int) and not isinstance(steps, bool):
        steps = (steps,) * num_levels
    if not isinstance(steps, Sequence) or isinstance(steps, str):
        raise ValueError(
            f"steps: expected an int or a sequence of {num_levels} ints, got {type(steps).__name__}"
        )
    steps = tuple(steps)
    if not steps:
        raise ValueError(
            f"steps: expected an int or 1 to {num_levels} ints (one per level), got ()"
        )
    if len(steps) > num_levels:
        raise ValueError(
            f"steps: expected at most one count per codec level ({num_levels}), got "
            f"{len(steps)}: {steps}; pass a single int to use it for every level"
        )
    steps = steps + steps[-1:] * (num_levels - len(steps))
    if not all(isinstance(s, int) and not isinstance(s, bool) and s >= 1 for s in steps):
        raise ValueError(f"steps: expected ints >= 1, got {steps}")
    return steps


def check_number(
    name: str, value: Any, *, low: float, high: float | None = None, low_open: bool = False
) -> float:
    """`value` must be a finite real number in [low, high] ((low, ...] with `low_open`)."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    ok = ok and (value > low if low_open else value >= low) and (high is None or value <= high)
    if not ok or not math.isfinite(value):  # NaN and inf too
        bound = f"{'(' if low_open else '['}{low}, {high if high is not None else 'inf'}"
        bound += "]" if high is not None else ")"
        raise ValueError(f"{name}: expected a number in {bound}, got {value!r}")
    return float(value)


def check_device(device: Any, name: str = "device") -> torch.device:
    """A torch device this machine has -> torch.device; 'cuda' on a CPU-only torch, a CUDA
    index past the last GPU and an unknown name are refused with a ValueError."""
    try:
        dev = torch.device(device)
    except (RuntimeError, ValueError, TypeError):
        raise ValueError(
            f"{name}: unknown torch device {device!r}; use cpu, cuda or cuda:N"
        ) from None
    if dev.type == "cuda":
        _check_cuda(dev, str(device), name)
    elif dev.type == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise ValueError(f"{name} {device}: MPS is not available here; use {_cpu(name)}")
    return dev


def _check_cuda(dev: torch.device, device: str, name: str) -> None:
    if not torch.cuda.is_available():
        raise ValueError(
            f"{name} {device}: this torch has no usable CUDA GPU "
            f"(torch {torch.__version__}, CUDA build: {torch.version.cuda or 'none'}); "
            f"use {_cpu(name)}, or install a CUDA build of torch on a machine with a GPU"
        )
    count = torch.cuda.device_count()
    if dev.index is not None and dev.index >= count:
        raise ValueError(
            f"{name} {device}: only {count} CUDA device(s) visible; use cuda:0..cuda:{count - 1}"
        )


def _cpu(name: str) -> str:
    """How to ask for the CPU where `name` is spelled: a CLI option or a keyword argument."""
    return f"{name} cpu" if name.startswith("--") else f"{name}='cpu'"
