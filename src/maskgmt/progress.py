"""Progress bars that suit where they are written.

On a terminal a bar redraws in place ten times a second. Redirected to a file or a CI log,
every redraw would become a line of its own, and a 7-minute demo would write thousands;
there a bar writes at most every `LOG_INTERVAL_S` seconds, and always its final state.
"""

from __future__ import annotations

import sys

from tqdm.auto import tqdm as _tqdm

LOG_INTERVAL_S = 30.0  # seconds between a redirected bar's lines


class tqdm(_tqdm):  # noqa: N801  (a drop-in for tqdm's own name)
    """`tqdm.auto.tqdm`, updating every `LOG_INTERVAL_S` seconds when its stream is no TTY."""

    def __init__(self, *args, **kwargs) -> None:
        stream = kwargs.get("file") or sys.stderr
        if not _is_tty(stream):
            kwargs.setdefault("mininterval", LOG_INTERVAL_S)
        super().__init__(*args, **kwargs)


def _is_tty(stream: object) -> bool:
    try:
        return bool(stream.isatty())  # type: ignore[attr-defined]
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False
