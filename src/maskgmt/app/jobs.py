"""What the web demo does, without any web framework: check the form's values, run the model.

Every check raises `InputError` naming the form field at fault, before the model runs. The
three jobs (text to music, continuation, inpainting) each return a `Clip`.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch

from maskgmt.model.checks import parse_steps_text
from maskgmt.model.plan import CHOICE_TEMPERATURE, default_steps

DEFAULT_SECONDS = 5.0
DEFAULT_COND_SCALE = 3.0
DEFAULT_TEMPERATURE = 1.0
MAX_SEED = 2**32 - 1  # what a browser's number box holds exactly
Stop = Callable[[], bool] | None  # asked between windows: True stops the generation


@dataclass(frozen=True)
class Limits:
    """What one request may ask of the server."""

    max_seconds: float = 30.0  # longest clip made, uploaded or asked for
    max_text_chars: int = 500  # per caption
    max_steps: int = 64  # refinement steps per level
    max_queue: int = 8  # requests waiting behind the one that runs; more get "busy"
    max_upload_mb: int = 20  # size of an uploaded clip

    def __post_init__(self) -> None:
        if not (isinstance(self.max_seconds, numbers.Real) and 0 < self.max_seconds <= 3600):
            raise ValueError(f"max_seconds: expected seconds in (0, 3600], got {self.max_seconds}")
        for name in ("max_text_chars", "max_steps", "max_queue", "max_upload_mb"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name}: expected an int >= 1, got {value!r}")


class InputError(ValueError):
    """A form value the demo refuses; `field` names the form field."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field


class Pipeline(Protocol):
    """What the demo needs of a model: `maskgmt.pipeline.TextToMusic` has it."""

    sample_rate: int
    frame_rate: float
    last_timings: Any  # .tokens, .decode (s), .real_time_factor

    def generate(self, texts: list[str], **kwargs) -> torch.Tensor: ...
    def encode_prompt(self, wav: torch.Tensor, sample_rate: int) -> torch.Tensor: ...
    def inpaint(self, texts: list[str], wav: torch.Tensor, sample_rate: int, **kw): ...


# ---------------------------------------------------------------------------- checks


def number(name: str, value: object, low: float, high: float, *, whole: bool = False) -> float:
    """A form number in [low, high] (a whole one if `whole`), else InputError naming `name`."""
    if isinstance(value, str) and value.strip():
        try:
            value = float(value)
        except ValueError:
            raise InputError(name, f"expected a number, got {value!r}") from None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InputError(name, f"expected a number, got {value!r}")
    if not math.isfinite(value) or not low <= value <= high:
        raise InputError(name, f"expected a number in [{low:g}, {high:g}], got {value!r}")
    if whole and value != int(value):
        raise InputError(name, f"expected a whole number, got {value!r}")
    return float(value)


def caption(name: str, value: object, limits: Limits, *, required: bool = True) -> str | None:
    """A caption, stripped; None for an empty optional one."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InputError(name, f"expected text, got {type(value).__name__}")
    text = value.strip()
    if len(text) > limits.max_text_chars:
        raise InputError(name, f"at most {limits.max_text_chars} characters, got {len(text)}")
    if not text and required:
        raise InputError(name, "type a caption, e.g. 'a calm piano melody in C major, slow'")
    return text or None


def parse_steps(value: object, levels: int, limits: Limits) -> int | tuple[int, ...] | None:
    """'' -> None (the model's defaults); '12' -> 12; 'a,b,...' (1 to `levels` ints) -> a tuple,
    whose last value repeats for the levels above (as on the command line)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    example = ",".join(map(str, default_steps(levels)[:2]))
    hint = f"one int for every level, or up to {levels} comma-separated ints like {example}"
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise InputError("steps", f"{hint}; got {value!r}")
    if not all(p.strip().isdigit() for p in value.split(",")):
        raise InputError("steps", f"{hint}; got {value!r}")
    try:
        parsed = parse_steps_text(value, max_steps=limits.max_steps)
    except ValueError as e:  # a count out of range: the message names the range
        raise InputError("steps", str(e).removeprefix("steps: ")) from None
    if len(parsed if isinstance(parsed, tuple) else (parsed,)) > levels:
        raise InputError("steps", f"{hint}; got {value!r}")
    return parsed


@dataclass(frozen=True)
class Sampling:
    """The checked sampling settings of one request."""

    seed: int = 0
    cond_scale: float = DEFAULT_COND_SCALE
    steps: int | tuple[int, ...] | None = None
    temperature: float = DEFAULT_TEMPERATURE
    choice_temperature: float = CHOICE_TEMPERATURE
    negative: str | None = None

    @classmethod
    def parse(cls, form: dict, levels: int, limits: Limits) -> Sampling:
        """Form values (seed, cond_scale, steps, temperature, choice_temperature, negative)."""
        return cls(
            seed=int(number("seed", form.get("seed", 0), 0, MAX_SEED, whole=True)),
            cond_scale=number("cond_scale", form.get("cond_scale", DEFAULT_COND_SCALE), 1, 20),
            steps=parse_steps(form.get("steps"), levels, limits),
            temperature=number("temperature", form.get("temperature", DEFAULT_TEMPERATURE), 0, 5),
            choice_temperature=number(
                "choice_temperature", form.get("choice_temperature", CHOICE_TEMPERATURE), 0, 20
            ),
            negative=caption("negative", form.get("negative"), limits, required=False),
        )

    def kwargs(self) -> dict:
        """Keyword arguments for TextToMusic.generate / inpaint."""
        out: dict[str, Any] = {
            "seed": self.seed,
            "cond_scale": self.cond_scale,
            "temperature": self.temperature,
            "choice_temperature": self.choice_temperature,
        }
        if self.steps is not None:
            out["steps"] = self.steps
        if self.negative is not None:
            out["negative_texts"] = [self.negative]
        return out


def load_clip(name: str, path: object, limits: Limits) -> tuple[torch.Tensor, int]:
    """An uploaded or reused clip -> (wav[C, S], sample_rate); at most limits.max_seconds."""
    import soundfile as sf

    from maskgmt.audio import read_audio

    if not path:
        raise InputError(name, "upload a clip (WAV, FLAC, OGG or MP3), or pick one made here")
    try:
        info = sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError, OSError, TypeError):
        raise InputError(name, "could not read the clip; upload a WAV, FLAC, OGG or MP3") from None
    if info.frames / info.samplerate > limits.max_seconds:
        raise InputError(
            name,
            f"the clip is {info.frames / info.samplerate:.1f} s; at most {limits.max_seconds:g} s",
        )
    try:
        return read_audio(Path(str(path)))
    except (FileNotFoundError, ValueError) as e:
        raise InputError(name, str(e)) from None


