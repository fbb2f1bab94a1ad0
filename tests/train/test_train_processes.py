"""Multi-process behaviour: 2-process CPU DDP, and a SIGKILL in the middle of a checkpoint."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import torch
from safetensors.torch import load_file

from maskgmt.model import MaskGmt
from maskgmt.train.checkpoint import PAUSE_ENV, latest_checkpoint, list_checkpoints

HERE = Path(__file__).parent
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}

TINY = {
    "model": {"dim": 32, "depth": 1, "heads": 2, "dim_head": 16, "ff_mult": 2.0},
    "data": {"crop_seconds": 3.0, "batch_size": 2},
    "optim": {"lr": 3e-3, "warmup_steps": 1, "max_steps": 4, "grad_accum_steps": 2},
    "log": {"log_every": 2, "val_every": 2, "ckpt_every": 2, "sample_every": 0,
            "progress": False},
}  # fmt: skip


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_process_ddp_ends_with_identical_weights(cache_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    cmd = [
        sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2",
        f"--master_port={_free_port()}", str(HERE / "ddp_worker.py"),
        str(cache_dir), str(out), json.dumps(TINY),
    ]  # fmt: skip
    proc = subprocess.run(cmd, env=ENV, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    w0 = load_file(out / "weights_rank0.safetensors")
    w1 = load_file(out / "weights_rank1.safetensors")
    assert w0.keys() == w1.keys()
    for key in w0:
        assert torch.equal(w0[key], w1[key]), key
    ckpt = latest_checkpoint(out)
    assert ckpt.name == "step_00000004"
    # the weights moved between steps 2 and 4, so equality is not just the shared init
    before = load_file(out / "checkpoints" / "step_00000002" / "model.safetensors")
    after = load_file(ckpt / "model.safetensors")
    assert any(not torch.equal(before[k], after[k]) for k in after)
    saved = MaskGmt.from_pretrained(out / "model").state_dict()
    assert all(torch.equal(saved[k], w0[k]) for k in w0)
    assert (ckpt / "rng_rank0.json").is_file() and (ckpt / "rng_rank1.json").is_file()
    state = json.loads((ckpt / "state.json").read_text())
    assert state["world_size"] == 2


def test_sigkill_while_saving_leaves_previous_checkpoint(cache_dir: Path, tmp_path: Path) -> None:
    run, marker, config = tmp_path / "run", tmp_path / "paused", tmp_path / "tiny.yaml"
    import yaml

    config.write_text(yaml.safe_dump(TINY))
    cmd = [
        sys.executable, "-m", "maskgmt", "train", "--data", str(cache_dir), "--out", str(run),
        "--config", str(config), "--max-steps", "4", "--no-progress",
    ]  # fmt: skip
    env = {**ENV, PAUSE_ENV: f"4:{marker}"}  # stop half-way through writing step 4
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 90
        while not marker.exists():
            assert proc.poll() is None, proc.stderr.read().decode()[-3000:]
            assert time.monotonic() < deadline, "training never reached the checkpoint pause"
            time.sleep(0.1)
        partial = run / "checkpoints" / ".tmp-step_00000004"
        assert (partial / "model.safetensors").is_file()  # really killed mid-write
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    assert [p.name for p in list_checkpoints(run)] == ["step_00000002"]
    # the survivor resumes (the CLI again) and the run finishes
    done = subprocess.run([*cmd, "--resume"], env=ENV, capture_output=True, text=True, timeout=90)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "resuming" in done.stderr and "step_00000002" in done.stderr
    assert latest_checkpoint(run).name == "step_00000004"
    assert not (run / "checkpoints" / ".tmp-step_00000004").exists()
    assert MaskGmt.from_pretrained(run / "model").metadata["train"]["steps"] == 4
