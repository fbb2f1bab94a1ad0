"""Which clips train and validate, in what order: the held-out split and a resumable batch order.

Every random choice here (and in `CodesDataset`'s crops) is a pure function of (seed, epoch,
clip index), never of a global RNG or of worker scheduling, so a resumed run sees exactly the
batches it would have seen.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from maskgmt.data.corpus.counterfactual import counterfactual_captions
from maskgmt.data.dataset import CodesDataset, collate
from maskgmt.model.contrast import ContrastBatch
from maskgmt.model.cues import CUE_NAMES
from maskgmt.model.key_cue import captions_key


def split_indices(
    dataset: Any, *, val_fraction: float, max_val_clips: int, seed: int
) -> tuple[list[int], list[int]]:
    """(train indices, held-out indices) of a cache's rows.

    Holds out `val_fraction` of the clips (at least 1, at most `max_val_clips`, and never all).
    When the cache has a `piece` column (the corpus writes it), whole pieces are held out, so
    validation never sees another rendering of a training piece.
    """
    n = len(dataset)
    want = min(max_val_clips, max(1, round(val_fraction * n))) if val_fraction > 0 else 0
    want = min(want, n - 1)
    if want <= 0:
        return list(range(n)), []
    rng = np.random.default_rng([seed, 7919])
    columns = getattr(dataset, "column_names", None) or []
    if "piece" in columns:
        pieces = [str(p) for p in dataset["piece"]]
        order = sorted(set(pieces))
        rng.shuffle(order)
        held: set[str] = set()
        count = 0
        for piece in order:
            if count >= want:
                break
            size = pieces.count(piece)
            if count + size >= n:  # keep at least one piece for training
                continue
            held.add(piece)
            count += size
        val = [i for i, p in enumerate(pieces) if p in held]
    else:
        val = sorted(rng.permutation(n)[:want].tolist())
    val_set = set(val)
    return [i for i in range(n) if i not in val_set], val


@dataclass(frozen=True, kw_only=True)
class BatchOrder:
    """Which clips each process trains on, batch by batch, epoch by epoch.

    Epoch e shuffles the training indices with seed (seed, e); process r of W takes every W-th
    slot, so all processes run the same number of batches (the tail that does not fill a global
    batch is dropped; a corpus smaller than one global batch is repeated to fill one).
    """

    indices: tuple[int, ...]  # training rows of the cache
    batch_size: int  # clips per process per batch
    seed: int
    rank: int = 0
    world_size: int = 1

    @property
    def batches_per_epoch(self) -> int:
        return max(1, len(self.indices) // (self.batch_size * self.world_size))

    def epoch(self, epoch: int) -> list[list[int]]:
        """This process's batches of `epoch`, each a list of cache row indices."""
        perm = np.random.default_rng([self.seed, epoch]).permutation(len(self.indices))
        global_batch = self.batch_size * self.world_size
        need = self.batches_per_epoch * global_batch
        perm = np.resize(perm, need) if need > len(perm) else perm[:need]
        mine = perm[self.rank :: self.world_size]  # (batches_per_epoch * batch_size,)
        rows = [self.indices[j] for j in mine]
        return [
            rows[b * self.batch_size : (b + 1) * self.batch_size]
            for b in range(self.batches_per_epoch)
        ]


def iterate_batches(
    items: CodesDataset, order: BatchOrder, *, epoch: int, start: int, num_workers: int
) -> Iterator[dict[str, Any]]:
    """Collated batches of `epoch` from batch number `start` on (the rest of an epoch)."""
    items.set_epoch(epoch)  # before the loader hands `items` to its workers
    loader = torch.utils.data.DataLoader(
        items,
        batch_sampler=order.epoch(epoch)[start:],
        collate_fn=collate,
        num_workers=num_workers,
        # Its own generator: creating a loader iterator would otherwise draw from the global
        # torch RNG, and a resumed run creates its iterator at a different point.
        generator=torch.Generator().manual_seed(order.seed * 100_003 + epoch),
    )
    yield from loader


def fixed_batch(items: CodesDataset, rows: Sequence[int]) -> dict[str, Any]:
    """One collated batch of the given cache rows, in order (validation and samples)."""
    return collate([items[i] for i in rows])


def model_inputs(
    batch: dict[str, Any], encoder: Any | None, device: torch.device, contrast: str = ""
) -> dict[str, Any]:
    """A collated batch -> `MaskGmt.compute_loss` keyword arguments on `device` (captions are
    encoded by `encoder` unless the batch holds cached embeddings). contrast: an attribute of
    `COUNTERFACTUALS` ("mode"): its rewritten captions go in as `contrast` (needs `encoder`)."""
    if "text_embeds" in batch:
        emb, mask = batch["text_embeds"], batch["text_mask"]
    else:
        with torch.no_grad():
            emb, mask = encoder.encode(batch["texts"])
    inputs = {
        "music_ids": batch["codes"].to(device),
        "padding_mask": batch["padding_mask"].to(device),
        "text_embeds": emb.to(device=device, dtype=torch.float32),
        "text_mask": mask.to(device),
    }
    # The tempo clock's and key cue's inputs (a model without them ignores them): the manifest's
    # tempo and the crop's offset, and the key the caption names, as generation reads it.
    if "bpm" in batch:
        inputs["bpm"] = batch["bpm"].to(device)
        inputs["frame_offset"] = batch["frame_offset"].to(device)
    inputs["key"] = captions_key(batch["texts"], device)
    if contrast:
        inputs["contrast"] = contrast_batch(batch["texts"], contrast, encoder, device)
    return inputs


def contrast_batch(
    texts: list[str], attribute: str, encoder: Any, device: torch.device
) -> ContrastBatch:
    """The counterfactual captions of `texts` for `attribute`, encoded, as `compute_loss` takes
    them; clips whose caption does not name the attribute are left out."""
    other, rows = counterfactual_captions(texts, attribute)
    with torch.no_grad():
        emb, mask = encoder.encode(other)
    return ContrastBatch(
        emb=emb.to(device=device, dtype=torch.float32), mask=mask.to(device),
        rows=torch.tensor(rows, device=device), key=captions_key(other, device),
    )  # fmt: skip


def cue_kwargs(inputs: dict[str, Any]) -> dict[str, torch.Tensor]:
    """The cue keywords (bpm, frame_offset, key) of `model_inputs`' output."""
    return {name: inputs[name] for name in CUE_NAMES if name in inputs}
