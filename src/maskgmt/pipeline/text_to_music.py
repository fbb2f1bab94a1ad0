"""TextToMusic: a trained model folder -> captions in, audio out (model + codec + text encoder)."""

from __future__ import annotations

import math
import numbers
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

from maskgmt.codecs import AudioCodec, load_codec
from maskgmt.codecs.checks import prepare_wav
from maskgmt.model import MaskGmt
from maskgmt.model.checks import check_device, check_texts
from maskgmt.pretrained import require_default_model
from maskgmt.seeding import check_seed
from maskgmt.text import TextEncoder, load_text_encoder

MAX_SECONDS = 3600.0  # longest output `generate` makes: one hour
SPLICE_SECONDS = 0.01  # crossfade where inpainted audio meets the kept audio


def _model_path(model_dir: object) -> Path:
    if not isinstance(model_dir, (str, os.PathLike)):
        raise TypeError(
            f"model_dir: expected a folder path (str or Path), got {type(model_dir).__name__}"
        )
    return Path(model_dir)


def _check_seconds(name: str, seconds: object) -> float:
    ok = isinstance(seconds, numbers.Real) and not isinstance(seconds, bool)
    if ok and seconds <= 0:
        raise ValueError(f"{name}: expected > 0, got {seconds}")
    if not ok or not math.isfinite(seconds) or not 0 < seconds <= MAX_SECONDS:
        raise ValueError(
            f"{name}: expected a number of seconds in (0, {MAX_SECONDS:g}] (at most one hour), "
            f"got {seconds!r}"
        )
    return float(seconds)


def _check_prompt_codes(prompt_codes: object) -> torch.Tensor:
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


@dataclass
class GenerationTimings:
    """Wall-clock seconds of the last `generate` call, by stage."""

    tokens: float = 0.0  # masked-transformer sampling of all windows
    decode: float = 0.0  # codec decoding to a waveform
    windows: int = 0  # number of model windows generated
    audio_seconds: float = 0.0  # length of the audio made, per clip
    extra: dict = field(default_factory=dict)

    @property
    def total(self) -> float:
        return self.tokens + self.decode

    @property
    def real_time_factor(self) -> float:
        """Audio seconds made (all clips of the batch count once) per wall second."""
        return self.audio_seconds / max(self.total, 1e-9)


def _resolve_codec(model_dir: Path, metadata: dict, codec: AudioCodec | str | None) -> AudioCodec:
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


def _check_codec(model: MaskGmt, codec: AudioCodec, what: str) -> None:
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


