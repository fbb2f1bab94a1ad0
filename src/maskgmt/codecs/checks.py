"""Shared codec plumbing: input checks, resampling/channel mixing, frame spans, identities."""

from __future__ import annotations

import hashlib
import math

import torch

from maskgmt.audio import check_finite, check_sample_rate, resample

# Identity keys that must agree for codes from one codec to be decoded by another ("source"
# may differ: the same codec can be loaded from a copy of its folder).
IDENTITY_KEYS: tuple[str, ...] = (
    "kind",
    "n_q",
    "codebook_size",
    "sample_rate",
    "frame_rate",
    "fingerprint",
)


def prepare_wav(
    wav: torch.Tensor, sample_rate: int, *, target_rate: int, target_channels: int
) -> torch.Tensor:
    """Check wav[B, C, S] and bring it to `target_rate` Hz and `target_channels` channels.

    Channels are averaged to mono, or mono is copied to every channel; other mismatches raise.
    Returns float32 wav[B, target_channels, S'].
    """
    if not isinstance(wav, torch.Tensor):
        raise ValueError(f"wav must be a torch.Tensor wav[B, C, S]; got {type(wav).__name__}")
    if wav.dim() != 3:
        raise ValueError(
            f"wav must be wav[B, C, S] (batch, channels, samples); got shape {tuple(wav.shape)}; "
            "for one mono clip use wav[None, None], for one clip wav[C, S] use wav[None]"
        )
    if not wav.is_floating_point():
        raise ValueError(f"wav must be float samples in [-1, 1]; got dtype {wav.dtype}")
    if wav.shape[0] == 0 or wav.shape[-1] == 0:
        raise ValueError(f"wav is empty (shape {tuple(wav.shape)}); pass at least one sample")
    if wav.device.type == "meta":
        raise ValueError("wav is on the meta device (a shape without samples); pass real audio")
    sample_rate = check_sample_rate(sample_rate)
    check_finite(wav)
    wav = wav.float()
    channels = wav.shape[1]
    if channels != target_channels:
        if target_channels == 1:
            wav = wav.mean(dim=1, keepdim=True)
        elif channels == 1:
            wav = wav.expand(-1, target_channels, -1)
        else:
            raise ValueError(
                f"wav has {channels} channels but the codec wants {target_channels}; "
                "mix or select channels first"
            )
    return resample(wav, sample_rate, target_rate)


def check_codes(
    codes: torch.Tensor, *, n_q: int, codebook_size: int, levels: int | None = None
) -> torch.Tensor:
    """Check codes[B, K, T] for a codec with `n_q` levels of `codebook_size` codes.

    `levels` (1..n_q) decodes only the first `levels` levels (codes may carry more); without it,
    K must equal n_q. Returns codes[B, levels or n_q, T] as long.
    """
    if not isinstance(codes, torch.Tensor) or codes.dim() != 3:
        shape = tuple(codes.shape) if isinstance(codes, torch.Tensor) else type(codes).__name__
        raise ValueError(f"codes must be a tensor codes[B, K, T]; got {shape}")
    if codes.is_floating_point() or codes.is_complex() or codes.dtype == torch.bool:
        raise ValueError(f"codes must be integer codes[B, K, T]; got dtype {codes.dtype}")
    if codes.device.type == "meta":
        raise ValueError("codes are on the meta device (a shape without values); pass real codes")
    k = codes.shape[1]
    if levels is None:
        if k != n_q:
            raise ValueError(
                f"codes have K={k} levels but this codec has n_q={n_q}; pass codes from the "
                f"same codec, or levels=<1..{n_q}> to decode only the first levels"
            )
        want = n_q
    else:
        if not 1 <= levels <= min(k, n_q):
            raise ValueError(
                f"levels must be in 1..{min(k, n_q)} (codes have K={k}, codec n_q={n_q}); "
                f"got {levels}"
            )
        want = levels
    codes = codes[:, :want]
    if codes.shape[0] == 0 or codes.shape[-1] == 0:
        raise ValueError(f"codes are empty (shape {tuple(codes.shape)}); nothing to decode")
    lo, hi = int(codes.min()), int(codes.max())
    if lo < 0 or hi >= codebook_size:
        raise ValueError(
            f"codes must lie in [0, {codebook_size}) for this codec; got values in [{lo}, {hi}] "
            "(codes from a codec with a larger codebook, or a mask/pad id left in?)"
        )
    return codes.long()


def frame_spans(num_frames: int, chunk: int) -> list[tuple[int, int]]:
    """Split [0, num_frames) into consecutive [start, end) spans of at most `chunk` frames."""
    chunk = max(1, chunk)
    return [(t, min(t + chunk, num_frames)) for t in range(0, num_frames, chunk)]


def frames_for(num_samples: int, hop_length: int) -> int:
    """T = ceil(S / hop): a frame per started hop, as EnCodec counts them."""
    return math.ceil(num_samples / hop_length)


def fingerprint(*tensors: torch.Tensor) -> str:
    """A short hash of tensors' float32 contents: tells differently fitted codecs apart."""
    h = hashlib.sha256()
    for t in tensors:
        h.update(t.detach().to("cpu", torch.float32).contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


def identity_mismatch(expected: dict, actual: dict) -> list[str]:
    """Keys of `IDENTITY_KEYS` whose values differ, as 'key: expected X, got Y' lines."""
    out = []
    for key in IDENTITY_KEYS:
        a, b = expected.get(key), actual.get(key)
        if isinstance(a, float) or isinstance(b, float):
            same = a is not None and b is not None and math.isclose(a, b)
        else:
            same = a == b
        if not same:
            out.append(f"{key}: expected {a!r}, got {b!r}")
    return out


def check_same_codec(expected: dict, codec: object, *, what: str = "these codes") -> None:
    """Raise ValueError if `codec.identity()` differs from the `expected` identity."""
    actual = codec.identity()  # type: ignore[attr-defined]
    diffs = identity_mismatch(expected, actual)
    if diffs:
        raise ValueError(
            f"{what} were made by codec {expected.get('source')!r} ({expected.get('kind')}), "
            f"not by {actual.get('source')!r}: " + "; ".join(diffs) + ". "
            f"Decode with the codec that made them (e.g. --codec {expected.get('source')})"
        )
