"""Command-line entry point: `maskgmt COMMAND ...` (thin: parse, call the library, print)."""

from __future__ import annotations

import sys

import typer

from maskgmt.cli import codec, corpus, data, demo, eval, generate, serve, train  # noqa: F401  (registers)
from maskgmt.cli.app import app


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; bad input ends with a one-line error and exit code 2, not a traceback."""
    try:
        app(args=argv, standalone_mode=False)
    except (ValueError, RuntimeError, OSError) as e:
        # OSError: a path the checks could not foresee (permissions, a full disk, a file made
        # meanwhile); its text names the path, e.g. "[Errno 13] Permission denied: 'out.wav'"
        typer.secho(f"error: {e}", fg=typer.colors.RED, err=True)
        return 2
    except SystemExit as e:  # typer raises this for --help and usage errors
        return int(e.code or 0)
    except Exception as e:
        # Usage errors and Ctrl-C come as click exceptions (typer may vendor its own click, so
        # they are recognised by what they can do rather than by class).
        if hasattr(e, "show") and isinstance(getattr(e, "exit_code", None), int):
            e.show()
            return e.exit_code
        if type(e).__name__ == "Abort":
            return 1
        raise
    return 0


if __name__ == "__main__":
    sys.exit(main())
