"""What one `train()` call holds: the `Run` its steps share, and the `TrainResult` it returns."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from maskgmt.data.dataset import CodesDataset
from maskgmt.train.checkpoint import DataPosition
from maskgmt.train.config import TrainConfig
from maskgmt.train.data import BatchOrder
from maskgmt.train.ema import Ema
from maskgmt.train.logs import LevelMeter, RunLog, TrainResultFile
from maskgmt.train.samples import AudioSampler


@dataclass
class TrainResult:
    """What a finished (or time-bounded) run produced."""

    model: Any  # the final MaskGmt in memory, as saved (EMA weights when EMA is on), on CPU
    model_dir: Path  # the final model folder (`MaskGmt.from_pretrained` / `TextToMusic` read it)
    checkpoint: Path  # the last checkpoint written
    steps: int  # optimizer steps completed in total (across resumes)
    tokens_seen: int  # code tokens trained on, all processes
    seconds: float  # wall time of this call
    train_loss: list[float | None] = field(default_factory=list)  # [K] last logging window
    val_loss: list[float | None] = field(default_factory=list)  # [K] last validation
    history: list[dict[str, Any]] = field(default_factory=list)  # {"step", "loss", "val_loss"?}
    # Last text information gain (`maskgmt.model.diagnostics.text_information_gain` schema: per
    # level "full"/"partial" {"gain", "loss_true", "loss_shuffled", "tokens"}), None if no
    # validation ran; and one `logs.text_gain_record` per validation of this call.
    text_gain: dict[str, Any] | None = None
    text_gain_history: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class RunData:
    """The token cache as the run reads it."""

    dir: Path  # the token cache folder
    info: Any  # its `CacheInfo` (codec identity, V, K, frame rate, text encoder)
    seq_len: int  # T: the crop in frames, the model's position table
    items: CodesDataset  # random crops, for training
    fixed: CodesDataset  # each clip's first `seq_len` frames, for validation and samples
    train_idx: list[int]
    val_idx: list[int]
    order: BatchOrder  # this process's batches, epoch by epoch
    text_embeds: bool  # whether the cache holds text embeddings (then no encoder is needed)


@dataclass
class Window:
    """Sums over the current logging window (reset at every log)."""

    meter: LevelMeter
    tokens: torch.Tensor  # float64 scalar on the device: code tokens of this process
    # float64 [2] on the device: sum of the caption-contrast gaps of this window's batches, and
    # how many batches had one (model/contrast.py)
    contrast: torch.Tensor
    start: float = field(default_factory=time.monotonic)


@dataclass
class Record:
    """What this call has measured so far: train_result.json and `TrainResult` are made of it."""

    history: list[dict[str, Any]] = field(default_factory=list)
    last_train: list[float | None] = field(default_factory=list)
    last_val: list[float | None] = field(default_factory=list)
    gains: list[dict[str, Any]] = field(default_factory=list)  # text-gain records of this call
    last_gain: dict[str, Any] | None = None
    last_ckpt: Path | None = None


@dataclass
class Trainee:
    """The model and what updates it."""

    model: Any  # the unwrapped `MaskGmt`
    wrapped: torch.nn.Module  # `loop._LossModule(model)` as prepared by accelerate (DDP)
    optimizer: Any
    scheduler: Any
    ema: Ema | None
    identity: dict[str, Any]  # what a checkpoint must match to be resumed


@dataclass
class Run:
    """Everything the steps of one `train()` call share; built by `loop._setup`."""

    cfg: TrainConfig
    out_dir: Path
    accelerator: Any  # `accelerate.Accelerator`
    mixed: str  # the resolved mixed precision ("no", "bf16", "fp16")
    data: RunData
    encoder: Any | None  # the text encoder, None when the cache holds text embeddings
    text_name: str
    trainee: Trainee
    init_from: str | None  # the model folder the run started from (`init=`), if any
    position: DataPosition
    total_steps: int
    started: float  # time.monotonic() at the start of this call
    deadline: float | None  # time.monotonic() to stop at (max_minutes), if any
    max_minutes: float | None
    log: RunLog
    result_file: TrainResultFile
    sampler: AudioSampler | None
    window: Window
    record: Record
    bar: Any  # tqdm bar or `_NoBar`

    @property
    def model(self) -> Any:
        return self.trainee.model

    @property
    def wrapped(self) -> torch.nn.Module:
        return self.trainee.wrapped

    @property
    def optimizer(self) -> Any:
        return self.trainee.optimizer

    @property
    def scheduler(self) -> Any:
        return self.trainee.scheduler

    @property
    def ema(self) -> Ema | None:
        return self.trainee.ema

    @property
    def identity(self) -> dict[str, Any]:
        return self.trainee.identity

    @property
    def main(self) -> bool:
        return self.accelerator.is_main_process

    @property
    def device(self) -> torch.device:
        return self.accelerator.device
