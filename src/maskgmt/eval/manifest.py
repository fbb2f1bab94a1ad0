"""Reading an evaluation split: the manifest rows (resolved audio paths, attributes), limited."""

from __future__ import annotations

from pathlib import Path

from maskgmt.data.manifest import read_manifest


def read_split(path: str | Path, *, limit: int | None = None) -> list[dict]:
    """A JSONL manifest -> its first `limit` rows (all by default), each with `audio` absolute.

    Parsing and its errors are `maskgmt.data.manifest.read_manifest`'s (one reader for the
    whole project); this adds only the limit.
    """
    if limit is not None and limit < 1:
        raise ValueError(f"limit: expected a positive number of clips, got {limit}")
    rows = read_manifest(path)
    return rows if limit is None else rows[:limit]
