"""The NumPy step (``backend="numpy"``): :func:`dnc_qa.inference.dnc.dnc_step`, for inference.

The torch-free inference package computes the same step with NumPy arrays (``dncqa ask``
answers with it without importing torch). As a backend of the torch memory it converts the
tensors in and out; it has no autograd, so it runs only where no gradient is asked for, and
``auto`` never picks it (in a torch model it is slower than the other backends). It is here
so that the NumPy step is held to the same checks as every other backend.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

import torch

from dnc_qa.inference import dnc as numpy_dnc
from dnc_qa.memory.backends.base import Backend, Call

if TYPE_CHECKING:
    from dnc_qa.memory.dnc import DNCMemory


@functools.cache
def _numpy_memory(num_cells, cell_width, num_reads, num_writes, masking, deallocation,
                  link_sharpness) -> numpy_dnc.DNCMemory:
    return numpy_dnc.DNCMemory(num_cells, cell_width, num_reads, num_writes, masking,
                               deallocation, link_sharpness)


def numpy_memory(memory: DNCMemory) -> numpy_dnc.DNCMemory:
    """The NumPy memory with ``memory``'s sizes and options."""
    return _numpy_memory(memory.num_cells, memory.cell_width, memory.num_reads,
                         memory.num_writes, memory.masking, memory.deallocation,
                         memory.link_sharpness)


def _arrays(fields):
    return type(fields)(*(None if t is None else t.detach().numpy() for t in fields))


class NumpyStep(Backend):
    """``backend="numpy"``: the NumPy inference step, converting tensors in and out."""

    name = "numpy"
    summary = "the NumPy step of the torch-free inference (dnc_qa/inference/dnc.py)"

    def supports(self, memory: DNCMemory, call: Call | None = None) -> str | None:
        if memory.link != "dense":
            return "it computes dense links, as the NumPy inference does"
        if call is None:
            return None
        state = call.state
        if state.memory.device.type != "cpu":
            return f"the state is on {state.memory.device.type} (NumPy runs on the CPU)"
        if state.memory.dtype not in (torch.float32, torch.float64):
            return f"the state is {state.memory.dtype} (NumPy takes float32 or float64 here)"
        if torch.is_grad_enabled():
            tensors = list(state)
            if call.interface is not None:
                tensors += [t for t in call.interface if t is not None]
            if call.flat is not None:
                tensors.append(call.flat)
            if call.sequence is not None:
                seq = call.sequence
                tensors += [seq.x, seq.interface.weight, seq.read_vectors]
            if any(t.requires_grad for t in tensors):
                return "gradients are asked for (NumPy has no autograd; use torch.no_grad())"
        return None

    def step(self, memory, interface, state, tape=None):
        reads, new = numpy_dnc.dnc_step(_arrays(interface), _arrays(state), memory.deallocation)
        return torch.from_numpy(reads), type(state)(*(torch.from_numpy(a) for a in new))

    def step_flat(self, memory, flat, state, tape=None):
        np_memory = numpy_memory(memory)
        interface = np_memory.parse_interface(flat.detach().to(state.memory.dtype).numpy())
        reads, new = numpy_dnc.dnc_step(interface, _arrays(state), memory.deallocation)
        return torch.from_numpy(reads), type(state)(*(torch.from_numpy(a) for a in new))
