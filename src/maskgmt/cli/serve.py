"""CLI: `maskgmt serve [--model DIR]` — the Gradio web demo of a trained (or the shipped) model."""

from __future__ import annotations

from pathlib import Path

import typer

from maskgmt.cli.app import app
from maskgmt.cli.checks import check_device


@app.command()
def serve(
    model: Path | None = typer.Option(
        None, "--model", help="Model folder written by `maskgmt train` (default: the shipped one)."
    ),
    host: str = typer.Option(
        "127.0.0.1", help="Address to bind; keep loopback unless you trust the network."
    ),
    port: int = typer.Option(7860, help="Port to listen on (0: any free port)."),
    max_seconds: float = typer.Option(60.0, help="Longest clip a request may ask for, in seconds."),
    device: str = typer.Option("cpu", help="torch device, e.g. cpu or cuda."),
) -> None:
    r"""Serve the web demo (Gradio): text to music, continuation and inpainting.

    One generation runs at a time and a few more wait; beyond that the page says the server is
    busy. Needs Gradio, the `demo` extra: pip install -e '.\[demo]'.
    """
    from maskgmt.app import GRADIO_HINT, Limits, bind, gradio_available

    if not gradio_available():
        raise ValueError(GRADIO_HINT)  # one line and exit code 2, as for any bad input
    limits = Limits(max_seconds=max_seconds)  # checks it, before the model loads
    check_device(device)
    bind(host, port).close()  # a busy port is said now, not after the model loads
    from maskgmt.app import serve as serve_app
    from maskgmt.pipeline import TextToMusic

    typer.echo(f"loading {model or 'the shipped model'} ...")
    pipe = TextToMusic.from_pretrained(model, device=device)
    serve_app(pipe, host, port, limits=limits)
