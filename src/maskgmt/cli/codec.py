"""CLI: `maskgmt codec fit|info`, `maskgmt tokenize`, `maskgmt detokenize` (thin wrappers)."""

from __future__ import annotations

from pathlib import Path

import typer

from maskgmt.cli.app import app, codec_app
from maskgmt.cli.checks import (
    check_at_least,
    check_audio_output,
    check_device,
    check_not_input,
    check_output_dir,
    check_output_file,
    check_seed,
)

# torch, transformers and the codecs are imported inside the commands so `maskgmt --help`
# stays fast.


@codec_app.command("fit")
def fit(
    source: Path = typer.Argument(..., help="JSONL manifest or audio folder."),
    out: Path = typer.Option(..., "--out", "-o", help="Folder to save the fitted codec to."),
    n_q: int = typer.Option(8, "--n-q", help="Residual levels K."),
    codebook_size: int = typer.Option(1024, "--codebook-size", help="Codes per level V."),
    max_seconds: float | None = typer.Option(None, help="Use at most this much audio."),
    kmeans_iters: int = typer.Option(10, help="Lloyd iterations per level."),
    mel_weighting: bool | None = typer.Option(
        None,
        "--mel-weighting/--no-mel-weighting",
        help="Weigh the spectrum's bins by mel density (codes favour the low partials) or "
        "equally (more timbre kept; the default, docs/QUALITY.md 'codec fitting').",
    ),
    seed: int = typer.Option(0, help="Seed for k-means (same seed + audio = same codec)."),
    device: str = typer.Option("cpu", help="torch device to fit on."),
    progress: bool = typer.Option(True, help="Show progress bars."),
    overwrite: bool = typer.Option(
        False, "--overwrite", help="Replace what a non-empty --out folder holds."
    ),
) -> None:
    """Fit a SpectralCodec (no download needed) on your audio and save it to --out."""
    from maskgmt.audio import list_audio_files
    from maskgmt.codecs import SpectralCodec, SpectralCodecConfig

    check_output_dir(out, "--out")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise ValueError(
            f"--out {str(out)!r} is not empty (a model's or another codec?); choose a new "
            "folder, or pass --overwrite to replace it"
        )
    check_at_least(n_q, 1, "--n-q")
    check_at_least(codebook_size, 2, "--codebook-size")
    check_at_least(kmeans_iters, 0, "--kmeans-iters")
    check_seed(seed)
    check_device(device)
    files = list_audio_files(source)
    weighting = {} if mel_weighting is None else {"mel_weighting": mel_weighting}
    codec = SpectralCodec.fit_files(
        files,
        config=SpectralCodecConfig(n_q=n_q, codebook_size=codebook_size, **weighting),
        max_seconds=max_seconds,
        kmeans_iters=kmeans_iters,
        seed=seed,
        device=device,
        progress=progress,
    )
    codec.save(out)
    typer.echo(f"saved SpectralCodec (K={n_q}, V={codebook_size}, {len(files)} files) to {out}")


@codec_app.command("info")
def info(codec: str = typer.Argument(..., help="Codec name, hub id or folder.")) -> None:
    """Print a codec's identity as JSON."""
    import json

    from maskgmt.codecs import load_codec

    typer.echo(json.dumps(load_codec(codec).identity(), indent=2))


@app.command("tokenize")
def tokenize(
    audio: Path = typer.Argument(..., help="Audio file to encode."),
    output: Path = typer.Option(..., "--output", "-o", help="Code file (.safetensors) to write."),
    codec: str = typer.Option(..., "--codec", help="Codec name, hub id or folder."),
    device: str = typer.Option("cpu", help="torch device."),
) -> None:
    """Encode an audio file into codes[K, T] that remember which codec made them."""
    from maskgmt.audio import read_audio
    from maskgmt.codecs import load_codec, save_codes

    check_not_input(output, audio, "--output")
    check_output_file(output, "--output", codes=True)
    check_device(device)
    wav, sample_rate = read_audio(audio)
    if float(wav.abs().max()) == 0.0:
        raise ValueError(
            f"audio file {str(audio)!r} is silent (every sample is 0); nothing to tokenize"
        )
    model = load_codec(codec, device=device)
    codes = model.encode(wav[None], sample_rate)[0]  # (K, T)
    num_samples = round(wav.shape[-1] * model.sample_rate / sample_rate)
    save_codes(
        output, codes, codec_identity=model.identity(), num_samples=num_samples, audio=str(audio)
    )
    typer.echo(f"wrote codes {tuple(codes.shape)} (K, T) to {output}")


@app.command("detokenize")
def detokenize(
    codes_path: Path = typer.Argument(..., help="Code file written by `maskgmt tokenize`."),
    output: Path = typer.Option(..., "--output", "-o", help="Audio file to write."),
    codec: str | None = typer.Option(
        None, "--codec", help="Codec name, hub id or folder (default: the one that made the codes)."
    ),
    device: str = typer.Option("cpu", help="torch device."),
) -> None:
    """Decode a code file back to audio with the codec that made it."""
    from maskgmt.audio import write_audio
    from maskgmt.codecs import check_same_codec, load_codec, load_codes

    check_not_input(output, codes_path, "--output")
    check_audio_output(output, "--output")
    check_device(device)
    codes, identity, meta = load_codes(codes_path)
    source = codec or identity.get("source")
    if not source:
        raise ValueError(f"{str(codes_path)!r} does not say which codec made it; pass --codec")
    try:
        model = load_codec(source, device=device)
    except (FileNotFoundError, ValueError) as e:
        if codec is not None:
            raise
        raise ValueError(
            f"could not reload the codec that made {str(codes_path)!r} from {source!r} ({e}); "
            "pass --codec NAME_OR_DIR"
        ) from None
    check_same_codec(identity, model, what=f"the codes in {str(codes_path)!r}")
    wav = model.decode(codes[None])[0]  # (C, S)
    num_samples = meta.get("num_samples")
    if isinstance(num_samples, int) and 0 < num_samples <= wav.shape[-1]:
        wav = wav[..., :num_samples]
    write_audio(output, wav, model.sample_rate)
    typer.echo(f"wrote {wav.shape[-1] / model.sample_rate:.2f} s of audio to {output}")
