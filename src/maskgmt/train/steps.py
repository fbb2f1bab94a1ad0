"""The steps of the training loop, each on the shared `Run`: one optimizer step, a logging
window, a validation (with the text information gain), a checkpoint, audio samples, and the
final export of the model folder and train_result.json."""

from __future__ import annotations

import contextlib
import math
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch

from maskgmt.model.diagnostics import TextGainMeter
from maskgmt.train.checkpoint import save_checkpoint
from maskgmt.train.data import cue_kwargs, fixed_batch, model_inputs
from maskgmt.train.export import final_model, write_model_folder
from maskgmt.train.logs import LevelMeter, text_gain_record
from maskgmt.train.run import Run, TrainResult
from maskgmt.train.validate import validate

# Text information gain at every validation: the level fully hidden, and this share of it
# hidden (a fixed point of the training mix, so runs compare), on TEXT_GAIN_BATCHES batches of
# held-out clips spread evenly over them. Each batch costs 4 passes per level, 4x a validation
# batch, so one batch doubles the cost of the tiny preset's 4-batch validation (about +10% of
# its training time); bench/text_gain.py measures many more clips. A LogConfig field
# (`text_gain_batches: int = 1`, 0 = off) would be the place to change it.
TEXT_GAIN_SHARE = 0.5
TEXT_GAIN_BATCHES = 1


# --------------------------------------------------------------------------- one step


def optimizer_step(run: Run, batches: Iterator[dict[str, Any]]) -> torch.Tensor:
    """`grad_accum_steps` micro-batches, clipping, the optimizer, LR and EMA updates; advances
    `run.position.step`. Returns the gradient norm before clipping."""
    accum = run.cfg.optim.grad_accum_steps
    for micro in range(accum):
        batch = next(batches)
        inputs = model_inputs(batch, run.encoder, run.device, run.cfg.model.contrast)
        sync = micro == accum - 1
        ctx = run.accelerator.no_sync(run.wrapped) if not sync else contextlib.nullcontext()
        with ctx:
            loss, level_loss, level_acc, level_count, gap = run.wrapped(**inputs)
            run.accelerator.backward(loss / accum)
        run.window.meter.add(level_loss, level_acc, level_count)
        if torch.isfinite(gap):  # a batch with contrasted clips
            run.window.contrast[0] += gap.detach().double()
            run.window.contrast[1] += 1
        run.window.tokens += float(batch["padding_mask"].sum()) * run.data.info.n_q
    # Clipping at inf still returns the norm, which is worth logging either way.
    clip = run.cfg.optim.grad_clip if run.cfg.optim.grad_clip > 0 else math.inf
    grad_norm = run.accelerator.clip_grad_norm_(run.wrapped.parameters(), clip)
    run.optimizer.step()
    run.scheduler.step()
    run.optimizer.zero_grad(set_to_none=True)
    if run.ema is not None:
        run.ema.update(run.model)
        run.position.ema_updates = run.ema.num_updates
    run.position.step += 1
    run.bar.update(1)
    return grad_norm


def out_of_time(run: Run) -> bool:
    """Whether the time budget is spent, decided by the main process so all stop together."""
    if run.deadline is None:
        return False
    flag = torch.tensor(float(time.monotonic() >= run.deadline), device=run.device)
    if run.accelerator.num_processes > 1:
        flag = run.accelerator.reduce(flag, reduction="sum")  # any process out of time stops all
    return bool(flag > 0)


# --------------------------------------------------------------------------- logging


