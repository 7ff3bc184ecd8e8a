"""Sparse temporal links (``backend="sparse"``, for ``DNCMemory(link="sparse")``).

The SDNC's link (Rae et al. 2016, :mod:`dnc_qa.memory.sparse_link`): each row and column of
``L`` and the precedence keep their ``link_k`` largest entries, so a step costs ``O(N K)``
instead of ``O(N^2)``; ``state.link`` is then ``[B, Hw, N, 2K]``. With ``K >= N`` nothing is
dropped and the step is exactly the spec's.

The link step runs as the C++ kernels (``csrc/sparse_link.cpp``) on the CPU where they are
built, else as its PyTorch version (the same kept entries). The ``[B, N, W]`` arithmetic runs
as the lean nodes of :mod:`dnc_qa.memory.memory_nodes`, which keep no ``[B, N, W]``
intermediates for the backward pass (at large ``N`` a step is bound by passes over those).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from torch import Tensor

from dnc_qa.memory import addressing as A
from dnc_qa.memory import sparse_link as S
from dnc_qa.memory.backends.base import Backend, Call
from dnc_qa.memory.backends.pytorch import read_phase, write_phase

if TYPE_CHECKING:
    from dnc_qa.memory.dnc import DNCInterface, DNCMemory, DNCState


def sparse_step(
    interface: DNCInterface,
    state: DNCState,
    link_k: int,
    deallocation: bool = False,
    phases: tuple | None = None,
) -> tuple[Tensor, DNCState]:
    """One memory step with sparse links (``state.link`` ``[B, Hw, N, 2K]``); ``phases``:
    compiled :func:`~dnc_qa.memory.backends.pytorch.write_phase` / ``read_phase``."""
    lean = phases is None
    if lean:
        usage, memory, ww, read_content = write_phase(interface, state, deallocation, lean=True)
    else:
        usage, memory, ww, read_content = phases[0](interface, state, deallocation)
    new_link, forward, backward = S.sparse_link_step(
        state.link, state.precedence, ww, state.read_weights, link_k
    )
    precedence = S.sparsify_precedence(A.precedence_update(state.precedence, ww), link_k)
    if lean:
        rw, read_vectors = read_phase(interface, memory, read_content, forward, backward, True)
    else:
        rw, read_vectors = phases[1](interface, memory, read_content, forward, backward)
    return read_vectors, type(state)(memory, usage, new_link, precedence, rw, ww)


class SparseStep(Backend):
    """``backend="sparse"``: :func:`sparse_step`."""

    name = "sparse"
    links = "sparse"
    summary = (
        "sparse links (the link_k largest entries per row and column; the link step in C++ "
        "on the CPU where the kernels are built, else PyTorch)"
    )

    def supports(self, memory: DNCMemory, call: Call | None = None) -> str | None:
        if memory.link != "sparse":
            return "it computes sparse links: build the memory with link='sparse'"
        return None

    def step(self, memory, interface, state, tape=None):
        return sparse_step(interface, state, memory.link_k, memory.deallocation, memory._phases)
