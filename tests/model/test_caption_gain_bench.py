"""bench/caption_gain.py changes one attribute of a caption and keeps every other word; its
gains are per-clip CE differences against the true caption, so the true caption's gain is 0."""

from __future__ import annotations

import runpy
from pathlib import Path

import numpy as np
import torch

from maskgmt.model.debug import debug_model

from .conftest import FakeTextEncoder

BENCH = Path(__file__).resolve().parents[2] / "bench" / "caption_gain.py"
ROW = {"id": "x1", "instrument": "cello", "tempo_word": "slow", "tempo_bpm": 60.0,
       "register": "high", "mode": "minor"}  # fmt: skip
CAPTION = "A slow cello melody in D minor, pitched high at 60 BPM."


def test_each_rewrite_changes_only_its_attribute() -> None:
    bench = runpy.run_path(str(BENCH))
    out = {name: rewrite(CAPTION, ROW) for name, rewrite in bench["REWRITES"].items()}
    assert out["mode"] == ("A slow cello melody in D major, pitched high at 60 BPM.", 60.0)
    assert out["tonic"][0] == "A slow cello melody in Ab minor, pitched high at 60 BPM."
    assert out["fifth"][0] == "A slow cello melody in A minor, pitched high at 60 BPM."
    assert out["relative"][0] == "A slow cello melody in F major, pitched high at 60 BPM."
    assert out["register"][0] == "A slow cello melody in D minor, pitched low at 60 BPM."
    assert out["tempo"] == ("A fast cello melody in D minor, pitched high at 150 BPM.", 150.0)
    instrument = out["instrument"][0]
    assert "cello" not in instrument and instrument.endswith("in D minor, pitched high at 60 BPM.")


def test_the_true_caption_scores_the_same_twice_and_another_one_differently() -> None:
    bench = runpy.run_path(str(BENCH))
    model = debug_model(text_encoder=FakeTextEncoder()).eval()
    tc = model.transformer.config
    codes = torch.randint(0, tc.num_tokens, (3, tc.n_q, tc.seq_len))
    padding = torch.ones(3, tc.seq_len, dtype=torch.bool)
    bpm, offset = torch.full((3,), float("nan")), torch.zeros(3, dtype=torch.long)
    texts = ["a cello in D minor", "a flute in G major", "drums"]

    def losses(captions: list[str]) -> np.ndarray:
        return bench["clip_losses"](model, codes, captions, bpm, offset, 0, padding, padding)

    np.testing.assert_allclose(losses(texts), losses(list(texts)))
    assert not np.allclose(losses(texts), losses(texts[::-1]))
    summary = bench["summarise"](
        {"L0/full/true": np.array([1.0, 2.0]), "L0/full/mode": np.array([1.5, 2.5])},
        np.array([True, False]),
    )
    cell = summary["L0"]["full"]["mode"]
    assert cell["gain"][0] == 0.5 and cell["minor_clips"][0] == 0.5
