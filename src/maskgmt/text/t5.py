"""T5 encoder token states (the paper's text conditioner), from a hub id or a local folder."""

from __future__ import annotations

import functools
import logging
import os
from pathlib import Path

import torch

from maskgmt.text.hf_encoder import HFTextEncoder, check_float_dtype
from maskgmt.text.sources import WrongModelError, as_local_folder, load_pretrained

logger = logging.getLogger(__name__)

T5_MODEL_TYPES = ("t5",)
DEFAULT_MAX_LENGTH = 256  # tokens; captions are short, and T5 has no hard position limit
FROM_CONFIG_NAME = "t5:random-init"  # not loadable by name: save_pretrained(dir), then pass dir


class T5TextEncoder(HFTextEncoder):
    """Frozen `transformers.T5EncoderModel`: captions -> last hidden states emb[B, L, D].

    `name_or_path` is any T5 hub id ("t5-small", "t5-base" (D=768), "google/flan-t5-base") or a
    folder written by `save_pretrained`. The loaded model is cached per process by
    (source, device, dtype), so building a second encoder for the same source is free.
    `dtype` is the weights' dtype (bfloat16 halves memory on GPU; float16 is known to overflow
    in T5); `encode` always returns float32 on `device`.
    """

    def __init__(
        self,
        name_or_path: str | os.PathLike = "t5-base",
        *,
        max_length: int = DEFAULT_MAX_LENGTH,
        device: str | torch.device = "cpu",
        dtype: torch.dtype = torch.float32,
        batch_size: int = 64,
        progress: bool = True,
    ) -> None:
        device = torch.device(device)
        _check_dtype(dtype)
        folder = as_local_folder(name_or_path)
        source = str(folder) if folder is not None else str(name_or_path)
        model, tokenizer = _load_t5(source, str(device), dtype)
        self._setup(
            name=source,
            model=model,
            tokenizer=tokenizer,
            max_length=max_length,
            batch_size=batch_size,
            progress=progress,
            device=device,
        )

    @classmethod
    def from_config(
        cls,
        config,
        tokenizer,
        *,
        seed: int = 0,
        max_length: int = DEFAULT_MAX_LENGTH,
        device: str | torch.device = "cpu",
        dtype: torch.dtype = torch.float32,
        batch_size: int = 64,
        progress: bool = True,
    ) -> T5TextEncoder:
        """A randomly initialised T5 encoder of `config` (a `transformers.T5Config`) with the
        given tokenizer, for tests and offline experiments. Weights depend only on `seed`; the
        global RNG is left untouched. Nothing loads it by accident: its `name` is not loadable;
        `save_pretrained(dir)` and pass `dir` to reload it."""
        from transformers import T5Config, T5EncoderModel

        if not isinstance(config, T5Config):
            raise ValueError(
                f"`config` must be a transformers.T5Config, got {type(config).__name__}; "
                "build one with T5Config(vocab_size=..., d_model=..., num_layers=..., ...)."
            )
        vocab = len(tokenizer)
        if config.vocab_size < vocab:
            raise ValueError(
                f"`config.vocab_size`={config.vocab_size} is smaller than the tokenizer's "
                f"{vocab} tokens; set T5Config(vocab_size={vocab}, ...)."
            )
        device = torch.device(device)
        _check_dtype(dtype)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = T5EncoderModel(config)
        model.to(device=device, dtype=dtype)
        encoder = cls.__new__(cls)
        encoder._setup(
            name=FROM_CONFIG_NAME,
            model=model,
            tokenizer=tokenizer,
            max_length=max_length,
            batch_size=batch_size,
            progress=progress,
            device=device,
        )
        return encoder

    def save_pretrained(self, folder: str | os.PathLike) -> Path:
        """Write config.json, model.safetensors and the tokenizer files to `folder` (created);
        `T5TextEncoder(folder)` and `load_text_encoder(str(folder))` load it back."""
        folder = Path(folder).expanduser()
        folder.mkdir(parents=True, exist_ok=True)
        self.model.save_pretrained(folder)
        self.tokenizer.save_pretrained(folder)
        return folder.resolve()


@functools.lru_cache(maxsize=4)
def _load_t5(source: str, device: str, dtype: torch.dtype):
    """(T5EncoderModel on device in dtype, tokenizer) for a resolved folder or hub id."""
    from transformers import AutoConfig, AutoTokenizer, T5EncoderModel

    def load(where: str, local_files_only: bool):
        config = AutoConfig.from_pretrained(where, local_files_only=local_files_only)
        if config.model_type not in T5_MODEL_TYPES:
            raise WrongModelError(
                f"{where!r} holds a {config.model_type!r} model, not T5; pass a T5 id or folder "
                "(e.g. 't5-base'), or use load_text_encoder(...), which picks the encoder."
            )
        model = T5EncoderModel.from_pretrained(
            where, config=config, local_files_only=local_files_only
        )
        tokenizer = AutoTokenizer.from_pretrained(where, local_files_only=local_files_only)
        return model, tokenizer

    model, tokenizer = load_pretrained(load, source, what="T5 text encoder")
    model.to(device=device, dtype=dtype)
    return model, tokenizer


def _check_dtype(dtype: torch.dtype) -> None:
    check_float_dtype(dtype)
    if dtype == torch.float16:
        logger.warning("T5 in float16 can overflow to inf/NaN; prefer torch.bfloat16.")
