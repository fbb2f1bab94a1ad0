"""Continuing a run: which run folder and checkpoint to continue from, reading a checkpoint back
bit-exactly, and the data position that the batch stream resumes from.

Everything a resume needs lives here: `check_run_folder` (the `resume` / `init` / run-folder
rules, before any expensive work), `latest_checkpoint` (the newest readable checkpoint, skipping
damaged ones), `load_checkpoint` (weights, optimizer, scheduler, EMA and this process's RNG
states, after the identity check), `restore` (what `train` calls to do that load), and
`batch_stream` (the batches from the saved `DataPosition` on, so a resumed run sees exactly the
batches it would have seen; the order itself is `maskgmt.train.data.BatchOrder`). Writing
checkpoints is `maskgmt.train.checkpoint`, which re-exports these names.
"""

from __future__ import annotations

import json
import random
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import torch

from maskgmt.data.dataset import CodesDataset
from maskgmt.train.data import BatchOrder, iterate_batches

if TYPE_CHECKING:
    from maskgmt.train.run import Trainee

_STEP_DIR = re.compile(r"^step_(\d+)$")


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


# --------------------------------------------------------------------------- run folder


def check_run_folder(
    out_dir: Path, data_dir: Path, *, resume: bool, init: str | Path | None
) -> Path | None:
    """Refuse a `resume` / `init` / run-folder combination that cannot work, before any
    expensive work; returns the checkpoint to resume from (None for a new run)."""
    existing = latest_checkpoint(out_dir)
    if init is not None and resume:
        raise ValueError(
            "--init starts a new run from a model folder's weights and --resume continues a run "
            "from its checkpoint; pass one of them (a run started with --init resumes with "
            "--resume alone)"
        )
    if init is not None and list_checkpoints(out_dir):
        raise ValueError(
            f"{str(out_dir)!r} already holds checkpoints of a run; --init starts a new run: "
            "choose a new --out folder (or continue that run with --resume, without --init)"
        )
    if resume and existing is None:
        raise FileNotFoundError(
            f"--resume: no checkpoint in {str(out_dir / 'checkpoints')!r}; train without "
            "--resume to start this run, or point --out at the run folder to continue"
        )
    if not resume and list_checkpoints(out_dir):
        raise ValueError(
            f"{str(out_dir)!r} already holds checkpoints of a run; pass --resume to continue "
            "it, or choose a new --out folder"
        )
    if not resume:
        check_new_run_folder(out_dir, Path(data_dir))
    return existing if resume else None


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


def _set_rng_state(state: dict[str, Any]) -> None:
    version, keys, gauss = state["python"]
    random.setstate((version, tuple(keys), gauss))
    kind, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((kind, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(torch.tensor(state["torch"], dtype=torch.uint8))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([torch.tensor(s, dtype=torch.uint8) for s in state["cuda"]])


def restore(existing: Path, trainee: Trainee, processes: Processes) -> DataPosition:
    """Load checkpoint `existing` into the trainee (model, optimizer, scheduler, EMA) and this
    process's RNGs; returns the data position to continue from."""
    position, ema_state = load_checkpoint(
        existing,
        model=trainee.model,
        optimizer=trainee.optimizer,
        scheduler=trainee.scheduler,
        identity=trainee.identity,
        processes=processes,
    )
    if trainee.ema is not None and ema_state is not None:
        trainee.ema.load_state_dict(ema_state, num_updates=position.ema_updates)
    if processes.is_main_process:
        print(f"resuming {existing} at step {position.step}", file=sys.stderr)
    return position


# --------------------------------------------------------------------------- data position


def batch_stream(
    items: CodesDataset, order: BatchOrder, position: DataPosition, num_workers: int
) -> Iterator[dict[str, Any]]:
    """Endless batches from the saved position on; advances `position` as batches are taken."""
    while True:
        if position.batch_in_epoch >= order.batches_per_epoch:  # resumed with fewer per epoch
            position.epoch += 1
            position.batch_in_epoch = 0
        for batch in iterate_batches(
            items,
            order,
            epoch=position.epoch,
            start=position.batch_in_epoch,
            num_workers=num_workers,
        ):
            position.batch_in_epoch += 1
            if position.batch_in_epoch == order.batches_per_epoch:
                position.epoch += 1
                position.batch_in_epoch = 0
            yield batch
