"""CLI: `maskgmt corpus build` (music21 scores -> FluidSynth clips + captioned manifests)."""

from __future__ import annotations

from pathlib import Path

import typer

from maskgmt.cli.app import corpus_app
from maskgmt.cli.checks import check_output_dir


@corpus_app.command("build")
def build(
    out: Path = typer.Option(
        ..., help="Folder to write clips/, train/valid/test.jsonl, report.json."
    ),
    clips: int = typer.Option(..., help="Number of clips to render."),
    seconds: float = typer.Option(10.0, help="Length of every clip in seconds."),
    seed: int = typer.Option(0, help="Same seed, same corpus: identical manifests and audio."),
    soundfont: Path = typer.Option(
        None, help="General MIDI .sf2 (default: Debian fluid-soundfont-gm's FluidR3_GM.sf2)."
    ),
    workers: int = typer.Option(None, help="Parallel parses/renders (default: all cores)."),
    clips_per_piece: int = typer.Option(4, help="Clips drawn from each score."),
    accompaniment_prob: float = typer.Option(0.5, help="Chance a clip gets a bass line."),
    sample_rate: int = typer.Option(24_000, help="Sample rate of the WAV files (Hz)."),
    cache_dir: Path = typer.Option(None, help="Parsed-score cache (default: ~/.cache/maskgmt)."),
    progress: bool = typer.Option(True, help="Show progress bars."),
) -> None:
    """Render a captioned music corpus offline; rerun the same command to resume."""
    from maskgmt.data.corpus import build_corpus

    check_output_dir(out, "--out")
    if cache_dir is not None:
        check_output_dir(cache_dir, "--cache-dir")
    report = build_corpus(
        out,
        clips=clips,
        seconds=seconds,
        seed=seed,
        soundfont=soundfont,
        workers=workers,
        progress=progress,
        cache_dir=cache_dir,
        sample_rate=sample_rate,
        clips_per_piece=clips_per_piece,
        accompaniment_prob=accompaniment_prob,
    )
    splits = ", ".join(f"{s} {n}" for s, n in report.clips.items())
    typer.echo(
        f"{out}: {sum(report.clips.values())} clips ({splits}); rendered {report.rendered}, "
        f"kept {report.reused}; skipped {len(report.skipped_pieces)} scores, "
        f"{len(report.failed_clips)} failed renders (see {out / 'report.json'})"
    )
