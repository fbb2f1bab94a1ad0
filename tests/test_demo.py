"""`maskgmt demo`: every stage runs on a tiny corpus and the report lists what it made."""

from __future__ import annotations

import json

import soundfile as sf

from maskgmt.cli import main


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

    assert main(args) == 0  # a rerun finds every stage done and trains no further
    again = json.loads((out / "report.json").read_text())
    assert again["train"]["steps"] == 3
    assert again["stage_seconds"]["train"] < report["stage_seconds"]["train"]
