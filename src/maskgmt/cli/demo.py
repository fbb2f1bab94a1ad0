"""CLI: `maskgmt demo --out DIR` — the whole pipeline on a small offline corpus."""

from __future__ import annotations

from pathlib import Path

import typer

from maskgmt.cli.app import app


@app.command()
def demo(
    out: Path = typer.Option(Path("demo"), "--out", "-o", help="Folder for everything it makes."),
    clips: int = typer.Option(1100, help="Corpus clips to render (about 10% are test clips)."),
    seconds: float = typer.Option(6.0, help="Length of each corpus clip."),
    minutes: float = typer.Option(6.0, help="Training time budget in minutes."),
    max_steps: int = typer.Option(None, help="Optional cap on training steps."),
    samples: int = typer.Option(4, help="Held-out captions to generate audio for."),
    sample_seconds: float = typer.Option(
        None,
        help="Length of the generated and scored clips (default: one model window, 3 s; "
        "6 adds a second, continued window, scored apart, at twice the generation time).",
    ),
    preset: str = typer.Option("tiny", help="Model preset: tiny, small or base."),
    codebook_size: int = typer.Option(
        256, help="Codes per level of the fitted codec (EnCodec has 1024; fewer learn faster)."
    ),
    eval_clips: int = typer.Option(
        120, help="Held-out clips to score with `maskgmt eval` (0: skip)."
    ),
    seed: int = typer.Option(0, help="Seed for the corpus, training and sampling."),
    workers: int = typer.Option(None, help="Render processes (default: all cores)."),
) -> None:
    """Build a corpus, fit the codec, train a tiny model, then write music for held-out captions."""
    from maskgmt.cli.checks import check_output_dir
    from maskgmt.demo import DemoConfig, run_demo

    check_output_dir(out, "--out")
    cfg = DemoConfig(
        out=out,
        clips=clips,
        seconds=seconds,
        train_minutes=minutes,
        max_steps=max_steps,
        samples=samples,
        sample_seconds=sample_seconds,
        preset=preset,
        seed=seed,
        codebook_size=codebook_size,
        eval_clips=eval_clips,
        workers=workers,
    )
    report = run_demo(cfg)
    typer.echo(f"\nstages (s): {report.stage_seconds}")
    typer.echo(f"report: {out / 'report.md'}; samples in {out / 'samples'}")
