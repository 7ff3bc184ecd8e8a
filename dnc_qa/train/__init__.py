"""Training: configuration, the training loop, checkpoints, evaluation and DDP helpers.

Only the configuration is imported with the package (it needs no torch, so the command line
can read the options declared on its fields); the training loop and checkpoints are imported
on first use of a name below.
"""

from __future__ import annotations

import importlib
from typing import Any

from dnc_qa.train.config import CurriculumConfig, ModelConfig, OptimConfig, TrainConfig

_LAZY = {
    "Checkpoint": "checkpoint",
    "TrainerState": "checkpoint",
    "load_checkpoint": "checkpoint",
    "save_checkpoint": "checkpoint",
    "Trainer": "trainer",
    "TrainingDiverged": "trainer",
    "TrainResult": "trainer",
    "train": "trainer",
}
"""Names imported from a submodule (which imports torch) when first used."""

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


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    globals()[name] = value
    return value
