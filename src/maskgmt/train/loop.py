"""`train()`: the accelerate training loop from a token cache to a run folder and a model folder.

Run folder layout (`out_dir`):

    checkpoints/step_NNNNNNNN/   resumable state (see `maskgmt.train.checkpoint`)
    tensorboard/                 TensorBoard event files
    model/                       the final model: `save_pretrained` + `codec/` for a local codec
    config.yaml                  the resolved TrainConfig of the run
    train_result.json            `TrainResult` as JSON (losses, text-gain history), rewritten at
                                 every validation; see `steps.result_fields`
    init.json                    {"init_from": MODEL_DIR} of a run started with `init=`

`train` is the skeleton: `_setup` builds the `Run` (`maskgmt.train.run`) and the steps of
`maskgmt.train.steps` act on it; resuming is `maskgmt.train.resume`.
"""

from __future__ import annotations

import math
import os
import sys
import time
from pathlib import Path
from typing import Any

import torch

from maskgmt.data.dataset import CodesDataset
from maskgmt.train import finetune
from maskgmt.train.build import build_model, run_identity
from maskgmt.train.checkpoint import DataPosition
from maskgmt.train.config import TrainConfig
from maskgmt.train.data import BatchOrder, split_indices
from maskgmt.train.ema import Ema
from maskgmt.train.finetune import INIT_FILE
from maskgmt.train.logs import LevelMeter, RunLog, TrainResultFile
from maskgmt.train.resume import batch_stream, check_run_folder, restore
from maskgmt.train.run import Record, Run, RunData, Trainee, TrainResult, Window
from maskgmt.train.samples import AudioSampler
from maskgmt.train.schedule import build_optimizer
from maskgmt.train.steps import (
    TEXT_GAIN_BATCHES,
    TEXT_GAIN_SHARE,
    checkpoint,
    finish,
    log_window,
    optimizer_step,
    out_of_time,
    report_out_of_time,
    result_fields,
    samples,
    validation,
)

__all__ = ["INIT_FILE", "TEXT_GAIN_BATCHES", "TEXT_GAIN_SHARE", "TrainResult", "train"]


