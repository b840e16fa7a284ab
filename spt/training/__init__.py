"""Training: the config dataclass, the data pool and the Accelerate trainer of every stage."""

from .config import STAGES, TrainConfig, parse_args
from .detector_check import DetectorReport, DetectorTooWeak
from .trainer import NonFiniteLossError, Trainer, latest_checkpoint, train

__all__ = [
    "STAGES",
    "DetectorReport",
    "DetectorTooWeak",
    "NonFiniteLossError",
    "TrainConfig",
    "Trainer",
    "latest_checkpoint",
    "parse_args",
    "train",
]
