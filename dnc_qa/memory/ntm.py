"""The Neural Turing Machine's memory: content + location addressing, several heads.

Graves, Wayne & Danihelka, "Neural Turing Machines" (2014), section 3, as written in
``docs/memory.md``. Write heads address against ``M_{t-1}``, the memory is
written, then read heads address against the new memory.

Shapes: ``B`` batch, ``N`` cells, ``W`` cell width, ``R`` read heads, ``Hw`` write heads,
``S = 2k + 1`` shift offsets.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor, nn

from dnc_qa.memory import addressing as A
from dnc_qa.memory.dnc import DEFAULT_MEMORY_INIT, oneplus
from dnc_qa.validation import check_positive_ints


class NTMState(NamedTuple):
    """The NTM memory's recurrent state."""

    memory: Tensor  # [B, N, W]
    read_weights: Tensor  # [B, R, N]
    write_weights: Tensor  # [B, Hw, N]


class NTMInterface(NamedTuple):
    """Per-head addressing parameters, after activations."""

    read_keys: Tensor  # [B, R, W]
    read_strengths: Tensor  # [B, R]       [1, inf)
    read_gates: Tensor  # [B, R]           [0, 1]
    read_shifts: Tensor  # [B, R, S]       simplex, index 0 = offset -k
    read_sharpen: Tensor  # [B, R]         [1, inf)
    write_keys: Tensor  # [B, Hw, W]
    write_strengths: Tensor  # [B, Hw]
    write_gates: Tensor  # [B, Hw]
    write_shifts: Tensor  # [B, Hw, S]
    write_sharpen: Tensor  # [B, Hw]
    erase_vectors: Tensor  # [B, Hw, W]    [0, 1]
    add_vectors: Tensor  # [B, Hw, W]


class NTMTraceStep(NamedTuple):
    """One step of a trace; a model stacks these over time into ``[B, T, ...]`` tensors."""

    read_weights: Tensor  # [B, R, N]
    write_weights: Tensor  # [B, Hw, N]
    read_gates: Tensor  # [B, R]
    write_gates: Tensor  # [B, Hw]
    read_shifts: Tensor  # [B, R, S]
    write_shifts: Tensor  # [B, Hw, S]
    read_sharpen: Tensor  # [B, R]
    write_sharpen: Tensor  # [B, Hw]


def ntm_step(interface: NTMInterface, state: NTMState) -> tuple[Tensor, NTMState]:
    """One NTM memory step.

    Returns:
        ``(read_vectors [B, R, W], new_state)``.
    """
    i = interface
    ww = A.ntm_address(
        state.memory,
        state.write_weights,
        i.write_keys,
        i.write_strengths,
        i.write_gates,
        i.write_shifts,
        i.write_sharpen,
    )
    memory = A.erase_and_add(state.memory, ww, i.erase_vectors, i.add_vectors)
    rw = A.ntm_address(
        memory,
        state.read_weights,
        i.read_keys,
        i.read_strengths,
        i.read_gates,
        i.read_shifts,
        i.read_sharpen,
    )
    return A.read_memory(memory, rw), NTMState(memory, rw, ww)


