"""Training data from a token cache: seeded crops of `seq_len` frames, padding masks, collate."""

from __future__ import annotations

import random

import datasets
import numpy as np
import pyarrow as pa
import torch
from datasets.distributed import split_dataset_by_node

from maskgmt.data.corpus.short_captions import (
    FIELDS,
    PARTIAL_KEEP,
    choose_attributes,
    missing_fields,
    short_caption,
)


class CodesDataset(torch.utils.data.Dataset):
    """Clips of a token cache as fixed-length training examples.

    Item i is `{"codes": long[K, seq_len], "padding_mask": bool[seq_len] (True = real frame),
    "text": str, "bpm": float, "frame_offset": int}` plus `"text_embeds": float32[L, D]` when
    `text_embeds=True`. `bpm` is the manifest's `tempo_bpm` (NaN when the cache has none) and
    `frame_offset` the crop's first frame within the clip: the tempo clock's inputs.
    A clip longer than `seq_len` frames gives a crop: random (training) or its first `seq_len`
    frames (`random_crop=False`, for validation). A shorter clip is padded with code 0 and
    `padding_mask` False.

    With `partial_captions=p`, a share p of the items swaps its caption for a short one that
    names a random subset of the clip's attributes (`short_captions.py`; the cache needs the
    corpus's attribute columns). Such a caption has no cached embedding, so `text_embeds` must
    be False, and a caption that names no tempo gives `bpm` NaN, as generation reads it.

    Random crops depend only on (seed, epoch, index), never on worker count, batch order or how
    many items were drawn before, so a run resumed at any step sees exactly the crops it would
    have seen; call `set_epoch(epoch)` at the start of every epoch.
    """

    def __init__(
        self,
        dataset: datasets.Dataset,
        *,
        seq_len: int,
        random_crop: bool = True,
        seed: int = 0,
        n_q: int | None = None,
        text_embeds: bool = False,
        partial_captions: float = 0.0,
    ) -> None:
        if seq_len < 1:
            raise ValueError(f"seq_len must be >= 1 frame, got {seq_len}")
        if "codes" not in dataset.column_names:
            raise ValueError(
                f"dataset has no 'codes' column (columns: {dataset.column_names}); "
                "pass the dataset returned by maskgmt.data.load_cache"
            )
        if text_embeds and "text_embeds" not in dataset.column_names:
            raise ValueError(
                "text_embeds=True but the cache has no text embeddings; prepare it with "
                "--text-encoder NAME, or encode captions during training instead"
            )
        columns = ["codes", "text"] + (["text_embeds"] if text_embeds else [])
        columns += _check_partial(dataset.column_names, partial_captions, text_embeds)
        self.has_bpm = "tempo_bpm" in dataset.column_names
        columns += ["tempo_bpm"] if self.has_bpm else []
        self._rows = dataset.with_format("arrow", columns=columns)
        # K from the data, not the schema: caches written with variable-length lists work too.
        levels = _matrix(self._rows[0].column("codes")).shape[0] if len(dataset) else n_q or 1
        if n_q is not None and not 1 <= n_q <= levels:
            raise ValueError(f"n_q must be in [1, {levels}] (levels in the cache), got {n_q}")
        self.seq_len = seq_len
        self.random_crop = random_crop
        self.seed = seed
        self.epoch = 0
        self.levels = levels  # K stored in the cache
        self.n_q = n_q or levels  # K returned
        self.text_embeds = text_embeds
        self.partial_captions = partial_captions

    def set_epoch(self, epoch: int) -> None:
        """Choose the crops of `epoch` (part of the crop seed)."""
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self._rows)

    def __getitem__(self, index: int) -> dict:
        index = int(index)  # samplers may hand over numpy or tensor ints
        row = self._rows[index]  # a one-row pyarrow Table, memory-mapped
        codes = _matrix(row.column("codes"))[: self.n_q]  # (K, T) int16
        start = self._crop_start(index, codes.shape[-1])
        codes = codes[:, start : start + self.seq_len]
        real = codes.shape[-1]
        out = torch.zeros(self.n_q, self.seq_len, dtype=torch.long)  # (K, seq_len)
        out[:, :real] = torch.from_numpy(codes.astype(np.int64))
        padding_mask = torch.zeros(self.seq_len, dtype=torch.bool)
        padding_mask[:real] = True
        text, bpm = row.column("text")[0].as_py(), self._bpm(row)
        if self.partial_captions > 0:
            text, bpm = self._maybe_partial(row, index, text, bpm)
        item = {
            "codes": out,
            "padding_mask": padding_mask,
            "text": text,
            "bpm": bpm,
            "frame_offset": start,
        }
        if self.text_embeds:
            emb = _matrix(row.column("text_embeds"))  # (L, D) float16
            item["text_embeds"] = torch.from_numpy(emb.astype(np.float32))
        return item

    def _bpm(self, row: pa.Table) -> float:
        value = row.column("tempo_bpm")[0].as_py() if self.has_bpm else None
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0
        return float(value) if ok else float("nan")

    def _maybe_partial(self, row: pa.Table, index: int, text: str, bpm: float) -> tuple[str, float]:
        """(caption, bpm): the row's own, or with probability `partial_captions` a short caption
        naming a random subset of its attributes (seeded by seed, epoch and index)."""
        rng = np.random.default_rng([self.seed, self.epoch, index, 1])
        if rng.random() >= self.partial_captions:
            return text, bpm
        words = random.Random(int(rng.integers(2**62)))
        fields = {name: row.column(name)[0].as_py() for name in FIELDS}
        names = choose_attributes(words, PARTIAL_KEEP)
        return short_caption(fields, names, words), (bpm if "tempo" in names else float("nan"))

    def _crop_start(self, index: int, num_frames: int) -> int:
        if not self.random_crop or num_frames <= self.seq_len:
            return 0
        rng = np.random.default_rng([self.seed, self.epoch, index])
        return int(rng.integers(0, num_frames - self.seq_len + 1))


