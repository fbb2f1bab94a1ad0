"""Audio samples during training: generate for held-out captions, decode, log to TensorBoard."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import torch

from maskgmt.data.dataset import CodesDataset
from maskgmt.train.data import fixed_batch, model_inputs
from maskgmt.train.logs import RunLog


class AudioSampler:
    """Renders the same few held-out captions at each call, so samples compare across steps.

    The codec is loaded on first use from the cache's codec identity (or given ready); if it
    cannot be loaded, sampling is switched off with one warning rather than stopping training.
    """

    def __init__(
        self,
        *,
        items: CodesDataset,
        rows: Sequence[int],
        codec_identity: dict[str, Any],
        codec: Any | None,
        text_encoder: Any | None,
        steps: Sequence[int],
        seed: int,
    ) -> None:
        self.items = items
        self.rows = list(rows)
        self.codec_identity = codec_identity
        self.codec = codec
        self.text_encoder = text_encoder
        self.steps = list(steps)
        self.seed = seed
        self.disabled = not self.rows

    def __call__(self, model: Any, log: RunLog, step: int) -> None:
        """Generate codes[B, K, T] (T = crop length), decode to wav[B, C, S], log audio + images."""
        if self.disabled or not self._codec_ready():
            return
        batch = fixed_batch(self.items, self.rows)
        inputs = model_inputs(batch, self.text_encoder, model.device)
        k = model.transformer.config.n_q
        steps = (self.steps + [self.steps[-1]] * k)[:k]  # the last value repeats upwards
        was_training = model.training
        model.eval()
        codes = model.generate(
            text_embeds=inputs["text_embeds"],
            text_mask=inputs["text_mask"],
            num_frames=inputs["music_ids"].shape[-1],
            steps=steps,
            bpm=inputs.get("bpm"),
            key=inputs.get("key"),
            generator=torch.Generator(device=model.device).manual_seed(self.seed),
        )
        model.train(was_training)
        wav = self.codec.decode(codes.cpu())
        for j, text in enumerate(batch["texts"]):
            log.sample(f"samples/{j}", wav[j], self.codec.sample_rate, step)
            log.text(f"samples/{j}/caption", text, step)
        log.flush()

    def _codec_ready(self) -> bool:
        if self.codec is not None:
            return True
        try:
            from maskgmt.codecs import load_codec

            self.codec = load_codec(self.codec_identity["source"])
        except Exception as e:  # noqa: BLE001 - samples are optional: say why once, keep training
            print(f"warning: no audio samples in TensorBoard; the codec did not load: {e}",
                  file=sys.stderr)  # fmt: skip
            self.disabled = True
        return self.codec is not None