class _LossModule(torch.nn.Module):
    """Routes `compute_loss` through `forward`, so DDP's hooks and accelerate's autocast see it."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, **batch: Any) -> tuple[torch.Tensor, ...]:
        out = self.model.compute_loss(**batch)
        gap = out.contrast_gap if out.contrast_gap is not None else out.loss.new_tensor(math.nan)
        return out.loss, out.level_loss, out.level_acc, out.level_count, gap


def train(
    config: TrainConfig,
    *,
    data_dir: str | Path,
    out_dir: str | Path,
    resume: bool = False,
    max_steps: int | None = None,
    max_minutes: float | None = None,
    text_encoder: Any | None = None,
    codec: Any | None = None,
    progress: bool | None = None,
    init: str | Path | None = None,
) -> TrainResult:
    """Train a `MaskGmt` on the token cache `data_dir`, writing checkpoints, TensorBoard logs and
    the final model folder under `out_dir`.

    max_steps: stop after this many optimizer steps in total (default `config.optim.max_steps`;
        the LR schedule always spans `config.optim.max_steps`). max_minutes: also stop once this
        much wall time has passed; a final checkpoint and model are written either way.
    text_encoder / codec: ready objects to use instead of loading them by name (the text encoder
        is only needed when the cache holds no text embeddings; the codec only for audio samples).
    resume: continue from the newest checkpoint in `out_dir` (error if there is none).
    init: start a new run from the weights of this model folder (or hub id): fine-tuning. The
        optimizer, LR schedule, EMA and step counter start fresh. The folder must have been
        trained on the cache's codec and text encoder, with the run's architecture (see
        `maskgmt.train.finetune`); its position table may be shorter or longer than the crop.
        Refused with `resume` or into a run folder that already holds checkpoints.
    Run with `accelerate launch` for several processes; every process calls this function.
    """
    run = _setup(config, data_dir=Path(data_dir), out_dir=Path(out_dir), resume=resume,
                 max_steps=max_steps, max_minutes=max_minutes, text_encoder=text_encoder,
                 codec=codec, progress=progress, init=init)  # fmt: skip
    cfg = run.cfg.log
    batches = batch_stream(run.data.items, run.data.order, run.position, run.cfg.data.num_workers)
    run.wrapped.train()
    while run.position.step < run.total_steps:
        grad_norm = optimizer_step(run, batches)
        step, stop = run.position.step, out_of_time(run)
        last = step == run.total_steps or stop
        if step % cfg.log_every == 0 or last:
            log_window(run, grad_norm)
        if cfg.val_every and step % cfg.val_every == 0 and run.data.val_idx:
            validation(run)
            run.result_file.write(result_fields(run, finished=False))
        if run.sampler is not None and cfg.sample_every and step % cfg.sample_every == 0:
            samples(run)
        if step % cfg.ckpt_every == 0 or last:
            checkpoint(run)
        if stop:
            report_out_of_time(run)
            break
    run.bar.close()
    return finish(run)


# --------------------------------------------------------------------------- setup


def _setup(
    cfg: TrainConfig,
    *,
    data_dir: Path,
    out_dir: Path,
    resume: bool,
    max_steps: int | None,
    max_minutes: float | None,
    text_encoder: Any | None,
    codec: Any | None,
    progress: bool | None,
    init: str | Path | None,
) -> Run:
    """Check the arguments and the run folder, then load the data, build the model, optimizer
    and EMA, restore a checkpoint when resuming, and open the logs: the `Run` of this call."""
    started = time.monotonic()
    total_steps = _budget(cfg, max_steps, max_minutes)
    accelerator, mixed = _accelerator(cfg)
    existing = check_run_folder(out_dir, data_dir, resume=resume, init=init)
    data = _load_data(cfg, data_dir, accelerator)
    source = None  # the --init model, checked against the cache before any other work
    if init is not None:
        source = finetune.load_init_model(init)
        finetune.check_init_codec(source, data.info.codec, init=init, data=data_dir)
    keep = finetune.cues_to_keep(source, out_dir, resuming=existing is not None)
    owner = "the folder's" if source is not None else "this run's"
    cfg, note = finetune.keep_cues(cfg, keep, owner=owner)
    if note and accelerator.is_main_process:
        print(note, file=sys.stderr)
    encoder, text_name, text_dim = _text_conditioning(cfg, data, text_encoder, accelerator)
    init_from = finetune.recorded_init(out_dir, init, resume)
    trainee = _build(cfg, data, accelerator, text=(text_name, text_dim), source=source,
                     init=init, init_from=init_from)  # fmt: skip
    del source
    # Masking and caption dropout draw from the global torch RNG; distinct per process.
    _seed_all(cfg.seed * 1000 + accelerator.process_index)
    position = DataPosition(data_seed=cfg.seed)
    if existing is not None:
        position = restore(existing, trainee, accelerator)
    main = accelerator.is_main_process
    if main:
        _write_run_files(out_dir, cfg, init_from, init=init is not None, resume=resume)
    show = cfg.log.progress if progress is None else progress
    return Run(
        cfg=cfg, out_dir=out_dir, accelerator=accelerator, mixed=mixed, data=data,
        encoder=encoder, text_name=text_name, trainee=trainee, init_from=init_from,
        position=position, total_steps=total_steps, started=started, max_minutes=max_minutes,
        deadline=started + 60 * max_minutes if max_minutes is not None else None,
        log=RunLog(out_dir / "tensorboard" if main else None),
        result_file=TrainResultFile(out_dir / "train_result.json" if main else None,
                                    resumed_at=position.step if resume else None),
        sampler=_sampler(cfg, data, codec, encoder) if main else None,
        window=Window(LevelMeter(data.info.n_q, device=accelerator.device),
                      torch.zeros((), dtype=torch.float64, device=accelerator.device),
                      torch.zeros(2, dtype=torch.float64, device=accelerator.device)),
        record=Record(last_ckpt=existing),
        bar=_progress(main and show, position.step, total_steps),
    )  # fmt: skip


def _budget(cfg: TrainConfig, max_steps: int | None, max_minutes: float | None) -> int:
    """The total optimizer steps of the run, after checking both limits."""
    total_steps = cfg.optim.max_steps if max_steps is None else max_steps
    if total_steps < 1:
        raise ValueError(f"max_steps must be >= 1, got {max_steps}")
    if max_minutes is not None and not max_minutes > 0:  # NaN too
        raise ValueError(f"max_minutes must be > 0, got {max_minutes}")
    return total_steps


def _accelerator(cfg: TrainConfig) -> tuple[Any, str]:
    """The `Accelerator` of this process and the resolved mixed precision."""
    from accelerate import Accelerator

    mixed = cfg.mixed_precision
    if mixed == "auto":
        mixed = "bf16" if torch.cuda.is_available() else "no"
    accelerator = Accelerator(
        # accelerate only picks gloo for a torchrun launch on CPU machines when told "cpu".
        cpu=not torch.cuda.is_available() and int(os.environ.get("WORLD_SIZE", "1")) > 1,
        # DDP keeps find_unused_parameters=False (no extra graph walk per step): every
        # parameter of MaskGmt gets a gradient every step, whichever level is trained.
        mixed_precision=mixed,
    )
    return accelerator, mixed


def _load_data(cfg: TrainConfig, data_dir: Path, accelerator: Any) -> RunData:
    """The token cache, its held-out split, the crops and this process's batch order."""
    from maskgmt.data.cache import load_cache

    dataset, info = load_cache(data_dir)
    if len(dataset) < 2:
        raise ValueError(
            f"token cache {str(data_dir)!r} has {len(dataset)} clip(s); training needs at least "
            "2 (one is held out for validation); prepare more audio"
        )
    seq_len = max(1, round(cfg.data.crop_seconds * info.frame_rate))
    train_idx, val_idx = split_indices(
        dataset,
        val_fraction=cfg.data.val_fraction,
        max_val_clips=cfg.data.max_val_clips,
        seed=cfg.seed,
    )
    partial = cfg.data.partial_captions
    # Short and counterfactual captions have no cached embedding: with either, every caption is
    # encoded on the fly, by one encoder (the cache's), for training and validation alike.
    embeds = "text_embeds" in dataset.column_names and not partial and not cfg.model.contrast
    return RunData(
        dir=data_dir,
        info=info,
        seq_len=seq_len,
        items=CodesDataset(dataset, seq_len=seq_len, seed=cfg.seed, text_embeds=embeds,
                           partial_captions=partial),
        # Validation and samples always read the same frames: each clip's first `seq_len`.
        fixed=CodesDataset(dataset, seq_len=seq_len, random_crop=False, text_embeds=embeds),
        train_idx=train_idx,
        val_idx=val_idx,
        order=BatchOrder(indices=tuple(train_idx), batch_size=cfg.data.batch_size, seed=cfg.seed,
                         rank=accelerator.process_index, world_size=accelerator.num_processes),
        text_embeds=embeds,
    )  # fmt: skip


