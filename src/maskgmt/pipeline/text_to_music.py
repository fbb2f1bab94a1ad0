"""TextToMusic: a trained model folder -> captions in, audio out (model + codec + text encoder)."""

from __future__ import annotations

import math
import numbers
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch

from maskgmt.codecs import AudioCodec
from maskgmt.codecs.checks import prepare_wav
from maskgmt.model import MaskGmt
from maskgmt.model.checks import check_device
from maskgmt.pipeline.checks import (
    GenerationCancelled,
    caption_kwargs,
    check_captions,
    check_code_shape,
    check_codec,
    check_prompt_codes,
    check_seconds,
    model_path,
    resolve_codec,
)
from maskgmt.pipeline.inpaint import inpaint_window, splice
from maskgmt.pretrained import require_default_model
from maskgmt.progress import tqdm
from maskgmt.seeding import check_seed
from maskgmt.text import TextEncoder, load_text_encoder


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


@dataclass(frozen=True)
class _Continuation:
    """A checked `generate_codes` call: what each window gets and how many frames to make."""

    captions: dict  # texts / negative_texts for MaskGmt.generate
    sampling: dict  # the remaining MaskGmt.generate keywords (steps, cond_scale, ...)
    generator: torch.Generator | None
    window: int  # frames the model sees at once (its seq_len)
    overlap: int  # frames of the previous window kept as context in the windows after the first
    total: int  # frames to make, the prompt included
    prompt: torch.Tensor  # codes[B, K, Tp] kept as the first frames (Tp = 0 for none)


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
        check_codec(model, codec, what or "this model")
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
        model_dir = require_default_model() if model_dir is None else model_path(model_dir)
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
        resolved = resolve_codec(model_dir, model.metadata, codec)
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
        should_stop: Callable[[], bool] | None = None,
        **sampling,
    ) -> torch.Tensor:
        """Captions (B strings) -> codes[B, K, T] for `seconds` of audio (default: one window).

        prompt_codes[B or 1, K, Tp] are kept as the first Tp frames (continuation).
        `should_stop()` is asked before each window; True raises `GenerationCancelled` (a web
        server passes "has the client left?"). Further
        keyword arguments (`steps`, `cond_scale`, `temperature`, `top_k`, `top_p`,
        `negative_texts`, ...) go to `MaskGmt.generate`.
        """
        plan = self._continuation(texts, seconds, seed, prompt_codes, overlap_seconds, sampling)
        t0 = time.perf_counter()
        codes, windows = plan.prompt, 0
        # the bar closes on an error too, so the message prints on a line of its own
        with tqdm(
            total=plan.total, initial=codes.shape[-1], unit="frame", desc="generating",
            disable=not progress,
        ) as bar:  # fmt: skip
            while codes.shape[-1] < plan.total:
                if should_stop is not None and should_stop():
                    raise GenerationCancelled(f"stopped after {windows} window(s), as asked")
                # the window: the last frames made so far (the whole prompt at first, the
                # overlap afterwards) as a fixed prompt, then as many new frames as fit
                context = min(plan.overlap if windows else plan.window - 1, codes.shape[-1])
                keep = codes[..., codes.shape[-1] - context :]
                n_new = min(plan.window - context, plan.total - codes.shape[-1])
                out = self._continue(plan, keep, n_new, start=codes.shape[-1] - context)
                codes = torch.cat([codes, out[..., context:]], dim=-1)
                windows += 1
                bar.update(n_new)
        self.last_timings = GenerationTimings(
            tokens=time.perf_counter() - t0,
            windows=windows,
            audio_seconds=plan.total / self.frame_rate,
        )
        return codes

    def _continuation(
        self,
        texts: object,
        seconds: object,
        seed: object,
        prompt_codes: object,
        overlap_seconds: object,
        sampling: dict,
    ) -> _Continuation:
        """`generate_codes`' arguments, checked, as a plan of windows (nothing is computed)."""
        texts = check_captions(texts)
        if seconds is not None:
            seconds = check_seconds("seconds", seconds)
        generator = self._generator(seed)
        if prompt_codes is not None:
            prompt_codes = check_prompt_codes(prompt_codes)
        if overlap_seconds is not None:
            overlap_seconds = check_seconds("overlap_seconds", overlap_seconds)
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
        captions = caption_kwargs(texts, sampling)
        prompt = self._checked_prompt(prompt_codes, len(texts), total)
        return _Continuation(captions, sampling, generator, window, overlap, total, prompt)

    def _checked_prompt(
        self, prompt_codes: torch.Tensor | None, b: int, total: int
    ) -> torch.Tensor:
        """prompt_codes[B or 1, K, Tp] -> codes[B, K, Tp] on the device (Tp = 0 for none)."""
        k = self.model.transformer.config.n_q
        if prompt_codes is None:
            return torch.empty(b, k, 0, dtype=torch.long, device=self.device)
        check_code_shape("prompt_codes", prompt_codes, b, k)
        if prompt_codes.shape[-1] >= total:
            raise ValueError(
                f"prompt: the prompt is {prompt_codes.shape[-1] / self.frame_rate:.2f} s but "
                f"the output is only {total / self.frame_rate:.2f} s; ask for more seconds"
            )
        return prompt_codes.to(self.device).long().expand(b, -1, -1).clone()

    def _continue(
        self, plan: _Continuation, keep: torch.Tensor, n_new: int, *, start: int
    ) -> torch.Tensor:
        """One window: keep[B, K, Tk] held fixed, then n_new frames made -> codes[B, K, Tk + n].

        `start` is the window's first frame within the piece (the tempo clock's phase)."""
        b, k, given = keep.shape[0], keep.shape[1], keep.shape[-1]
        prompt = torch.zeros(b, k, given + n_new, dtype=torch.long, device=self.device)
        prompt_mask = torch.zeros_like(prompt, dtype=torch.bool)
        prompt[..., :given] = keep
        prompt_mask[..., :given] = True
        return self.model.generate(
            **plan.captions,
            num_frames=given + n_new,
            frame_offset=start,
            generator=plan.generator,
            prompt=prompt if given else None,
            prompt_mask=prompt_mask if given else None,
            **plan.sampling,
        )

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
            seconds = check_seconds("seconds", seconds)
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
        texts = check_captions(texts)
        codes = check_prompt_codes(codes)
        b, k = len(texts), self.model.transformer.config.n_q
        check_code_shape("codes", codes, b, k)
        f0, f1 = self._frame_range(start, end, codes.shape[-1])
        generator = self._generator(seed)
        text_kwargs = caption_kwargs(texts, sampling)
        t0 = time.perf_counter()
        out = codes.to(self.device).long().expand(b, -1, -1).clone()
        pos, windows = f0, 0
        while pos < f1:
            lo, hi = inpaint_window(pos, f1, out.shape[-1], self.model.transformer.config.seq_len)
            stop = min(f1, hi)
            given = torch.ones(b, k, hi - lo, dtype=torch.bool, device=self.device)
            given[..., pos - lo : stop - lo] = False
            made = self.model.generate(
                **text_kwargs,
                num_frames=hi - lo,
                frame_offset=lo,
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
        return splice(kept, made, start, end, self.sample_rate)

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
