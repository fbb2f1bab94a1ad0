"""CLI: `maskgmt eval` — attribute adherence and a Fréchet distance, for a model or audio folder."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import typer

from maskgmt.cli.app import app


@app.command("eval")
def eval_command(
    split: Path = typer.Option(
        ..., "--split", help="Manifest to evaluate, e.g. CORPUS/test.jsonl."
    ),
    out: Path = typer.Option(..., "--out", help="Report folder (metrics.json, report.md, ...)."),
    model: Path | None = typer.Option(None, "--model", help="Model folder to generate with."),
    audio_dir: Path | None = typer.Option(
        None, "--audio-dir", help="Folder of already generated audio, one file per row (same stem)."
    ),
    train_split: Path | None = typer.Option(
        None,
        "--train-split",
        help="Train manifest for the instrument classifier (default: train.jsonl beside --split).",
    ),
    classifier: Path | None = typer.Option(
        None, "--classifier", help="Load a saved classifier folder instead of training one."
    ),
    limit: int | None = typer.Option(
        None, "--limit", help="Evaluate only the first N clips (default: all rows; use >= 200)."
    ),
    seed: int = typer.Option(0, "--seed", help="Generation seed (batch b uses seed + b)."),
    batch_size: int = typer.Option(4, "--batch-size", help="Captions per generate call."),
    seconds: float | None = typer.Option(
        None, "--seconds", help="Generated length in seconds (default: median real clip length)."
    ),
    device: str = typer.Option("cpu", "--device", help="Device for generation."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show progress bars."),
    control: bool = typer.Option(
        True,
        "--control/--no-control",
        help="Generate the shuffled-caption control (doubles generation).",
    ),
    window_seconds: float | None = typer.Option(
        None,
        "--window-seconds",
        help="Model window for the by-window figures (default with --model: the model's own).",
    ),
    cache_dir: Path | None = typer.Option(
        None,
        "--cache-dir",
        help="Folder that keeps real and codec analyses for later evaluations on the split.",
    ),
    bootstrap: int = typer.Option(1000, "--bootstrap", help="Bootstrap resamples per interval."),
) -> None:
    """Score how well audio follows its captions: real vs codec vs generated vs shuffled control."""
    from maskgmt.cli.checks import (
        check_at_least,
        check_device,
        check_output_dir,
        check_seconds,
        check_seed,
    )
    from maskgmt.eval.evaluate import (
        EvalConfig,
        evaluate_audio_dir,
        evaluate_model,
        load_or_train_classifier,
    )
    from maskgmt.eval.manifest import read_split
    from maskgmt.eval.scoring import RECOMMENDED_CLIPS, few_clips_warning

    if (model is None) == (audio_dir is None):
        raise ValueError("eval: pass exactly one of --model DIR (generate) or --audio-dir DIR")
    check_output_dir(out, "--out")
    if cache_dir is not None:
        check_output_dir(cache_dir, "--cache-dir")
    check_seconds(seconds)
    check_seed(seed, count=limit or 1)
    check_at_least(batch_size, 1, "--batch-size")
    check_device(device)
    config = EvalConfig(  # checks the options before the model loads
        seed=seed, batch_size=batch_size, seconds=seconds, limit=limit, progress=progress,
        control=control, window_seconds=window_seconds, cache_dir=cache_dir, bootstrap=bootstrap,
    )  # fmt: skip
    n_rows = len(read_split(split, limit=limit))
    if train_split is not None:
        read_split(train_split)  # a bad path fails now, not after the model has loaded
    if audio_dir is not None and not audio_dir.is_dir():
        what = "a file" if audio_dir.exists() else "missing"
        raise ValueError(f"--audio-dir {audio_dir} is {what}; pass the folder of generated audio")
    if n_rows < RECOMMENDED_CLIPS:
        typer.echo(f"warning: {few_clips_warning(n_rows)}", err=True)
    # The model first: a folder that cannot be loaded should fail before minutes of training.
    pipeline = _load_pipeline(model, device) if model is not None else None
    if window_seconds is None and pipeline is not None:
        window = getattr(pipeline, "max_seconds_per_window", None)
        config = dataclasses.replace(config, window_seconds=window)
    clf = load_or_train_classifier(
        split, train_split=train_split, saved=classifier, save_to=out / "instrument_classifier",
        progress=progress,
    )  # fmt: skip
    if pipeline is None:
        metrics = evaluate_audio_dir(audio_dir, split, out_dir=out, classifier=clf, config=config)
    else:
        metrics = evaluate_model(pipeline, split, out_dir=out, classifier=clf, config=config)
    typer.echo((out / "report.md").read_text())
    typer.echo(
        f"wrote {out}/metrics.json, report.md, accuracy.png, estimates.jsonl "
        f"({metrics['n_clips']} clips)"
    )


def _load_pipeline(model: Path, device: str):
    if not model.is_dir():
        raise FileNotFoundError(
            f"--model {model} is not a folder; expected one written by `maskgmt train`"
        )
    from maskgmt.pipeline import TextToMusic

    try:
        return TextToMusic.from_pretrained(model, device=device)
    except (ValueError, FileNotFoundError):
        raise
    except Exception as e:  # e.g. a codec folder that is missing or from another version
        raise ValueError(
            f"--model {model}: the model or its codec could not be loaded "
            f"({type(e).__name__}: {e}); "
            "expected a folder written by `maskgmt train` with its codec (see docs/INTERFACES.md)"
        ) from e
