"""`train()`: the accelerate training loop from a token cache to a run folder and a model folder.

Run folder layout (`out_dir`):

    checkpoints/step_NNNNNNNN/   resumable state (see `maskgmt.train.checkpoint`)
    tensorboard/                 TensorBoard event files
    model/                       the final model: `save_pretrained` + `codec/` for a local codec
    config.yaml                  the resolved TrainConfig of the run
    train_result.json            `TrainResult` as JSON (losses, text-gain history), rewritten at
                                 every validation; see `_result_fields`
    init.json                    {"init_from": MODEL_DIR} of a run started with `init=`
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from maskgmt.data.dataset import CodesDataset
from maskgmt.model.diagnostics import TextGainMeter
from maskgmt.train.build import build_model, run_identity
from maskgmt.train.checkpoint import (
    DataPosition,
    check_new_run_folder,
    latest_checkpoint,
    list_checkpoints,
    load_checkpoint,
    save_checkpoint,
)
from maskgmt.train.config import TrainConfig
from maskgmt.train.data import (
    BatchOrder,
    fixed_batch,
    iterate_batches,
    model_inputs,
    split_indices,
)
from maskgmt.train.ema import Ema
from maskgmt.train.export import final_model, write_model_folder
from maskgmt.train.logs import LevelMeter, RunLog, TrainResultFile, text_gain_record
from maskgmt.train.samples import AudioSampler
from maskgmt.train.schedule import build_optimizer
from maskgmt.train.validate import validate

# Text information gain at every validation: the level fully hidden, and this share of it
# hidden (a fixed point of the training mix, so runs compare), on TEXT_GAIN_BATCHES batches of
# held-out clips spread evenly over them. Each batch costs 4 passes per level, 4x a validation
# batch, so one batch doubles the cost of the tiny preset's 4-batch validation (about +10% of
# its training time); bench/text_gain.py measures many more clips. A LogConfig field
# (`text_gain_batches: int = 1`, 0 = off) would be the place to change it.
TEXT_GAIN_SHARE = 0.5
TEXT_GAIN_BATCHES = 1

# In the run folder of a run started with `init=`: {"init_from": the model folder or hub id}.
INIT_FILE = "init.json"


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


class _LossModule(torch.nn.Module):
    """Routes `compute_loss` through `forward`, so DDP's hooks and accelerate's autocast see it."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, **batch: Any) -> tuple[torch.Tensor, ...]:
        out = self.model.compute_loss(**batch)
        return out.loss, out.level_loss, out.level_acc, out.level_count


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
    from accelerate import Accelerator

    from maskgmt.data.cache import load_cache

    started = time.monotonic()
    cfg = config
    out_dir = Path(out_dir)
    total_steps = cfg.optim.max_steps if max_steps is None else max_steps
    if total_steps < 1:
        raise ValueError(f"max_steps must be >= 1, got {max_steps}")
    if max_minutes is not None and not max_minutes > 0:  # NaN too
        raise ValueError(f"max_minutes must be > 0, got {max_minutes}")

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
    main = accelerator.is_main_process
    device = accelerator.device

    # ---- run folder and resume checks (before any expensive work) -----------------------------
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

    # ---- data ---------------------------------------------------------------------------------
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
    source = None  # the --init model, checked against the cache before any other work
    if init is not None:
        from maskgmt.train import finetune

        source = finetune.load_init_model(init)
        finetune.check_init_codec(source, info.codec, init=init, data=data_dir)
    has_embeds = "text_embeds" in dataset.column_names
    items = CodesDataset(dataset, seq_len=seq_len, seed=cfg.seed, text_embeds=has_embeds)
    # Validation and samples always read the same frames: each clip's first `seq_len`.
    fixed = CodesDataset(dataset, seq_len=seq_len, random_crop=False, text_embeds=has_embeds)
    order = BatchOrder(
        indices=tuple(train_idx),
        batch_size=cfg.data.batch_size,
        seed=cfg.seed,
        rank=accelerator.process_index,
        world_size=accelerator.num_processes,
    )

    # ---- text conditioning ---------------------------------------------------------------------
    if has_embeds:
        text_name, text_dim, encoder = (
            info.text_encoder or cfg.model.text_encoder,
            info.text_dim,
            None,
        )
    else:
        if text_encoder is None:
            from maskgmt.text import load_text_encoder

            text_encoder = load_text_encoder(cfg.model.text_encoder, device=device, progress=False)
        encoder = text_encoder
        text_name, text_dim = encoder.name, encoder.dim

    # ---- model, optimizer, EMA ----------------------------------------------------------------
    model = build_model(
        cfg.model, info=info, seq_len=seq_len, text_dim=text_dim, text_name=text_name, seed=cfg.seed
    )
    init_from = _init_from(out_dir, init, resume)
    if source is not None:
        finetune.check_init_text_encoder(source, text_name, init=init)
        finetune.check_init_architecture(model, source, init=init)
        note = finetune.load_init_weights(model, source)
        del source
        if main:
            print(f"fine-tuning from {init_from}" + (f" ({note})" if note else ""),
                  file=sys.stderr)  # fmt: skip
    identity = run_identity(model, codec_identity=info.codec)
    optimizer, scheduler = build_optimizer(model, cfg.optim)
    ema = Ema(model, decay=cfg.optim.ema_decay) if cfg.optim.ema_decay > 0 else None
    wrapped, optimizer = accelerator.prepare(_LossModule(model), optimizer)
    model = accelerator.unwrap_model(wrapped).model
    if ema is not None:
        ema.shadow = {k: v.to(device) for k, v in ema.shadow.items()}

    # Masking and caption dropout draw from the global torch RNG; distinct per process.
    _seed_all(cfg.seed * 1000 + accelerator.process_index)
    position = DataPosition(data_seed=cfg.seed)
    if resume:
        position, ema_state = load_checkpoint(
            existing,
            model=model,
            optimizer=optimizer,
            scheduler=scheduler,
            identity=identity,
            processes=accelerator,
        )
        if ema is not None and ema_state is not None:
            ema.load_state_dict(ema_state, num_updates=position.ema_updates)
        if main:
            print(f"resuming {existing} at step {position.step}", file=sys.stderr)
    if main:
        out_dir.mkdir(parents=True, exist_ok=True)
        _write_config(out_dir / "config.yaml", cfg)
        if init is not None:  # so the model folder of a resumed run records it too
            (out_dir / INIT_FILE).write_text(json.dumps({"init_from": init_from}) + "\n")
        elif not resume:  # a stale record of an earlier attempt in this folder
            (out_dir / INIT_FILE).unlink(missing_ok=True)

    log = RunLog(out_dir / "tensorboard" if main else None)
    result_file = TrainResultFile(
        out_dir / "train_result.json" if main else None,
        resumed_at=position.step if resume else None,
    )
    sampler = None
    if main and cfg.log.sample_every and cfg.log.num_samples:
        sampler = AudioSampler(
            items=fixed,
            rows=(val_idx or train_idx)[: cfg.log.num_samples],
            codec_identity=info.codec,
            codec=codec,
            text_encoder=encoder,
            steps=cfg.log.sample_steps,
            seed=cfg.seed,
        )

    # ---- loop ---------------------------------------------------------------------------------
    accum = cfg.optim.grad_accum_steps
    k = info.n_q
    meter = LevelMeter(k, device=device)
    tokens_window = torch.zeros((), dtype=torch.float64, device=device)
    window_start = time.monotonic()
    batches = _batch_stream(items, order, position, cfg.data.num_workers)
    history: list[dict[str, Any]] = []
    last_train: list[float | None] = []
    last_val: list[float | None] = []
    gains: list[dict[str, Any]] = []  # text-gain records of this call
    last_gain: dict[str, Any] | None = None
    last_ckpt: Path | None = existing if resume else None
    show = cfg.log.progress if progress is None else progress
    bar = _progress(main and show, position.step, total_steps)
    deadline = started + 60 * max_minutes if max_minutes is not None else None

    wrapped.train()
    while position.step < total_steps:
        for micro in range(accum):
            batch = next(batches)
            inputs = model_inputs(batch, encoder, device)
            sync = micro == accum - 1
            ctx = accelerator.no_sync(wrapped) if not sync else contextlib.nullcontext()
            with ctx:
                loss, level_loss, level_acc, level_count = wrapped(**inputs)
                accelerator.backward(loss / accum)
            meter.add(level_loss, level_acc, level_count)
            tokens_window += float(batch["padding_mask"].sum()) * k
        # Clipping at inf still returns the norm, which is worth logging either way.
        clip = cfg.optim.grad_clip if cfg.optim.grad_clip > 0 else math.inf
        grad_norm = accelerator.clip_grad_norm_(wrapped.parameters(), clip)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        if ema is not None:
            ema.update(model)
            position.ema_updates = ema.num_updates
        position.step += 1
        step = position.step
        bar.update(1)
        out_of_time = _out_of_time(deadline, accelerator)
        last = step == total_steps or out_of_time

        if step % cfg.log.log_every == 0 or last:
            totals = accelerator.reduce(meter.totals, reduction="sum")
            tokens = float(accelerator.reduce(tokens_window, reduction="sum"))
            position.tokens_seen += int(tokens)
            means = meter.means(totals)
            elapsed = max(time.monotonic() - window_start, 1e-9)
            last_train = means["loss"]
            overall = LevelMeter.overall(means)
            log.levels("train", means, step)
            log.scalar("train/lr", scheduler.get_last_lr()[0], step)
            log.scalar("train/grad_norm", float(grad_norm), step)
            log.scalar("train/tokens_per_s", tokens / elapsed, step)
            history.append({"step": step, "loss": overall})
            if overall is not None:
                bar.set_postfix(loss=f"{overall:.3f}", refresh=False)
            meter.reset()
            tokens_window.zero_()
            window_start = time.monotonic()

        if cfg.log.val_every and step % cfg.log.val_every == 0 and val_idx:
            val, last_gain = _validate(model, accelerator, fixed, val_idx, cfg, encoder, log, step)
            last_val = val["loss"]
            history.append({"step": step, "val_loss": LevelMeter.overall(val)})
            gains.append(text_gain_record(step, last_gain))
            result_file.write(_result_fields(position, started, last_train, last_val, history,
                                             gains, finished=False))  # fmt: skip

        if sampler is not None and cfg.log.sample_every and step % cfg.log.sample_every == 0:
            sampler(model, log, step)

        if step % cfg.log.ckpt_every == 0 or last:
            last_ckpt = _checkpoint(out_dir, model, optimizer, scheduler, ema, position, identity,
                                    cfg, accelerator)  # fmt: skip
        if out_of_time:
            if main:
                print(f"time budget of {max_minutes} min reached at step {step}", file=sys.stderr)
            break
    bar.close()

    if last_ckpt is None or not last_ckpt.name.endswith(f"{position.step:08d}"):
        last_ckpt = _checkpoint(out_dir, model, optimizer, scheduler, ema, position, identity,
                                cfg, accelerator)  # fmt: skip
    if val_idx and (not cfg.log.val_every or position.step % cfg.log.val_every != 0):
        val, last_gain = _validate(model, accelerator, fixed, val_idx, cfg, encoder, log,
                                   position.step)  # fmt: skip
        last_val = val["loss"]
        history.append({"step": position.step, "val_loss": LevelMeter.overall(val)})
        gains.append(text_gain_record(position.step, last_gain))

    model_dir = out_dir / "model"
    final = final_model(model, ema)
    if main:
        summary = {
            "steps": position.step,
            "tokens_seen": position.tokens_seen,
            "processes": accelerator.num_processes,
            "mixed_precision": mixed,
            "weights": "ema" if ema is not None else "raw",
            "train_loss_per_level": last_train,
            "val_loss_per_level": last_val,
            "text_gain_per_level": _gain_summary(last_gain),
            "seq_len": seq_len,
            "data": str(Path(data_dir).resolve()),
            "config": cfg.to_dict(),
        }
        if init_from is not None:
            summary["init_from"] = init_from
        write_model_folder(final, model_dir, codec_identity=info.codec, text_encoder=text_name,
                           train_summary=summary, cache_dir=Path(data_dir))  # fmt: skip
    fields = _result_fields(position, started, last_train, last_val, history, gains, finished=True)
    result_file.write({**fields, "model_dir": str(model_dir), "checkpoint": str(last_ckpt)})
    log.close()
    accelerator.wait_for_everyone()
    return TrainResult(
        model=final,
        model_dir=model_dir,
        checkpoint=last_ckpt,
        steps=position.step,
        tokens_seen=position.tokens_seen,
        seconds=time.monotonic() - started,
        train_loss=last_train,
        val_loss=last_val,
        history=history,
        text_gain=last_gain,
        text_gain_history=gains,
    )


