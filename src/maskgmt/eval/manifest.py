"""Reading an evaluation split: JSONL rows with resolved audio paths and reference attributes."""

from __future__ import annotations

import json
from pathlib import Path


def read_split(path: str | Path, *, limit: int | None = None) -> list[dict]:
    """A JSONL manifest -> its rows (at most `limit`), each with `audio` made absolute.

    A relative `audio` path is relative to the manifest's folder (docs/INTERFACES.md).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"split manifest {path} does not exist; "
            "expected a JSONL file such as CORPUS_DIR/test.jsonl"
        )
    if limit is not None and limit < 1:
        raise ValueError(f"limit: expected a positive number of clips, got {limit}")
    rows: list[dict] = []
    for n, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise ValueError(
                f"{path}:{n}: not valid JSON ({e.msg}); expected one JSON object per line"
            ) from e
        if not isinstance(row, dict) or "audio" not in row or "text" not in row:
            raise ValueError(
                f"{path}:{n}: expected an object with 'audio' and 'text' fields, "
                f"got {str(row)[:80]}"
            )
        audio = Path(row["audio"])
        row["audio"] = str(audio if audio.is_absolute() else (path.parent / audio).resolve())
        rows.append(row)
        if limit is not None and len(rows) >= limit:
            break
    if not rows:
        raise ValueError(
            f"split manifest {path} has no clips; "
            "expected at least one JSON line with 'audio' and 'text'"
        )
    return rows
