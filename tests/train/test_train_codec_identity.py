"""`train --resume` refuses a token cache made by another codec of the same kind and shape (a
refit codec): its codes mean other sounds, so the checkpoint's weights do not fit them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from train_fixtures import make_cache

from maskgmt.train.config import config_from_dict
from maskgmt.train.loop import train


def _with_fingerprint(cache: Path, fingerprint: str) -> Path:
    info_file = cache / "cache_info.json"
    info = json.loads(info_file.read_text())
    info["codec"]["fingerprint"] = fingerprint
    info_file.write_text(json.dumps(info))
    return cache


def test_resume_with_a_refit_codec_of_the_same_kind_is_refused(tmp_path: Path) -> None:
    cfg = config_from_dict(
        {
            "model": {"dim": 16, "depth": 1, "heads": 2, "dim_head": 8, "ff_mult": 2.0},
            "data": {"crop_seconds": 2.0, "batch_size": 2},
            "optim": {"max_steps": 1, "warmup_steps": 1},
            "log": {"val_every": 0, "sample_every": 0, "ckpt_every": 1, "progress": False},
        }
    )
    first = _with_fingerprint(make_cache(tmp_path / "a", num_clips=4), "00000000aaaaaaaa")
    refit = _with_fingerprint(make_cache(tmp_path / "b", num_clips=4), "00000000bbbbbbbb")
    run = tmp_path / "run"
    train(cfg, data_dir=first, out_dir=run)
    with pytest.raises(ValueError, match=r"made with codec .*aaaa.*this run has codec .*bbbb"):
        train(cfg, data_dir=refit, out_dir=run, resume=True, max_steps=2)


def test_the_model_folder_records_the_codec_it_was_trained_on(tmp_path: Path) -> None:
    """What `generate` verifies a codec against: the cache's codec identity, fingerprint too."""
    from maskgmt.model import MaskGmt

    cfg = config_from_dict(
        {
            "model": {"dim": 16, "depth": 1, "heads": 2, "dim_head": 8, "ff_mult": 2.0},
            "data": {"crop_seconds": 2.0, "batch_size": 2},
            "optim": {"max_steps": 1, "warmup_steps": 1},
            "log": {"val_every": 0, "sample_every": 0, "ckpt_every": 1, "progress": False},
        }
    )
    cache = _with_fingerprint(make_cache(tmp_path / "a", num_clips=4), "00000000cccccccc")
    result = train(cfg, data_dir=cache, out_dir=tmp_path / "run")
    recorded = MaskGmt.from_pretrained(result.model_dir).metadata["codec"]
    expected = json.loads((cache / "cache_info.json").read_text())["codec"]
    assert recorded["fingerprint"] == "00000000cccccccc"
    assert {k: v for k, v in recorded.items() if k != "source"} == {
        k: v for k, v in expected.items() if k != "source"
    }
