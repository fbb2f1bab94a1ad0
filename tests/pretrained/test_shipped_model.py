"""The model shipped inside the package: it loads with no argument, makes a short clip, and its
pitch follows "low" vs "high register" captions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from maskgmt.cli import main
from maskgmt.eval.audio import to_analysis
from maskgmt.eval.register import estimate_median_pitch
from maskgmt.pipeline import TextToMusic
from maskgmt.pretrained import ENV_VAR


@pytest.fixture(scope="module")
def shipped() -> TextToMusic:
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv(ENV_VAR, raising=False)  # the packaged folder itself, not a test twin
        return TextToMusic.from_pretrained()


def test_the_shipped_model_makes_a_short_clip(shipped: TextToMusic) -> None:
    torch.manual_seed(0)
    wav = shipped.generate(["a slow cello melody in D minor"], seconds=1.0).numpy()
    assert wav.shape[-1] == round(1.0 * shipped.sample_rate)
    assert np.isfinite(wav).all() and np.abs(wav).max() > 1e-3  # sound, not silence


def _median_pitch(pipe: TextToMusic, register: str) -> float:
    captions = [f"A {tempo} {inst} plays a folk song in {key}, 4/4 time, pitched {register}."
                for inst, tempo, key in (("flute", "moderate", "G major"),
                                         ("violin", "slow", "D minor"),
                                         ("clarinet", "fast", "C major"),
                                         ("piano", "moderate", "A minor"))]  # fmt: skip
    torch.manual_seed(0)
    wav = pipe.generate(captions, seconds=2.0).numpy().reshape(len(captions), -1)  # mono
    pitches = [estimate_median_pitch(to_analysis(w, pipe.sample_rate)) for w in wav]
    return float(np.nanmean(pitches))


def test_low_and_high_register_captions_move_the_pitch(shipped: TextToMusic) -> None:
    low, high = _median_pitch(shipped, "low"), _median_pitch(shipped, "high")
    assert high - low > 5.0, (low, high)  # MIDI semitones between the means of 4 clips each


def test_generate_with_no_model_writes_the_shipped_models_audio(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    out = tmp_path / "cello.wav"
    assert main(["generate", "a slow cello melody in D minor", "-o", str(out),
                 "--seconds", "1", "--seed", "0"]) == 0  # fmt: skip
    assert out.stat().st_size > 1000


def test_the_readme_fine_tune_recipe_fits_the_shipped_model(shipped: TextToMusic) -> None:
    """`maskgmt train --preset tiny --init <shipped>` (README): the preset's sizes with the
    folder's kept cues build the shipped architecture, so the run is not refused."""
    from types import SimpleNamespace

    from maskgmt.train import finetune
    from maskgmt.train.build import build_model
    from maskgmt.train.config import get_preset

    source = shipped.model
    tc = source.transformer.config
    cues = finetune.cues_to_keep(source, Path("unused"), resuming=False)
    cfg, note = finetune.keep_cues(get_preset("tiny"), cues)
    assert "tempo_clock" in cues and note is not None  # the shipped model has the clock
    info = SimpleNamespace(codebook_size=tc.num_tokens, n_q=tc.n_q, frame_rate=75.0)
    model = build_model(cfg.model, info=info, seq_len=tc.seq_len, text_dim=tc.text_dim,
                        text_name=source.config.text_encoder_name, seed=0)  # fmt: skip
    assert finetune.architecture_mismatch(model, source) == []
    assert set(model.state_dict()) == set(source.state_dict())
