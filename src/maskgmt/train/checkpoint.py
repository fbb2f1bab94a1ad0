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
import re
import shutil
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch

_STEP_DIR = re.compile(r"^step_(\d+)$")
# Test hook: "STEP:MARKER" makes the save of checkpoint STEP stop half-written (after the
# model file, before the rename), touch MARKER and sleep, so a test can SIGKILL it there.
PAUSE_ENV = "MASKGMT_TEST_CHECKPOINT_PAUSE"


class Processes(Protocol):
    """The slice of `accelerate.Accelerator` a checkpoint needs (a single process works too)."""

    is_main_process: bool
    process_index: int
    num_processes: int

    def wait_for_everyone(self) -> None: ...


class SingleProcess:
    """`Processes` for plain single-process use (tests, scripts)."""

    is_main_process = True
    process_index = 0
    num_processes = 1

    def wait_for_everyone(self) -> None:
        pass


@dataclass
class DataPosition:
    """Where training stands: enough to continue exactly where it stopped."""

    step: int = 0  # optimizer steps completed
    epoch: int = 0  # passes over the training clips started
    batch_in_epoch: int = 0  # micro-batches of `epoch` already consumed (per process)
    data_seed: int = 0  # seeds the per-epoch shuffle and crops
    tokens_seen: int = 0  # code tokens (K x real frames) trained on, all processes
    ema_updates: int = 0  # EMA updates so far (drives its decay warmup)


# --------------------------------------------------------------------------- listing


def checkpoints_root(run_dir: str | Path) -> Path:
    """`RUN_DIR/checkpoints`."""
    return Path(run_dir) / "checkpoints"


# What a run writes into its folder (see `maskgmt.train.loop`); anything else is not the run's.
RUN_ENTRIES = frozenset(
    {"checkpoints", "tensorboard", "model", "config.yaml", "train_result.json", "init.json"}
)


def check_new_run_folder(run_dir: Path, data_dir: Path) -> None:
    """A new run writes only into a new or empty folder, or one its own earlier start left
    (before a first checkpoint): never into the token cache, nor over files it did not write
    (its end replaces `run_dir/model`)."""
    if run_dir.resolve() == data_dir.resolve() or data_dir.resolve().is_relative_to(
        run_dir.resolve() / "model"
    ):
        raise ValueError(
            f"--out {str(run_dir)!r} would write the run into the token cache --data "
            f"{str(data_dir)!r}; choose a new --out folder"
        )
    if not run_dir.is_dir():
        return
    names = (p.name for p in run_dir.iterdir() if not p.name.startswith("."))
    foreign = sorted(n for n in names if n not in RUN_ENTRIES)
    model = run_dir / "model"
    if model.is_dir() and not list_checkpoints(run_dir) and any(model.iterdir()):
        foreign.insert(0, "model")  # a model folder no run of this folder made
    if foreign:
        shown = ", ".join(repr(n) for n in foreign[:3]) + (", ..." if len(foreign) > 3 else "")
        raise ValueError(
            f"--out {str(run_dir)!r} is not empty and is not a run folder (it holds {shown}); "
            "choose a new or empty folder, so that nothing there is overwritten"
        )


def list_checkpoints(run_dir: str | Path) -> list[Path]:
    """Complete checkpoints of a run, oldest first."""
    root = checkpoints_root(run_dir)
    if not root.is_dir():
        return []
    found = [
        (int(m.group(1)), p)
        for p in root.iterdir()
        if (m := _STEP_DIR.match(p.name)) and (p / "state.json").is_file()
    ]
    return [p for _, p in sorted(found)]


def latest_checkpoint(run_dir: str | Path) -> Path | None:
    """The newest complete and readable checkpoint, or None when the run has none.

    A newer checkpoint whose files are truncated or unreadable (a disk filled up, a copy cut
    short) is skipped with a warning naming it, so a resume falls back to the previous good one;
    when every checkpoint is damaged this raises ValueError naming the first problem.
    """
    found = list_checkpoints(run_dir)
    problems: list[str] = []
    for path in reversed(found):
        problem = checkpoint_problem(path)
        if problem is None:
            for skipped in problems:
                print(
                    f"warning: {skipped}; resuming from the previous good checkpoint "
                    f"{str(path)!r} instead",
                    file=sys.stderr,
                    flush=True,
                )
            return path
        problems.append(problem)
    if problems:
        raise ValueError(
            f"every checkpoint in {str(checkpoints_root(run_dir))!r} is damaged ({problems[0]}); "
            "train into a new --out folder, or restore the checkpoints from a copy"
        )
    return None