def log_window(run: Run, grad_norm: torch.Tensor) -> None:
    """Log the window's per-level train loss/accuracy, LR, gradient norm and tokens/s (summed
    over processes), add it to the history, and start a new window."""
    step, window = run.position.step, run.window
    totals = run.accelerator.reduce(window.meter.totals, reduction="sum")
    tokens = float(run.accelerator.reduce(window.tokens, reduction="sum"))
    run.position.tokens_seen += int(tokens)
    means = window.meter.means(totals)
    elapsed = max(time.monotonic() - window.start, 1e-9)
    run.record.last_train = means["loss"]
    overall = LevelMeter.overall(means)
    run.log.levels("train", means, step)
    run.log.scalar("train/lr", run.scheduler.get_last_lr()[0], step)
    run.log.scalar("train/grad_norm", float(grad_norm), step)
    run.log.scalar("train/tokens_per_s", tokens / elapsed, step)
    contrast = run.accelerator.reduce(window.contrast, reduction="sum")
    if float(contrast[1]) > 0:  # mean caption-contrast gap of the window's batches, nats/token
        run.log.scalar("train/contrast_gap", float(contrast[0] / contrast[1]), step)
    run.record.history.append({"step": step, "loss": overall})
    if overall is not None:
        run.bar.set_postfix(loss=f"{overall:.3f}", refresh=False)
    window.meter.reset()
    window.tokens.zero_()
    window.contrast.zero_()
    window.start = time.monotonic()


def result_fields(run: Run, *, finished: bool) -> dict[str, Any]:
    """train_result.json: {"finished", "steps", "tokens_seen", "seconds" (this call),
    "train_loss" [K], "val_loss" [K], "history", "text_gain" (`logs.text_gain_record`s)};
    the final write adds "model_dir" and "checkpoint"."""
    return {
        "finished": finished,
        "steps": run.position.step,
        "tokens_seen": run.position.tokens_seen,
        "seconds": round(time.monotonic() - run.started, 3),
        "train_loss": run.record.last_train,
        "val_loss": run.record.last_val,
        "history": run.record.history,
        "text_gain": run.record.gains,
    }


# --------------------------------------------------------------------------- validation


def validation(run: Run) -> None:
    """Validate at the current step and record it (last val loss, history, text gain)."""
    step = run.position.step
    val, gain = _validate(run)
    run.record.last_val = val["loss"]
    run.record.last_gain = gain
    run.record.history.append({"step": step, "val_loss": LevelMeter.overall(val)})
    run.record.gains.append(text_gain_record(step, gain))


def _validate(run: Run) -> tuple[dict, dict]:
    """Validation on this process's slice of the held-out clips, summed over processes ->
    (per-level means, text information gain)."""
    acc, cfg, step = run.accelerator, run.cfg, run.position.step
    rows = run.data.val_idx[acc.process_index :: acc.num_processes]
    meter = validate(
        run.model,
        run.data.fixed,
        rows,
        text_encoder=run.encoder,
        batch_size=cfg.data.batch_size,
        max_batches=cfg.log.val_batches,
        seed=cfg.seed,
        autocast=acc.autocast,
    )
    means = meter.means(acc.reduce(meter.totals, reduction="sum"))
    run.log.levels("val", means, step)
    gain = _text_gain(run, rows)
    run.log.text_gain(gain, step)
    return means, gain


def _text_gain(run: Run, rows: list[int]) -> dict[str, Any]:
    """Text information gain on up to TEXT_GAIN_BATCHES batches of this process's held-out
    `rows` (the same clips at every validation), summed over processes; adds "seconds".

    Seeded CPU generators draw its masks and caption shuffles, never the training RNG streams,
    so runs with and without validation (and resumed runs) train identically.
    """
    start, model, cfg = time.monotonic(), run.model, run.cfg
    meter = TextGainMeter(model.transformer.config.n_q, share=TEXT_GAIN_SHARE, device=model.device)
    size = cfg.data.batch_size
    picked = _spread(rows, min(cfg.log.val_batches, TEXT_GAIN_BATCHES) * size)
    for b in range(math.ceil(len(picked) / size)):
        batch = fixed_batch(run.data.fixed, picked[b * size : (b + 1) * size])
        inputs = model_inputs(batch, run.encoder, model.device)
        with run.accelerator.autocast():
            meter.add(model, inputs["music_ids"], inputs["text_embeds"], inputs["text_mask"],
                      padding_mask=inputs["padding_mask"], seed=cfg.seed * 7919 + b,
                      cues=cue_kwargs(inputs))  # fmt: skip
    gain = meter.result(run.accelerator.reduce(meter.totals, reduction="sum"))
    return {**gain, "seconds": round(time.monotonic() - start, 3)}


