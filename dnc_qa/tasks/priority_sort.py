"""Priority sort (NTM paper): read vectors with priorities, output the top ones sorted.

Layout for ``n`` input vectors and ``k`` outputs (input ``bits + 3``, output ``bits``)::

    t = 0            start flag (channel ``bits + 1``)
    t = 1 .. n       vector i on channels ``0 .. bits-1``, its priority in U[-1, 1] on ``bits``
    t = n + 1        end flag (channel ``bits + 2``)
    t = n + 2 .. n + k + 1  no input; target = the k highest-priority vectors, highest first
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch

from dnc_qa.tasks.base import Episode
from dnc_qa.tasks.bits import BitTask, random_bits


@dataclass(frozen=True)
class PrioritySortTask(BitTask):
    """Priority sort of ``num_items`` vectors (20 in the paper), answering the top ``num_outputs``
    (16 in the paper).

    "Length" is ``num_items``; :meth:`with_length` uses the maximum and keeps the ratio of
    outputs to inputs. The curriculum grows ``num_items`` from 5 in steps of 5.
    """

    bits: int = 8
    num_items: int = 20
    num_outputs: int = 16
    name: str = "priority_sort"

    def __post_init__(self) -> None:
        if self.bits < 1 or not 1 <= self.num_outputs <= self.num_items:
            raise ValueError(
                f"need bits >= 1 and 1 <= num_outputs <= num_items, got {self.bits}, "
                f"{self.num_outputs}, {self.num_items}"
            )

    @property
    def input_size(self) -> int:
        return self.bits + 3

    @property
    def output_size(self) -> int:
        return self.bits

    def episode(self, generator: torch.Generator) -> Episode:
        n, k, bits = self.num_items, self.num_outputs, self.bits
        vectors = random_bits((n, bits), generator)
        priority = torch.rand(n, generator=generator) * 2.0 - 1.0
        order = torch.argsort(priority, descending=True, stable=True)[:k]
        T = n + 2 + k
        inputs = torch.zeros(T, bits + 3)
        targets = torch.zeros(T, bits)
        mask = torch.zeros(T)
        inputs[0, bits + 1] = 1.0
        inputs[1 : n + 1, :bits] = vectors
        inputs[1 : n + 1, bits] = priority
        inputs[n + 1, bits + 2] = 1.0
        targets[n + 2 :] = vectors[order]
        mask[n + 2 :] = 1.0
        return Episode(inputs, targets, mask)

    def with_length(self, min_length: int, max_length: int) -> PrioritySortTask:
        outputs = max(1, round(max_length * self.num_outputs / self.num_items))
        return replace(self, num_items=max_length, num_outputs=outputs)

    def lessons(self) -> list[BitTask]:
        sizes = list(range(5, self.num_items, 5)) + [self.num_items]
        return [self.with_length(n, n) for n in sizes[:-1]] + [self]
