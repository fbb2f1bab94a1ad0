"""Checkpoint files: round trip, RNG restore, rotation, half-written folders, identity checks."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
import torch

from maskgmt.train.checkpoint import (
    DataPosition,
    latest_checkpoint,
    list_checkpoints,
    load_checkpoint,
    save_checkpoint,
)
from maskgmt.train.config import OptimConfig
from maskgmt.train.schedule import build_optimizer

IDENTITY = {"model": {"dim": 8}, "codec": {"kind": "spectral", "n_q": 2}}


def _setup(seed: int) -> tuple[torch.nn.Module, torch.optim.Optimizer, object]:
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Embedding(5, 8), torch.nn.Linear(8, 8))
    opt, sched = build_optimizer(model, OptimConfig(lr=0.1, warmup_steps=2, max_steps=10))
    return model, opt, sched


def _train_step(model, opt, sched) -> None:
    loss = model(torch.randint(0, 5, (4,))).pow(2).mean()
    loss.backward()
    opt.step()
    sched.step()
    opt.zero_grad()


def _save(run: Path, model, opt, sched, step: int, keep_last: int = 3) -> Path:
    return save_checkpoint(
        run,
        model=model,
        optimizer=opt,
        scheduler=sched,
        ema_state={"1.weight": model[1].weight.detach() * 2},
        position=DataPosition(step=step, epoch=1, batch_in_epoch=3, data_seed=5),
        identity=IDENTITY,
        config={"seed": 0},
        keep_last=keep_last,
    )


def test_round_trip_restores_everything(tmp_path: Path) -> None:
    model, opt, sched = _setup(0)
    for _ in range(3):
        _train_step(model, opt, sched)
    path = _save(tmp_path, model, opt, sched, step=3)
    after = (random.random(), np.random.rand(), torch.rand(3))
    _train_step(model, opt, sched)
    expected = {k: v.clone() for k, v in model.state_dict().items()}

    model2, opt2, sched2 = _setup(1)  # different init: everything must come from the folder
    random.seed(99), np.random.seed(99), torch.manual_seed(99)
    position, ema = load_checkpoint(
        path, model=model2, optimizer=opt2, scheduler=sched2, identity=IDENTITY
    )
    assert position == DataPosition(step=3, epoch=1, batch_in_epoch=3, data_seed=5)
    assert torch.equal(ema["1.weight"], 2 * model2[1].weight)
    assert sched2.last_epoch == 3 and opt2.param_groups[0]["betas"] == opt.param_groups[0]["betas"]
    restored = (random.random(), np.random.rand(), torch.rand(3))
    assert restored[:2] == after[:2] and torch.equal(restored[2], after[2])
    _train_step(model2, opt2, sched2)  # same RNG, same moments -> same weights, bit for bit
    for k, v in model2.state_dict().items():
        assert torch.equal(v, expected[k]), k


def test_rotation_and_half_written_folders_are_ignored(tmp_path: Path) -> None:
    model, opt, sched = _setup(0)
    for step in (1, 2, 3, 4):
        _save(tmp_path, model, opt, sched, step=step, keep_last=2)
    assert [p.name for p in list_checkpoints(tmp_path)] == ["step_00000003", "step_00000004"]
    # a crash mid-write leaves only a temp folder, which never counts
    (tmp_path / "checkpoints" / ".tmp-step_00000005").mkdir()
    (tmp_path / "checkpoints" / ".tmp-step_00000005" / "model.safetensors").write_bytes(b"xx")
    assert latest_checkpoint(tmp_path).name == "step_00000004"
    # saving the same step twice replaces it
    _save(tmp_path, model, opt, sched, step=4, keep_last=2)
    assert latest_checkpoint(tmp_path).name == "step_00000004"
    assert latest_checkpoint(tmp_path / "empty") is None


def test_other_model_or_codec_is_refused_naming_both(tmp_path: Path) -> None:
    model, opt, sched = _setup(0)
    path = _save(tmp_path, model, opt, sched, step=1)
    other = {"model": {"dim": 16}, "codec": IDENTITY["codec"]}
    with pytest.raises(ValueError, match=r"model \{'dim': 8\}.*has model \{'dim': 16\}"):
        load_checkpoint(path, model=model, optimizer=opt, scheduler=sched, identity=other)
    other = {"model": IDENTITY["model"], "codec": {"kind": "encodec", "n_q": 8}}
    with pytest.raises(ValueError, match="codec.*spectral.*encodec"):
        load_checkpoint(path, model=model, optimizer=opt, scheduler=sched, identity=other)