class NTMMemory(nn.Module):
    """The NTM's memory as a module: ``read_vectors, state = mem(interface, state)``.

    Args:
        num_cells: ``N``.
        cell_width: ``W``.
        num_reads: ``R``.
        num_writes: ``Hw``.
        shift_range: ``k``; shifts range over ``-k..k``.
        memory_init: the constant the initial memory is filled with.
    """

    def __init__(
        self,
        num_cells: int,
        cell_width: int,
        num_reads: int = 1,
        num_writes: int = 1,
        shift_range: int = 1,
        memory_init: float = DEFAULT_MEMORY_INIT,
    ) -> None:
        super().__init__()
        check_positive_ints(
            num_cells=num_cells, cell_width=cell_width, num_reads=num_reads, num_writes=num_writes
        )
        if not isinstance(shift_range, int) or shift_range < 0:
            raise ValueError(f"shift_range must be a non-negative integer, got {shift_range!r}")
        self.num_cells = num_cells
        self.cell_width = cell_width
        self.num_reads = num_reads
        self.num_writes = num_writes
        self.shift_range = shift_range
        self.memory_init = memory_init

    def _head_size(self, write: bool) -> int:
        # key, strength, gate, shift distribution, sharpen (+ erase, add for write heads)
        size = self.cell_width + 3 + (2 * self.shift_range + 1)
        return size + 2 * self.cell_width if write else size

    @property
    def interface_size(self) -> int:
        """Length of the flat controller output :meth:`parse_interface` reads."""
        return self.num_reads * self._head_size(False) + self.num_writes * self._head_size(True)

    def parse_interface(self, flat: Tensor) -> NTMInterface:
        """Split ``[B, interface_size]`` into an :class:`NTMInterface`, applying activations.

        Layout: all read heads, then all write heads; per head ``key [W], strength, gate,
        shift [S], sharpen`` (+ ``erase [W], add [W]`` for write heads).
        """
        if flat.dim() != 2 or flat.shape[1] != self.interface_size:
            raise ValueError(
                f"flat interface must have shape [B, {self.interface_size}], got {list(flat.shape)}"
            )
        B, W, S = flat.shape[0], self.cell_width, 2 * self.shift_range + 1
        R, Hw = self.num_reads, self.num_writes
        reads, writes = torch.split(
            flat, [R * self._head_size(False), Hw * self._head_size(True)], 1
        )
        reads = reads.reshape(B, R, -1)
        writes = writes.reshape(B, Hw, -1)

        def head(x: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
            key, strength, gate, shift, sharpen = torch.split(
                x[..., : W + 3 + S], [W, 1, 1, S, 1], -1
            )
            return (
                key,
                oneplus(strength.squeeze(-1)),
                torch.sigmoid(gate.squeeze(-1)),
                torch.softmax(shift, dim=-1),
                oneplus(sharpen.squeeze(-1)),
            )

        rk, rb, rg, rs, rgam = head(reads)
        wk, wb, wg, ws, wgam = head(writes)
        erase, add = torch.split(writes[..., W + 3 + S :], [W, W], -1)
        return NTMInterface(rk, rb, rg, rs, rgam, wk, wb, wg, ws, wgam, torch.sigmoid(erase), add)

    def initial_state(
        self,
        batch_size: int,
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
        num_cells: int | None = None,
    ) -> NTMState:
        """Constant memory; every head focused on cell 0 (a valid distribution to shift)."""
        N = num_cells or self.num_cells
        kw = {"dtype": dtype or torch.get_default_dtype(), "device": device}
        rw = torch.zeros(batch_size, self.num_reads, N, **kw)
        ww = torch.zeros(batch_size, self.num_writes, N, **kw)
        rw[..., 0] = 1.0
        ww[..., 0] = 1.0
        memory = torch.full((batch_size, N, self.cell_width), self.memory_init, **kw)
        return NTMState(memory, rw, ww)

    def check_state(self, state: NTMState) -> None:
        """Raise ``ValueError`` naming the field whose shape does not fit this memory."""
        B, N = state.memory.shape[0], state.memory.shape[1]
        expected = {
            "memory": (B, N, self.cell_width),
            "read_weights": (B, self.num_reads, N),
            "write_weights": (B, self.num_writes, N),
        }
        for name, shape in expected.items():
            got = tuple(getattr(state, name).shape)
            if got != shape:
                raise ValueError(f"state.{name} must have shape {list(shape)}, got {list(got)}")

    def forward(self, interface: NTMInterface, state: NTMState) -> tuple[Tensor, NTMState]:
        """One step: ``(read_vectors [B, R, W], new_state)``; see :func:`ntm_step`."""
        return ntm_step(interface, state)

    def step_flat(self, flat: Tensor, state: NTMState) -> tuple[Tensor, NTMState]:
        """One step from the controller's raw output ``[B, interface_size]``."""
        return self(self.parse_interface(flat), state)

    def trace_step(self, interface: NTMInterface, state: NTMState) -> NTMTraceStep:
        """What a plot of this step needs, from its interface and the state it produced."""
        return NTMTraceStep(
            read_weights=state.read_weights,
            write_weights=state.write_weights,
            read_gates=interface.read_gates,
            write_gates=interface.write_gates,
            read_shifts=interface.read_shifts,
            write_shifts=interface.write_shifts,
            read_sharpen=interface.read_sharpen,
            write_sharpen=interface.write_sharpen,
        )

    def extra_repr(self) -> str:
        return (
            f"num_cells={self.num_cells}, cell_width={self.cell_width}, "
            f"num_reads={self.num_reads}, num_writes={self.num_writes}, "
            f"shift_range={self.shift_range}"
        )
