"""maskgmt: text-to-music with a masked generative transformer over neural-codec tokens."""

from __future__ import annotations

from maskgmt.model import MaskGmt, MaskGmtTransformer, TokenCritic, set_text_encoder_loader

__all__ = ["MaskGmt", "MaskGmtTransformer", "TokenCritic"]
__version__ = "0.1.0"


def _load_text_encoder(name: str):
    # Wired here, above both layers, so that model/ never imports text/.
    from maskgmt.text import load_text_encoder

    return load_text_encoder(name)


set_text_encoder_loader(_load_text_encoder)