def _spread(rows: list[int], count: int) -> list[int]:
    """`count` of `rows` spread evenly over them (held-out clips of one piece sit together, and
    a caption is only shuffled within a batch), or all of them when there are no more."""
    if len(rows) <= count:
        return list(rows)
    return [rows[i * len(rows) // count] for i in range(count)]


# --------------------------------------------------------------------------- checkpoints, samples


def checkpoint(run: Run) -> None:
    """Write the checkpoint of the current step (every process calls it)."""
    run.record.last_ckpt = save_checkpoint(
        run.out_dir,
        model=run.model,
        optimizer=run.optimizer,
        scheduler=run.scheduler,
        ema_state=run.ema.state_dict() if run.ema is not None else None,
        position=run.position,
        identity=run.identity,
        config=run.cfg.to_dict(),
        processes=run.accelerator,
        keep_last=run.cfg.log.keep_last,
    )


def samples(run: Run) -> None:
    """Audio samples + spectrograms of the validation captions, on the main process."""
    run.sampler(run.model, run.log, run.position.step)


def report_out_of_time(run: Run) -> None:
    """Say on the main process that the `max_minutes` budget ended the run here."""
    if run.main:
        print(f"time budget of {run.max_minutes} min reached at step {run.position.step}",
              file=sys.stderr)  # fmt: skip


# --------------------------------------------------------------------------- the end


def finish(run: Run) -> TrainResult:
    """Final checkpoint and validation unless this step already has them, the model folder,
    the last train_result.json; returns the `TrainResult`."""
    step, val_every = run.position.step, run.cfg.log.val_every
    last = run.record.last_ckpt
    if last is None or not last.name.endswith(f"{step:08d}"):
        checkpoint(run)
    if run.data.val_idx and (not val_every or step % val_every != 0):
        validation(run)
    model_dir = run.out_dir / "model"
    final = final_model(run.model, run.ema)
    if run.main:
        write_model_folder(final, model_dir, codec_identity=run.data.info.codec,
                           text_encoder=run.text_name, train_summary=_summary(run),
                           cache_dir=run.data.dir)  # fmt: skip
    fields = result_fields(run, finished=True)
    run.result_file.write(
        {**fields, "model_dir": str(model_dir), "checkpoint": str(run.record.last_ckpt)}
    )
    run.log.close()
    run.accelerator.wait_for_everyone()
    return _result(run, final, model_dir)


def _summary(run: Run) -> dict[str, Any]:
    """The model folder's training summary."""
    summary = {
        "steps": run.position.step,
        "tokens_seen": run.position.tokens_seen,
        "processes": run.accelerator.num_processes,
        "mixed_precision": run.mixed,
        "weights": "ema" if run.ema is not None else "raw",
        "train_loss_per_level": run.record.last_train,
        "val_loss_per_level": run.record.last_val,
        "text_gain_per_level": _gain_summary(run.record.last_gain),
        "seq_len": run.data.seq_len,
        "data": str(Path(run.data.dir).resolve()),
        "config": run.cfg.to_dict(),
    }
    if run.init_from is not None:
        summary["init_from"] = run.init_from
    return summary


def _gain_summary(gain: dict[str, Any] | None) -> dict[str, Any] | None:
    """The per-level gains of a text-gain result, for the model folder's training summary."""
    if gain is None:
        return None
    partial = gain.get("partial")
    return {"share": gain["share"], "full": gain["full"]["gain"],
            "partial": partial["gain"] if partial else None}  # fmt: skip


def _result(run: Run, final: torch.nn.Module, model_dir: Path) -> TrainResult:
    return TrainResult(
        model=final,
        model_dir=model_dir,
        checkpoint=run.record.last_ckpt,
        steps=run.position.step,
        tokens_seen=run.position.tokens_seen,
        seconds=time.monotonic() - run.started,
        train_loss=run.record.last_train,
        val_loss=run.record.last_val,
        history=run.record.history,
        text_gain=run.record.last_gain,
        text_gain_history=run.record.gains,
    )
