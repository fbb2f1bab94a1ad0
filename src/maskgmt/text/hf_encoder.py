"""Shared `encode` for Hugging Face token encoders: frozen, batched, length-sorted, truncating."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import torch

from maskgmt.progress import tqdm
from maskgmt.text.base import check_texts

logger = logging.getLogger(__name__)


def check_float_dtype(dtype: torch.dtype) -> None:
    """Raise a ValueError unless `dtype` is a floating torch.dtype (the weights' dtype)."""
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise ValueError(
            f"`dtype` must be a floating torch.dtype, got {dtype!r}; "
            "use torch.float32 (CPU) or torch.bfloat16 (GPU)."
        )


class HFTextEncoder:
    """A frozen transformers encoder + tokenizer behind the `TextEncoder` protocol.

    Subclasses load the model and call `_setup`; `encode` is shared. The model is put in eval
    mode with every parameter frozen, so cached copies can be shared between instances.
    """

    name: str
    dim: int
    max_length: int
    batch_size: int
    progress: bool
    device: torch.device
    model: torch.nn.Module
    tokenizer: object

    def _setup(
        self,
        *,
        name: str,
        model: torch.nn.Module,
        tokenizer: object,
        max_length: int,
        batch_size: int,
        progress: bool,
        device: torch.device,
        max_positions: int | None = None,
    ) -> None:
        """Attach a loaded model and tokenizer; `max_positions` caps `max_length` where the model
        has learned absolute positions (BERT), None where it has not (T5)."""
        if isinstance(max_length, bool) or not isinstance(max_length, int) or max_length < 2:
            raise ValueError(
                f"`max_length` must be an int >= 2 (room for the special tokens), got "
                f"{max_length!r}; 64 or more suits captions."
            )
        if max_positions is not None and max_length > max_positions:
            raise ValueError(
                f"`max_length`={max_length} exceeds the {max_positions} positions the model "
                f"{name!r} was trained with; pass max_length <= {max_positions}."
            )
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"`batch_size` must be a positive int, got {batch_size!r}.")
        model.eval()
        model.requires_grad_(False)
        # Right padding keeps real tokens at positions 0..n-1, so mask[b, :n] is all True.
        tokenizer.padding_side = "right"
        self.name = name
        self.model = model
        self.tokenizer = tokenizer
        self.dim = int(model.config.hidden_size)  # T5 maps hidden_size to d_model
        self.max_length = max_length
        self.batch_size = batch_size
        self.progress = progress
        self.device = device
        self._warned_truncation = False

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(name={self.name!r}, dim={self.dim}, "
            f"max_length={self.max_length}, device={str(self.device)!r})"
        )

    # ---------------------------------------------------------------- encode

    def encode(
        self, texts: Sequence[str], *, progress: bool | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """texts (B strings) -> (emb[B, L, D] float32, mask[B, L] bool) on `self.device`.

        L is the longest tokenized caption (special tokens included), at most `max_length`;
        mask is True on real tokens (right padding) and emb is zero where mask is False.
        """
        states = self.encode_unpadded(texts, progress=progress)
        length = max(s.shape[0] for s in states)
        emb = torch.zeros(len(states), length, self.dim, dtype=torch.float32, device=self.device)
        mask = torch.zeros(len(states), length, dtype=torch.bool, device=self.device)
        for b, s in enumerate(states):
            emb[b, : s.shape[0]] = s
            mask[b, : s.shape[0]] = True
        return emb, mask

    def encode_unpadded(
        self, texts: Sequence[str], *, progress: bool | None = None
    ) -> list[torch.Tensor]:
        """texts (B strings) -> B tensors of shape (L_b, D) float32, one per caption, no padding.

        For caching a corpus: one long caption does not pad every other caption to its length.
        Captions run in sub-batches of `batch_size`, grouped by length so short captions are not
        padded to long ones, and come back in the caller's order. A progress bar shows when
        there is more than one sub-batch (`progress=False`, here or at construction, hides it).
        """
        texts = check_texts(texts)
        if self.model.training:  # a caller's .train() must not switch dropout on here
            self.model.eval()
        # Sort by character length: a cheap proxy for token length that cuts padding waste.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        chunks = [order[i : i + self.batch_size] for i in range(0, len(order), self.batch_size)]
        show = self.progress if progress is None else progress
        bar = tqdm(
            chunks, desc=f"encode {self.name}", unit="batch", disable=not show or len(chunks) < 2
        )
        states: list[torch.Tensor] = [torch.empty(0)] * len(texts)
        truncated: list[str] = []
        for chunk in bar:
            chunk_states, chunk_truncated = self._encode_chunk([texts[i] for i in chunk])
            for i, s in zip(chunk, chunk_states, strict=True):
                states[i] = s
            truncated += chunk_truncated
        if truncated:
            self._warned_truncation = True
            logger.warning(
                "%s: %d of %d caption(s) are longer than max_length=%d tokens and were "
                "truncated (first: %.80r). Raise max_length to keep them whole; "
                "this is logged once per encoder.",
                self.name,
                len(truncated),
                len(texts),
                self.max_length,
                truncated[0],
            )
        return states

    def _encode_chunk(self, texts: list[str]) -> tuple[list[torch.Tensor], list[str]]:
        """One sub-batch -> (per-caption states, each (L_b, D) float32 without padding; the
        captions that were truncated, checked only until the first truncation is logged)."""
        batch = self.tokenizer(
            texts,
            padding="longest",
            truncation=True,
            max_length=self.max_length,
            return_tensors="pt",
        )
        input_ids = batch["input_ids"].to(self.device)  # (b, L)
        attention_mask = batch["attention_mask"].to(self.device)  # (b, L)
        lengths = attention_mask.sum(dim=1).tolist()
        truncated = [] if self._warned_truncation else self._truncated(texts, lengths)
        # no_grad, not inference_mode: inference tensors cannot be saved for backward, and the
        # caller's cross-attention must be able to use these states while training.
        with torch.no_grad():
            hidden = self.model(input_ids=input_ids, attention_mask=attention_mask)
            hidden = hidden.last_hidden_state.float()  # (b, L, D)
        return [hidden[b, :n] for b, n in enumerate(lengths)], truncated

    def _truncated(self, texts: list[str], lengths: list[int]) -> list[str]:
        """The captions whose tokens did not fit in `max_length`."""
        # Only captions that filled max_length can have been cut; re-tokenize just those.
        full = [t for t, n in zip(texts, lengths, strict=True) if n >= self.max_length]
        if not full:
            return []
        untruncated = self.tokenizer(full, truncation=False, verbose=False)["input_ids"]
        return [t for t, ids in zip(full, untruncated, strict=True) if len(ids) > self.max_length]
