"""Checkpoints: written atomically, loaded without unpickling anything.

A checkpoint is a directory ``<out>/checkpoints/step-00000100/`` holding

* ``model.safetensors`` -- the model's weights;
* ``trainer.pt`` -- step, curriculum lesson, optimizer state, RNG states, running counts,
  saved with ``torch.save`` as plain containers of tensors and numbers, read back with
  ``torch.load(weights_only=True)``;
* ``config.json`` -- the :class:`~dnc_qa.train.config.TrainConfig`.

The directory is filled under a temporary name and then renamed (``os.replace``), and the
pointer file ``<out>/checkpoints/latest`` is rewritten the same way, so a reader never sees a
half-written checkpoint even if the writer is killed.

Loading checks everything before anything is used: every floating-point tensor (weights and
optimizer state) must be finite (a NaN checkpoint is refused, naming the tensor, so a resume
or a rollback never restarts from it), and ``config.json`` must describe a valid run (types
and ranges, :meth:`~dnc_qa.train.config.TrainConfig.validate`).  A ``trainer.pt`` holding
anything but plain containers of tensors and numbers is refused without being run.
"""

from __future__ import annotations

import json
import os
import shutil
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import Tensor, nn

from dnc_qa.durable import fsync_path, write_text_atomic
from dnc_qa.errors import CheckpointError, DncQaError
from dnc_qa.tasks.base import MetricCounts
from dnc_qa.train.config import TrainConfig

WEIGHTS = "model.safetensors"
TRAINER = "trainer.pt"
CONFIG = "config.json"
LATEST = "latest"
FORMAT_VERSION = 1


@dataclass
class TrainerState:
    """Everything besides the weights that a resumed run needs to continue exactly.

    Attributes:
        step: optimizer steps done.
        lesson: index of the current curriculum lesson.
        episodes: training episodes seen (all processes together).
        elapsed_s: training wall time so far (resumed runs included).
        rng_states: each process's data-generator state, ``[world_size, S]`` uint8.
        optimizer: ``optimizer.state_dict()``.
        window: metric counts of the current logging window.
        bad_batches: consecutive skipped (non-finite) batches.
        rollbacks: rollbacks to a checkpoint so far.
    """

    step: int = 0
    lesson: int = 0
    episodes: int = 0
    elapsed_s: float = 0.0
    rng_states: Tensor = field(default_factory=lambda: torch.zeros(0, 0, dtype=torch.uint8))
    optimizer: dict[str, Any] = field(default_factory=dict)
    window: MetricCounts = field(default_factory=MetricCounts)
    bad_batches: int = 0
    rollbacks: int = 0

    def to_payload(self) -> dict[str, Any]:
        """Plain containers only, so ``torch.load(weights_only=True)`` can read them."""
        return {
            "format_version": FORMAT_VERSION,
            "step": self.step,
            "lesson": self.lesson,
            "episodes": self.episodes,
            "elapsed_s": self.elapsed_s,
            "rng_states": self.rng_states,
            "optimizer": self.optimizer,
            "window": self.window.as_tensor(),
            "bad_batches": self.bad_batches,
            "rollbacks": self.rollbacks,
        }

    @classmethod
    def from_payload(cls, data: dict[str, Any]) -> TrainerState:
        if data.get("format_version") != FORMAT_VERSION:
            raise ValueError(f"unsupported format_version {data.get('format_version')!r}")
        return cls(
            step=int(data["step"]),
            lesson=int(data["lesson"]),
            episodes=int(data["episodes"]),
            elapsed_s=float(data["elapsed_s"]),
            rng_states=data["rng_states"],
            optimizer=data["optimizer"],
            window=MetricCounts.from_tensor(data["window"]),
            bad_batches=int(data["bad_batches"]),
            rollbacks=int(data["rollbacks"]),
        )


