"""Checkpoints: round trip, atomic replacement, safe loading, clear errors."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
import torch

from dnc_qa.errors import CheckpointError
from dnc_qa.tasks.base import MetricCounts
from dnc_qa.train import checkpoint as C
from dnc_qa.train.config import ModelConfig, TrainConfig
from dnc_qa.train.model_factory import build_model


def small_config() -> TrainConfig:
    return TrainConfig(model=ModelConfig(hidden_size=8, num_cells=4, cell_width=4), steps=3)


def make_state(step: int, model: torch.nn.Module) -> C.TrainerState:
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    model(torch.ones(2, 3, 10))[0].sum().backward()
    opt.step()
    return C.TrainerState(
        step=step,
        lesson=2,
        episodes=48,
        elapsed_s=1.5,
        rng_states=torch.Generator().manual_seed(1).get_state().unsqueeze(0),
        optimizer=opt.state_dict(),
        window=MetricCounts(3, 1, 9, 4, 7, 2.5),
    )


@pytest.fixture
def model() -> torch.nn.Module:
    torch.manual_seed(0)
    return build_model(small_config().model, 10, 8)


def test_round_trip(tmp_path: Path, model) -> None:
    config = small_config()
    state = make_state(7, model)
    path = C.save_checkpoint(tmp_path, model, config, state)
    assert path == tmp_path / "checkpoints" / "step-00000007"
    assert C.latest_checkpoint(tmp_path) == path
    loaded = C.load_checkpoint(tmp_path)  # a run folder resolves to its latest checkpoint
    assert loaded.config == config
    assert loaded.trainer.step == 7 and loaded.trainer.lesson == 2
    assert loaded.trainer.window == state.window
    assert torch.equal(loaded.trainer.rng_states, state.rng_states)
    for k, v in model.state_dict().items():
        assert torch.equal(loaded.weights[k], v)
    other = build_model(config.model, 10, 8)
    C.load_weights(other, loaded)
    opt = torch.optim.Adam(other.parameters(), lr=1e-3)
    opt.load_state_dict(loaded.trainer.optimizer)
    # the trainer file is plain data: torch.load(weights_only=True) reads it
    assert torch.load(path / C.TRAINER, weights_only=True)["step"] == 7


def test_prunes_old_checkpoints(tmp_path: Path, model) -> None:
    for step in range(1, 6):
        C.save_checkpoint(tmp_path, model, small_config(), make_state(step, model), keep=2)
    names = sorted(p.name for p in (tmp_path / "checkpoints").glob("step-*"))
    assert names == ["step-00000004", "step-00000005"]


def test_write_killed_midway_leaves_previous_checkpoint(tmp_path: Path, model, monkeypatch) -> None:
    C.save_checkpoint(tmp_path, model, small_config(), make_state(1, model))

    def dies(*args, **kwargs):
        raise KeyboardInterrupt("killed while writing")

    monkeypatch.setattr(C.torch, "save", dies)
    with pytest.raises(KeyboardInterrupt):
        C.save_checkpoint(tmp_path, model, small_config(), make_state(2, model))
    assert C.latest_checkpoint(tmp_path).name == "step-00000001"
    assert not (tmp_path / "checkpoints" / "step-00000002").exists()
    assert C.load_checkpoint(tmp_path).trainer.step == 1


def test_missing_checkpoint(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="not found"):
        C.load_checkpoint(tmp_path / "nope")
    with pytest.raises(CheckpointError, match="no checkpoint"):
        C.load_checkpoint(tmp_path)


@pytest.mark.parametrize("name", [C.WEIGHTS, C.TRAINER, C.CONFIG])
def test_corrupt_file_is_named(tmp_path: Path, model, name: str) -> None:
    path = C.save_checkpoint(tmp_path, model, small_config(), make_state(3, model))
    data = (path / name).read_bytes()
    (path / name).write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError) as info:
        C.load_checkpoint(path)
    assert str(path / name) in str(info.value)
    assert "corrupt" in str(info.value)


class Evil:
    """Unpickling this would run code; a safe loader must refuse it."""

    def __reduce__(self):
        return (Path.touch, (Path("/tmp/dncqa-pwned"),))


def test_pickled_objects_are_refused(tmp_path: Path, model) -> None:
    path = C.save_checkpoint(tmp_path, model, small_config(), make_state(3, model))
    with open(path / C.TRAINER, "wb") as fh:
        pickle.dump({"step": Evil()}, fh, protocol=2)
    marker = Path("/tmp/dncqa-pwned")
    marker.unlink(missing_ok=True)
    with pytest.raises(CheckpointError, match="trainer.pt"):
        C.load_checkpoint(path)
    assert not marker.exists()


def test_weights_that_do_not_fit(tmp_path: Path, model) -> None:
    C.save_checkpoint(tmp_path, model, small_config(), make_state(3, model))
    loaded = C.load_checkpoint(tmp_path)
    bigger = build_model(ModelConfig(hidden_size=16, num_cells=4, cell_width=4), 10, 8)
    with pytest.raises(CheckpointError, match="does not fit"):
        C.load_weights(bigger, loaded)
