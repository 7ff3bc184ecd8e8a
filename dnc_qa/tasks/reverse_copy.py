"""Reverse copy: read a sequence of bit vectors, write it back last vector first.

Same layout and options as :class:`~dnc_qa.tasks.copy.CopyTask` (input ``bits + 2``, output
``bits``); only the target order differs. A DNC can solve it with its backward temporal links.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from dnc_qa.tasks.base import Episode
from dnc_qa.tasks.bits import randint, random_bits
from dnc_qa.tasks.copy import CopyTask, copy_episode


@dataclass(frozen=True)
class ReverseCopyTask(CopyTask):
    """Reverse copy with lengths uniform in ``[min_length, max_length]``."""

    name: str = "reverse_copy"

    def episode(self, generator: torch.Generator) -> Episode:
        L = randint(self.min_length, self.max_length, generator)
        vectors = random_bits((L, self.bits), generator)
        return copy_episode(vectors, vectors.flip(0))
