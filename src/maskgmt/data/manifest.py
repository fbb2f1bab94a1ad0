"""Manifests: JSONL files, or folders of audio + same-name .txt captions, listing clips."""

from __future__ import annotations

import json
from pathlib import Path

from maskgmt.audio import AUDIO_EXTENSIONS

# Columns the token cache writes itself; a manifest field with one of these names would be lost.
RESERVED_FIELDS: frozenset[str] = frozenset(
    {"codes", "num_frames", "duration", "text_embeds", "text_len"}
)


def read_manifest(path: str | Path) -> list[dict]:
    """Read a JSONL manifest: one `{"audio": path, "text": caption, ...}` object per line.

    Blank lines are ignored. A relative `audio` path is resolved against the manifest's own
    folder, so every returned row has an absolute `audio` string; other fields are kept as they
    are (the token cache replaces `duration` with the value it measures from the audio).
    Raises FileNotFoundError if `path` does not exist and ValueError naming the line for invalid
    JSON, a missing or empty `audio`/`text`, a value of the wrong type, or an empty manifest.
    """
    path = Path(path)
    if path.is_dir():
        raise ValueError(
            f"manifest {str(path)!r} is a folder; pass a JSONL file with one "
            "{'audio': ..., 'text': ...} object per line"
        )
    if not path.is_file():
        raise FileNotFoundError(
            f"manifest {str(path)!r} does not exist or is not a regular file; pass a JSONL file "
            "with one {'audio': ..., 'text': ...} object per line"
        )
    rows: list[dict] = []
    with path.open(encoding="utf-8") as f:
        for line_no, line in enumerate(f, start=1):
            if not line.strip():
                continue
            rows.append(_parse_line(line, where=f"{path}:{line_no}", root=path.parent))
    if not rows:
        raise ValueError(f"manifest {str(path)!r} has no clips; expected one JSON object per line")
    return rows


def manifest_from_folder(folder: str | Path) -> list[dict]:
    """Rows `{"audio": abs_path, "text": caption}` for every audio file under `folder`.

    Files are found recursively (extensions in `AUDIO_EXTENSIONS`) and sorted by path; each
    caption is the stripped content of the same-name `.txt` file next to it
    (`a/song.wav` -> `a/song.txt`). Raises ValueError listing the files that have no caption,
    an empty caption, or if the folder holds no audio at all.
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"audio folder {str(folder)!r} is a file, not a folder")
    if not folder.is_dir():
        raise FileNotFoundError(f"audio folder {str(folder)!r} does not exist")
    files = sorted(
        p for p in folder.rglob("*") if p.suffix.lower() in AUDIO_EXTENSIONS and p.is_file()
    )
    if not files:
        raise ValueError(
            f"folder {str(folder)!r} holds no audio files "
            f"(looked for {', '.join(AUDIO_EXTENSIONS)})"
        )
    rows, missing = [], []
    for audio in files:
        caption_file = audio.with_suffix(".txt")
        caption = caption_file.read_text(encoding="utf-8").strip() if caption_file.is_file() else ""
        if not caption:
            missing.append(str(caption_file))
            continue
        rows.append({"audio": str(audio.resolve()), "text": caption})
    if missing:
        shown = "\n  ".join(missing[:10]) + ("\n  ..." if len(missing) > 10 else "")
        raise ValueError(
            f"{len(missing)} of {len(files)} audio files in {str(folder)!r} have no caption; "
            f"write the caption into a same-name .txt file next to each:\n  {shown}"
        )
    return rows


def load_rows(manifest_or_folder: str | Path) -> list[dict]:
    """`read_manifest` for a file, `manifest_from_folder` for a folder."""
    source = Path(manifest_or_folder)
    if source.is_dir():
        return manifest_from_folder(source)
    return read_manifest(source)


def _parse_line(line: str, *, where: str, root: Path) -> dict:
    try:
        row = json.loads(line)
    except json.JSONDecodeError as e:
        raise ValueError(
            f"{where}: invalid JSON ({e.msg} at column {e.colno}); each line must be one object "
            'like {"audio": "clip.wav", "text": "a calm piano piece"}'
        ) from None
    if not isinstance(row, dict):
        raise ValueError(f"{where}: expected a JSON object, got {type(row).__name__}")
    for key, what in (("audio", "an audio file path"), ("text", "a caption")):
        if key not in row:
            raise ValueError(
                f"{where}: missing {key!r} ({what}); every line needs 'audio' and 'text'"
            )
        value = row[key]
        if not isinstance(value, str):
            raise ValueError(
                f"{where}: {key!r} must be a string ({what}), got {type(value).__name__} {value!r}"
            )
        if not value.strip():
            raise ValueError(f"{where}: {key!r} is empty; expected {what}")
    reserved = sorted(RESERVED_FIELDS & row.keys() - {"duration"})
    if reserved:
        raise ValueError(
            f"{where}: field(s) {reserved} are written by the token cache itself; rename them"
        )
    audio = Path(row["audio"]).expanduser()
    row["audio"] = str(audio if audio.is_absolute() else (root / audio).resolve())
    return row
