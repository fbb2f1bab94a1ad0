"""A truncated newest checkpoint: `--resume` falls back to the previous good one and says so,
and the run still ends bit-identical to an uninterrupted one."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from test_train_loop import tiny

from maskgmt.cli import main
from maskgmt.train.checkpoint import (
    check_new_run_folder,
    checkpoint_problem,
    latest_checkpoint,
    list_checkpoints,
)
from maskgmt.train.loop import train


def _truncate(file: Path) -> None:
    data = file.read_bytes()
    file.write_bytes(data[: len(data) // 2])


def test_resume_falls_back_past_a_truncated_checkpoint(
    cache_dir: Path, tmp_path: Path, capsys
) -> None:
    cfg = tiny(
        data={"batch_size": 2},
        optim={"grad_accum_steps": 2, "ema_decay": 0.9, "max_steps": 6},
        log={"ckpt_every": 2, "val_every": 0},
    )
    straight = train(cfg, data_dir=cache_dir, out_dir=tmp_path / "a")
    train(cfg, data_dir=cache_dir, out_dir=tmp_path / "b", max_steps=4)
    run = tmp_path / "b"
    assert [p.name for p in list_checkpoints(run)] == ["step_00000002", "step_00000004"]
    _truncate(run / "checkpoints" / "step_00000004" / "model.safetensors")
    capsys.readouterr()

    assert latest_checkpoint(run).name == "step_00000002"
    err = capsys.readouterr().err
    assert "step_00000004" in err and "model.safetensors" in err and "truncated" in err
    assert "resuming from the previous good checkpoint" in err

    resumed = train(cfg, data_dir=cache_dir, out_dir=run, resume=True)
    assert resumed.steps == 6
    final = latest_checkpoint(run)
    assert final.name == "step_00000006"
    assert checkpoint_problem(run / "checkpoints" / "step_00000004") is None  # rewritten
    ta = load_file(latest_checkpoint(tmp_path / "a") / "model.safetensors")
    tb = load_file(final / "model.safetensors")
    assert all(torch.equal(ta[k], tb[k]) for k in ta)
    for pa, pb in zip(straight.model.parameters(), resumed.model.parameters(), strict=True):
        assert torch.equal(pa, pb)


@pytest.mark.parametrize("damage", ["optimizer", "state", "rng", "garbage"])
def test_damaged_files_are_named(cache_dir: Path, tmp_path: Path, damage: str, capsys) -> None:
    cfg = tiny(optim={"max_steps": 2}, log={"ckpt_every": 1, "val_every": 0})
    run = tmp_path / "run"
    train(cfg, data_dir=cache_dir, out_dir=run)
    newest = list_checkpoints(run)[-1]
    file = {
        "optimizer": newest / "optimizer.safetensors",
        "state": newest / "state.json",
        "rng": newest / "rng_rank0.json",
        "garbage": newest / "model.safetensors",
    }[damage]
    if damage == "garbage":
        file.write_bytes(b"\xff" * 64)
    else:
        _truncate(file)
    assert file.name in checkpoint_problem(newest)
    assert latest_checkpoint(run) == list_checkpoints(run)[-2]
    assert file.name in capsys.readouterr().err


def test_every_checkpoint_damaged_is_one_line_from_the_cli(
    cache_dir: Path, tmp_path: Path, capsys
) -> None:
    cfg = tiny(optim={"max_steps": 2}, log={"ckpt_every": 1, "val_every": 0})
    run = tmp_path / "run"
    train(cfg, data_dir=cache_dir, out_dir=run)
    for ckpt in list_checkpoints(run):
        _truncate(ckpt / "model.safetensors")
    capsys.readouterr()
    rc = main(["train", "--data", str(cache_dir), "--out", str(run), "--resume", "--no-progress"])
    err = capsys.readouterr().err
    assert rc == 2 and "Traceback" not in err
    assert "every checkpoint in" in err and "is damaged" in err


def test_a_new_run_never_writes_over_what_it_did_not_make(
    cache_dir: Path, tmp_path: Path, capsys
) -> None:
    """`train` ends by replacing `OUT/model`: a folder holding someone's model or other files,
    and the token cache itself, are refused before any work; a run's own leftovers are not."""
    keep = tmp_path / "proj" / "model" / "notes.txt"
    keep.parent.mkdir(parents=True)
    keep.write_text("precious")
    base = ["train", "--data", cache_dir, "--no-progress", "--out"]
    for out, match in [
        (tmp_path / "proj", "is not a run folder (it holds 'model')"),
        (cache_dir, "would write the run into the token cache"),
    ]:
        assert main([str(a) for a in [*base, out]]) == 2
        err = capsys.readouterr().err
        assert match in err and len(err.strip().splitlines()) == 1, err
    assert keep.read_text() == "precious"
    assert not (cache_dir / "checkpoints").exists()

    (tmp_path / "proj" / "other.txt").write_text("x")
    keep.unlink()
    keep.parent.rmdir()
    with pytest.raises(ValueError, match="it holds 'other.txt'"):
        check_new_run_folder(tmp_path / "proj", cache_dir)
    started = tmp_path / "started"  # a run killed before its first checkpoint
    (started / "tensorboard").mkdir(parents=True)
    (started / "config.yaml").write_text("seed: 0\n")
    check_new_run_folder(started, cache_dir)
