"""Checks the commands run on their arguments BEFORE any work: one ValueError naming the option
and the fix (the CLI prints it on one line and exits with code 2)."""

from __future__ import annotations

import math
from pathlib import Path

from maskgmt import seeding

MAX_SECONDS = 3600.0  # longest clip `generate` makes: one hour


def _file_above(path: Path) -> Path | None:
    """The nearest existing ancestor of `path` when it is a file (so nothing can go under it)."""
    for parent in path.parents:
        if parent.exists():
            return None if parent.is_dir() else parent
    return None


def check_output_file(path: Path, option: str, *, codes: bool = False) -> Path:
    """`path` must be writable as a file: not a folder, not under a file. `codes`: a code file
    (.safetensors), which must not carry an audio suffix."""
    if path.is_dir():
        raise ValueError(
            f"{option} {str(path)!r} is a folder; give a file path, e.g. {str(path / 'out')!r}"
        )
    above = _file_above(path)
    if above is not None:
        raise ValueError(
            f"{option} {str(path)!r}: {str(above)!r} is a file, not a folder; "
            "choose an output path in a folder"
        )
    from maskgmt.audio import AUDIO_EXTENSIONS  # here: `maskgmt --help` must not import torch

    if codes and path.suffix.lower() in AUDIO_EXTENSIONS:
        raise ValueError(
            f"{option} {str(path)!r}: a code file is safetensors, not audio ({path.suffix}); "
            f"name it {str(path.with_suffix('.safetensors'))!r}"
        )
    return path


def check_audio_output(path: Path, option: str) -> Path:
    """An audio file to write: a file path whose suffix names an audio format."""
    from maskgmt.audio import AUDIO_EXTENSIONS

    check_output_file(path, option)
    if path.suffix.lower() not in AUDIO_EXTENSIONS:
        raise ValueError(
            f"{option} {str(path)!r}: expected an audio file name ending in one of "
            f"{', '.join(AUDIO_EXTENSIONS)}, e.g. {str(path.with_suffix('.wav'))!r}"
        )
    return path


def check_output_dir(path: Path, option: str) -> Path:
    """`path` must be usable as a folder: not an existing file, not under a file."""
    if path.exists() and not path.is_dir():
        raise ValueError(
            f"{option} {str(path)!r} is a file, but a folder is needed; choose a folder path"
        )
    above = _file_above(path)
    if above is not None:
        raise ValueError(
            f"{option} {str(path)!r}: {str(above)!r} is a file, not a folder; "
            "choose a folder path elsewhere"
        )
    return path


def check_not_input(output: Path, input_: Path, option: str) -> None:
    """Refuse to write over the command's own input."""
    same = output.exists() and input_.exists() and output.samefile(input_)
    if same or output.resolve() == input_.resolve():
        raise ValueError(
            f"{option} {str(output)!r} is the input file; writing it would destroy the input: "
            "choose another output path"
        )


def check_device(device: str | None, option: str = "--device") -> None:
    """A torch device this machine has: 'cuda' on a CPU-only torch is refused up front."""
    if device is None:
        return
    from maskgmt.model.checks import check_device as check_torch_device  # imports torch

    check_torch_device(device, option)


def check_seconds(seconds: float | None, option: str = "--seconds") -> None:
    if seconds is None:
        return
    if not math.isfinite(seconds) or not 0 < seconds <= MAX_SECONDS:
        raise ValueError(
            f"{option}: expected a length in seconds in (0, {MAX_SECONDS:g}] (at most one "
            f"hour), got {seconds!r}"
        )


def check_seed(seed: int, count: int = 1, option: str = "--seed") -> None:
    """seed .. seed + count - 1 (one seed per batch start) must fit torch's seed range."""
    seeding.check_seed(seed, name=option, count=count)


def check_at_least(value: int | float | None, low: int, option: str) -> None:
    if value is not None and value < low:
        raise ValueError(f"{option}: expected >= {low}, got {value}")