def checkpoint_problem(path: str | Path) -> str | None:
    """What makes checkpoint folder `path` unusable (a truncated or garbage file), or None.

    Cheap: parses the JSON files and the safetensors headers and compares each safetensors
    file's size with what its header declares (a truncated file is always caught)."""
    path = Path(path)
    for file in sorted(path.glob("*.json")):
        try:
            json.loads(file.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
            return f"checkpoint file {str(file)!r} is damaged (not valid JSON: {err})"
    for name in ("model.safetensors", "optimizer.safetensors"):
        if not (path / name).is_file():
            return f"checkpoint {str(path)!r} lacks {name}"
    for file in sorted(path.glob("*.safetensors")):
        problem = _safetensors_problem(file)
        if problem is not None:
            return f"checkpoint file {str(file)!r} is damaged ({problem})"
    return None


def _safetensors_problem(file: Path) -> str | None:
    size = file.stat().st_size
    try:
        with open(file, "rb") as f:
            head = f.read(8)
            if len(head) < 8:
                return f"{size} bytes: shorter than a safetensors header"
            n = int.from_bytes(head, "little")
            if n > size - 8:
                return f"truncated: the header alone declares {n + 8} bytes, the file has {size}"
            header = json.loads(f.read(n))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        return f"not a safetensors file: {err}"
    if not isinstance(header, dict):
        return "not a safetensors file: the header is not a JSON object"
    ends = [
        v["data_offsets"][1]
        for k, v in header.items()
        if k != "__metadata__" and isinstance(v, dict) and "data_offsets" in v
    ]
    want = 8 + n + max(ends, default=0)
    if size != want:
        return f"truncated or padded: {size} bytes, its header declares {want}"
    return None


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
        from safetensors.torch import save_file, save_model

        save_model(model, str(tmp / "model.safetensors"))
        _fsync(tmp / "model.safetensors")
        _maybe_pause(position.step)
        if ema_state is not None:
            save_file(_contiguous(ema_state), str(tmp / "ema.safetensors"))
            _fsync(tmp / "ema.safetensors")
        opt_tensors, opt_rest = _split_optimizer(optimizer.state_dict())
        save_file(opt_tensors, str(tmp / "optimizer.safetensors"))
        _fsync(tmp / "optimizer.safetensors")
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
        _fsync_dir(tmp)
        if final.exists():  # the same step saved again (e.g. after a resume): replace it
            _discard(final)
        os.replace(tmp, final)
        _fsync_dir(root)
        for old in list_checkpoints(run_dir)[:-keep_last]:
            _discard(old)
        for stale in root.glob(".trash-*"):
            shutil.rmtree(stale, ignore_errors=True)
    procs.wait_for_everyone()
    return final


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


# --------------------------------------------------------------------------- loading


def read_checkpoint_state(path: str | Path) -> dict[str, Any]:
    """The `state.json` of checkpoint folder `path`."""
    path = Path(path)
    file = path / "state.json"
    if not file.is_file():
        raise FileNotFoundError(
            f"checkpoint folder {str(path)!r} has no state.json: not a complete maskgmt checkpoint"
        )
    try:
        return json.loads(file.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(
            f"{str(file)!r} is not valid JSON ({e}): the checkpoint is damaged; delete "
            f"{str(path)!r} to resume from the one before it"
        ) from None


def check_identity(path: str | Path, saved: dict[str, Any], current: dict[str, Any]) -> None:
    """Refuse to resume a checkpoint made for another model size or codec, naming both."""
    for key in sorted(set(saved) | set(current)):
        if saved.get(key) != current.get(key):
            raise ValueError(
                f"checkpoint {str(path)!r} was made with {key} {saved.get(key)} but this run "
                f"has {key} {current.get(key)}. Resume with the same preset/config and token "
                f"cache, or train into a new --out folder."
            )


def load_checkpoint(
    path: str | Path,
    *,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    identity: dict[str, Any],
    processes: Processes | None = None,
) -> tuple[DataPosition, dict[str, torch.Tensor] | None]:
    """Restore model, optimizer, scheduler and this process's RNG states from `path`.

    Returns the data position and the EMA shadow tensors (None when the run had no EMA).
    Raises `ValueError` when the checkpoint belongs to another model size or codec.
    """
    from safetensors.torch import load_file, load_model

    procs = processes or SingleProcess()
    path = Path(path)
    problem = checkpoint_problem(path)
    if problem is not None:
        raise ValueError(f"{problem}; resume from an earlier checkpoint, or train into a new --out")
    state = read_checkpoint_state(path)
    check_identity(path, state["identity"], identity)

    device = next(model.parameters()).device
    load_model(model, str(path / "model.safetensors"), strict=True, device=str(device))
    opt_tensors = load_file(str(path / "optimizer.safetensors"), device=str(device))
    optimizer.load_state_dict(_join_optimizer(opt_tensors, state["optimizer"]))
    scheduler.load_state_dict(state["scheduler"])
    ema_file = path / "ema.safetensors"
    ema_state = load_file(str(ema_file), device=str(device)) if ema_file.is_file() else None

    rng_file = path / f"rng_rank{procs.process_index}.json"
    if rng_file.is_file() and state["world_size"] == procs.num_processes:
        _set_rng_state(json.loads(rng_file.read_text()))
    else:
        print(
            f"warning: {path} was saved by {state['world_size']} processes, resuming on "
            f"{procs.num_processes}: RNG streams are reseeded, so resuming is not bit-exact",
            file=sys.stderr,
        )
    return DataPosition(**state["position"]), ema_state


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


def _join_optimizer(tensors: dict[str, torch.Tensor], rest: dict[str, Any]) -> dict[str, Any]:
    state: dict[int, dict[str, Any]] = {}
    for name, value in tensors.items():
        _, idx, key = name.split("/", 2)
        state.setdefault(int(idx), {})[key] = value
    for idx, values in rest["scalars"].items():
        state.setdefault(int(idx), {}).update(values)
    groups = [
        {k: tuple(v) if k == "betas" else v for k, v in group.items()}
        for group in rest["param_groups"]
    ]
    return {"state": state, "param_groups": groups}


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


def _set_rng_state(state: dict[str, Any]) -> None:
    version, keys, gauss = state["python"]
    random.setstate((version, tuple(keys), gauss))
    kind, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((kind, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(torch.tensor(state["torch"], dtype=torch.uint8))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([torch.tensor(s, dtype=torch.uint8) for s in state["cuda"]])


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
