"""Repeat copy (NTM paper): copy a sequence a given number of times, then signal the end.

Layout for length ``L`` and ``R`` repeats (input ``bits + 2``, output ``bits + 1``)::

    t = 0              start flag (input channel ``bits``)
    t = 1 .. L         the vectors
    t = L + 1          repeat count: input channel ``bits + 1`` = R / max_repeats
    t = L + 2 ..       no input; target = the vectors R times, then one step with only the
                       end-marker output channel ``bits`` on; mask = 1 on those L*R + 1 steps
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch

from dnc_qa.tasks.base import Episode
from dnc_qa.tasks.bits import BitTask, check_range, randint, random_bits


@dataclass(frozen=True)
class RepeatCopyTask(BitTask):
    """Repeat copy with length and repeat count each uniform in their ranges (1..10 in the paper).

    The curriculum raises ``max_length`` and ``max_repeats`` together in ``lesson_count`` steps.
    The repeat count is normalised by ``repeat_norm`` (fixed, so lessons share one scale).
    """

    bits: int = 8
    min_length: int = 1
    max_length: int = 10
    min_repeats: int = 1
    max_repeats: int = 10
    repeat_norm: float = 10.0
    lesson_count: int = 3
    name: str = "repeat_copy"

    def __post_init__(self) -> None:
        check_range("length", self.min_length, self.max_length)
        check_range("repeats", self.min_repeats, self.max_repeats)
        if self.bits < 1 or self.lesson_count < 1:
            raise ValueError("bits and lesson_count must be >= 1")

    @property
    def input_size(self) -> int:
        return self.bits + 2

    @property
    def output_size(self) -> int:
        return self.bits + 1

    def episode(self, generator: torch.Generator) -> Episode:
        L = randint(self.min_length, self.max_length, generator)
        R = randint(self.min_repeats, self.max_repeats, generator)
        bits = self.bits
        vectors = random_bits((L, bits), generator)
        T = L + 2 + L * R + 1
        inputs = torch.zeros(T, bits + 2)
        targets = torch.zeros(T, bits + 1)
        mask = torch.zeros(T)
        inputs[0, bits] = 1.0
        inputs[1 : L + 1, :bits] = vectors
        inputs[L + 1, bits + 1] = R / self.repeat_norm
        targets[L + 2 : L + 2 + L * R, :bits] = vectors.repeat(R, 1)
        targets[T - 1, bits] = 1.0
        mask[L + 2 :] = 1.0
        return Episode(inputs, targets, mask)

    def with_length(self, min_length: int, max_length: int) -> RepeatCopyTask:
        return replace(self, min_length=min_length, max_length=max_length)

    def lessons(self) -> list[BitTask]:
        n = self.lesson_count
        out: list[BitTask] = []
        for k in range(1, n + 1):
            top_len = self.min_length + (self.max_length - self.min_length) * k // n
            top_rep = self.min_repeats + (self.max_repeats - self.min_repeats) * k // n
            out.append(replace(self, max_length=top_len, max_repeats=top_rep))
        return out
