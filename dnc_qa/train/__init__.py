"""Training: configuration, the training loop, checkpoints, evaluation and DDP helpers."""

from dnc_qa.train.checkpoint import Checkpoint, TrainerState, load_checkpoint, save_checkpoint
from dnc_qa.train.config import CurriculumConfig, ModelConfig, OptimConfig, TrainConfig
from dnc_qa.train.trainer import Trainer, TrainingDiverged, TrainResult, train

__all__ = [
    "Checkpoint",
    "CurriculumConfig",
    "ModelConfig",
    "OptimConfig",
    "TrainConfig",
    "TrainResult",
    "Trainer",
    "TrainerState",
    "TrainingDiverged",
    "load_checkpoint",
    "save_checkpoint",
    "train",
]