def _check_partial(columns: list[str], share: float, text_embeds: bool) -> list[str]:
    """The attribute columns partial captions read ([] when `share` is 0); ValueError when
    `share` is out of [0, 1], when the cache lacks them, or with cached embeddings."""
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"partial_captions must be a share in [0, 1], got {share}")
    if share == 0.0:
        return []
    if text_embeds:
        raise ValueError("partial_captions needs captions encoded during training, not cached "
                         "text_embeds; pass text_embeds=False")  # fmt: skip
    missing = missing_fields(columns)
    if missing:
        raise ValueError(
            f"partial_captions needs the corpus's attribute columns, and the cache lacks "
            f"{missing}; prepare the cache from a `maskgmt corpus build` manifest, or set "
            "data.partial_captions to 0"
        )
    return list(FIELDS)


def collate(items: list[dict]) -> dict:
    """CodesDataset items -> the training batch.

    `{"codes": long[B, K, T], "padding_mask": bool[B, T], "texts": list[str], "bpm": float32[B],
    "frame_offset": long[B]}` plus, when items carry them, `"text_embeds": float32[B, L, D]`
    (zero-padded to the longest caption) and `"text_mask": bool[B, L]` (True = real token).
    """
    if not items:
        raise ValueError("collate got an empty list of items")
    batch = {
        "codes": torch.stack([it["codes"] for it in items]),
        "padding_mask": torch.stack([it["padding_mask"] for it in items]),
        "texts": [it["text"] for it in items],
    }
    if "bpm" in items[0]:
        batch["bpm"] = torch.tensor([it["bpm"] for it in items], dtype=torch.float32)
        batch["frame_offset"] = torch.tensor([it["frame_offset"] for it in items])
    if "text_embeds" in items[0]:
        lengths = [it["text_embeds"].shape[0] for it in items]
        dim = items[0]["text_embeds"].shape[-1]
        embeds = torch.zeros(len(items), max(lengths), dim)  # (B, L, D)
        mask = torch.zeros(len(items), max(lengths), dtype=torch.bool)  # (B, L)
        for b, (it, n) in enumerate(zip(items, lengths, strict=True)):
            embeds[b, :n] = it["text_embeds"]
            mask[b, :n] = True
        batch["text_embeds"], batch["text_mask"] = embeds, mask
    return batch


def split_for_rank(dataset: datasets.Dataset, *, rank: int, world_size: int) -> datasets.Dataset:
    """The contiguous 1/world_size of `dataset` that process `rank` trains on (no copy).

    Sizes differ by at most one row; drop the last batch or pad if every rank must take the
    same number of steps.
    """
    if world_size < 1 or not 0 <= rank < world_size:
        raise ValueError(f"need 0 <= rank < world_size, got rank={rank}, world_size={world_size}")
    return split_dataset_by_node(dataset, rank=rank, world_size=world_size)


def _matrix(column: pa.ChunkedArray) -> np.ndarray:
    """The nested-list value of a one-row column (K lists of T codes, or L lists of D floats)
    as a 2-D array, read straight from the memory-mapped Arrow buffers."""
    outer = column.combine_chunks().flatten()  # the row's inner lists
    values = outer.flatten().to_numpy(zero_copy_only=False)
    return values.reshape(len(outer), -1 if len(outer) else 0)
