"""bench/key_errors.py: each estimated key is sorted against the caption's key by its relation
(exact, parallel, relative, a fifth, other), and tonic accuracy counts exact + parallel."""

from __future__ import annotations

import json
import runpy
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "key_errors.py"


@pytest.fixture(scope="module")
def kind():
    return runpy.run_path(str(BENCH))["kind"]


@pytest.mark.parametrize(
    ("reference", "estimated", "expected"),
    [
        ("D minor", "D minor", "exact"),
        ("D minor", "D major", "parallel"),
        ("A minor", "C major", "relative"),
        ("C major", "A minor", "relative"),
        ("Bb major", "G minor", "relative"),
        ("C major", "Eb minor", "other"),  # C minor's relative, not C major's
        ("G major", "D major", "fifth"),
        ("G major", "C major", "fifth"),
        ("E minor", "F minor", "other"),
    ],
)
def test_a_key_is_sorted_by_its_relation_to_the_caption(kind, reference, estimated, expected):
    assert kind(reference, estimated) == expected


def test_tonic_accuracy_and_the_paired_difference(tmp_path: Path, monkeypatch) -> None:
    def folder(name: str, keys: list[str]) -> Path:
        path = tmp_path / name
        path.mkdir()
        rows = [
            {"reference": {"key": "C major"}, **{s: {"key": k} for s in ("real", "generated")}}
            for k in keys
        ]
        (path / "estimates.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
        return path

    base = folder("base", ["C major", "C minor", "G major", "F# major"])  # tonic 2 of 4
    other = folder("other", ["C major", "C major", "C minor", "F# major"])  # tonic 3 of 4
    out = tmp_path / "out.json"
    monkeypatch.setattr(sys, "argv", ["key_errors.py", str(base), str(other), "--out", str(out)])
    runpy.run_path(str(BENCH), run_name="__main__")
    report = json.loads(out.read_text())
    assert report[str(base)]["generated"]["tonic"][0] == 50.0
    assert report[str(base)]["generated"]["parallel"][0] == 25.0
    assert report[str(other)]["generated"]["exact"][0] == 50.0
    assert report["tonic_other_minus_base"][0] == 25.0
    assert report["other_minus_base"]["parallel"][0] == 0.0  # one same-tonic miss in each
    assert report["other_minus_base"]["exact"][0] == 25.0
    assert report["other_minus_base"]["fifth"][0] == -25.0
    assert "codec" not in report[str(base)]  # a source without keys is left out
