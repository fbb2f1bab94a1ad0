"""`load_text_encoder`: one name, hub id or folder -> the right `TextEncoder`."""

from __future__ import annotations

import json
import os
from pathlib import Path

from maskgmt.text.base import TextEncoder
from maskgmt.text.minilm import MINILM_NAME, MiniLMTextEncoder, _load_bert
from maskgmt.text.sources import looks_like_hub_id
from maskgmt.text.t5 import T5_MODEL_TYPES, T5TextEncoder, _load_t5

MINILM_ALIASES = (MINILM_NAME, "all-minilm-l6-v2", "sentence-transformers/all-minilm-l6-v2")
ACCEPTED = (
    "'minilm' (offline default, D=384), 't5-small', 't5-base' (the paper's, D=768), "
    "'t5-large', any T5 hub id such as 'google/flan-t5-base', or a local folder written by "
    "save_pretrained holding a T5 or BERT/MiniLM model"
)


def load_text_encoder(name_or_path: str | os.PathLike, **kwargs) -> TextEncoder:
    """Build a text encoder from a name, hub id or folder; `kwargs` go to its constructor
    (max_length, device, dtype, batch_size, progress). `load_text_encoder(enc.name)` rebuilds
    `enc`. Unknown names raise ValueError listing the accepted ones."""
    if not isinstance(name_or_path, str | os.PathLike) or not str(name_or_path).strip():
        raise ValueError(
            f"`name_or_path` must be a non-empty string or path, got {name_or_path!r}; "
            f"accepted: {ACCEPTED}."
        )
    key = str(name_or_path).strip()
    if key.lower() in MINILM_ALIASES:
        return MiniLMTextEncoder(**kwargs)
    path = Path(key).expanduser()
    if path.exists() or isinstance(name_or_path, os.PathLike) or not looks_like_hub_id(key):
        if not path.is_dir():
            raise FileNotFoundError(
                f"Text encoder folder {key!r} does not exist (or is not a folder); "
                f"accepted: {ACCEPTED}."
            )
        model_type = _folder_model_type(path)
        if model_type in T5_MODEL_TYPES:
            return T5TextEncoder(path, **kwargs)
        if model_type == "bert":
            return MiniLMTextEncoder(path=path, **kwargs)
        raise ValueError(
            f"Folder {key!r} holds a {model_type!r} model; text encoders exist for T5 and "
            f"BERT/MiniLM. Accepted: {ACCEPTED}."
        )
    if "t5" in key.rsplit("/", 1)[-1].lower():
        return T5TextEncoder(key, **kwargs)
    raise ValueError(f"Unknown text encoder {key!r}; accepted: {ACCEPTED}.")


def clear_text_encoder_cache() -> None:
    """Forget the per-process cache of loaded models (e.g. after a folder's files changed)."""
    _load_bert.cache_clear()
    _load_t5.cache_clear()


def _folder_model_type(folder: Path) -> str:
    config_file = folder / "config.json"
    try:
        return str(json.loads(config_file.read_text())["model_type"])
    except FileNotFoundError:
        raise FileNotFoundError(
            f"{config_file} is missing; a text encoder folder is written by save_pretrained "
            "(config.json, model.safetensors, tokenizer files)."
        ) from None
    except (json.JSONDecodeError, KeyError, TypeError) as err:
        raise ValueError(
            f"{config_file} is not a transformers config with a 'model_type' ({err!r}); "
            "re-save the model with save_pretrained."
        ) from None
