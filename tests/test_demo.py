"""`maskgmt demo`: every stage runs on a tiny corpus and the report lists what it made."""

from __future__ import annotations

import json
import re

import soundfile as sf

from maskgmt.cli import main


def _evaluation_table(markdown: str) -> list[list[str]]:
    """Cells of the first table after the evaluation heading (separator row left out)."""
    after = markdown.split("Does the music follow the text?", 1)[1].splitlines()
    start = next(i for i, line in enumerate(after) if line.startswith("|"))
    rows = []
    for line in after[start:]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not all(set(c) <= set("-: ") for c in cells):
            rows.append(cells)
    return rows


def test_demo_end_to_end_then_rerun_reuses_every_stage(tmp_path) -> None:
    out = tmp_path / "demo"
    args = ["demo", "--out", str(out), "--clips", "12", "--seconds", "2", "--max-steps", "3",
            "--samples", "2", "--codebook-size", "32", "--workers", "2",
            "--eval-clips", "2"]  # fmt: skip
    assert main(args) == 0
    report = json.loads((out / "report.json").read_text())
    stages = {"corpus", "codec_fit", "prepare", "train", "generate", "evaluate"}
    assert set(report["stage_seconds"]) == stages
    assert report["train"]["steps"] == 3
    assert len(report["train"]["train_loss"]) == 8  # one loss per codec level
    assert len(report["samples"]) == 2
    for sample in report["samples"]:
        audio, sr = sf.read(out / sample["wav"])
        window = report["generation"]["seconds_each"]  # one model window: the tiny preset's 3 s
        assert window == 3.0
        assert sr == 24_000 and len(audio) == round(window * 24_000) and abs(audio).max() > 0
        assert (out / sample["png"]).stat().st_size > 1000
        assert sample["text"] in (out / "report.md").read_text()
    assert report["generation"]["token_seconds"] > 0
    assert (out / report["evaluation"]["report"]).exists()
    summary = (out / "report.md").read_text()
    assert "Does the music follow the text?" in summary and "shuffled control" in summary
    rows = _evaluation_table(summary)
    assert len(rows) >= 2  # a header and at least one attribute
    header, attributes = rows[0], rows[1:]
    assert len(header) >= 3 and "shuffled control" in header
    for cells in attributes:
        assert len(cells) == len(header) and re.search(r"[a-z]", cells[0])  # a named attribute
    numbers = [c for cells in attributes for c in cells[1:] if re.fullmatch(r"\d+(\.\d+)?%?", c)]
    assert numbers, attributes  # scores, not only n/a

    assert main(args) == 0  # a rerun finds every stage done and trains no further
    again = json.loads((out / "report.json").read_text())
    assert again["train"]["steps"] == 3
    assert again["stage_seconds"]["train"] < report["stage_seconds"]["train"]
