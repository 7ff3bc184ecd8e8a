"""Random, valid interfaces and states for the memory tests."""

from __future__ import annotations

import torch

from dnc_qa.memory.dnc import DNCInterface, DNCMemory, DNCState
from dnc_qa.memory.ntm import NTMInterface, NTMMemory, NTMState


def random_dnc_interface(mem: DNCMemory, batch: int, gen: torch.Generator, **kw) -> DNCInterface:
    flat = torch.randn(batch, mem.interface_size, generator=gen, dtype=torch.float64) * 2
    return mem.parse_interface(flat.to(**kw))


def random_ntm_interface(mem: NTMMemory, batch: int, gen: torch.Generator, **kw) -> NTMInterface:
    flat = torch.randn(batch, mem.interface_size, generator=gen, dtype=torch.float64) * 2
    return mem.parse_interface(flat.to(**kw))


def warmed_dnc_state(mem: DNCMemory, batch: int, steps: int, seed: int = 0, **kw) -> DNCState:
    """A state reached by ``steps`` random steps: links, usage and reads all non-trivial."""
    gen = torch.Generator().manual_seed(seed)
    state = mem.initial_state(batch, dtype=torch.float64)
    for _ in range(steps):
        _, state = mem(random_dnc_interface(mem, batch, gen), state)
    return DNCState(*(t.to(**kw) for t in state))


def warmed_ntm_state(mem: NTMMemory, batch: int, steps: int, seed: int = 0, **kw) -> NTMState:
    gen = torch.Generator().manual_seed(seed)
    state = mem.initial_state(batch, dtype=torch.float64)
    for _ in range(steps):
        _, state = mem(random_ntm_interface(mem, batch, gen), state)
    return NTMState(*(t.to(**kw) for t in state))
