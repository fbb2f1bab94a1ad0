"""CLI: `maskgmt serve --model DIR` — a local web page to try a trained model."""

from __future__ import annotations

from pathlib import Path

import typer

from maskgmt.cli.app import app


@app.command()
def serve(
    model: Path = typer.Option(..., "--model", help="Model folder written by `maskgmt train`."),
    host: str = typer.Option(
        "127.0.0.1", help="Address to bind; keep loopback unless you trust the network."
    ),
    port: int = typer.Option(7860, help="Port to listen on (0: any free port)."),
    max_seconds: float = typer.Option(60.0, help="Longest clip a request may ask for, in seconds."),
    device: str = typer.Option("cpu", help="torch device, e.g. cpu or cuda."),
) -> None:
    """Serve a page with a caption box and a Generate button that plays the result."""
    from maskgmt.app import serve as serve_app
    from maskgmt.pipeline import TextToMusic

    typer.echo(f"loading {model} ...")
    pipe = TextToMusic.from_pretrained(model, device=device)
    serve_app(pipe, host, port, max_seconds=max_seconds)
