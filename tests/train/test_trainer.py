"""The training loop in-process: logging, checkpoints, curriculum, NaN guard."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from train_helpers import tiny_config

from dnc_qa.errors import DncQaError
from dnc_qa.tasks.copy import CopyTask
from dnc_qa.train.checkpoint import latest_checkpoint, load_checkpoint
from dnc_qa.train.config import CurriculumConfig
from dnc_qa.train.curriculum import Curriculum
from dnc_qa.train.metrics_log import read_metrics
from dnc_qa.train.trainer import Trainer, TrainingDiverged, train


@pytest.mark.parametrize("kind", ["dnc", "ntm", "lstm"])
def test_short_run_logs_and_checkpoints(tmp_path: Path, kind: str) -> None:
    config = tiny_config()
    config.model.kind = kind
    result = train(config, tmp_path, show_progress=False)
    assert result.steps == 30 and result.episodes == 120
    assert result.stop_reason == "steps"
    assert 0 <= result.final.accuracy <= 1 and result.final.episodes == 40
    records = read_metrics(tmp_path / "metrics.jsonl")
    train_steps = [r["step"] for r in records if r["event"] == "train"]
    assert train_steps == [5, 10, 15, 20, 25, 30]
    assert [r["step"] for r in records if r["event"] == "eval"] == [10, 20, 30]
    assert records[-1]["event"] == "final"
    loaded = load_checkpoint(tmp_path)
    assert loaded.trainer.step == 30 and loaded.config.model.kind == kind


def test_existing_run_needs_resume(tmp_path: Path) -> None:
    train(tiny_config(steps=5), tmp_path, show_progress=False)
    with pytest.raises(DncQaError, match="--resume"):
        Trainer(tiny_config(steps=5), tmp_path, show_progress=False)


def test_in_process_resume_matches(tmp_path: Path) -> None:
    """Resume in the same process continues the same run. Bit-exactness is checked across
    fresh processes (test_resume_and_ddp.py): here earlier tests may already have started
    MKL or the fused link kernels in their non-deterministic modes, so floats are compared
    to rounding."""
    full = train(tiny_config(steps=30), tmp_path / "a", show_progress=False)
    train(tiny_config(steps=15), tmp_path / "b", show_progress=False)
    resumed = train(tiny_config(steps=30), tmp_path / "b", resume=True, show_progress=False)
    assert resumed.steps == full.steps and resumed.episodes == full.episodes
    assert resumed.final.loss == pytest.approx(full.final.loss, rel=1e-3)

    def records(p: Path) -> list[dict]:
        return [r for r in read_metrics(p / "metrics.jsonl") if r["event"] in {"train", "eval"}]

    a, b = records(tmp_path / "a"), records(tmp_path / "b")
    assert [(r["event"], r["step"], r["lesson"]) for r in a] == [
        (r["event"], r["step"], r["lesson"]) for r in b
    ]
    for x, y in zip(a, b, strict=True):
        assert y["loss"] == pytest.approx(x["loss"], rel=1e-3)


def test_curriculum_mixes_earlier_lessons() -> None:
    cur = Curriculum(CopyTask(), CurriculumConfig(earlier_fraction=0.5), lesson=3)
    batch = cur.sample(200, torch.Generator().manual_seed(0))
    lengths = batch.mask.sum(1)
    short = (lengths <= 15).float().mean().item()
    # half the episodes come from lessons 1-3 (lengths <= 15), the rest from U[1, 20]
    assert 0.55 < short < 0.95
    assert not cur.update(0.5) and cur.lesson == 3
    cur.lesson = 0
    assert cur.update(0.95) and cur.lesson == 1


def test_curriculum_advances_during_training(tmp_path: Path) -> None:
    config = tiny_config(steps=30)
    config.curriculum.threshold = 0.0  # every evaluation passes
    result = train(config, tmp_path, show_progress=False)
    lessons = [r for r in read_metrics(tmp_path / "metrics.jsonl") if r["event"] == "lesson"]
    assert [r["lesson"] for r in lessons] == [1, 2, 3]
    assert result.lesson == 3


def test_checkpoints_keep_the_lesson_and_resume_continues_there(tmp_path: Path) -> None:
    config = tiny_config(steps=30)
    config.curriculum.threshold = 0.0  # every evaluation passes
    config.checkpoint_every = 10
    train(config, tmp_path, show_progress=False)
    saved = load_checkpoint(latest_checkpoint(tmp_path))
    assert saved.trainer.lesson == 3
    config.steps = 40
    resumed = Trainer(config, tmp_path, resume=True, show_progress=False)
    assert resumed.curriculum.lesson == 3
    assert resumed.run().lesson == 3


def nan_loss_on_calls(monkeypatch, bad_calls: set[int]) -> None:
    original = CopyTask.loss
    calls = {"n": 0}

    def loss(self, logits, batch):
        calls["n"] += 1
        value = original(self, logits, batch)
        return value * float("nan") if calls["n"] in bad_calls else value

    monkeypatch.setattr(CopyTask, "loss", loss)


def test_non_finite_batches_are_skipped(tmp_path: Path, monkeypatch) -> None:
    nan_loss_on_calls(monkeypatch, {3, 4})
    result = train(tiny_config(steps=10), tmp_path, show_progress=False)
    records = read_metrics(tmp_path / "metrics.jsonl")
    assert [r["event"] for r in records].count("skip") == 2
    assert result.steps == 10
    model_params = load_checkpoint(tmp_path).weights.values()
    assert all(torch.isfinite(p).all() for p in model_params)


def test_repeated_failures_roll_back(tmp_path: Path, monkeypatch) -> None:
    # steps 1-12 fine (checkpoint at 10), then 3 bad batches in a row -> back to step 10
    nan_loss_on_calls(monkeypatch, {13, 14, 15})
    config = tiny_config(steps=20, max_bad_batches=3)
    result = train(config, tmp_path, show_progress=False)
    records = read_metrics(tmp_path / "metrics.jsonl")
    rollbacks = [r for r in records if r["event"] == "rollback"]
    assert len(rollbacks) == 1
    assert rollbacks[0]["step"] == 10 and rollbacks[0]["from_step"] == 12
    assert result.steps == 20
    assert load_checkpoint(tmp_path).trainer.rollbacks == 1


def test_gives_up_after_max_rollbacks(tmp_path: Path, monkeypatch) -> None:
    nan_loss_on_calls(monkeypatch, set(range(3, 1000)))
    config = tiny_config(steps=20, max_bad_batches=2, max_rollbacks=2)
    with pytest.raises(TrainingDiverged):
        train(config, tmp_path, show_progress=False)
    assert latest_checkpoint(tmp_path) is not None


def test_time_budget(tmp_path: Path) -> None:
    config = tiny_config(steps=None, minutes=0.02)
    result = train(config, tmp_path, show_progress=False)
    assert result.stop_reason == "time" and result.steps > 0
    assert 1.0 <= result.elapsed_s < 10


@pytest.mark.parametrize("task", ["traversal", "shortest_path"])
def test_graph_tasks_train(tmp_path: Path, task: str) -> None:
    config = tiny_config(task=task, steps=4, batch_size=2, final_eval_episodes=4)
    config.curriculum.eval_every = 2
    config.curriculum.eval_episodes = 4
    config.curriculum.threshold = 0.0  # advance at every evaluation: lesson 2 mixes lesson 1
    result = train(config, tmp_path, show_progress=False)
    assert result.steps == 4 and result.lesson == 2
    records = read_metrics(tmp_path / "metrics.jsonl")
    assert all(r["loss"] > 0 for r in records if r["event"] == "train")
