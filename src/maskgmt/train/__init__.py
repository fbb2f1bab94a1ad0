"""Training: config presets, the accelerate loop, checkpoints with exact resume, EMA, logging."""

from maskgmt.train.config import (
    PRESETS,
    DataConfig,
    LogConfig,
    ModelConfig,
    OptimConfig,
    TrainConfig,
    config_from_dict,
    get_preset,
    load_config,
)
from maskgmt.train.loop import TrainResult, train

__all__ = [
    "PRESETS",
    "DataConfig",
    "LogConfig",
    "ModelConfig",
    "OptimConfig",
    "TrainConfig",
    "TrainResult",
    "config_from_dict",
    "get_preset",
    "load_config",
    "train",
]
