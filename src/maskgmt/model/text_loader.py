"""Registry through which `MaskGmt(texts=...)` gets a text encoder without importing `text/`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

_loader: Callable[[str], Any] | None = None


def set_text_encoder_loader(fn: Callable[[str], Any] | None) -> None:
    """Register `fn(name) -> TextEncoder` (done by `maskgmt/__init__.py`); None unregisters."""
    global _loader
    _loader = fn


def load_registered_text_encoder(name: str) -> Any:
    """Build the text encoder called `name` through the registered loader."""
    if _loader is None:
        raise ValueError(
            f"texts: no text encoder is attached and no loader is registered to build {name!r}; "
            "import maskgmt (which registers one), pass text_encoder= to MaskGmt, "
            "or pass text_embeds= and text_mask= instead of texts="
        )
    return _loader(name)
