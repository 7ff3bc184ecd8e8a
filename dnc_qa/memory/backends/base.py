"""What every backend implements, and what choosing one looks at.

A backend is one way of computing the DNC memory step of ``docs/memory.md`` (or, for the C++
sequence, a whole model pass around it). Each says, for a memory and a call, whether it can
run and if not why (:meth:`Backend.supports`), and computes the step (:meth:`Backend.step`,
:meth:`Backend.step_flat`). :func:`dnc_qa.memory.backends.choose_backend` asks them in turn.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, ClassVar, NamedTuple

from torch import Tensor, nn

if TYPE_CHECKING:
    from dnc_qa.memory.dnc import DNCInterface, DNCMemory, DNCState
    from dnc_qa.memory.link_function import LinkTape


class SequencePass(NamedTuple):
    """A whole model pass as :class:`~dnc_qa.models.memory_net.MemoryNet` describes it to the
    backends (only the C++ sequence runs one; for the others the model steps through time).

    ``controller`` names a controller the C++ loop reimplements (``"lstm"``: one LSTM layer,
    ``"feedforward"``: one ``tanh`` layer, of dnc_qa's own classes) or is ``None``;
    ``recurrent`` is then its layer over the step's inputs other than ``x`` (``W_rec``).
    """

    x: Tensor  # [B, T, X]
    controller: str | None
    recurrent: nn.Linear | None
    interface: nn.Linear  # controller output -> flat interface
    clip: float | None
    controller_state: tuple[Tensor, ...]  # (h, c) of the LSTM layer; () for feed-forward
    read_vectors: Tensor  # [B, R, W], the previous step's reads
    trace: bool  # the caller wants every step's weightings
    hooks: bool  # hooks on the memory, the interface layer or the recurrent layer
    overridden: bool  # a subclass replaces per-step code the C++ loop reimplements
    compiled: bool  # model.compile_step()


class Call(NamedTuple):
    """What a choice of backend looks at besides the memory's configuration: the incoming
    state and the interface of one step (activated, or the controller's raw ``flat`` output),
    or a whole pass (``sequence``)."""

    state: DNCState
    interface: DNCInterface | None = None
    flat: Tensor | None = None
    sequence: SequencePass | None = None


class SequenceResult(NamedTuple):
    """What a whole pass returns: the (clipped) controller outputs and the reads of every
    step, and the final state."""

    controller_outputs: Tensor  # [B, T, H]
    read_vectors_all: Tensor  # [B, T, R * W]
    controller_state: tuple[Tensor, ...]  # (h, c) or ()
    memory: DNCState
    read_vectors: Tensor  # [B, R, W]


class Backend(ABC):
    """One way of computing a DNC memory step: the protocol every backend implements."""

    name: ClassVar[str]
    """What ``backend=`` calls it."""

    summary: ClassVar[str]
    """One line: what computes the step (the reason :func:`choose_backend` gives)."""

    links: ClassVar[str] = "dense"
    """The links it computes, ``DNCMemory.link``: ``"dense"`` or ``"sparse"``."""

    uses_kernels: ClassVar[bool] = False
    """Whether it needs the C++ kernels (asked for explicitly, they are built first)."""

    @abstractmethod
    def supports(self, memory: DNCMemory, call: Call | None = None) -> str | None:
        """``None`` when this backend computes ``memory``'s step for ``call``, else why not (a
        short phrase). Without ``call``, only the memory's configuration is checked."""

    @abstractmethod
    def step(
        self,
        memory: DNCMemory,
        interface: DNCInterface,
        state: DNCState,
        tape: LinkTape | None = None,
    ) -> tuple[Tensor, DNCState]:
        """One step from the activated interface: ``(read_vectors [B, R, W], new_state)``.
        ``tape``: shared by the steps of one sequence (memory-lean backward pass); the
        values do not depend on it."""

    def step_flat(
        self, memory: DNCMemory, flat: Tensor, state: DNCState, tape: LinkTape | None = None
    ) -> tuple[Tensor, DNCState]:
        """One step from the controller's raw output ``flat [B, interface_size]``."""
        return self.step(memory, memory.parse_interface(flat), state, tape)

    def run_sequence(
        self, memory: DNCMemory, sequence: SequencePass, state: DNCState, x_gates: Tensor
    ) -> SequenceResult:
        """A whole model pass (the C++ sequence only; the others leave the loop to the
        model)."""
        raise NotImplementedError(f"the {self.name} backend computes single steps")
