"""Scoring a model on fresh episodes of a task."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import torch
from torch import nn

from dnc_qa.errors import CheckpointError, DncQaError
from dnc_qa.models.trimmed import lengths_for, run_fitted, run_trimmed
from dnc_qa.tasks.base import MetricCounts, RolloutTask, Task
from dnc_qa.tasks.registry import make_task
from dnc_qa.train.checkpoint import (
    CONFIG,
    TRAINER,
    WEIGHTS,
    Checkpoint,
    load_checkpoint,
    load_weights,
)
from dnc_qa.train.model_factory import build_model


def cells_for(model: nn.Module, steps: int, minimum: int | None = None) -> int | None:
    """Memory cells for an episode of ``steps`` steps: ``max(minimum or the built size,
    steps)`` (a graph episode writes at most one triple per step); ``None`` for models
    without an external memory."""
    memory = getattr(model, "memory", None)
    built = getattr(memory, "num_cells", None)
    if built is None:
        return None
    return max(minimum or int(built), int(steps))


@torch.no_grad()
def evaluate_counts(
    model: nn.Module,
    task: Task,
    episodes: int,
    generator: torch.Generator,
    device: torch.device,
    batch_size: int = 64,
    num_cells: int | None = None,
    fit_cells: bool = False,
) -> MetricCounts:
    """Run ``episodes`` episodes drawn from ``generator`` and count right answers.

    ``num_cells`` runs a memory network with a memory of that many cells (its weights do not
    depend on the size); ``None`` keeps the size it was built with. ``fit_cells`` sizes the
    memory to the episodes (at least ``num_cells`` or the built size): a graph task's rows run
    in groups of similar lengths, each with a memory of its longest row
    (:func:`~dnc_qa.models.trimmed.run_fitted`, as in training), any other task's batch with a
    memory of its length (:func:`cells_for`); a task that rolls its episodes out itself
    (shortest path) is asked to fit them.
    """
    if fit_cells and isinstance(task, RolloutTask) and "fit_cells" in getattr(
            task, "__dataclass_fields__", {}):
        task = replace(task, fit_cells=True)  # type: ignore[type-var]
    was_training = model.training
    model.eval()
    total = MetricCounts()
    try:
        left = episodes
        while left > 0:
            n = min(batch_size, left)
            if isinstance(task, RolloutTask):
                _, counts = task.rollout(model, n, generator, device, train=False)
                total = total + counts
            else:
                batch = task.sample(n, generator).to(device)
                lengths = lengths_for(task, batch.mask)
                minimum = cells_for(model, 0, num_cells) if fit_cells else None
                if minimum is not None and lengths is not None:  # as in training
                    logits = run_fitted(model, batch.inputs, lengths, minimum)
                else:
                    cells = num_cells
                    if fit_cells:
                        cells = cells_for(model, batch.inputs.shape[1], num_cells)
                    state = model.initial_state(n, device=device, num_cells=cells)
                    logits = run_trimmed(model, batch.inputs, lengths, state)
                total = total + task.score(logits, batch)
            left -= n
    finally:
        model.train(was_training)
    return total


def shipped_folder(path: Path | str) -> Path | None:
    """The folder of a shipped model (``dnc_qa/pretrained/NAME`` or any folder with weights
    and a ``config.json`` but no trainer state), given its folder or its name."""
    p = Path(path)
    if not p.exists() and len(p.parts) == 1:
        p = Path(__file__).resolve().parent.parent / "pretrained" / p.name
    if p.is_file() and p.name == WEIGHTS:
        p = p.parent
    if p.is_dir() and (p / WEIGHTS).is_file() and (p / CONFIG).is_file() and not (
            p / TRAINER).exists():
        return p
    return None


def load_shipped(folder: Path) -> Checkpoint:
    """A shipped model folder as a :class:`Checkpoint` (the trainer state is empty: step 0;
    its ``config.json`` is the training config plus the ``"app"`` object the app reads)."""
    import json

    from safetensors import SafetensorError
    from safetensors.torch import load_file

    from dnc_qa.train.checkpoint import TrainerState, check_finite
    from dnc_qa.train.config import TrainConfig

    config_file = folder / CONFIG
    try:
        data = json.loads(config_file.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise ValueError("expected a JSON object")
        data.pop("app", None)
        config = TrainConfig.from_dict(data)
        config.validate()
    except (ValueError, TypeError, OSError, DncQaError) as exc:
        reason = " ".join(str(exc).split())[:200] or type(exc).__name__
        raise CheckpointError(f"corrupt model file {config_file}: {reason}") from None
    try:
        weights = load_file(str(folder / WEIGHTS))
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        reason = " ".join(str(exc).split())[:200]
        raise CheckpointError(f"corrupt model file {folder / WEIGHTS}: {reason}") from None
    check_finite(weights, folder / WEIGHTS)
    return Checkpoint(folder, config, weights, TrainerState())


def load_trained_model(path: Path | str, device: torch.device) -> tuple[nn.Module, Checkpoint]:
    """Rebuild the model a checkpoint (or a shipped model's folder or name) describes and
    load its weights onto ``device``."""
    shipped = shipped_folder(path)
    checkpoint = load_shipped(shipped) if shipped is not None else load_checkpoint(path)
    config = checkpoint.config
    try:
        task = make_task(config.task, **config.task_options())
        model = build_model(config.model, task.input_size, task.output_size)
    except (ValueError, DncQaError) as exc:
        raise CheckpointError(f"{checkpoint.path / CONFIG}: {exc}") from exc
    load_weights(model, checkpoint)
    return model.to(device), checkpoint
