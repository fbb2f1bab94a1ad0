"""Held-out validation: masked-token loss and accuracy of every codec level on fixed clips."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import torch

from maskgmt.data.dataset import CodesDataset
from maskgmt.train.data import fixed_batch, model_inputs
from maskgmt.train.logs import LevelMeter


@contextlib.contextmanager
def only_level(model: Any, level: int) -> Iterator[None]:
    """Within the block, `model.compute_loss` trains `level` for every sample.

    Training picks one random level per sample, so a small held-out set would leave most
    levels unmeasured; forcing each level in turn measures all K on the same clips.
    """
    weights = model.level_weights  # (K,) chance of training each level
    saved = weights.clone()
    weights.zero_()
    weights[level] = 1.0
    try:
        yield
    finally:
        weights.copy_(saved)


@torch.no_grad()
def validate(
    model: Any,
    items: CodesDataset,
    rows: Sequence[int],
    *,
    text_encoder: Any | None,
    batch_size: int,
    max_batches: int,
    seed: int,
    autocast: Callable[[], contextlib.AbstractContextManager],
) -> LevelMeter:
    """Sums of per-level loss/accuracy over up to `max_batches` batches of `rows`, each level
    scored on every clip with the same seeded masks at every call (so steps compare).

    `model` is the unwrapped `MaskGmt`; it is put in eval mode (no caption dropout) and back.
    """
    k = model.transformer.config.n_q
    meter = LevelMeter(k, device=model.device)
    was_training = model.training
    model.eval()
    try:
        for b in range(min(max_batches, math.ceil(len(rows) / batch_size))):
            batch = fixed_batch(items, rows[b * batch_size : (b + 1) * batch_size])
            inputs = model_inputs(batch, text_encoder, model.device)
            for level in range(k):
                gen = torch.Generator(device=model.device).manual_seed(seed * 1009 + level)
                with only_level(model, level), autocast():
                    out = model.compute_loss(**inputs, generator=gen)
                meter.add(out.level_loss, out.level_acc, out.level_count)
    finally:
        model.train(was_training)
    return meter
