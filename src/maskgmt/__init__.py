"""maskgmt: text-to-music with a masked generative transformer over neural-codec tokens."""

from __future__ import annotations

from typing import TYPE_CHECKING

from maskgmt.model.text_loader import set_text_encoder_loader

if TYPE_CHECKING:
    from maskgmt.model import MaskGmt, MaskGmtTransformer, TokenCritic

__all__ = ["MaskGmt", "MaskGmtTransformer", "TokenCritic"]
__version__ = "0.1.0"


def _load_text_encoder(name: str):
    # Wired here, above both layers, so that model/ never imports text/.
    from maskgmt.text import load_text_encoder

    return load_text_encoder(name)


set_text_encoder_loader(_load_text_encoder)


def __getattr__(name: str):
    # The public model classes load torch on first use, not on `import maskgmt`.
    if name in __all__:
        from maskgmt import model

        return getattr(model, name)
    raise AttributeError(f"module 'maskgmt' has no attribute {name!r}")
