"""A tiny trained-shape model folder (random weights) with a fitted spectral codec beside it."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from maskgmt.cli import main
from maskgmt.codecs.spectral import SpectralCodec, SpectralCodecConfig
from maskgmt.model import debug_model

SR = 24_000
WINDOW = 38  # frames the model sees at once: about 0.5 s at 75 frames/s


def _tones(seconds: float, f0: float) -> torch.Tensor:
    t = torch.arange(int(seconds * SR)) / SR
    wav = sum(torch.sin(2 * math.pi * f0 * h * t) / h for h in range(1, 5))
    return (0.2 * wav / wav.abs().max()).unsqueeze(0)  # [C=1, S]


@pytest.fixture(scope="session")
def codec() -> SpectralCodec:
    clips = [_tones(1.0, f) for f in (220.0, 330.0, 440.0, 262.0)]
    config = SpectralCodecConfig(n_q=2, codebook_size=16, griffin_lim_iters=4)
    return SpectralCodec.fit(clips, sample_rate=SR, config=config, progress=False, seed=0)


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory, codec: SpectralCodec) -> Path:
    out = tmp_path_factory.mktemp("model")
    metadata = {"codec": {**codec.identity(), "source": "codec"}, "text_encoder": "minilm"}
    model = debug_model(
        seed=0, num_tokens=16, seq_len=WINDOW, dim=32, n_q=2, depth=1, heads=2, dim_head=16,
        text_dim=384, metadata=metadata,
    )  # fmt: skip
    model.save_pretrained(out)
    codec.save(out / "codec")
    return out


def fails(argv: list, capsys, match: str) -> str:
    """Run the CLI and check it refused with one line naming `match`: exit 2, no traceback."""
    rc = main([str(a) for a in argv])
    err = capsys.readouterr().err
    assert rc == 2, err
    assert "Traceback" not in err and match in err, err
    assert len(err.strip().splitlines()) == 1, err
    return err
