"""A rollback whose latest checkpoint is damaged falls back to the one before it."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from dnc_qa.errors import CheckpointError
from dnc_qa.train.checkpoint import latest_checkpoint
from dnc_qa.train.config import ModelConfig, TrainConfig
from dnc_qa.train.trainer import Trainer, train


def _config(steps: int) -> TrainConfig:
    return TrainConfig(task="copy", steps=steps, batch_size=2, checkpoint_every=2,
                       keep_checkpoints=3, final_eval_episodes=2,
                       model=ModelConfig(hidden_size=8, num_cells=4, cell_width=4))


def _poison(checkpoint: Path) -> None:
    weights = load_file(str(checkpoint / "model.safetensors"))
    name = sorted(weights)[0]
    weights[name] = torch.full_like(weights[name], float("nan"))
    save_file(weights, str(checkpoint / "model.safetensors"))


def test_rollback_skips_a_non_finite_latest_checkpoint(tmp_path: Path) -> None:
    out = tmp_path / "run"
    train(_config(4), out, show_progress=False)
    trainer = Trainer(_config(6), out, resume=True, show_progress=False)
    assert trainer.state.step == 4
    _poison(latest_checkpoint(out))
    trainer.rollback()
    assert trainer.state.step == 2 and trainer.state.rollbacks == 1
    assert all(torch.isfinite(p).all() for p in trainer.model.parameters())


def test_rollback_with_no_usable_checkpoint_names_the_latest(tmp_path: Path) -> None:
    out = tmp_path / "run"
    train(replace(_config(4), keep_checkpoints=1), out, show_progress=False)
    trainer = Trainer(_config(6), out, resume=True, show_progress=False)
    latest = latest_checkpoint(out)
    _poison(latest)
    with pytest.raises(CheckpointError, match=latest.name):
        trainer.rollback()
