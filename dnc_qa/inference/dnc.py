"""The DNC's memory step in NumPy: the spec's steps 1-10 in its order, as the PyTorch step
(:mod:`dnc_qa.memory.backends.pytorch`) does them with dense links.

State, interface and trace are NamedTuples with the torch versions' field names, so a state
flattened by the torch model (``memory.link``, ``memory.usage``...) restores into them. The
flat interface is read by the one layout of :mod:`dnc_qa.memory.layout` (torch-free).
Shapes: ``B`` batch, ``N`` cells, ``W`` cell width, ``R`` read heads, ``Hw`` write heads.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from dnc_qa.inference import addressing as A
from dnc_qa.inference.ops import oneplus, sigmoid, softmax
from dnc_qa.memory.layout import (
    IDENTITY,
    ONEPLUS,
    SIGMOID,
    SOFTMAX,
    InterfaceLayout,
    interface_layout,
)

DEFAULT_MEMORY_INIT = 1e-6
"""The constant a fresh memory is filled with (as :mod:`dnc_qa.memory.dnc`)."""


_ACTIVATIONS = {
    IDENTITY: lambda x: x,
    ONEPLUS: oneplus,
    SIGMOID: sigmoid,
    SOFTMAX: lambda x: softmax(x, axis=-1),
}


class DNCState(NamedTuple):
    memory: np.ndarray  # [B, N, W]
    usage: np.ndarray  # [B, N]
    link: np.ndarray  # [B, Hw, N, N]
    precedence: np.ndarray  # [B, Hw, N]
    read_weights: np.ndarray  # [B, R, N]
    write_weights: np.ndarray  # [B, Hw, N]


class DNCInterface(NamedTuple):
    """After activations; the last three are ``None`` unless their option is on."""

    read_keys: np.ndarray  # [B, R, W]
    read_strengths: np.ndarray  # [B, R]
    write_keys: np.ndarray  # [B, Hw, W]
    write_strengths: np.ndarray  # [B, Hw]
    erase_vectors: np.ndarray  # [B, Hw, W]
    write_vectors: np.ndarray  # [B, Hw, W]
    free_gates: np.ndarray  # [B, R]
    allocation_gates: np.ndarray  # [B, Hw]
    write_gates: np.ndarray  # [B, Hw]
    read_modes: np.ndarray  # [B, R, 2*Hw+1]
    read_masks: np.ndarray | None = None  # [B, R, W]
    write_masks: np.ndarray | None = None  # [B, Hw, W]
    link_sharpness: np.ndarray | None = None  # [B, R]


class DNCTraceStep(NamedTuple):
    """One step of a trace (the fields of :class:`dnc_qa.memory.dnc.DNCTraceStep`)."""

    read_weights: np.ndarray  # [B, R, N]
    write_weights: np.ndarray  # [B, Hw, N]
    usage: np.ndarray  # [B, N]
    free_gates: np.ndarray  # [B, R]
    allocation_gates: np.ndarray  # [B, Hw]
    write_gates: np.ndarray  # [B, Hw]
    read_modes: np.ndarray  # [B, R, 2*Hw+1]


def dnc_step(
    interface: DNCInterface, state: DNCState, deallocation: bool = False
) -> tuple[np.ndarray, DNCState]:
    """One memory step, spec steps 1-10; returns ``(read_vectors [B, R, W], new_state)``.

    ``deallocation`` (DNC-D): ``M_{t-1} <- M_{t-1} * psi`` before the write content lookup.
    """
    i = interface
    # 1. Retention and usage.
    psi = A.retention(i.free_gates, state.read_weights)
    usage = A.usage_update(state.usage, state.write_weights, psi)
    memory = state.memory * psi[..., None] if deallocation else state.memory
    # 2. Write content weights against the previous memory.
    write_content = A.content_weights(memory, i.write_keys, i.write_strengths, masks=i.write_masks)
    # 3.-4. Allocation, head after head, and the write weights.
    allocation = A.write_allocations(usage, i.allocation_gates, i.write_gates)
    ww = A.write_weights(write_content, allocation, i.allocation_gates, i.write_gates)
    # 5. Erase and add.
    memory = A.erase_and_add(memory, ww, i.erase_vectors, i.write_vectors)
    # 6. Temporal links and precedence.
    link = A.link_update(state.link, state.precedence, ww)
    precedence = A.precedence_update(state.precedence, ww)
    # 7. Read content weights against the new memory.
    read_content = A.content_weights(memory, i.read_keys, i.read_strengths, masks=i.read_masks)
    # 8. Directional weights from the previous read weights and the new links (+ DNC-S).
    forward, backward = A.directional_weights(link, state.read_weights)
    if i.link_sharpness is not None:
        forward = A.sharpen_directional(forward, i.link_sharpness)
        backward = A.sharpen_directional(backward, i.link_sharpness)
    # 9.-10. Read weights and read vectors.
    rw = A.read_weights(i.read_modes, backward, read_content, forward)
    return A.read_memory(memory, rw), DNCState(memory, usage, link, precedence, rw, ww)


@dataclass(frozen=True)
class DNCMemory:
    """The DNC memory's sizes and options (no parameters), as
    :class:`dnc_qa.memory.dnc.DNCMemory` with dense links."""

    num_cells: int
    cell_width: int
    num_reads: int
    num_writes: int
    masking: bool = False
    deallocation: bool = False
    link_sharpness: bool = False
    memory_init: float = DEFAULT_MEMORY_INIT

    @property
    def layout(self) -> InterfaceLayout:
        """Where each field sits in the flat controller output (the torch memory's layout)."""
        return interface_layout(self.num_reads, self.cell_width, self.num_writes, self.masking,
                                self.link_sharpness)

    @property
    def interface_size(self) -> int:
        """Length of the flat controller output :meth:`parse_interface` reads."""
        return self.layout.size

    def parse_interface(self, flat: np.ndarray) -> DNCInterface:
        """``[B, interface_size]`` -> :class:`DNCInterface`: ``oneplus`` for strengths and
        sharpness, sigmoid for gates, erase vectors and masks, softmax for read modes."""
        B = flat.shape[0]
        return DNCInterface(**{
            s.name: _ACTIVATIONS[s.activation](flat[:, s.offset : s.offset + s.size]
                                               .reshape(B, *s.shape))
            for s in self.layout.slots
        })

    def initial_state(self, batch_size: int, dtype: np.dtype, num_cells: int | None = None
                      ) -> DNCState:
        """Constant memory, everything else zero."""
        N = num_cells or self.num_cells
        B, W, R, Hw = batch_size, self.cell_width, self.num_reads, self.num_writes
        return DNCState(
            memory=np.full((B, N, W), self.memory_init, dtype=dtype),
            usage=np.zeros((B, N), dtype=dtype),
            link=np.zeros((B, Hw, N, N), dtype=dtype),
            precedence=np.zeros((B, Hw, N), dtype=dtype),
            read_weights=np.zeros((B, R, N), dtype=dtype),
            write_weights=np.zeros((B, Hw, N), dtype=dtype),
        )

    def step(self, interface: DNCInterface, state: DNCState) -> tuple[np.ndarray, DNCState]:
        """One step: ``(read_vectors [B, R, W], new_state)``; see :func:`dnc_step`."""
        return dnc_step(interface, state, self.deallocation)

    def trace_step(self, interface: DNCInterface, state: DNCState) -> DNCTraceStep:
        """What a plot of this step needs, from its interface and the state it produced."""
        return DNCTraceStep(state.read_weights, state.write_weights, state.usage,
                            interface.free_gates, interface.allocation_gates,
                            interface.write_gates, interface.read_modes)
