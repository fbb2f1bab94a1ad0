"""`train(init=MODEL_DIR)` / `maskgmt train --init`: fine-tuning starts from the folder's weights
with a fresh optimizer, schedule, EMA and step count, and refuses a folder of another codec,
text encoder or architecture."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
import yaml

from maskgmt.cli import main
from maskgmt.model import MaskGmt
from maskgmt.train import loop
from maskgmt.train.checkpoint import read_checkpoint_state
from maskgmt.train.config import TrainConfig, config_from_dict
from maskgmt.train.loop import train

MODEL = {"dim": 16, "depth": 1, "heads": 2, "dim_head": 8, "ff_mult": 2.0}


def tiny(model: dict | None = None, crop: float = 2.0, steps: int = 1) -> TrainConfig:
    return config_from_dict(
        {
            "model": {**MODEL, **(model or {})},
            "data": {"crop_seconds": crop, "batch_size": 2},
            "optim": {"lr": 1e-2, "max_steps": steps, "warmup_steps": 1, "ema_decay": 0.9},
            "log": {"val_every": 0, "sample_every": 0, "ckpt_every": 100, "progress": False},
        }
    )


@pytest.fixture(scope="module")
def folder(cache_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model folder trained 3 steps on `cache_dir` (seq_len 20 frames)."""
    run = tmp_path_factory.mktemp("base") / "run"
    return train(tiny(steps=3), data_dir=cache_dir, out_dir=run).model_dir


def _spy_optimizer(monkeypatch: pytest.MonkeyPatch) -> dict:
    """Records the model's weights and the optimizer/scheduler state when the run builds them."""
    seen: dict = {}
    real = loop.build_optimizer

    def spy(model, optim):
        seen["weights"] = {k: v.detach().clone() for k, v in model.state_dict().items()}
        optimizer, scheduler = real(model, optim)
        seen["optimizer_state"] = dict(optimizer.state)
        seen["scheduler_epoch"] = scheduler.last_epoch
        return optimizer, scheduler

    monkeypatch.setattr(loop, "build_optimizer", spy)
    return seen


