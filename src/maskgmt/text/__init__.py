"""Text encoders: captions -> frozen token embeddings emb[B, L, D] with mask[B, L]."""

from __future__ import annotations

from maskgmt.text.base import TextEncoder, check_texts
from maskgmt.text.loader import clear_text_encoder_cache, load_text_encoder
from maskgmt.text.minilm import MiniLMTextEncoder, minilm_folder
from maskgmt.text.t5 import T5TextEncoder

__all__ = [
    "MiniLMTextEncoder",
    "T5TextEncoder",
    "TextEncoder",
    "check_texts",
    "clear_text_encoder_cache",
    "load_text_encoder",
    "minilm_folder",
]
