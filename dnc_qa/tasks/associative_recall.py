"""Associative recall (NTM paper): after a list of items, given one item, output the next.

An item is ``item_length`` (3) vectors of ``bits`` (6) bits. Layout for ``n`` items (input
``bits + 2``, output ``bits``)::

    for each item:  one step with the item flag (channel ``bits``), then its vectors
    query:          query flag (channel ``bits + 1``), the query item's vectors, query flag
    answer:         ``item_length`` steps with no input; target = the item after the query

The query is one of the first ``n - 1`` items, uniformly.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch

from dnc_qa.tasks.base import Episode
from dnc_qa.tasks.bits import BitTask, check_range, randint, random_bits


@dataclass(frozen=True)
class AssociativeRecallTask(BitTask):
    """Associative recall with the number of items uniform in ``[min_items, max_items]`` (2..6).

    "Length" (for :meth:`with_length` and the curriculum) is the number of items.
    """

    bits: int = 6
    item_length: int = 3
    min_items: int = 2
    max_items: int = 6
    name: str = "associative_recall"

    def __post_init__(self) -> None:
        check_range("items", self.min_items, self.max_items, minimum=2)
        if self.bits < 1 or self.item_length < 1:
            raise ValueError("bits and item_length must be >= 1")

    @property
    def input_size(self) -> int:
        return self.bits + 2

    @property
    def output_size(self) -> int:
        return self.bits

    def episode(self, generator: torch.Generator) -> Episode:
        n = randint(self.min_items, self.max_items, generator)
        k, bits = self.item_length, self.bits
        items = random_bits((n, k, bits), generator)
        q = randint(0, n - 2, generator)
        T = n * (k + 1) + (k + 2) + k
        inputs = torch.zeros(T, bits + 2)
        targets = torch.zeros(T, bits)
        mask = torch.zeros(T)
        for i in range(n):
            start = i * (k + 1)
            inputs[start, bits] = 1.0
            inputs[start + 1 : start + 1 + k, :bits] = items[i]
        start = n * (k + 1)
        inputs[start, bits + 1] = 1.0
        inputs[start + 1 : start + 1 + k, :bits] = items[q]
        inputs[start + 1 + k, bits + 1] = 1.0
        targets[T - k :] = items[q + 1]
        mask[T - k :] = 1.0
        return Episode(inputs, targets, mask)

    def with_length(self, min_length: int, max_length: int) -> AssociativeRecallTask:
        return replace(self, min_items=min_length, max_items=max_length)

    def lessons(self) -> list[BitTask]:
        return [replace(self, max_items=top) for top in range(self.min_items, self.max_items + 1)]