class TextToMusic:
    """A trained MaskGmt with the codec and text encoder it was trained with.

    `generate(texts, seconds)` returns wav[B, C, S] at `sample_rate`; clips longer than the
    model's window are made in overlapping windows, each continuing the previous one.
    """

    def __init__(
        self,
        *,
        model: MaskGmt,
        codec: AudioCodec,
        text_encoder: TextEncoder | None = None,
        what: str | None = None,
    ):
        _check_codec(model, codec, what or "this model")
        self.model = model.eval()
        self.codec = codec
        self.text_encoder = text_encoder
        self.last_timings = GenerationTimings()

    @classmethod
    def from_pretrained(
        cls,
        model_dir: str | Path | None = None,
        *,
        device: str | torch.device = "cpu",
        codec: AudioCodec | str | None = None,
        text_encoder: TextEncoder | str | None = None,
    ) -> TextToMusic:
        """Load `model_dir` (written by `maskgmt train`); codec and text encoder come from its
        metadata unless given. With no `model_dir`, the model shipped with the package."""
        check_device(device)
        model_dir = require_default_model() if model_dir is None else _model_path(model_dir)
        if model_dir.is_file():
            raise ValueError(
                f"{model_dir} is a file, not a model folder; pass the folder `maskgmt train` "
                "wrote (its `model` subfolder, holding config.json and model.safetensors)"
            )
        if not (model_dir / "config.json").is_file():
            raise FileNotFoundError(
                f"{model_dir} is not a maskgmt model folder (no config.json); "
                "pass the --out folder of `maskgmt train` (its `model` subfolder)"
            )
        if isinstance(text_encoder, str):
            text_encoder = load_text_encoder(text_encoder)
        model = MaskGmt.from_pretrained(model_dir, device=device, text_encoder=text_encoder)
        resolved = _resolve_codec(model_dir, model.metadata, codec)
        return cls(
            model=model, codec=resolved, text_encoder=text_encoder, what=f"model {model_dir}"
        )

    # ------------------------------------------------------------------ properties

    @property
    def sample_rate(self) -> int:
        return self.codec.sample_rate

    @property
    def frame_rate(self) -> float:
        return self.codec.frame_rate

    @property
    def max_seconds_per_window(self) -> float:
        return self.model.transformer.config.seq_len / self.codec.frame_rate

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    # ------------------------------------------------------------------ generation

    def encode_prompt(self, wav: torch.Tensor, sample_rate: int) -> torch.Tensor:
        """Prompt audio wav[C, S] (or [B, C, S]) -> codes[B, K, T] to continue from."""
        if not isinstance(wav, torch.Tensor):
            raise ValueError(f"wav: expected a float tensor wav[C, S], got {type(wav).__name__}")
        if wav.device.type == "meta":
            raise ValueError("wav is on the meta device (a shape without samples); pass real audio")
        if wav.dim() == 2:
            wav = wav.unsqueeze(0)
        return self.codec.encode(wav.to(self.device), sample_rate).long()

    @torch.inference_mode()
    def generate_codes(
        self,
        texts: list[str],
        *,
        seconds: float | None = None,
        seed: int | None = None,
        prompt_codes: torch.Tensor | None = None,
        overlap_seconds: float | None = None,
        progress: bool = False,
        **sampling,
    ) -> torch.Tensor:
        """Captions (B strings) -> codes[B, K, T] for `seconds` of audio (default: one window).

        prompt_codes[B or 1, K, Tp] are kept as the first Tp frames (continuation). Further
        keyword arguments (`steps`, `cond_scale`, `temperature`, `top_k`, `top_p`,
        `negative_texts`, ...) go to `MaskGmt.generate`.
        """
        texts = _check_captions(texts)
        if seconds is not None:
            seconds = _check_seconds("seconds", seconds)
        generator = self._generator(seed)
        if prompt_codes is not None:
            prompt_codes = _check_prompt_codes(prompt_codes)
        if overlap_seconds is not None:
            overlap_seconds = _check_seconds("overlap_seconds", overlap_seconds)
        window = self.model.transformer.config.seq_len
        total = window if seconds is None else math.ceil(seconds * self.frame_rate - 1e-6)
        if total < 1:
            raise ValueError(
                f"seconds: expected at least one frame ({1 / self.frame_rate:.3f} s), got {seconds}"
            )
        overlap = (
            window // 2 if overlap_seconds is None else round(overlap_seconds * self.frame_rate)
        )
        if not 0 < overlap < window:
            raise ValueError(
                f"overlap_seconds: the overlap must be shorter than one window "
                f"({window / self.frame_rate:.2f} s) and longer than 0, got {overlap_seconds}"
            )
        b, k = len(texts), self.model.transformer.config.n_q
        text_kwargs = _text_kwargs(texts, sampling)
        t0 = time.perf_counter()

        codes = torch.empty(b, k, 0, dtype=torch.long, device=self.device)
        if prompt_codes is not None:
            _check_code_shape("prompt_codes", prompt_codes, b, k)
            if prompt_codes.shape[-1] >= total:
                raise ValueError(
                    f"prompt: the prompt is {prompt_codes.shape[-1] / self.frame_rate:.2f} s but "
                    f"the output is only {total / self.frame_rate:.2f} s; ask for more seconds"
                )
            codes = prompt_codes.to(self.device).long().expand(b, -1, -1).clone()
        windows = 0
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=total, initial=codes.shape[-1], unit="frame", desc="generating")
        try:
            while codes.shape[-1] < total:
                # the window: the last frames made so far (the whole prompt at first, the overlap
                # afterwards) as a fixed prompt, then as many new frames as fit
                context = min(overlap if windows else window - 1, codes.shape[-1])
                keep = codes[..., codes.shape[-1] - context :]
                n_new = min(window - keep.shape[-1], total - codes.shape[-1])
                n = keep.shape[-1] + n_new
                prompt = torch.zeros(b, k, n, dtype=torch.long, device=self.device)
                prompt_mask = torch.zeros(b, k, n, dtype=torch.bool, device=self.device)
                prompt[..., : keep.shape[-1]] = keep
                prompt_mask[..., : keep.shape[-1]] = True
                out = self.model.generate(
                    **text_kwargs,
                    num_frames=n,
                    generator=generator,
                    prompt=prompt if keep.shape[-1] else None,
                    prompt_mask=prompt_mask if keep.shape[-1] else None,
                    **sampling,
                )
                codes = torch.cat([codes, out[..., keep.shape[-1] :]], dim=-1)
                windows += 1
                if bar is not None:
                    bar.update(n_new)
        finally:  # an error is then printed on a line of its own, not after the bar
            if bar is not None:
                bar.close()
        self.last_timings = GenerationTimings(
            tokens=time.perf_counter() - t0,
            windows=windows,
            audio_seconds=total / self.frame_rate,
        )
        return codes

    @torch.inference_mode()
    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """codes[B, K, T] -> wav[B, C, S] at `sample_rate`."""
        t0 = time.perf_counter()
        wav = self.codec.decode(codes)
        self.last_timings.decode = time.perf_counter() - t0
        return wav

    def generate(
        self, texts: list[str], *, seconds: float | None = None, seed: int | None = None, **kwargs
    ) -> torch.Tensor:
        """Captions (B strings) -> wav[B, C, S] at `sample_rate`, exactly `seconds` long."""
        if seconds is not None:
            seconds = _check_seconds("seconds", seconds)
        codes = self.generate_codes(texts, seconds=seconds, seed=seed, **kwargs)
        wav = self.decode(codes)
        frames_seconds = codes.shape[-1] / self.frame_rate
        n = round((frames_seconds if seconds is None else seconds) * self.sample_rate)
        if wav.shape[-1] < n:
            wav = torch.nn.functional.pad(wav, (0, n - wav.shape[-1]))
        return wav[..., :n]

    # ------------------------------------------------------------------ inpainting

    @torch.inference_mode()
    def inpaint_codes(
        self,
        texts: list[str],
        codes: torch.Tensor,
        *,
        start: float,
        end: float,
        seed: int | None = None,
        **sampling,
    ) -> torch.Tensor:
        """Make seconds [start, end) of codes[B or 1, K, T] anew for the captions -> codes[B, K, T].

        The frames outside the range are held fixed (prompt masks), so the new frames fit the
        music on both sides. A range longer than a window is filled window by window, each one
        seeing the frames made before it and the kept frames after it. Further keyword arguments
        go to `MaskGmt.generate`, as in `generate_codes`.
        """
        texts = _check_captions(texts)
        codes = _check_prompt_codes(codes)
        b, k = len(texts), self.model.transformer.config.n_q
        _check_code_shape("codes", codes, b, k)
        f0, f1 = self._frame_range(start, end, codes.shape[-1])
        generator = self._generator(seed)
        text_kwargs = _text_kwargs(texts, sampling)
        t0 = time.perf_counter()
        out = codes.to(self.device).long().expand(b, -1, -1).clone()
        pos, windows = f0, 0
        while pos < f1:
            lo, hi = _inpaint_window(pos, f1, out.shape[-1], self.model.transformer.config.seq_len)
            stop = min(f1, hi)
            given = torch.ones(b, k, hi - lo, dtype=torch.bool, device=self.device)
            given[..., pos - lo : stop - lo] = False
            made = self.model.generate(
                **text_kwargs,
                num_frames=hi - lo,
                generator=generator,
                prompt=out[..., lo:hi],
                prompt_mask=given,
                **sampling,
            )
            out[..., pos:stop] = made[..., pos - lo : stop - lo]
            pos, windows = stop, windows + 1
        self.last_timings = GenerationTimings(
            tokens=time.perf_counter() - t0,
            windows=windows,
            audio_seconds=(f1 - f0) / self.frame_rate,
        )
        return out

    def inpaint(
        self,
        texts: list[str],
        wav: torch.Tensor,
        sample_rate: int,
        *,
        start: float,
        end: float,
        seed: int | None = None,
        **sampling,
    ) -> torch.Tensor:
        """Regenerate seconds [start, end) of a clip wav[C, S] (or [B, C, S]) -> wav[B, C', S'].

        The result is at `sample_rate` of this pipeline, as long as the clip; outside the range
        it is the clip itself (resampled), with a short crossfade at each edge.
        """
        if not isinstance(wav, torch.Tensor):
            raise ValueError(f"wav: expected a float tensor wav[C, S], got {type(wav).__name__}")
        wav = wav.unsqueeze(0) if wav.dim() == 2 else wav
        kept = prepare_wav(
            wav, sample_rate, target_rate=self.sample_rate, target_channels=self.codec.channels
        ).to(self.device)
        codes = self.encode_prompt(kept, self.sample_rate)
        made = self.decode(
            self.inpaint_codes(texts, codes, start=start, end=end, seed=seed, **sampling)
        )
        n = kept.shape[-1]
        made = torch.nn.functional.pad(made, (0, max(0, n - made.shape[-1])))[..., :n]
        return _splice(kept, made, start, end, self.sample_rate)

    def _generator(self, seed: object) -> torch.Generator | None:
        """A generator on the model's device seeded with `seed` (checked); None for no seed."""
        if seed is None:
            return None
        return torch.Generator(device=self.device).manual_seed(check_seed(seed))

    def _frame_range(self, start: object, end: object, frames: int) -> tuple[int, int]:
        """Seconds [start, end) of a clip of `frames` frames -> frames [f0, f1), checked."""
        for name, value in (("start", start), ("end", end)):
            ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
            if not ok or not math.isfinite(value) or value < 0:
                raise ValueError(f"{name}: expected seconds >= 0, got {value!r}")
        length = frames / self.frame_rate
        if not start < end:
            raise ValueError(f"end: expected end > start = {start:g} s, got {end:g} s")
        if start >= length:
            raise ValueError(f"start: the clip is {length:.2f} s long, got start = {start:g} s")
        f0 = math.floor(start * self.frame_rate + 1e-6)
        f1 = min(frames, math.ceil(end * self.frame_rate - 1e-6))
        return f0, max(f1, f0 + 1)


