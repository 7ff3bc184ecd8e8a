"""The PyTorch step (``backend="torch"``): the spec's steps 1-10 wired from one small function
per mechanism (:mod:`dnc_qa.memory.addressing`), differentiable by autograd.

It runs every configuration of dense links (any number of write heads, every option, any
device and dtype, ``torch.compile``), and it is what the other backends are held to besides
the naive transcription of the equations. Two things keep it lean over long sequences:

* the temporal link (spec steps 6 and 8) is one autograd node
  (:func:`dnc_qa.memory.link_function.link_step`) whose backward pass recomputes links from
  checkpoints on the sequence's :class:`~dnc_qa.memory.link_function.LinkTape` instead of
  keeping one per step; on the CPU its row loops are the C++ kernels when they are built
  (``csrc/dnc_link.cpp``), elsewhere PyTorch operations;
* from ``N >= CHECKPOINT_MIN_CELLS`` the link-free arithmetic of a step is recomputed in the
  backward pass (``torch.utils.checkpoint``) instead of keeping its ``[B, N, W]``
  activations.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
import torch.utils.checkpoint
from torch import Tensor

from dnc_qa.memory import addressing as A
from dnc_qa.memory import memory_nodes as MN
from dnc_qa.memory.backends.base import Backend, Call
from dnc_qa.memory.link_function import LinkTape, link_step

if TYPE_CHECKING:
    from dnc_qa.memory.dnc import DNCInterface, DNCMemory, DNCState

CHECKPOINT_MIN_CELLS = 256
"""From this memory size on, sequences recompute the link-free arithmetic in the backward pass
instead of keeping its ``[B, N, W]`` activations for every step."""


def dnc_step(
    interface: DNCInterface,
    state: DNCState,
    deallocation: bool = False,
    tape: LinkTape | None = None,
    phases: tuple | None = None,
    checkpoint: bool = False,
) -> tuple[Tensor, DNCState]:
    """One memory step with dense links, in the spec's order (steps 1-10).

    Args:
        interface: this step's :class:`~dnc_qa.memory.dnc.DNCInterface`.
        state: the incoming :class:`~dnc_qa.memory.dnc.DNCState` (subscript ``t-1``).
        deallocation: erase freed cells: ``M_{t-1} <- M_{t-1} * psi`` before writing.
        tape: shared by the steps of one sequence for a memory-lean backward pass; the values
            do not depend on it.
        phases: ``(write_phase, read_phase)`` replacements (compiled versions of this
            module's :func:`write_phase` and :func:`read_phase`).
        checkpoint: recompute :func:`write_phase` in the backward pass
            (``torch.utils.checkpoint``) instead of saving its activations; same values.

    Returns:
        ``(read_vectors [B, R, W], new_state)``.
    """
    write, read = phases or (write_phase, read_phase)
    if checkpoint and torch.is_grad_enabled():
        # only what write_phase reads: keeping the link alive here would defeat the tape;
        # write_phase draws no random numbers, so no RNG state is saved (reading the CUDA
        # generator's state cannot be captured in a CUDA graph)
        light = state._replace(link=None, precedence=None)
        usage, memory, ww, read_content = torch.utils.checkpoint.checkpoint(
            write, interface, light, deallocation, use_reentrant=False,
            preserve_rng_state=False,
        )
    else:
        usage, memory, ww, read_content = write(interface, state, deallocation)
    # 6. + 8. Temporal links, and the directional weights from the previous read weights and
    # the new links, in one node (A.link_update and A.directional_weights, fused).
    new_link, forward, backward = link_step(
        state.link, state.precedence, ww, state.read_weights, tape
    )
    forward, backward = forward.transpose(1, 2), backward.transpose(1, 2)  # [B, R, Hw, N]
    precedence = A.precedence_update(state.precedence, ww)
    rw, read_vectors = read(interface, memory, read_content, forward, backward)
    return read_vectors, type(state)(memory, usage, new_link, precedence, rw, ww)


def write_phase(
    interface: DNCInterface, state: DNCState, deallocation: bool = False, lean: bool = False
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Spec steps 1-5 and 7: ``(usage, memory, write_weights, read_content)``.

    Everything of a step that neither reads nor writes the link (a pure tensor function, so
    ``DNCMemory.compile_step`` can hand it to ``torch.compile``). ``lean``: the
    ``[B, N, W]`` arithmetic as the nodes of :mod:`dnc_qa.memory.memory_nodes` (same values;
    what the sparse backend uses).
    """
    erase_and_add = MN.erase_and_add if lean else A.erase_and_add
    # 1. Retention and usage.
    psi = A.retention(interface.free_gates, state.read_weights)
    usage = A.usage_update(state.usage, state.write_weights, psi)
    memory = state.memory * psi.unsqueeze(-1) if deallocation else state.memory
    # 2. Write content weights against the previous memory.
    write_content = _content_weights(
        memory, interface.write_keys, interface.write_strengths, interface.write_masks, lean
    )
    # 3.-4. Allocation, head after head, and the write weights.
    allocation = A.write_allocations(usage, interface.allocation_gates, interface.write_gates)
    ww = A.write_weights(
        write_content, allocation, interface.allocation_gates, interface.write_gates
    )
    # 5. Erase and add.
    memory = erase_and_add(memory, ww, interface.erase_vectors, interface.write_vectors)
    # 7. Read content weights against the new memory.
    read_content = _content_weights(
        memory, interface.read_keys, interface.read_strengths, interface.read_masks, lean
    )
    return usage, memory, ww, read_content


def _content_weights(memory, keys, strengths, masks, lean: bool) -> Tensor:
    """:func:`A.content_weights`, or its lean node (:mod:`memory_nodes`, unmasked only)."""
    if lean and masks is None:
        return MN.content_weights(memory, keys, strengths)
    return A.content_weights(memory, keys, strengths, masks=masks)


def read_phase(
    interface: DNCInterface,
    memory: Tensor,
    read_content: Tensor,
    forward: Tensor,
    backward: Tensor,
    lean: bool = False,
) -> tuple[Tensor, Tensor]:
    """Spec steps 9-10 (after optional link sharpness): ``(read_weights, read_vectors)``."""
    if interface.link_sharpness is not None:
        forward = A.sharpen_directional(forward, interface.link_sharpness)
        backward = A.sharpen_directional(backward, interface.link_sharpness)
    rw = A.read_weights(interface.read_modes, backward, read_content, forward)
    return rw, (MN.read_memory if lean else A.read_memory)(memory, rw)


class PyTorchStep(Backend):
    """``backend="torch"``: :func:`dnc_step`."""

    name = "torch"
    summary = (
        "the PyTorch step (one function per mechanism, dnc_qa/memory/addressing.py; on the "
        "CPU the link update's row loops in C++ where the kernels are built)"
    )

    def supports(self, memory: DNCMemory, call: Call | None = None) -> str | None:
        if memory.link != "dense":
            return "it computes dense links (sparse links: the sparse backend)"
        return None

    def step(self, memory, interface, state, tape=None):
        phases = memory._phases
        return dnc_step(
            interface,
            state,
            deallocation=memory.deallocation,
            tape=tape,
            phases=phases,
            checkpoint=tape is not None
            and phases is None
            and state.memory.shape[1] >= CHECKPOINT_MIN_CELLS,
        )
