"""Reverse copy: read a sequence of bit vectors, write it back last vector first.

Same layout as :mod:`dnc_qa.tasks.copy` (input ``bits + 2``, output ``bits``); only the
target order differs. A DNC can solve it with its backward temporal links.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch

from dnc_qa.tasks.base import Episode
from dnc_qa.tasks.bits import BitTask, check_range, length_lessons, randint, random_bits
from dnc_qa.tasks.copy import copy_episode


@dataclass(frozen=True)
class ReverseCopyTask(BitTask):
    """Reverse copy with lengths uniform in ``[min_length, max_length]``."""

    bits: int = 8
    min_length: int = 1
    max_length: int = 20
    lesson_step: int = 5
    name: str = "reverse_copy"

    def __post_init__(self) -> None:
        check_range("length", self.min_length, self.max_length)
        if self.bits < 1 or self.lesson_step < 1:
            raise ValueError("bits and lesson_step must be >= 1")

    @property
    def input_size(self) -> int:
        return self.bits + 2

    @property
    def output_size(self) -> int:
        return self.bits

    def episode(self, generator: torch.Generator) -> Episode:
        L = randint(self.min_length, self.max_length, generator)
        vectors = random_bits((L, self.bits), generator)
        return copy_episode(vectors, vectors.flip(0))

    def with_length(self, min_length: int, max_length: int) -> ReverseCopyTask:
        return replace(self, min_length=min_length, max_length=max_length)

    def lessons(self) -> list[BitTask]:
        return length_lessons(self, self.min_length, self.max_length, self.lesson_step)