def _check_captions(texts: object) -> list[str]:
    """One caption or a non-empty list of them -> the list, checked."""
    if isinstance(texts, str):
        texts = [texts]
    if isinstance(texts, (list, tuple)) and not texts:
        raise ValueError("texts: expected at least one caption, got an empty list")
    return check_texts("texts", texts, None)


def _check_code_shape(name: str, codes: torch.Tensor, b: int, k: int) -> None:
    """codes must be [B or 1, K, T] for B captions and a K-level codec."""
    if codes.dim() != 3 or codes.shape[1] != k or codes.shape[0] not in (1, b):
        raise ValueError(f"{name}: expected [B={b} or 1, K={k}, T], got shape {tuple(codes.shape)}")


def _text_kwargs(texts: list[str], sampling: dict) -> dict:
    """The captions for `MaskGmt.generate`, with `negative_texts` taken out of `sampling` (one
    string stands for every clip).

    Captions go to the model as strings: it encodes them once per call with the encoder attached
    at load time and caches their keys/values across steps."""
    negative = sampling.pop("negative_texts", None)
    if isinstance(negative, str):
        negative = [negative] * len(texts)
    return {"texts": list(texts), "negative_texts": negative}


def _inpaint_window(pos: int, end: int, total: int, window: int) -> tuple[int, int]:
    """The window [lo, hi) of frames for filling frames from `pos` (up to `end`) of `total`.

    Whatever of the range is left is centred when it fits with a quarter window of context;
    otherwise the window starts a quarter window before `pos`. lo <= pos < hi always.
    """
    if total <= window:
        return 0, total
    margin = window // 4
    fits = end - pos <= window - margin
    lo = pos - (window - (end - pos)) // 2 if fits else pos - margin
    lo = max(0, min(lo, total - window))
    return lo, lo + window


def _splice(
    kept: torch.Tensor, made: torch.Tensor, start: float, end: float, sample_rate: int
) -> torch.Tensor:
    """`made` inside seconds [start, end], `kept` outside, crossfaded over SPLICE_SECONDS.

    No fade at an edge of the clip: a range from 0 s (or to the end) is all new there.
    """
    t = torch.arange(kept.shape[-1], device=kept.device) / sample_rate
    ones = torch.ones_like(t)
    fade_in = ((t - start) / SPLICE_SECONDS + 0.5).clamp(0.0, 1.0) if start > 0 else ones
    length = kept.shape[-1] / sample_rate
    fade_out = ((end - t) / SPLICE_SECONDS + 0.5).clamp(0.0, 1.0) if end < length else ones
    inside = torch.minimum(fade_in, fade_out)
    return inside * made + (1.0 - inside) * kept
