"""The typer application and its command groups; subcommand modules attach to these."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="maskgmt",
    help="Text-to-music with a masked generative transformer over codec tokens.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
codec_app = typer.Typer(help="Fit and inspect audio codecs.", no_args_is_help=True)
corpus_app = typer.Typer(help="Build the offline captioned music corpus.", no_args_is_help=True)
app.add_typer(codec_app, name="codec")
app.add_typer(corpus_app, name="corpus")
