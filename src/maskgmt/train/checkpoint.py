"""Training checkpoints: atomic write (temp folder, fsync, rename), rotation, exact-resume loading.

A checkpoint is a folder `RUN_DIR/checkpoints/step_00001000/` holding only safetensors and JSON
(nothing is ever unpickled):

    model.safetensors       the unwrapped model's weights
    ema.safetensors         EMA shadow weights (when EMA is on)
    optimizer.safetensors   AdamW moment tensors, keyed `state/{param index}/{name}`
    state.json              step, data position, LR scheduler, optimizer hyper-parameters,
                            the run's identity (model sizes, codec) and the config
    rng_rank{r}.json        python / numpy / torch (CPU and CUDA) RNG states of process r

Only folders named `step_NNNNNNNN` count; they appear by an atomic rename of a finished
`.tmp-step_NNNNNNNN`, so a process killed mid-write leaves the previous checkpoint intact.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch

# Listing, run-folder checks and loading (the resume side) live in `maskgmt.train.resume`;
# re-exported here, where they have always been imported from.
from maskgmt.train.resume import (
    RUN_ENTRIES,
    DataPosition,
    Processes,
    SingleProcess,
    check_identity,
    check_new_run_folder,
    checkpoint_problem,
    checkpoints_root,
    latest_checkpoint,
    list_checkpoints,
    load_checkpoint,
    read_checkpoint_state,
)

__all__ = [
    "PAUSE_ENV",
    "RUN_ENTRIES",
    "DataPosition",
    "Processes",
    "SingleProcess",
    "check_identity",
    "check_new_run_folder",
    "checkpoint_problem",
    "checkpoints_root",
    "latest_checkpoint",
    "list_checkpoints",
    "load_checkpoint",
    "read_checkpoint_state",
    "save_checkpoint",
]

# Test hook: "STEP:MARKER" makes the save of checkpoint STEP stop half-written (after the
# model file, before the rename), touch MARKER and sleep, so a test can SIGKILL it there.
PAUSE_ENV = "MASKGMT_TEST_CHECKPOINT_PAUSE"


# --------------------------------------------------------------------------- saving


def save_checkpoint(
    run_dir: str | Path,
    *,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    ema_state: dict[str, torch.Tensor] | None,
    position: DataPosition,
    identity: dict[str, Any],
    config: dict[str, Any],
    processes: Processes | None = None,
    keep_last: int = 3,
) -> Path:
    """Write checkpoint `step_{position.step}` atomically and delete all but the newest
    `keep_last`. Every process must call it (each writes its own RNG state); `model` is the
    unwrapped module. Returns the final folder."""
    procs = processes or SingleProcess()
    root = checkpoints_root(run_dir)
    name = f"step_{position.step:08d}"
    tmp, final = root / f".tmp-{name}", root / name

    if procs.is_main_process:
        root.mkdir(parents=True, exist_ok=True)
        if tmp.exists():  # left by a run that was killed while writing
            shutil.rmtree(tmp)
        tmp.mkdir()
    procs.wait_for_everyone()

    _write_json(tmp / f"rng_rank{procs.process_index}.json", _rng_state())

    if procs.is_main_process:
        opt_rest = _write_weights(tmp, model, optimizer, ema_state, step=position.step)
        state = {
            "format": 1,
            "position": asdict(position),
            "world_size": procs.num_processes,
            "identity": identity,
            "optimizer": opt_rest,
            "scheduler": scheduler.state_dict(),
            "config": config,
            "saved_at": time.time(),
        }
        _write_json(tmp / "state.json", state)
    procs.wait_for_everyone()  # all RNG files are in before the rename

    if procs.is_main_process:
        _publish(tmp, final, run_dir, keep_last=keep_last)
    procs.wait_for_everyone()
    return final


def _write_weights(
    tmp: Path,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    ema_state: dict[str, torch.Tensor] | None,
    *,
    step: int,
) -> dict[str, Any]:
    """model.safetensors, ema.safetensors (with EMA) and optimizer.safetensors, each fsynced;
    returns the optimizer's non-tensor state, for state.json."""
    from safetensors.torch import save_file, save_model

    save_model(model, str(tmp / "model.safetensors"))
    _fsync(tmp / "model.safetensors")
    _maybe_pause(step)
    if ema_state is not None:
        save_file(_contiguous(ema_state), str(tmp / "ema.safetensors"))
        _fsync(tmp / "ema.safetensors")
    opt_tensors, opt_rest = _split_optimizer(optimizer.state_dict())
    save_file(opt_tensors, str(tmp / "optimizer.safetensors"))
    _fsync(tmp / "optimizer.safetensors")
    return opt_rest


def _publish(tmp: Path, final: Path, run_dir: str | Path, *, keep_last: int) -> None:
    """Rename the finished `tmp` to `final` (replacing a same-step one) and rotate old ones."""
    root = final.parent
    _fsync_dir(tmp)
    if final.exists():  # the same step saved again (e.g. after a resume): replace it
        _discard(final)
    os.replace(tmp, final)
    _fsync_dir(root)
    for old in list_checkpoints(run_dir)[:-keep_last]:
        _discard(old)
    for stale in root.glob(".trash-*"):
        shutil.rmtree(stale, ignore_errors=True)


def _discard(path: Path) -> None:
    # Rename first (atomic) so a kill during the slow delete never leaves a half-deleted folder
    # under a name that `list_checkpoints` would trust.
    trash = path.with_name(f".trash-{path.name}-{os.getpid()}")
    os.replace(path, trash)
    shutil.rmtree(trash, ignore_errors=True)


def _maybe_pause(step: int) -> None:
    spec = os.environ.get(PAUSE_ENV)
    if not spec:
        return
    at, _, marker = spec.partition(":")
    if int(at) == step:
        Path(marker).write_text(str(os.getpid()))
        print(f"[{PAUSE_ENV}] paused mid-write of step {step}", file=sys.stderr, flush=True)
        time.sleep(3600)


# --------------------------------------------------------------------------- pieces


def _split_optimizer(sd: dict[str, Any]) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for idx, per_param in sd["state"].items():
        for key, value in per_param.items():
            if isinstance(value, torch.Tensor):
                tensors[f"state/{idx}/{key}"] = value.detach().contiguous()
            else:
                scalars.setdefault(str(idx), {})[key] = value
    return tensors, {"param_groups": sd["param_groups"], "scalars": scalars}


def _contiguous(tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: v.detach().contiguous() for k, v in tensors.items()}


def _rng_state() -> dict[str, Any]:
    version, py_keys, py_gauss = random.getstate()
    kind, keys, pos, has_gauss, gauss = np.random.get_state(legacy=True)
    state: dict[str, Any] = {
        "python": [version, list(py_keys), py_gauss],
        "numpy": [kind, keys.tolist(), pos, has_gauss, gauss],
        "torch": torch.get_rng_state().tolist(),
    }
    if torch.cuda.is_available():
        state["cuda"] = [s.tolist() for s in torch.cuda.get_rng_state_all()]
    return state


def _write_json(path: Path, data: Any) -> None:
    with open(path, "w") as f:
        json.dump(data, f)
        f.flush()
        os.fsync(f.fileno())


def _fsync(path: Path) -> None:
    with open(path, "rb") as f:
        os.fsync(f.fileno())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
