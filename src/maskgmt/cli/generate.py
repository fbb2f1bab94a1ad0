"""CLI: `maskgmt generate CAPTION -o out.wav --model DIR` — text in, audio out."""

from __future__ import annotations

import re
from pathlib import Path

import typer

from maskgmt.cli.app import app
from maskgmt.cli.checks import (
    check_at_least,
    check_audio_output,
    check_device,
    check_not_input,
    check_output_dir,
    check_seconds,
    check_seed,
)


def parse_steps(text: str | None) -> int | tuple[int, ...] | None:
    """'12' -> 12; '16,8,4,4' -> (16, 8, 4, 4); None -> None (the model's defaults).

    A list shorter than the model's levels repeats its last value (the model does that)."""
    if text is None:
        return None
    from maskgmt.model.checks import parse_steps_text  # here: `maskgmt --help` must not load torch

    return parse_steps_text(text, "--steps")


def _check_sampling(
    cond_scale: float, temperature: float | None, top_p: float | None, choice: float | None
) -> None:
    """The sampling numbers the model would refuse, refused before it loads."""
    from maskgmt.model.checks import check_number  # here: `maskgmt --help` must not load torch

    check_number("--cond-scale", cond_scale, low=0.0)
    if temperature is not None:
        check_number("--temperature", temperature, low=0.0)
    if top_p is not None:
        check_number("--top-p", top_p, low=0.0, high=1.0, low_open=True)
    if choice is not None:
        check_number("--choice-temperature", choice, low=0.0)


def _slug(text: str, n: int = 40) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:n] or "clip"


def read_captions(batch_file: Path) -> list[str]:
    """One caption a line; blank lines and lines starting with # are ignored."""
    if batch_file.is_dir():
        raise ValueError(
            f"--batch-file: {batch_file} is a folder; pass a text file with one caption a line"
        )
    if batch_file.exists() and not batch_file.is_file():
        raise ValueError(
            f"--batch-file: {batch_file} is not a regular file; pass a text file with one "
            "caption a line"
        )
    if not batch_file.is_file():
        raise FileNotFoundError(f"--batch-file: {batch_file} does not exist")
    captions = [ln.strip() for ln in batch_file.read_text().splitlines()]
    captions = [c for c in captions if c and not c.startswith("#")]
    if not captions:
        raise ValueError(f"--batch-file: {batch_file} has no captions (one caption a line)")
    return captions


@app.command()
def generate(
    caption: str = typer.Argument(
        None, help="What the music should be, e.g. 'a slow cello melody'."
    ),
    out: Path = typer.Option(
        ..., "-o", "--out", help="WAV file to write (a folder with --batch-file)."
    ),
    model: Path | None = typer.Option(
        None, "--model", help="Model folder written by `maskgmt train` (default: the shipped one)."
    ),
    seconds: float = typer.Option(
        None, help="Length in seconds, at most 3600 (default: one model window)."
    ),
    steps: str = typer.Option(
        None,
        help="Refinement steps: one int for every level, or one per level like 16,8,4,4 "
        "(a shorter list repeats its last value for the remaining levels).",
    ),
    cond_scale: float = typer.Option(3.0, help="Classifier-free guidance scale (1 = no guidance)."),
    temperature: float = typer.Option(None, help="Sampling temperature (default: the model's)."),
    top_k: int = typer.Option(None, help="Sample among the k most likely codes."),
    top_p: float = typer.Option(None, help="Nucleus sampling mass."),
    choice_temperature: float = typer.Option(
        None,
        help="Noise on the re-masking order, fading to 0 by each level's last step (default 4; "
        "0 re-masks by confidence alone, which decodes held notes).",
    ),
    seed: int = typer.Option(0, help="Random seed; the same seed gives the same audio."),
    negative: str = typer.Option(None, help="Negative prompt: what the music should not be."),
    batch_file: Path = typer.Option(None, help="Text file with one caption a line."),
    batch_size: int = typer.Option(8, help="Captions generated together with --batch-file."),
    prompt_audio: Path = typer.Option(None, help="Audio to continue from (kept as the beginning)."),
    spectrogram: bool = typer.Option(False, help="Also write a spectrogram PNG beside each WAV."),
    device: str = typer.Option("cpu", help="torch device, e.g. cpu or cuda."),
) -> None:
    """Generate music from a caption (or a file of captions) with a trained model."""
    from maskgmt.audio import read_audio, write_audio
    from maskgmt.pipeline import TextToMusic

    if (caption is None) == (batch_file is None):
        raise ValueError("give either a CAPTION or --batch-file FILE (exactly one)")
    captions = read_captions(batch_file) if batch_file else [caption]
    # every argument is checked before the model loads
    check_seconds(seconds)
    check_seed(seed, count=len(captions))
    check_at_least(batch_size, 1, "--batch-size")
    check_device(device)
    _check_sampling(cond_scale, temperature, top_p, choice_temperature)
    check_at_least(top_k, 1, "--top-k")
    if batch_file:
        check_output_dir(out, "--out")
    else:
        check_audio_output(out, "--out")
    if prompt_audio is not None and not batch_file:
        check_not_input(out, prompt_audio, "--out")
    if prompt_audio is not None and not prompt_audio.is_file():
        raise FileNotFoundError(
            f"--prompt-audio: {prompt_audio} is not an audio file"
            + (" (it is a folder)" if prompt_audio.is_dir() else " (it does not exist)")
        )
    sampling = {
        "steps": parse_steps(steps),
        "cond_scale": cond_scale,
        "temperature": temperature,
        "top_k": top_k,
        "top_p": top_p,
        "choice_temperature": choice_temperature,
        "negative_texts": negative,
    }
    sampling = {k: v for k, v in sampling.items() if v is not None}
    pipe = TextToMusic.from_pretrained(model, device=device)
    prompt_codes = None
    if prompt_audio is not None:
        wav, sr = read_audio(prompt_audio)
        prompt_codes = pipe.encode_prompt(wav, sr)
    if batch_file:
        out.mkdir(parents=True, exist_ok=True)
        paths = [out / f"{i:03d}_{_slug(c)}.wav" for i, c in enumerate(captions)]
    else:
        paths = [out]
    for start in range(0, len(captions), batch_size):
        chunk = captions[start : start + batch_size]
        wav = pipe.generate(
            chunk,
            seconds=seconds,
            seed=seed + start,
            prompt_codes=prompt_codes,
            progress=True,
            **sampling,
        )
        t = pipe.last_timings
        for j, text in enumerate(chunk):
            path = paths[start + j]
            write_audio(path, wav[j].cpu(), pipe.sample_rate)
            if spectrogram:
                from maskgmt.viz import save_spectrogram

                save_spectrogram(
                    path.with_suffix(".png"), wav[j].cpu(), pipe.sample_rate, title=text
                )
            typer.echo(f"wrote {path}  ({wav.shape[-1] / pipe.sample_rate:.2f} s)  {text!r}")
        typer.echo(
            f"{len(chunk)} clip(s): tokens {t.tokens:.2f} s, decode {t.decode:.2f} s, "
            f"{t.real_time_factor:.1f}x real time"
        )
