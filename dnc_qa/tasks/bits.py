"""Loss and metrics shared by the bit-vector tasks (copy, repeat copy, recall, sort).

Outputs are independent bits: the model's logits go through a sigmoid, the loss is binary
cross-entropy, and a bit is predicted as 1 when ``sigmoid(logit) > 0.5`` (``logit > 0``).

Loss normalisation: BCE (natural log) is **summed over the bits and answer steps of each
episode and averaged over episodes**, i.e. nats per sequence. Divide by ``ln 2`` for the NTM
paper's "bits per sequence".
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import torch
import torch.nn.functional as F
from torch import Tensor

from dnc_qa.tasks.base import Batch, Episode, MetricCounts, pad_episodes


def masked_bce_loss(logits: Tensor, targets: Tensor, mask: Tensor) -> Tensor:
    """BCE-with-logits summed over bits and answer steps per episode, averaged over episodes.

    Args:
        logits: ``[B, T, O]``.
        targets: ``[B, T, O]`` in ``{0, 1}``.
        mask: ``[B, T]``, 1.0 on answer steps.
    """
    bce = F.binary_cross_entropy_with_logits(logits.float(), targets.float(), reduction="none")
    return (bce.sum(-1) * mask).sum() / logits.shape[0]


def bit_errors(logits: Tensor, targets: Tensor, mask: Tensor) -> Tensor:
    """Wrong bits per answer step, ``[B, T]`` (0 off the answer steps)."""
    predicted = logits > 0  # sigmoid(logit) > 0.5
    wrong = (predicted != (targets > 0.5)).sum(-1)
    return wrong * (mask > 0)


def bit_error_per_sequence(logits: Tensor, targets: Tensor, mask: Tensor) -> float:
    """Mean number of wrong bits per episode, counted on answer steps only."""
    return bit_errors(logits, targets, mask).sum().item() / logits.shape[0]


def episode_accuracy(logits: Tensor, targets: Tensor, mask: Tensor) -> float:
    """Fraction of episodes whose every answer step has every bit right."""
    return (bit_errors(logits, targets, mask).sum(-1) == 0).float().mean().item()


def per_step_accuracy(logits: Tensor, targets: Tensor, mask: Tensor) -> float:
    """Fraction of answer steps (over the whole batch) with every bit right."""
    answer = mask > 0
    right = (bit_errors(logits, targets, mask) == 0) & answer
    return right.sum().item() / max(int(answer.sum().item()), 1)


def score_bits(logits: Tensor, batch: Batch) -> MetricCounts:
    """All bit-task metric counts for one batch."""
    with torch.no_grad():
        errors = bit_errors(logits, batch.targets, batch.mask)  # [B, T]
        answer = batch.mask > 0
        loss = masked_bce_loss(logits, batch.targets, batch.mask) * logits.shape[0]
        return MetricCounts(
            episodes=logits.shape[0],
            correct_episodes=int((errors.sum(-1) == 0).sum().item()),
            answer_steps=int(answer.sum().item()),
            correct_steps=int(((errors == 0) & answer).sum().item()),
            bit_errors=int(errors.sum().item()),
            loss_sum=float(loss.item()),
        )


def random_bits(shape: tuple[int, ...], generator: torch.Generator) -> Tensor:
    """Uniform random 0/1 floats of ``shape``."""
    return torch.randint(0, 2, shape, generator=generator).float()


def randint(low: int, high: int, generator: torch.Generator) -> int:
    """One integer uniform in ``[low, high]`` (both ends included)."""
    return int(torch.randint(low, high + 1, (1,), generator=generator).item())


class BitTask(ABC):
    """Base for bit-vector tasks: subclasses are frozen dataclasses that build one episode.

    Subclasses define ``name``, ``input_size``, ``output_size``, :meth:`episode`,
    :meth:`lessons` and :meth:`with_length` (what "length" means is theirs to say).
    """

    name: str

    @property
    @abstractmethod
    def input_size(self) -> int: ...

    @property
    @abstractmethod
    def output_size(self) -> int: ...

    @abstractmethod
    def episode(self, generator: torch.Generator) -> Episode:
        """Build one episode from ``generator``."""

    @abstractmethod
    def with_length(self, min_length: int, max_length: int) -> BitTask:
        """The same task at other lengths (used for generalisation tests)."""

    @abstractmethod
    def lessons(self) -> list[BitTask]:
        """The curriculum, easiest first; the last lesson equals ``self``."""

    def sample(self, batch_size: int, generator: torch.Generator) -> Batch:
        """Draw ``batch_size`` episodes; the batch is padded to its longest episode."""
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        return pad_episodes([self.episode(generator) for _ in range(batch_size)])

    def loss(self, logits: Tensor, batch: Batch) -> Tensor:
        return masked_bce_loss(logits, batch.targets, batch.mask)

    def score(self, logits: Tensor, batch: Batch) -> MetricCounts:
        return score_bits(logits, batch)


def check_range(name: str, low: int, high: int, minimum: int = 1) -> None:
    """Raise ``ValueError`` unless ``minimum <= low <= high``."""
    if not (isinstance(low, int) and isinstance(high, int)) or not minimum <= low <= high:
        raise ValueError(f"{name} must satisfy {minimum} <= min <= max, got ({low}, {high})")


def length_lessons(task: BitTask, low: int, high: int, step: int) -> list[BitTask]:
    """Lessons whose maximum length grows by ``step`` from ``low + step - 1`` up to ``high``."""
    tops = list(range(min(low + step - 1, high), high, step)) + [high]
    return [task.with_length(low, top) for top in tops]


__all__ = [
    "BitTask",
    "bit_error_per_sequence",
    "bit_errors",
    "episode_accuracy",
    "length_lessons",
    "masked_bce_loss",
    "per_step_accuracy",
    "random_bits",
    "randint",
    "score_bits",
]