def test_finetuning_starts_from_the_folder_weights_with_fresh_optimizer_and_steps(
    cache_dir: Path, folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = _spy_optimizer(monkeypatch)
    result = train(tiny(steps=2), data_dir=cache_dir, out_dir=tmp_path / "ft", init=folder)

    source = MaskGmt.from_pretrained(folder).state_dict()
    assert seen["weights"].keys() == source.keys()
    for name, tensor in source.items():
        assert torch.equal(seen["weights"][name], tensor), name
    assert seen["optimizer_state"] == {} and seen["scheduler_epoch"] == 0
    # The step counter and EMA start at 0: 2 steps here, though the folder trained 3.
    assert result.steps == 2
    position = read_checkpoint_state(result.checkpoint)["position"]
    assert position["step"] == 2 and position["ema_updates"] == 2
    # It trained: the weights moved away from the folder's.
    assert not torch.equal(result.model.state_dict()["transformer.backbone.pos_emb"],
                           source["transformer.backbone.pos_emb"])  # fmt: skip
    meta = json.loads((result.model_dir / "config.json").read_text())["metadata"]
    assert meta["train"]["init_from"] == str(folder.resolve())
    assert meta["codec"]["kind"] == "test"

    # A resumed fine-tuning run still records where it started.
    resumed = train(tiny(steps=3), data_dir=cache_dir, out_dir=tmp_path / "ft", resume=True)
    meta = json.loads((resumed.model_dir / "config.json").read_text())["metadata"]
    assert resumed.steps == 3 and meta["train"]["init_from"] == str(folder.resolve())


@pytest.mark.parametrize("crop", [3.0, 1.0])
def test_a_longer_or_shorter_crop_copies_the_overlapping_position_rows(
    cache_dir: Path, folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, crop: float
) -> None:
    seen = _spy_optimizer(monkeypatch)
    monkeypatch.setattr(loop, "Ema", _stop)  # built right after the optimizer: stop there
    with pytest.raises(_Stop):
        train(tiny(crop=crop), data_dir=cache_dir, out_dir=tmp_path / "ft", init=folder)
    weights = MaskGmt.from_pretrained(folder).state_dict()
    source = weights["transformer.backbone.pos_emb"]  # [20, D]
    pos = seen["weights"]["transformer.backbone.pos_emb"]
    rows = round(crop * 10)
    assert pos.shape == (rows, MODEL["dim"])
    overlap = min(rows, source.shape[0])
    assert torch.equal(pos[:overlap], source[:overlap])
    if rows > overlap:  # the new frames keep their fresh initialisation
        assert not torch.equal(pos[overlap:], torch.zeros_like(pos[overlap:]))
    for name, tensor in weights.items():  # everything else is the folder's
        if name != "transformer.backbone.pos_emb":
            assert torch.equal(seen["weights"][name], tensor), name


class _Stop(Exception):
    pass


def _stop(*args, **kwargs):
    raise _Stop


def test_a_folder_of_another_codec_is_refused(
    cache_dir: Path, folder: Path, tmp_path: Path
) -> None:
    other = tmp_path / "other"
    shutil.copytree(folder, other)
    config = json.loads((other / "config.json").read_text())
    config["metadata"]["codec"]["fingerprint"] = "00000000aaaaaaaa"
    (other / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match=r"trained on codec .* made by codec .*fingerprint") as e:
        train(tiny(), data_dir=cache_dir, out_dir=tmp_path / "ft", init=other)
    assert "\n" not in str(e.value) and "maskgmt prepare" in str(e.value)
    assert not (tmp_path / "ft").exists()  # refused before any work


def test_an_architecture_mismatch_is_refused_naming_the_field(
    cache_dir: Path, folder: Path, tmp_path: Path
) -> None:
    with pytest.raises(ValueError, match=r"depth \(run 2, folder 1\).*--config") as e:
        train(tiny({"depth": 2}), data_dir=cache_dir, out_dir=tmp_path / "ft", init=folder)
    assert "model: {dim: 16, depth: 1" in str(e.value)
    with pytest.raises(ValueError, match=r"self_token_critic \(run True, folder False\)"):
        train(tiny({"self_token_critic": True}), data_dir=cache_dir, out_dir=tmp_path / "ft",
              init=folder)  # fmt: skip


def test_another_text_encoder_is_refused(cache_dir: Path, folder: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    shutil.copytree(folder, other)
    config = json.loads((other / "config.json").read_text())
    config["maskgmt"]["text_encoder_name"] = "t5-base"
    (other / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match=r"text encoder 't5-base' but .*'test-encoder'"):
        train(tiny(), data_dir=cache_dir, out_dir=tmp_path / "ft", init=other)


def test_cli_init_fine_tunes_and_refuses_resume_or_an_existing_run(
    cache_dir: Path, folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    sizes = tmp_path / "sizes.yaml"
    sizes.write_text(yaml.safe_dump(tiny().to_dict()))
    run = tmp_path / "run"
    args = ["train", "--data", str(cache_dir), "--out", str(run), "--config", str(sizes),
            "--init", str(folder), "--max-steps", "1", "--no-progress"]  # fmt: skip
    assert main(args) == 0
    meta = json.loads((run / "model" / "config.json").read_text())["metadata"]
    assert meta["train"]["init_from"] == str(folder.resolve()) and meta["train"]["steps"] == 1
    capsys.readouterr()
    assert main(args) == 2  # the run folder holds checkpoints now
    assert "already holds checkpoints" in capsys.readouterr().err
    assert main([*args, "--resume"]) == 2
    assert "pass one of them" in capsys.readouterr().err


def test_a_tempo_clock_can_be_added_to_a_folder_and_a_folders_clock_is_kept(
    cache_dir: Path, folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    seen = _spy_optimizer(monkeypatch)
    result = train(tiny({"tempo_clock": True}, steps=2), data_dir=cache_dir,
                   out_dir=tmp_path / "clock", init=folder)  # fmt: skip
    source = MaskGmt.from_pretrained(folder).state_dict()
    clock = "transformer.backbone.clock_proj.weight"
    assert set(seen["weights"]) == set(source) | {clock}
    assert not seen["weights"][clock].any()  # starts at zero: the folder's outputs exactly
    for name, tensor in source.items():
        assert torch.equal(seen["weights"][name], tensor), name
    assert result.model.transformer.config.clock_frame_rate == 10.0  # the cache's frame rate
    assert result.model.transformer.backbone.clock_proj.weight.any()  # and it trained
    # A run whose config has no clock keeps the folder's, says so, and records it for --resume.
    kept = train(tiny(), data_dir=cache_dir, out_dir=tmp_path / "ft", init=result.model_dir)
    assert kept.model.transformer.config.clock_frame_rate == 10.0
    assert "keeping the folder's tempo clock" in capsys.readouterr().err
    assert yaml.safe_load((tmp_path / "ft" / "config.yaml").read_text())["model"]["tempo_clock"]
    resumed = train(tiny(steps=2), data_dir=cache_dir, out_dir=tmp_path / "ft", resume=True)
    assert resumed.steps == 2 and resumed.model.transformer.config.clock_frame_rate == 10.0
    with pytest.raises(ValueError, match="'model.tempo_clock' must be true/false"):
        tiny({"tempo_clock": "yes"})


def test_a_key_cue_can_be_added_to_a_folder_and_a_folders_cue_is_kept(
    cache_dir: Path, folder: Path, tmp_path: Path
) -> None:
    result = train(tiny({"key_cue": True}, steps=1), data_dir=cache_dir,
                   out_dir=tmp_path / "key", init=folder)  # fmt: skip
    assert result.model.transformer.config.key_cue
    kept = train(tiny(), data_dir=cache_dir, out_dir=tmp_path / "ft", init=result.model_dir)
    assert kept.model.transformer.config.key_cue
