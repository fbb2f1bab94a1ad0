"""CLI: `maskgmt prepare` (audio -> token cache) and `maskgmt merge-caches` (shards -> one)."""

from __future__ import annotations

from pathlib import Path

import typer

from maskgmt.cli.app import app
from maskgmt.cli.checks import check_at_least, check_device, check_output_dir


@app.command()
def prepare(
    source: Path = typer.Argument(
        ...,
        help="JSONL manifest ({'audio': path, 'text': caption} a line) or a folder of "
        "audio files with same-name .txt captions.",
    ),
    codec: str = typer.Option(
        ..., help="Codec name or folder for load_codec, e.g. encodec_24khz or a fitted codec."
    ),
    out: Path = typer.Option(..., help="Cache folder to write (rerun the same command to resume)."),
    batch_size: int = typer.Option(16, help="Clips encoded together."),
    text_encoder: str = typer.Option(
        None, help="Also cache caption embeddings of this text encoder, e.g. minilm."
    ),
    min_seconds: float = typer.Option(1.0, help="Skip (and list) clips shorter than this."),
    num_shards: int = typer.Option(1, help="Split the manifest into this many shards..."),
    shard_index: int = typer.Option(0, help="...and encode only this one (0-based)."),
    device: str = typer.Option(None, help="torch device for the codec (default: cuda if any)."),
    progress: bool = typer.Option(True, help="Show a progress bar."),
) -> None:
    """Encode every clip once into a token cache for `maskgmt train --data`."""
    from maskgmt.data.prepare import prepare_cache

    check_output_dir(out, "--out")
    check_at_least(batch_size, 1, "--batch-size")
    check_device(device)
    report = prepare_cache(
        source,
        out,
        codec=codec,
        batch_size=batch_size,
        device=device,
        text_encoder=text_encoder,
        min_seconds=min_seconds,
        num_shards=num_shards,
        shard_index=shard_index,
        progress=progress,
    )
    typer.echo(report.summary())
    if num_shards > 1:
        typer.echo(
            f"  shard {shard_index} of {num_shards}: when all are done, run "
            "`maskgmt merge-caches SHARD_DIRS... --out DIR` (or train on their parent folder)"
        )


@app.command("merge-caches")
def merge_caches_command(
    shards: list[Path] = typer.Argument(..., help="Shard cache folders to combine."),
    out: Path = typer.Option(..., help="New cache folder to write."),
    progress: bool = typer.Option(True, help="Show a progress bar."),
) -> None:
    """Combine the shard caches of a sharded `prepare` (or caches of one codec) into one."""
    from maskgmt.data.cache import merge_caches

    check_output_dir(out, "--out")
    info = merge_caches(shards, out, progress=progress)
    typer.echo(
        f"token cache: {out}\n  {info.num_clips} clips ({info.seconds / 3600:.2f} h) from "
        f"{len(shards)} caches, {info.num_skipped} skipped"
    )
