"""What every task shares: the batch type, metric counts and the :class:`Task` protocol.

A task samples batches of episodes from a seeded :class:`torch.Generator`, scores a model's
logits on them, and names its curriculum (a list of lessons, easiest first, the last being the
full task). Batches are built on the CPU (so a seed gives the same data on every device) and
moved with :meth:`Batch.to`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple, Protocol, runtime_checkable

import torch
from torch import Tensor, nn


class Batch(NamedTuple):
    """A padded batch of episodes, batch first.

    ``mask`` is 1.0 on the answer steps (the only steps that are scored) and 0.0 elsewhere,
    including padding after an episode's end.
    """

    inputs: Tensor  # [B, T, input_size]   float
    targets: Tensor  # [B, T, output_size] float
    mask: Tensor  # [B, T]                 float, 1.0 on answer steps

    def to(self, device: torch.device | str) -> Batch:
        """The same batch on ``device``."""
        return Batch(*(t.to(device, non_blocking=True) for t in self))


class Episode(NamedTuple):
    """One unpadded episode, as a task's episode builder returns it."""

    inputs: Tensor  # [T, input_size]
    targets: Tensor  # [T, output_size]
    mask: Tensor  # [T]


def pad_episodes(episodes: list[Episode]) -> Batch:
    """Stack episodes of different lengths into one :class:`Batch`, zero-padding at the end."""
    if not episodes:
        raise ValueError("cannot build a batch from zero episodes")
    T = max(e.inputs.shape[0] for e in episodes)
    B = len(episodes)
    first = episodes[0]
    inputs = first.inputs.new_zeros(B, T, first.inputs.shape[1])
    targets = first.targets.new_zeros(B, T, first.targets.shape[1])
    mask = first.mask.new_zeros(B, T)
    for b, e in enumerate(episodes):
        n = e.inputs.shape[0]
        inputs[b, :n] = e.inputs
        targets[b, :n] = e.targets
        mask[b, :n] = e.mask
    return Batch(inputs, targets, mask)


def concat_batches(batches: list[Batch]) -> Batch:
    """Join batches along the batch axis, zero-padding the shorter ones in time."""
    if not batches:
        raise ValueError("cannot join zero batches")
    T = max(b.inputs.shape[1] for b in batches)

    def pad(t: Tensor) -> Tensor:
        extra = T - t.shape[1]
        if extra == 0:
            return t
        shape = list(t.shape)
        shape[1] = extra
        return torch.cat([t, t.new_zeros(shape)], dim=1)

    return Batch(*(torch.cat([pad(b[i]) for b in batches], dim=0) for i in range(3)))


@dataclass
class MetricCounts:
    """Summable counts behind every metric, so results can be added across batches and ranks.

    Attributes:
        episodes: episodes scored.
        correct_episodes: episodes whose every answer step was entirely right.
        answer_steps: answer steps scored (mask == 1).
        correct_steps: answer steps whose every output was right.
        bit_errors: wrong bits on answer steps (bit tasks; 0 for others).
        loss_sum: the summed per-episode loss (nats).
    """

    episodes: int = 0
    correct_episodes: int = 0
    answer_steps: int = 0
    correct_steps: int = 0
    bit_errors: int = 0
    loss_sum: float = 0.0

    def __add__(self, other: MetricCounts) -> MetricCounts:
        return MetricCounts(
            self.episodes + other.episodes,
            self.correct_episodes + other.correct_episodes,
            self.answer_steps + other.answer_steps,
            self.correct_steps + other.correct_steps,
            self.bit_errors + other.bit_errors,
            self.loss_sum + other.loss_sum,
        )

    def as_tensor(self) -> Tensor:
        """The counts as a float64 vector (for ``all_reduce``)."""
        return torch.tensor(
            [
                self.episodes,
                self.correct_episodes,
                self.answer_steps,
                self.correct_steps,
                self.bit_errors,
                self.loss_sum,
            ],
            dtype=torch.float64,
        )

    @classmethod
    def from_tensor(cls, t: Tensor) -> MetricCounts:
        v = t.tolist()
        return cls(int(v[0]), int(v[1]), int(v[2]), int(v[3]), int(v[4]), float(v[5]))

    def summary(self) -> Metrics:
        """Turn counts into rates."""
        e = max(self.episodes, 1)
        return Metrics(
            episodes=self.episodes,
            accuracy=self.correct_episodes / e,
            per_step_accuracy=self.correct_steps / max(self.answer_steps, 1),
            bit_error_per_sequence=self.bit_errors / e,
            loss=self.loss_sum / e,
        )


class Metrics(NamedTuple):
    """Rates over a set of episodes.

    Attributes:
        episodes: how many episodes these rates are over.
        accuracy: fraction of episodes whose every answer step is right (the papers' metric).
        per_step_accuracy: fraction of answer steps that are entirely right.
        bit_error_per_sequence: mean wrong bits per episode on answer steps (bit tasks).
        loss: mean per-episode loss in nats.
    """

    episodes: int
    accuracy: float
    per_step_accuracy: float
    bit_error_per_sequence: float
    loss: float


class Task(Protocol):
    """What the trainer needs from a task."""

    name: str

    @property
    def input_size(self) -> int: ...

    @property
    def output_size(self) -> int: ...

    def sample(self, batch_size: int, generator: torch.Generator) -> Batch:
        """Draw ``batch_size`` episodes (on the CPU) from ``generator``."""
        ...

    def loss(self, logits: Tensor, batch: Batch) -> Tensor:
        """The scalar training loss: summed over each episode's answer steps, mean over episodes."""
        ...

    def score(self, logits: Tensor, batch: Batch) -> MetricCounts:
        """Count right and wrong answers (no gradient)."""
        ...

    def lessons(self) -> list[Task]:
        """The curriculum, easiest first; the last lesson is the task itself."""
        ...


@runtime_checkable
class RolloutTask(Protocol):
    """A task whose episodes need the model in the loop (its inputs depend on the model's
    outputs, e.g. shortest path with DAgger). The trainer and the evaluator call
    :meth:`rollout` instead of ``sample``/``loss``/``score``."""

    def rollout(
        self,
        model: nn.Module,
        batch_size: int,
        generator: torch.Generator,
        device: torch.device,
        train: bool,
    ) -> tuple[Tensor, MetricCounts]:
        """Run ``batch_size`` episodes; return the mean per-episode loss and the counts."""
        ...
