"""The NTM's memory step in NumPy, as :func:`dnc_qa.memory.ntm.ntm_step`: write heads address
against ``M_{t-1}``, the memory is written, then read heads address against the new memory.

Shapes: ``B`` batch, ``N`` cells, ``W`` cell width, ``R`` read heads, ``Hw`` write heads,
``S = 2k + 1`` shift offsets.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from dnc_qa.inference import addressing as A
from dnc_qa.inference.dnc import DEFAULT_MEMORY_INIT
from dnc_qa.inference.ops import oneplus, sigmoid, softmax


class NTMState(NamedTuple):
    memory: np.ndarray  # [B, N, W]
    read_weights: np.ndarray  # [B, R, N]
    write_weights: np.ndarray  # [B, Hw, N]


class NTMInterface(NamedTuple):
    read_keys: np.ndarray  # [B, R, W]
    read_strengths: np.ndarray  # [B, R]
    read_gates: np.ndarray  # [B, R]
    read_shifts: np.ndarray  # [B, R, S]
    read_sharpen: np.ndarray  # [B, R]
    write_keys: np.ndarray  # [B, Hw, W]
    write_strengths: np.ndarray  # [B, Hw]
    write_gates: np.ndarray  # [B, Hw]
    write_shifts: np.ndarray  # [B, Hw, S]
    write_sharpen: np.ndarray  # [B, Hw]
    erase_vectors: np.ndarray  # [B, Hw, W]
    add_vectors: np.ndarray  # [B, Hw, W]


class NTMTraceStep(NamedTuple):
    """One step of a trace (the fields of :class:`dnc_qa.memory.ntm.NTMTraceStep`)."""

    read_weights: np.ndarray
    write_weights: np.ndarray
    read_gates: np.ndarray
    write_gates: np.ndarray
    read_shifts: np.ndarray
    write_shifts: np.ndarray
    read_sharpen: np.ndarray
    write_sharpen: np.ndarray


def ntm_step(interface: NTMInterface, state: NTMState) -> tuple[np.ndarray, NTMState]:
    """One NTM step: ``(read_vectors [B, R, W], new_state)``."""
    i = interface
    ww = A.ntm_address(state.memory, state.write_weights, i.write_keys, i.write_strengths,
                       i.write_gates, i.write_shifts, i.write_sharpen)
    memory = A.erase_and_add(state.memory, ww, i.erase_vectors, i.add_vectors)
    rw = A.ntm_address(memory, state.read_weights, i.read_keys, i.read_strengths, i.read_gates,
                       i.read_shifts, i.read_sharpen)
    return A.read_memory(memory, rw), NTMState(memory, rw, ww)


@dataclass(frozen=True)
class NTMMemory:
    """The NTM memory's sizes (no parameters), as :class:`dnc_qa.memory.ntm.NTMMemory`."""

    num_cells: int
    cell_width: int
    num_reads: int
    num_writes: int
    shift_range: int = 1
    memory_init: float = DEFAULT_MEMORY_INIT

    def _head_size(self, write: bool) -> int:
        size = self.cell_width + 3 + (2 * self.shift_range + 1)
        return size + 2 * self.cell_width if write else size

    @property
    def interface_size(self) -> int:
        return self.num_reads * self._head_size(False) + self.num_writes * self._head_size(True)

    def parse_interface(self, flat: np.ndarray) -> NTMInterface:
        """All read heads, then all write heads; per head ``key [W], strength, gate, shift [S],
        sharpen`` (+ ``erase [W], add [W]``), with their activations."""
        B, W, S = flat.shape[0], self.cell_width, 2 * self.shift_range + 1
        R, Hw = self.num_reads, self.num_writes
        split = R * self._head_size(False)
        reads = flat[:, :split].reshape(B, R, -1)
        writes = flat[:, split:].reshape(B, Hw, -1)

        def head(x: np.ndarray) -> tuple[np.ndarray, ...]:
            return (x[..., :W], oneplus(x[..., W]), sigmoid(x[..., W + 1]),
                    softmax(x[..., W + 2 : W + 2 + S], axis=-1), oneplus(x[..., W + 2 + S]))

        erase = sigmoid(writes[..., W + 3 + S : 2 * W + 3 + S])
        add = writes[..., 2 * W + 3 + S : 3 * W + 3 + S]
        return NTMInterface(*head(reads), *head(writes), erase, add)

    def initial_state(self, batch_size: int, dtype: np.dtype, num_cells: int | None = None
                      ) -> NTMState:
        """Constant memory; every head focused on cell 0."""
        N = num_cells or self.num_cells
        rw = np.zeros((batch_size, self.num_reads, N), dtype=dtype)
        ww = np.zeros((batch_size, self.num_writes, N), dtype=dtype)
        rw[..., 0] = 1.0
        ww[..., 0] = 1.0
        memory = np.full((batch_size, N, self.cell_width), self.memory_init, dtype=dtype)
        return NTMState(memory, rw, ww)

    def step(self, interface: NTMInterface, state: NTMState) -> tuple[np.ndarray, NTMState]:
        return ntm_step(interface, state)

    def trace_step(self, interface: NTMInterface, state: NTMState) -> NTMTraceStep:
        i = interface
        return NTMTraceStep(state.read_weights, state.write_weights, i.read_gates,
                            i.write_gates, i.read_shifts, i.write_shifts, i.read_sharpen,
                            i.write_sharpen)
