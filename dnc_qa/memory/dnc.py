"""The DNC's memory: its state, its interface and the memory module.

See ``docs/memory.md`` and Graves et al., Nature 538 (2016), Methods. This module holds the
types every way of computing a step shares: :class:`DNCState`, :class:`DNCInterface` (whose
fields and their place in the controller's flat output are the one layout of
:mod:`dnc_qa.memory.layout`) and :class:`DNCMemory`, which parses the interface, makes the
initial state and hands each step to the backend :func:`dnc_qa.memory.backends.choose_backend`
picks (the PyTorch step, the C++ step, sparse links, ...).

Shapes: ``B`` batch, ``N`` cells, ``W`` cell width, ``R`` read heads, ``Hw`` write heads.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from dnc_qa.memory import sparse_link as S
from dnc_qa.memory.backends import (
    BackendChoice,
    Call,
    check_backend_name,
    choose_backend,
)
from dnc_qa.memory.backends.pytorch import read_phase, write_phase
from dnc_qa.memory.layout import (
    IDENTITY,
    ONEPLUS,
    SIGMOID,
    SOFTMAX,
    InterfaceLayout,
    interface_layout,
)
from dnc_qa.memory.link_function import LinkTape
from dnc_qa.validation import check_positive_ints

DEFAULT_MEMORY_INIT = 1e-6
"""Constant initial memory (Collier & Beel 2018): avoids 0/0 cosines on an empty memory."""


class DNCState(NamedTuple):
    """The memory's recurrent state (the fields of :data:`dnc_qa.memory.layout.STATE_FIELDS`)."""

    memory: Tensor  # [B, N, W]
    usage: Tensor  # [B, N]
    link: Tensor  # [B, Hw, N, N] (sparse links: [B, Hw, N, 2K])
    precedence: Tensor  # [B, Hw, N]
    read_weights: Tensor  # [B, R, N]
    write_weights: Tensor  # [B, Hw, N]


class DNCInterface(NamedTuple):
    """What the controller emits each step, after activations (the fields of
    :data:`dnc_qa.memory.layout.INTERFACE_FIELDS`, in their order).

    The last three fields belong to the options and are ``None`` unless enabled.
    """

    read_keys: Tensor  # [B, R, W]
    read_strengths: Tensor  # [B, R]       [1, inf)
    write_keys: Tensor  # [B, Hw, W]
    write_strengths: Tensor  # [B, Hw]     [1, inf)
    erase_vectors: Tensor  # [B, Hw, W]    [0, 1]
    write_vectors: Tensor  # [B, Hw, W]
    free_gates: Tensor  # [B, R]           [0, 1]
    allocation_gates: Tensor  # [B, Hw]    [0, 1]
    write_gates: Tensor  # [B, Hw]         [0, 1]
    read_modes: Tensor  # [B, R, 2*Hw+1]   simplex: (backward heads, content, forward heads)
    read_masks: Tensor | None = None  # [B, R, W] [0, 1]   masking
    write_masks: Tensor | None = None  # [B, Hw, W] [0, 1] masking
    link_sharpness: Tensor | None = None  # [B, R] [1, inf) link sharpness


class DNCTraceStep(NamedTuple):
    """One step of a trace; a model stacks these over time into ``[B, T, ...]`` tensors."""

    read_weights: Tensor  # [B, R, N]
    write_weights: Tensor  # [B, Hw, N]
    usage: Tensor  # [B, N]
    free_gates: Tensor  # [B, R]
    allocation_gates: Tensor  # [B, Hw]
    write_gates: Tensor  # [B, Hw]
    read_modes: Tensor  # [B, R, 2*Hw+1]


def oneplus(x: Tensor) -> Tensor:
    """``oneplus(x) = 1 + softplus(x)``, mapping reals to ``[1, inf)``."""
    return 1.0 + F.softplus(x)


_ACTIVATIONS = {
    IDENTITY: lambda x: x,
    ONEPLUS: oneplus,
    SIGMOID: torch.sigmoid,
    SOFTMAX: lambda x: torch.softmax(x, dim=-1),
}


