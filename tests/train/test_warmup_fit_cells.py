"""Warm-up lessons before the paper's first (--warmup) and memory sized per episode
(--fit-cells)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from dnc_qa.errors import DncQaError
from dnc_qa.graphs.lesson_tables import load_curriculum
from dnc_qa.tasks.copy import CopyTask
from dnc_qa.tasks.traversal import TraversalTask
from dnc_qa.train.config import CurriculumConfig, ModelConfig, TrainConfig
from dnc_qa.train.curriculum import Curriculum
from dnc_qa.train.evaluate import cells_for
from dnc_qa.train.model_factory import build_model
from dnc_qa.train.trainer import train


def test_warmup_lessons_are_smaller_than_the_first() -> None:
    first = load_curriculum("traversal").lessons[0]
    warm = TraversalTask().warmup_lessons(2)
    assert [w.current.index for w in warm] == [-2, -1]
    assert warm[0].current.nodes == (2, 4) and warm[0].current.out_degree == (1, 2)
    for w in warm:
        assert w.current.nodes[1] <= first.nodes[1] and w.current.length == first.length
    assert warm[0].current.nodes[1] <= warm[1].current.nodes[1]
    batch = warm[0].sample(4, torch.Generator().manual_seed(0))
    assert batch.inputs.shape[1] <= 4 * 2 + 2  # at most 8 triples, one query, one answer


def test_curriculum_prepends_warmup_and_rejects_bit_tasks() -> None:
    c = Curriculum(TraversalTask(), CurriculumConfig(warmup=2))
    assert len(c.lessons) == 16 and c.lessons[0].current.index == -2
    assert c.lessons[2].current.index == 1
    with pytest.raises(DncQaError):
        Curriculum(CopyTask(), CurriculumConfig(warmup=1))
    with pytest.raises(DncQaError):
        TrainConfig(curriculum=CurriculumConfig(warmup=9)).validate()


def test_cells_for() -> None:
    dnc = build_model(ModelConfig(kind="dnc", num_cells=16), 92, 90)
    assert cells_for(dnc, 40) == 40 and cells_for(dnc, 5) == 16 and cells_for(dnc, 5, 8) == 8
    assert cells_for(build_model(ModelConfig(kind="lstm"), 92, 90), 40) is None


def test_training_with_fit_cells_and_warmup(tmp_path: Path) -> None:
    config = TrainConfig(
        task="traversal",
        model=ModelConfig(kind="dnc", hidden_size=16, num_cells=4, cell_width=8, fit_cells=True),
        curriculum=CurriculumConfig(warmup=1, eval_every=2, eval_episodes=4),
        batch_size=2, steps=3, log_every=1, final_eval_episodes=2, device="cpu",
    )
    result = train(config, tmp_path / "run", show_progress=False)
    assert result.steps == 3 and result.lessons == 15


def test_eval_cli_lesson_and_fit_cells(tmp_path: Path, capsys) -> None:
    import json

    from dnc_qa.cli.main import main

    config = TrainConfig(
        task="traversal",
        model=ModelConfig(kind="dnc", hidden_size=8, num_cells=4, cell_width=8, fit_cells=True),
        curriculum=CurriculumConfig(eval_every=100, eval_episodes=2),
        batch_size=2, steps=1, final_eval_episodes=1, device="cpu",
    )
    train(config, tmp_path / "run", show_progress=False)
    main(["eval", str(tmp_path / "run"), "--lesson", "2", "--episodes", "3", "--json",
          "--device", "cpu"])
    summary = json.loads(capsys.readouterr().out)
    assert summary["lesson"] == 2 and summary["num_cells"] == "per episode"
    assert summary["episodes"] == 3
    with pytest.raises(SystemExit) as exc:
        main(["eval", str(tmp_path / "run"), "--lesson", "15"])
    assert exc.value.code == 2
    assert "1..14" in capsys.readouterr().err


def test_graph_batches_run_in_memory_groups_in_training_and_evaluation(
        tmp_path: Path, monkeypatch) -> None:
    """With --fit-cells a graph task's batches run through run_fitted (memories sized per
    group of rows, at least --num-cells), in training and in evaluation; without it, never."""
    from dataclasses import replace

    from dnc_qa.models import trimmed

    seen: list[tuple[bool, int, int]] = []
    real = trimmed.run_fitted

    def spy(model, inputs, lengths, minimum):
        seen.append((model.training, minimum, len(lengths)))
        return real(model, inputs, lengths, minimum)

    monkeypatch.setattr(trimmed, "run_fitted", spy)
    monkeypatch.setattr("dnc_qa.train.evaluate.run_fitted", spy)
    config = TrainConfig(
        task="traversal",
        model=ModelConfig(kind="dnc", hidden_size=16, num_cells=4, cell_width=8, fit_cells=True),
        curriculum=CurriculumConfig(eval_every=2, eval_episodes=4),
        batch_size=2, steps=2, log_every=1, final_eval_episodes=3, device="cpu",
    )
    train(config, tmp_path / "run", show_progress=False)
    assert seen.count((True, 4, 2)) == 2  # the two training batches
    assert (False, 4, 4) in seen and (False, 4, 3) in seen  # the evaluation, the final one
    seen.clear()
    train(replace(config, model=replace(config.model, fit_cells=False)), tmp_path / "plain",
          show_progress=False)
    assert not seen
