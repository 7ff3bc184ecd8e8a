"""Tiny training setups that run in a second or two (imported by the tests here)."""

from __future__ import annotations

import sys

from dnc_qa.train.config import CurriculumConfig, ModelConfig, OptimConfig, TrainConfig

TINY_ARGS = [
    "--hidden-size", "16", "--num-cells", "8", "--cell-width", "8", "--batch-size", "4",
    "--threads", "1", "--no-progress", "--final-eval-episodes", "40", "--eval-episodes", "16",
]
"""``dncqa train`` options for a model small enough to train a few hundred steps quickly."""


def tiny_config(**overrides) -> TrainConfig:
    config = TrainConfig(
        task="copy",
        model=ModelConfig(hidden_size=16, num_cells=8, cell_width=8),
        optim=OptimConfig(lr=3e-3),
        curriculum=CurriculumConfig(eval_every=10, eval_episodes=16, threshold=0.5),
        batch_size=4,
        steps=30,
        device="cpu",
        log_every=5,
        checkpoint_every=10,
        final_eval_episodes=40,
    )
    for key, value in overrides.items():
        setattr(config, key, value)
    return config


def cli(*args: str) -> list[str]:
    """A command line that runs ``dncqa`` with this interpreter."""
    return [sys.executable, "-m", "dnc_qa.cli.main", *args]
