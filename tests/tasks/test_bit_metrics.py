"""Metrics and loss of the bit tasks on hand-made predictions."""

from __future__ import annotations

import math

import pytest
import torch

from dnc_qa.tasks.bits import (
    bit_error_per_sequence,
    episode_accuracy,
    masked_bce_loss,
    per_step_accuracy,
    score_bits,
)
from dnc_qa.tasks.copy import CopyTask


@pytest.fixture
def batch():
    return CopyTask(min_length=3, max_length=3).sample(4, torch.Generator().manual_seed(0))


def perfect(targets: torch.Tensor) -> torch.Tensor:
    return (targets * 2 - 1) * 5.0


def test_perfect_predictions(batch) -> None:
    logits = perfect(batch.targets)
    assert bit_error_per_sequence(logits, batch.targets, batch.mask) == 0
    assert episode_accuracy(logits, batch.targets, batch.mask) == 1
    assert per_step_accuracy(logits, batch.targets, batch.mask) == 1


def test_wrong_bits_are_counted_per_sequence(batch) -> None:
    logits = perfect(batch.targets)
    answer = batch.mask[0].nonzero().flatten()
    logits[0, answer[0], 2] *= -1  # one wrong bit in episode 0
    logits[0, answer[0], 5] *= -1  # a second one on the same step
    logits[1, answer[1], 0] *= -1  # one in episode 1, another step
    logits[2, 0, 0] = 9.0  # off the answer steps: never counted
    assert bit_error_per_sequence(logits, batch.targets, batch.mask) == pytest.approx(3 / 4)
    assert episode_accuracy(logits, batch.targets, batch.mask) == pytest.approx(2 / 4)
    assert per_step_accuracy(logits, batch.targets, batch.mask) == pytest.approx(10 / 12)
    counts = score_bits(logits, batch)
    assert (counts.episodes, counts.correct_episodes) == (4, 2)
    assert (counts.answer_steps, counts.correct_steps, counts.bit_errors) == (12, 10, 3)
    summary = (counts + counts).summary()
    assert summary.bit_error_per_sequence == pytest.approx(3 / 4)
    assert summary.accuracy == pytest.approx(0.5)


def test_threshold_is_sigmoid_half(batch) -> None:
    logits = torch.full_like(batch.targets, 1e-3)  # sigmoid just above 0.5: every bit is 1
    ones = (batch.targets * batch.mask.unsqueeze(-1)).sum().item()
    zeros = batch.mask.sum().item() * 8 - ones
    assert bit_error_per_sequence(logits, batch.targets, batch.mask) == pytest.approx(zeros / 4)


def test_loss_is_nats_per_sequence(batch) -> None:
    logits = torch.zeros_like(batch.targets)
    expected = math.log(2) * 8 * 3  # 3 answer steps of 8 bits, each ln 2
    assert masked_bce_loss(logits, batch.targets, batch.mask).item() == pytest.approx(expected)
    confident = masked_bce_loss(perfect(batch.targets), batch.targets, batch.mask).item()
    assert confident == pytest.approx(8 * 3 * math.log1p(math.exp(-5.0)), rel=1e-5)
    logits.requires_grad_(True)
    masked_bce_loss(logits, batch.targets, batch.mask).backward()
    assert (logits.grad[batch.mask == 0] == 0).all()
