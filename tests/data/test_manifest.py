"""Manifests: reading JSONL and captioned folders, and the errors for bad lines."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from maskgmt.data.manifest import load_rows, manifest_from_folder, read_manifest


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n")
    return path


def test_relative_paths_resolve_against_the_manifest_folder(tmp_path: Path) -> None:
    sub = tmp_path / "sets"
    sub.mkdir()
    rows = read_manifest(
        _write(
            sub / "m.jsonl",
            [
                json.dumps({"audio": "clips/a.wav", "text": "piano", "tempo_bpm": 90.5}),
                "",  # blank lines are allowed
                json.dumps({"audio": "/abs/b.wav", "text": "violin", "key": "F#"}),
            ],
        )
    )
    assert rows == [
        {"audio": str(sub / "clips" / "a.wav"), "text": "piano", "tempo_bpm": 90.5},
        {"audio": "/abs/b.wav", "text": "violin", "key": "F#"},
    ]


@pytest.mark.parametrize(
    ("bad_line", "expected"),
    [
        ('{"audio": "a.wav", "text": "x"', "invalid JSON"),
        ('{"text": "a caption"}', "missing 'audio'"),
        ('{"audio": "a.wav"}', "missing 'text'"),
        ('{"audio": "a.wav", "text": 3}', "'text' must be a string"),
        ('{"audio": ["a.wav"], "text": "x"}', "'audio' must be a string"),
        ('{"audio": "a.wav", "text": "   "}', "'text' is empty"),
        ('["a.wav", "x"]', "expected a JSON object"),
        ('{"audio": "a.wav", "text": "x", "codes": [1]}', "written by the token cache"),
    ],
)
def test_bad_lines_name_the_line(tmp_path: Path, bad_line: str, expected: str) -> None:
    good = json.dumps({"audio": "a.wav", "text": "fine"})
    path = _write(tmp_path / "m.jsonl", [good, "", bad_line, good])
    with pytest.raises(ValueError, match=rf"m\.jsonl:3: .*{expected}"):
        read_manifest(path)


def test_missing_or_empty_manifest(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nope.jsonl"):
        read_manifest(tmp_path / "nope.jsonl")
    with pytest.raises(ValueError, match="has no clips"):
        read_manifest(_write(tmp_path / "empty.jsonl", ["", "  "]))


def test_folder_pairs_audio_with_same_name_captions(tmp_path: Path) -> None:
    (tmp_path / "deep").mkdir()
    for name in ("b.wav", "deep/a.flac"):
        (tmp_path / name).write_bytes(b"")
        (tmp_path / name).with_suffix(".txt").write_text(f"  caption of {name}\n")
    (tmp_path / "notes.md").write_text("not audio")
    rows = load_rows(tmp_path)  # a folder goes to manifest_from_folder
    assert rows == [
        {"audio": str((tmp_path / "b.wav").resolve()), "text": "caption of b.wav"},
        {"audio": str((tmp_path / "deep/a.flac").resolve()), "text": "caption of deep/a.flac"},
    ]


def test_folder_with_uncaptioned_audio_lists_the_files(tmp_path: Path) -> None:
    (tmp_path / "a.wav").write_bytes(b"")
    (tmp_path / "a.txt").write_text("ok")
    (tmp_path / "b.wav").write_bytes(b"")  # no caption
    (tmp_path / "c.wav").write_bytes(b"")
    (tmp_path / "c.txt").write_text("\n")  # empty caption
    with pytest.raises(ValueError, match=r"(?s)2 of 3 audio files.*b\.txt.*c\.txt"):
        manifest_from_folder(tmp_path)
    (tmp_path / "silent").mkdir()
    with pytest.raises(ValueError, match="no audio files"):
        manifest_from_folder(tmp_path / "silent")