class Checkpoint(NamedTuple):
    """A loaded checkpoint."""

    path: Path  # the checkpoint directory
    config: TrainConfig
    weights: dict[str, Tensor]
    trainer: TrainerState


def checkpoint_root(out_dir: Path) -> Path:
    return Path(out_dir) / "checkpoints"


def save_checkpoint(
    out_dir: Path,
    model: nn.Module,
    config: TrainConfig,
    trainer: TrainerState,
    keep: int = 3,
) -> Path:
    """Write ``<out>/checkpoints/step-XXXXXXXX/`` atomically, point ``latest`` at it, and
    delete all but the newest ``keep`` checkpoints. Returns the checkpoint directory."""
    root = checkpoint_root(out_dir)
    root.mkdir(parents=True, exist_ok=True)
    final = root / f"step-{trainer.step:08d}"
    tmp = root / f".{final.name}.tmp-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    weights = {k: v.detach().to("cpu").contiguous().clone() for k, v in model.state_dict().items()}
    save_file(weights, str(tmp / WEIGHTS), metadata={"format": "dnc_qa", "step": str(trainer.step)})
    torch.save(trainer.to_payload(), tmp / TRAINER)
    (tmp / CONFIG).write_text(config.to_json(), encoding="utf-8")
    for name in (WEIGHTS, TRAINER, CONFIG):
        with open(tmp / name, "rb") as fh:
            os.fsync(fh.fileno())
    if final.exists():  # a rollback re-reaches a step: replace the old one
        shutil.rmtree(final)
    os.replace(tmp, final)
    fsync_path(root)
    write_text_atomic(root / LATEST, final.name + "\n")
    _prune(root, keep, final)
    return final


def _prune(root: Path, keep: int, newest: Path) -> None:
    steps = sorted(p for p in root.glob("step-*") if p.is_dir())
    for old in steps[:-keep]:
        if old != newest:
            shutil.rmtree(old, ignore_errors=True)


def latest_checkpoint(out_dir: Path) -> Path | None:
    """The directory ``<out>/checkpoints/latest`` names, or ``None`` when there is none."""
    root = checkpoint_root(out_dir)
    pointer = root / LATEST
    if not pointer.is_file():
        return None
    name = pointer.read_text(encoding="utf-8").strip()
    path = root / name
    if not name or not path.is_dir():
        raise CheckpointError(f"{pointer} names a missing checkpoint {name!r}")
    return path


def resolve_checkpoint(path: Path | str) -> Path:
    """Accept a checkpoint directory, its ``model.safetensors``, or a run's output directory."""
    p = Path(path)
    if not p.exists():
        raise CheckpointError(f"checkpoint not found: {p}")
    if p.is_file():
        if p.name != WEIGHTS:
            raise CheckpointError(f"{p} is not a checkpoint (expected a folder or {WEIGHTS})")
        return p.parent
    if (p / WEIGHTS).is_file():
        return p
    latest = latest_checkpoint(p)
    if latest is None:
        raise CheckpointError(f"no checkpoint in {p} (no {WEIGHTS} and no checkpoints/latest)")
    return latest


def non_finite(tensors: Any, prefix: str = "") -> str | None:
    """The name of the first floating-point tensor in ``tensors`` (a tensor, or dicts / lists /
    tuples of them, e.g. an optimizer state) holding NaN or an infinity; ``None`` if all are
    finite."""
    if isinstance(tensors, Tensor):
        if (tensors.is_floating_point() or tensors.is_complex()) and not bool(
            torch.isfinite(tensors).all()
        ):
            return prefix or "tensor"
        return None
    if isinstance(tensors, dict):
        items = tensors.items()
    elif isinstance(tensors, (list, tuple)):
        items = enumerate(tensors)
    else:
        if isinstance(tensors, float) and not torch.isfinite(torch.tensor(tensors)):
            return prefix
        return None
    for key, value in items:
        found = non_finite(value, f"{prefix}.{key}" if prefix else str(key))
        if found is not None:
            return found
    return None


