"""CLI: `maskgmt serve [--model DIR]` — a local web page to try a trained (or the shipped) model."""

from __future__ import annotations

import errno
import socket
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
    """Serve a page with a caption box and a Generate button that plays the result."""
    from maskgmt.app import serve as serve_app
    from maskgmt.pipeline import TextToMusic

    check_device(device)
    _check_port_free(host, port)  # before the model loads, not after
    typer.echo(f"loading {model or 'the shipped model'} ...")
    pipe = TextToMusic.from_pretrained(model, device=device)
    try:
        serve_app(pipe, host, port, max_seconds=max_seconds)
    except OSError as e:
        if e.errno in (errno.EADDRINUSE, errno.EACCES, errno.EADDRNOTAVAIL):
            raise ValueError(_port_message(host, port, e)) from None
        raise


def _port_message(host: str, port: int, e: OSError) -> str:
    why = {errno.EADDRINUSE: "is already in use", errno.EACCES: "needs more privileges"}.get(
        e.errno, f"cannot be bound ({e.strerror})"
    )
    return (
        f"--port {port}: {host}:{port} {why}; pass another --port (or --port 0 for any free "
        "one), or stop what holds it"
    )


def _check_port_free(host: str, port: int) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as http.server does
            s.bind((host, port))
    except OSError as e:
        if e.errno in (errno.EADDRINUSE, errno.EACCES, errno.EADDRNOTAVAIL):
            raise ValueError(_port_message(host, port, e)) from None
        raise ValueError(f"--host {host}: cannot bind ({e}); pass a local address") from None