class DNCMemory(nn.Module):
    """The DNC's memory as a module: ``read_vectors, state = mem(interface, state)``.

    Holds no parameters, so a trained controller runs with any ``num_cells``.

    Args:
        num_cells: ``N``.
        cell_width: ``W``.
        num_reads: ``R``.
        num_writes: ``Hw``.
        masking: key/memory masking (adds read and write masks to the interface).
        deallocation: freed cells are erased in proportion to ``1 - psi``.
        link_sharpness: sharpen directional weightings by a learned power per read head.
        memory_init: the constant the initial memory is filled with.
        link: ``"dense"`` (default, the spec's ``N x N`` links) or ``"sparse"`` (SDNC: the
            ``link_k`` largest entries per row and column, ``state.link`` is
            ``[B, Hw, N, 2 * link_k]``; equal to dense when ``link_k >= N``).
        link_k: ``K`` for sparse links.
        backend: how steps are computed: ``"auto"`` (default) or a name of
            :data:`dnc_qa.memory.backends.BACKEND_NAMES`; see
            :func:`~dnc_qa.memory.backends.choose_backend`. A backend that cannot compute this
            configuration at all is a ``ValueError`` here; one that cannot run a given call
            (e.g. the C++ step on a GPU) is one at that call.
    """

    def __init__(
        self,
        num_cells: int,
        cell_width: int,
        num_reads: int = 4,
        num_writes: int = 1,
        masking: bool = False,
        deallocation: bool = False,
        link_sharpness: bool = False,
        memory_init: float = DEFAULT_MEMORY_INIT,
        link: str = "dense",
        link_k: int = 8,
        backend: str = "auto",
    ) -> None:
        super().__init__()
        if link not in ("dense", "sparse"):
            raise ValueError(f"link must be 'dense' or 'sparse', got {link!r}")
        if not isinstance(link_k, int) or link_k < 1:
            raise ValueError(f"link_k must be a positive integer, got {link_k!r}")
        check_positive_ints(
            num_cells=num_cells, cell_width=cell_width, num_reads=num_reads, num_writes=num_writes
        )
        self.link = link
        self.link_k = link_k
        self._phases: tuple | None = None
        self.num_cells = num_cells
        self.cell_width = cell_width
        self.num_reads = num_reads
        self.num_writes = num_writes
        self.masking = masking
        self.deallocation = deallocation
        self.link_sharpness = link_sharpness
        self.memory_init = memory_init
        self.backend = backend

    @property
    def backend(self) -> str:
        """The backend asked for (``"auto"`` or a name); set it to change how steps run."""
        return self._backend

    @backend.setter
    def backend(self, name: str) -> None:
        check_backend_name(name)
        if name != "auto":
            choose_backend(name, memory=self)  # raises if it cannot compute this configuration
        self._backend = name

    def choose_backend(self, call: Call) -> BackendChoice:
        """Which backend computes ``call`` (a step or a whole pass) and why."""
        return choose_backend(self._backend, memory=self, call=call)

    # ------------------------------------------------------------------ interface layout

    @property
    def layout(self) -> InterfaceLayout:
        """Where each interface field sits in the flat controller output
        (:func:`dnc_qa.memory.layout.interface_layout`)."""
        return interface_layout(
            self.num_reads, self.cell_width, self.num_writes, self.masking, self.link_sharpness
        )

    @property
    def interface_size(self) -> int:
        """Length of the flat controller output :meth:`parse_interface` reads.

        ``W*R + 3*W + 5*R + 3`` for one write head, as in the paper.
        """
        return self.layout.size

    def _check_flat(self, flat: Tensor) -> None:
        if flat.dim() != 2 or flat.shape[1] != self.interface_size:
            raise ValueError(
                f"flat interface must have shape [B, {self.interface_size}], got {list(flat.shape)}"
            )

    def parse_interface(self, flat: Tensor) -> DNCInterface:
        """Split ``[B, interface_size]`` into a :class:`DNCInterface`, applying activations.

        Strengths and link sharpness get ``oneplus``; gates, erase vectors and masks a
        sigmoid; read modes a softmax over their ``2*Hw + 1`` entries; keys and write
        vectors stay as they are (the layout's activations).
        """
        self._check_flat(flat)
        B = flat.shape[0]
        slots = self.layout.slots
        parts = torch.split(flat, [s.size for s in slots], dim=1)
        return DNCInterface(**{
            s.name: _ACTIVATIONS[s.activation](part.reshape(B, *s.shape))
            for s, part in zip(slots, parts, strict=True)
        })

    # ------------------------------------------------------------------ state and step

    def initial_state(
        self,
        batch_size: int,
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
        num_cells: int | None = None,
    ) -> DNCState:
        """A fresh state: constant memory, everything else zero.

        ``num_cells`` overrides the module's ``N`` (a trained model can use a larger memory).
        """
        N = num_cells or self.num_cells
        B, W, R, Hw = batch_size, self.cell_width, self.num_reads, self.num_writes
        kw = {"dtype": dtype or torch.get_default_dtype(), "device": device}
        return DNCState(
            memory=torch.full((B, N, W), self.memory_init, **kw),
            usage=torch.zeros(B, N, **kw),
            link=(
                S.initial_sparse_link(B, Hw, N, self.link_k, kw["dtype"], device)
                if self.link == "sparse"
                else torch.zeros(B, Hw, N, N, **kw)
            ),
            precedence=torch.zeros(B, Hw, N, **kw),
            read_weights=torch.zeros(B, R, N, **kw),
            write_weights=torch.zeros(B, Hw, N, **kw),
        )

    def check_state(self, state: DNCState) -> None:
        """Raise ``ValueError`` naming the field whose shape does not fit this memory."""
        B, N = state.memory.shape[0], state.memory.shape[1]
        R, W, Hw = self.num_reads, self.cell_width, self.num_writes
        expected = {
            "memory": (B, N, W),
            "usage": (B, N),
            "link": (B, Hw, N, 2 * self.link_k) if self.link == "sparse" else (B, Hw, N, N),
            "precedence": (B, Hw, N),
            "read_weights": (B, R, N),
            "write_weights": (B, Hw, N),
        }
        for name, shape in expected.items():
            got = tuple(getattr(state, name).shape)
            if got != shape:
                raise ValueError(f"state.{name} must have shape {list(shape)}, got {list(got)}")

    def forward(
        self, interface: DNCInterface, state: DNCState, tape: LinkTape | None = None
    ) -> tuple[Tensor, DNCState]:
        """One step: ``(read_vectors [B, R, W], new_state)``, by the backend
        :meth:`choose_backend` picks (all compute the step of ``docs/memory.md``).

        ``tape``: from :meth:`begin_sequence`, shared by the steps of one sequence so that the
        backward pass keeps few links (the values do not depend on it).
        """
        choice = choose_backend(self._backend, memory=self, call=Call(state, interface=interface))
        return choice.backend.step(self, interface, state, tape)

    def step_flat(
        self, flat: Tensor, state: DNCState, tape: LinkTape | None = None
    ) -> tuple[Tensor, DNCState]:
        """One step from the controller's raw output ``flat [B, interface_size]``: the same as
        ``self(self.parse_interface(flat), state, tape)`` (the C++ step applies the
        activations in C++ too); what a model uses when it needs no trace."""
        self._check_flat(flat)
        choice = choose_backend(self._backend, memory=self, call=Call(state, flat=flat))
        return choice.backend.step_flat(self, flat, state, tape)

    def compile_step(self, **compile_kwargs) -> None:
        """Run the link-free parts of each PyTorch step under ``torch.compile`` (same
        arithmetic). The link node stays eager; the C++ backends then step aside (see
        :func:`~dnc_qa.memory.backends.choose_backend`). Compiling happens on the first call;
        ``compile_kwargs`` go to ``torch.compile`` (default ``dynamic=False``).
        """
        compile_kwargs.setdefault("dynamic", False)
        self._phases = (
            torch.compile(write_phase, **compile_kwargs),
            torch.compile(read_phase, **compile_kwargs),
        )

    def begin_sequence(self, steps: int) -> LinkTape:
        """A tape to pass as ``tape=`` to ``steps`` consecutive calls (memory-lean backward)."""
        return LinkTape.for_length(steps)

    def trace_step(self, interface: DNCInterface, state: DNCState) -> DNCTraceStep:
        """What a plot of this step needs, from its interface and the state it produced."""
        return DNCTraceStep(
            read_weights=state.read_weights,
            write_weights=state.write_weights,
            usage=state.usage,
            free_gates=interface.free_gates,
            allocation_gates=interface.allocation_gates,
            write_gates=interface.write_gates,
            read_modes=interface.read_modes,
        )

    def extra_repr(self) -> str:
        return (
            f"num_cells={self.num_cells}, cell_width={self.cell_width}, "
            f"num_reads={self.num_reads}, num_writes={self.num_writes}, "
            f"masking={self.masking}, deallocation={self.deallocation}, "
            f"link_sharpness={self.link_sharpness}, link={self.link!r}, link_k={self.link_k}, "
            f"backend={self._backend!r}"
        )