def check_finite(tensors: Any, where: Path | str, what: str = "tensor") -> None:
    """Raise :class:`CheckpointError` naming ``where`` and the first non-finite tensor."""
    bad = non_finite(tensors)
    if bad is not None:
        raise CheckpointError(f"{where}: {what} {bad!r} holds NaN or infinite values; this "
                              "checkpoint cannot be used (resume from an earlier one)")


_PICKLE_ADVICE = ("weights_only", "Weights only load failed")


def _trainer_reason(exc: BaseException) -> str:
    """A one-line reason for an unreadable ``trainer.pt``, without PyTorch's advice to load
    it unsafely (which would run whatever the file holds)."""
    text = " ".join(str(exc).split())
    if any(marker in text for marker in _PICKLE_ADVICE) or "pickle" in type(exc).__name__.lower():
        return ("it holds Python objects other than tensors, numbers and plain containers; "
                "refused without running them")
    return text[:200] or type(exc).__name__


def load_checkpoint(path: Path | str) -> Checkpoint:
    """Load a checkpoint safely: safetensors for weights, ``weights_only`` torch.load, JSON.

    Raises:
        CheckpointError: the checkpoint is missing or any of its files is unreadable; the
            message names the file.
    """
    ckpt = resolve_checkpoint(path)
    files = {name: ckpt / name for name in (WEIGHTS, TRAINER, CONFIG)}
    for f in files.values():
        if not f.is_file():
            raise CheckpointError(f"checkpoint file missing: {f}")
    try:
        weights = load_file(str(files[WEIGHTS]))
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        reason = " ".join(str(exc).split())[:200]
        raise CheckpointError(f"corrupt checkpoint file {files[WEIGHTS]}: {reason}") from None
    check_finite(weights, files[WEIGHTS])
    try:
        with warnings.catch_warnings():  # torch warns about pickle protocols on stderr
            warnings.simplefilter("ignore")
            payload = torch.load(files[TRAINER], map_location="cpu", weights_only=True)
        if not isinstance(payload, dict):
            raise ValueError(f"expected a dict, found {type(payload).__name__}")
        trainer = TrainerState.from_payload(payload)
    except Exception as exc:  # any unpickling / format failure means a bad file
        raise CheckpointError(
            f"corrupt checkpoint file {files[TRAINER]}: {_trainer_reason(exc)}") from None
    check_finite(trainer.optimizer, files[TRAINER], "optimizer state")
    if not isinstance(trainer.rng_states, Tensor):
        raise CheckpointError(f"corrupt checkpoint file {files[TRAINER]}: rng_states is not "
                              "a tensor")
    config = read_config(files[CONFIG])
    return Checkpoint(ckpt, config, weights, trainer)


def read_config(path: Path) -> TrainConfig:
    """A checkpoint's ``config.json``, checked (types, ranges); errors name the file."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"),
                          parse_constant=lambda token: _refuse_constant(token))
        if not isinstance(data, dict):
            raise ValueError(f"expected a JSON object, found {type(data).__name__}")
        config = TrainConfig.from_dict(data)
        config.validate()
    except (ValueError, TypeError, OSError, DncQaError, RecursionError) as exc:
        reason = " ".join(str(exc).split())[:200] or type(exc).__name__
        raise CheckpointError(f"corrupt checkpoint file {path}: {reason}") from None
    return config


def _refuse_constant(token: str) -> Any:
    raise ValueError(f"{token} is not a valid value")


def load_weights(model: nn.Module, checkpoint: Checkpoint) -> None:
    """Copy the checkpoint's weights into ``model``; a mismatch is a :class:`CheckpointError`."""
    try:
        model.load_state_dict(checkpoint.weights, strict=True)
    except RuntimeError as exc:
        first = str(exc).splitlines()[0]
        raise CheckpointError(
            f"{checkpoint.path / WEIGHTS} does not fit the model its config describes: {first}"
        ) from exc