# --------------------------------------------------------------------------- steps


def _batch_stream(
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


def _validate(model, accelerator, items, val_idx, cfg, encoder, log, step) -> tuple[dict, dict]:
    """Validation on this process's slice of the held-out clips, summed over processes ->
    (per-level means, text information gain)."""
    rows = val_idx[accelerator.process_index :: accelerator.num_processes]
    meter = validate(
        model,
        items,
        rows,
        text_encoder=encoder,
        batch_size=cfg.data.batch_size,
        max_batches=cfg.log.val_batches,
        seed=cfg.seed,
        autocast=accelerator.autocast,
    )
    means = meter.means(accelerator.reduce(meter.totals, reduction="sum"))
    log.levels("val", means, step)
    gain = _text_gain(model, accelerator, items, rows, cfg, encoder)
    log.text_gain(gain, step)
    return means, gain


def _text_gain(model, accelerator, items, rows, cfg, encoder) -> dict[str, Any]:
    """Text information gain on up to TEXT_GAIN_BATCHES batches of this process's held-out
    `rows` (the same clips at every validation), summed over processes; adds "seconds".

    Seeded CPU generators draw its masks and caption shuffles, never the training RNG streams,
    so runs with and without validation (and resumed runs) train identically.
    """
    start = time.monotonic()
    meter = TextGainMeter(model.transformer.config.n_q, share=TEXT_GAIN_SHARE, device=model.device)
    size = cfg.data.batch_size
    picked = _spread(rows, min(cfg.log.val_batches, TEXT_GAIN_BATCHES) * size)
    for b in range(math.ceil(len(picked) / size)):
        inputs = model_inputs(fixed_batch(items, picked[b * size : (b + 1) * size]), encoder,
                              model.device)  # fmt: skip
        with accelerator.autocast():
            meter.add(model, inputs["music_ids"], inputs["text_embeds"], inputs["text_mask"],
                      padding_mask=inputs["padding_mask"], seed=cfg.seed * 7919 + b)  # fmt: skip
    gain = meter.result(accelerator.reduce(meter.totals, reduction="sum"))
    return {**gain, "seconds": round(time.monotonic() - start, 3)}


def _spread(rows: list[int], count: int) -> list[int]:
    """`count` of `rows` spread evenly over them (held-out clips of one piece sit together, and
    a caption is only shuffled within a batch), or all of them when there are no more."""
    if len(rows) <= count:
        return list(rows)
    return [rows[i * len(rows) // count] for i in range(count)]


def _gain_summary(gain: dict[str, Any] | None) -> dict[str, Any] | None:
    """The per-level gains of a text-gain result, for the model folder's training summary."""
    if gain is None:
        return None
    partial = gain.get("partial")
    return {"share": gain["share"], "full": gain["full"]["gain"],
            "partial": partial["gain"] if partial else None}  # fmt: skip


def _result_fields(position, started, train_loss, val_loss, history, gains, *, finished) -> dict:
    """train_result.json: {"finished", "steps", "tokens_seen", "seconds" (this call),
    "train_loss" [K], "val_loss" [K], "history", "text_gain" (`logs.text_gain_record`s)};
    the final write adds "model_dir" and "checkpoint"."""
    return {
        "finished": finished,
        "steps": position.step,
        "tokens_seen": position.tokens_seen,
        "seconds": round(time.monotonic() - started, 3),
        "train_loss": train_loss,
        "val_loss": val_loss,
        "history": history,
        "text_gain": gains,
    }


def _checkpoint(out_dir, model, optimizer, scheduler, ema, position, identity, cfg, accelerator):
    return save_checkpoint(
        out_dir,
        model=model,
        optimizer=optimizer,
        scheduler=scheduler,
        ema_state=ema.state_dict() if ema is not None else None,
        position=position,
        identity=identity,
        config=cfg.to_dict(),
        processes=accelerator,
        keep_last=cfg.log.keep_last,
    )


def _out_of_time(deadline: float | None, accelerator) -> bool:
    """Whether the time budget is spent, decided by the main process so all stop together."""
    if deadline is None:
        return False
    flag = torch.tensor(float(time.monotonic() >= deadline), device=accelerator.device)
    if accelerator.num_processes > 1:
        flag = accelerator.reduce(flag, reduction="sum")  # any process out of time stops all
    return bool(flag > 0)


# --------------------------------------------------------------------------- small helpers


def _seed_all(seed: int) -> None:
    import random

    import numpy as np

    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def _init_from(out_dir: Path, init: str | Path | None, resume: bool) -> str | None:
    """The model folder this run started from: `init`, or on resume what the run recorded."""
    if init is not None:
        from maskgmt.train.finetune import init_source

        return init_source(init)
    file = out_dir / INIT_FILE
    if resume and file.is_file():
        with contextlib.suppress(ValueError, OSError, AttributeError):
            return json.loads(file.read_text()).get("init_from")
    return None


def _write_config(path: Path, cfg: TrainConfig) -> None:
    import yaml

    path.write_text(yaml.safe_dump(cfg.to_dict(), sort_keys=False))


class _NoBar:
    def update(self, n: int) -> None: ...
    def set_postfix(self, **kw: Any) -> None: ...
    def close(self) -> None: ...


def _progress(enabled: bool, start: int, total: int):
    if not enabled:
        return _NoBar()
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=start, desc="train", unit="step", dynamic_ncols=True)
