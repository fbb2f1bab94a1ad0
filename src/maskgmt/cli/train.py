"""CLI: `maskgmt train` (token cache -> run folder with checkpoints, logs and the final model)."""

from __future__ import annotations

from pathlib import Path

import typer

from maskgmt.cli.app import app
from maskgmt.cli.checks import check_output_dir


@app.command("train")
def train_command(
    data: Path = typer.Option(..., "--data", help="Token cache folder made by `maskgmt prepare`."),
    out: Path = typer.Option(..., "--out", help="Run folder: checkpoints/, tensorboard/, model/."),
    preset: str = typer.Option("tiny", "--preset", help="Base config: tiny (CPU), small, base."),
    config: Path | None = typer.Option(
        None, "--config", help="YAML overrides on top of the preset, e.g. `optim: {lr: 1e-3}`."
    ),
    max_steps: int | None = typer.Option(
        None, "--max-steps", help="Stop after N optimizer steps (default: the config's)."
    ),
    max_minutes: float | None = typer.Option(
        None, "--max-minutes", help="Also stop after M minutes (still writes checkpoint + model)."
    ),
    resume: bool = typer.Option(False, "--resume", help="Continue from the newest checkpoint."),
    init: str | None = typer.Option(
        None,
        "--init",
        metavar="MODEL_DIR",
        help="Fine-tune: start from this model folder's weights (fresh optimizer, schedule and "
        "step count). Its codec and text encoder must be the cache's, its sizes the config's; "
        "its caption cues (tempo clock, key cue) the run keeps.",
    ),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar."),
) -> None:
    """Train a model on a token cache.

    Several processes (GPUs, or CPU nodes):
    `accelerate launch --multi_gpu --num_processes N -m maskgmt train ...`.

    Fine-tuning a model on your own audio: prepare the cache with the model's codec
    (`maskgmt prepare my.jsonl --codec MODEL/codec --out cache`), then
    `maskgmt train --data cache --out run --init MODEL --config sizes.yaml`.
    """
    from maskgmt.train.config import get_preset, load_config
    from maskgmt.train.loop import train

    check_output_dir(out, "--out")
    if config is not None and config.is_dir():
        raise ValueError(f"--config {str(config)!r} is a folder; pass a YAML file of overrides")
    cfg = get_preset(preset)
    if config is not None:
        cfg = load_config(config, base=cfg)
    result = train(
        cfg,
        data_dir=data,
        out_dir=out,
        resume=resume,
        init=init,
        max_steps=max_steps,
        max_minutes=max_minutes,
        progress=progress,
    )
    from accelerate import PartialState

    if not PartialState().is_main_process:
        return
    val = [round(v, 3) if v is not None else None for v in result.val_loss]
    typer.echo(
        f"trained {result.steps} steps ({result.tokens_seen} tokens) in {result.seconds:.0f} s; "
        f"validation loss per level {val}\nmodel: {result.model_dir}\n"
        f"checkpoint: {result.checkpoint}"
    )