# ---------------------------------------------------------------------------- jobs


@dataclass
class Clip:
    """One made clip: wav[C, S] at `sample_rate`, what made it and how long it took."""

    wav: np.ndarray
    sample_rate: int
    mode: str  # "text", "continue" or "inpaint"
    caption: str
    seed: int
    timings: dict = field(default_factory=dict)

    @property
    def seconds(self) -> float:
        return self.wav.shape[-1] / self.sample_rate

    def save(self, path: Path) -> Path:
        """Write a 16-bit WAV file -> its path."""
        import soundfile as sf

        sf.write(str(path), np.clip(self.wav, -1.0, 1.0).T, self.sample_rate, subtype="PCM_16")
        return path

    def spectrogram(self) -> np.ndarray:
        """Its log-mel spectrogram as an RGB image (time left to right, low bins below)."""
        from maskgmt.viz import spectrogram_image

        return spectrogram_image(self.wav, self.sample_rate)


def _clip(pipe: Pipeline, wav: torch.Tensor, mode: str, text: str, seed: int) -> Clip:
    first = wav[0].detach().float().cpu().numpy()
    t = pipe.last_timings
    timings = {
        "tokens_s": round(float(t.tokens), 3),
        "decode_s": round(float(t.decode), 3),
        "total_s": round(float(t.tokens) + float(t.decode), 3),
        "real_time_factor": round(float(t.real_time_factor), 2),
    }
    return Clip(first, int(pipe.sample_rate), mode, text, seed, timings)


def text_to_music(
    pipe: Pipeline, text: str, seconds: float, sampling: Sampling, should_stop: Stop = None
) -> Clip:
    """A new clip of `seconds` for the caption (`should_stop`: see `TextToMusic.generate_codes`)."""
    wav = pipe.generate([text], seconds=seconds, should_stop=should_stop, **sampling.kwargs())
    return _clip(pipe, wav, "text", text, sampling.seed)


def continue_clip(
    pipe: Pipeline, clip: tuple[torch.Tensor, int], text: str, more: float, sampling: Sampling,
    limits: Limits, should_stop: Stop = None,
) -> Clip:  # fmt: skip
    """The clip followed by `more` new seconds for the caption."""
    wav, sample_rate = clip
    have = wav.shape[-1] / sample_rate
    if have + more > limits.max_seconds:
        raise InputError(
            "seconds",
            f"the clip ({have:.1f} s) and its continuation ({more:g} s) make more than "
            f"{limits.max_seconds:g} s; ask for at most {max(limits.max_seconds - have, 0):.1f} s",
        )
    codes = pipe.encode_prompt(wav, sample_rate)
    out = pipe.generate([text], seconds=have + more, prompt_codes=codes, should_stop=should_stop,
                        **sampling.kwargs())  # fmt: skip
    return _clip(pipe, out, "continue", text, sampling.seed)


def inpaint_clip(
    pipe: Pipeline, clip: tuple[torch.Tensor, int], text: str, start: float, end: float,
    sampling: Sampling,
) -> Clip:  # fmt: skip
    """The clip with seconds [start, end] made anew for the caption, the rest kept."""
    wav, sample_rate = clip
    have = wav.shape[-1] / sample_rate
    if not start < end:
        raise InputError("end", f"expected an end after the start ({start:g} s), got {end:g} s")
    if end > have + 1e-6:
        raise InputError("end", f"the clip is {have:.2f} s long, got end = {end:g} s")
    out = pipe.inpaint([text], wav, sample_rate, start=start, end=end, **sampling.kwargs())
    return _clip(pipe, out, "inpaint", text, sampling.seed)
