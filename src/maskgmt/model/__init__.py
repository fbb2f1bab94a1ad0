"""maskgmt.model: the masked generative transformer over codes[B, K, T], in pure torch."""

from maskgmt.model.config import BackboneConfig, MaskGmtConfig
from maskgmt.model.critic import TokenCritic
from maskgmt.model.generate import default_steps
from maskgmt.model.loss import MaskGmtLoss
from maskgmt.model.maskgmt import MaskGmt
from maskgmt.model.text_loader import set_text_encoder_loader
from maskgmt.model.transformer import MaskGmtTransformer

__all__ = [
    "BackboneConfig",
    "MaskGmt",
    "MaskGmtConfig",
    "MaskGmtLoss",
    "MaskGmtTransformer",
    "TokenCritic",
    "default_steps",
    "set_text_encoder_loader",
]
