"""maskgmt.model: the masked generative transformer over codes[B, K, T], in pure torch.

Names are imported on first use, so `import maskgmt` (and `maskgmt --help`) does not pay for
torch until a model is actually needed.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from maskgmt.model.text_loader import set_text_encoder_loader

if TYPE_CHECKING:
    from maskgmt.model.config import BackboneConfig, MaskGmtConfig
    from maskgmt.model.critic import TokenCritic
    from maskgmt.model.debug import debug_model
    from maskgmt.model.loss import MaskGmtLoss
    from maskgmt.model.maskgmt import MaskGmt
    from maskgmt.model.plan import default_steps
    from maskgmt.model.transformer import MaskGmtTransformer

_WHERE = {
    "BackboneConfig": "config",
    "MaskGmtConfig": "config",
    "TokenCritic": "critic",
    "debug_model": "debug",
    "default_steps": "plan",
    "MaskGmtLoss": "loss",
    "MaskGmt": "maskgmt",
    "MaskGmtTransformer": "transformer",
}

__all__ = [
    "BackboneConfig",
    "MaskGmt",
    "MaskGmtConfig",
    "MaskGmtLoss",
    "MaskGmtTransformer",
    "TokenCritic",
    "debug_model",
    "default_steps",
    "set_text_encoder_loader",
]


def __getattr__(name: str):
    if name in _WHERE:
        value = getattr(importlib.import_module(f"maskgmt.model.{_WHERE[name]}"), name)
        globals()[name] = value  # later lookups skip this hook
        return value
    raise AttributeError(f"module 'maskgmt.model' has no attribute {name!r}")