def _text_conditioning(
    cfg: TrainConfig, data: RunData, text_encoder: Any | None, accelerator: Any
) -> tuple[Any | None, str, int]:
    """(encoder or None when the cache holds text embeddings, text encoder name, text width)."""
    if data.text_embeds:
        return None, data.info.text_encoder or cfg.model.text_encoder, data.info.text_dim
    if text_encoder is None:
        from maskgmt.text import load_text_encoder

        text_encoder = load_text_encoder(
            data.info.text_encoder or cfg.model.text_encoder,
            device=accelerator.device,
            progress=False,
        )
    return text_encoder, text_encoder.name, text_encoder.dim


def _build(
    cfg: TrainConfig,
    data: RunData,
    accelerator: Any,
    *,
    text: tuple[str, int],
    source: Any | None,
    init: str | Path | None,
    init_from: str | None,
) -> Trainee:
    """The model (from `source`'s weights with `init`), its optimizer, scheduler and EMA, and
    the model wrapped for the loss as accelerate prepared it."""
    model = build_model(cfg.model, info=data.info, seq_len=data.seq_len, text_dim=text[1],
                        text_name=text[0], seed=cfg.seed)  # fmt: skip
    if source is not None:
        finetune.check_init_text_encoder(source, text[0], init=init)
        finetune.check_init_architecture(model, source, init=init)
        note = finetune.load_init_weights(model, source)
        if accelerator.is_main_process:
            print(f"fine-tuning from {init_from}" + (f" ({note})" if note else ""),
                  file=sys.stderr)  # fmt: skip
    identity = run_identity(model, codec_identity=data.info.codec)
    optimizer, scheduler = build_optimizer(model, cfg.optim)
    ema = Ema(model, decay=cfg.optim.ema_decay) if cfg.optim.ema_decay > 0 else None
    wrapped, optimizer = accelerator.prepare(_LossModule(model), optimizer)
    model = accelerator.unwrap_model(wrapped).model
    if ema is not None:
        ema.shadow = {k: v.to(accelerator.device) for k, v in ema.shadow.items()}
    return Trainee(model=model, wrapped=wrapped, optimizer=optimizer, scheduler=scheduler,
                   ema=ema, identity=identity)  # fmt: skip


def _write_run_files(
    out_dir: Path, cfg: TrainConfig, init_from: str | None, *, init: bool, resume: bool
) -> None:
    """Main process: config.yaml and the init record."""
    import yaml

    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "config.yaml").write_text(yaml.safe_dump(cfg.to_dict(), sort_keys=False))
    finetune.write_init_record(out_dir, init_from, init=init, resume=resume)


def _sampler(
    cfg: TrainConfig, data: RunData, codec: Any | None, encoder: Any | None
) -> AudioSampler | None:
    """The audio sampler of the main process, None when samples are off."""
    if not (cfg.log.sample_every and cfg.log.num_samples):
        return None
    return AudioSampler(
        items=data.fixed,
        rows=(data.val_idx or data.train_idx)[: cfg.log.num_samples],
        codec_identity=data.info.codec,
        codec=codec,
        text_encoder=encoder,
        steps=cfg.log.sample_steps,
        seed=cfg.seed,
    )


# --------------------------------------------------------------------------- small helpers


def _seed_all(seed: int) -> None:
    import random

    import numpy as np

    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


class _NoBar:
    def update(self, n: int) -> None: ...
    def set_postfix(self, **kw: Any) -> None: ...
    def close(self) -> None: ...


def _progress(enabled: bool, start: int, total: int):
    if not enabled:
        return _NoBar()
    from maskgmt.progress import tqdm

    return tqdm(total=total, initial=start, desc="train", unit="step", dynamic_ncols=True)
