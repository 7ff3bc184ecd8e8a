"""The copy task (Graves, Wayne & Danihelka 2014): read a sequence of bit vectors, write it back.

Layout of one episode of length ``L`` with ``bits`` wide vectors (input ``bits + 2``, output
``bits``; ``T = 2L + 2``)::

    t = 0            start flag   (input channel ``bits``)
    t = 1 .. L       the vectors  (input channels ``0 .. bits-1``)
    t = L + 1        end flag     (input channel ``bits + 1``)
    t = L + 2 .. 2L+1  no input; target = the vectors in order; mask = 1
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch
from torch import Tensor

from dnc_qa.tasks.base import Episode
from dnc_qa.tasks.bits import BitTask, check_range, length_lessons, randint, random_bits


def copy_episode(vectors: Tensor, answer: Tensor) -> Episode:
    """Lay out ``vectors [L, bits]`` as a copy-style episode answered by ``answer [L, bits]``."""
    L, bits = vectors.shape
    T = 2 * L + 2
    inputs = torch.zeros(T, bits + 2)
    targets = torch.zeros(T, bits)
    mask = torch.zeros(T)
    inputs[0, bits] = 1.0
    inputs[1 : L + 1, :bits] = vectors
    inputs[L + 1, bits + 1] = 1.0
    targets[L + 2 :] = answer
    mask[L + 2 :] = 1.0
    return Episode(inputs, targets, mask)


@dataclass(frozen=True)
class CopyTask(BitTask):
    """Copy: lengths uniform in ``[min_length, max_length]``, ``bits``-bit random vectors.

    Args:
        bits: vector width (8 in the NTM paper).
        min_length, max_length: sequence length range (1..20 in the paper).
        lesson_step: the curriculum raises the maximum length by this much per lesson.
    """

    bits: int = 8
    min_length: int = 1
    max_length: int = 20
    lesson_step: int = 5
    name: str = "copy"

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
        return copy_episode(vectors, vectors)

    def with_length(self, min_length: int, max_length: int) -> CopyTask:
        return replace(self, min_length=min_length, max_length=max_length)

    def lessons(self) -> list[BitTask]:
        return length_lessons(self, self.min_length, self.max_length, self.lesson_step)
