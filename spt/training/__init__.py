"""Training: the config dataclass, the data pool and the Accelerate trainer of every stage."""

from .config import STAGES, TrainConfig, parse_args
from .trainer import NonFiniteLossError, Trainer, latest_checkpoint, train

__all__ = ["STAGES", "NonFiniteLossError", "TrainConfig", "Trainer", "latest_checkpoint", "parse_args", "train"]
