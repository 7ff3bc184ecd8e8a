"""A whole DNC pass as one C++ loop, forward and backward (``backend="cpp-sequence"``).

:meth:`MemoryNet.forward <dnc_qa.models.memory_net.MemoryNet.forward>` steps through time in
Python: per timestep a controller matrix product, ~10 element-wise LSTM operations, the
clipping, the interface layer and the memory step, each an autograd node. At the reference
size (``B=16, N=128, LSTM 256``) the arithmetic of those small operations is tiny, and their
dispatch and autograd bookkeeping are a third of a training step. Here the time loop runs in
C++ (``csrc/dnc_sequence.cpp``): the same arithmetic, the same matrix products (ATen's), the
C++ memory step of :mod:`~dnc_qa.memory.backends.cpp`, and one :class:`DNCSequence` node
whose backward pass is the hand-derived reverse loop. The batch is cut into one chunk per
thread, each chunk's whole sequence on its own thread. The link alternates between two
working buffers, with ``~sqrt(T)`` checkpoints recomputed segment by segment in the backward
pass as
:class:`~dnc_qa.memory.link_function.LinkTape` does; the controller's and the interface
layer's weight gradients are one matrix product each per sequence.

It runs (:meth:`CppSequence.supports`) a DNC whose memory step the C++ step computes, with a
one-layer controller (LSTM, or feed-forward as the graph-task reproductions use), without a
trace and without hooks on the per-step modules; the model describes its pass in a
:class:`~dnc_qa.memory.backends.base.SequencePass`. A single step asked of it is the C++ step.

One difference a user can see: a parameter or initial-state tensor that the loss cannot
reach gets a zero gradient here, ``None`` on the per-step path.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import torch
from torch import Tensor

from dnc_qa.memory import native
from dnc_qa.memory.backends.base import Backend, Call, SequencePass, SequenceResult
from dnc_qa.memory.backends.cpp import CppStep, _kernel_layout
from dnc_qa.memory.link_function import LinkTape

if TYPE_CHECKING:
    from dnc_qa.memory.dnc import DNCMemory, DNCState

DOUBLE_BACKWARD = (
    "the C++ sequence has no double backward (create_graph=True); build the model with "
    "backend='torch' (and set model.deferred_weight_grads = False) for the plain "
    "differentiable path"
)


class SequenceSettings(NamedTuple):
    """The loop's fixed settings, in the order the kernels take them (the link checkpoint
    spacing follows)."""

    layout: list  # the interface layout (dnc_qa.memory.layout.kernel_layout)
    num_reads: int
    cell_width: int
    deallocation: bool
    clip: float  # 0.0 when has_clip is False
    has_clip: bool
    lstm: bool  # else one feed-forward (tanh) layer


class SequenceState(NamedTuple):
    """The incoming state as the kernels take it (``h0``, ``c0`` empty for feed-forward)."""

    h0: Tensor
    c0: Tensor
    read_vectors: Tensor
    memory: Tensor
    usage: Tensor
    link: Tensor
    precedence: Tensor
    read_weights: Tensor
    write_weights: Tensor


class SequenceOutputs(NamedTuple):
    """What the forward loop returns (``[T, B, ...]`` for the per-step outputs)."""

    controller_outputs: Tensor  # [T, B, H], clipped
    read_vectors_all: Tensor  # [T, B, R * W]
    h: Tensor
    c: Tensor
    memory: Tensor
    usage: Tensor
    link: Tensor
    precedence: Tensor
    read_weights: Tensor
    write_weights: Tensor


class SequenceGrads(NamedTuple):
    """What the backward loop returns: the gradients of ``DNCSequence``'s inputs."""

    x_gates: Tensor
    w_rec: Tensor
    w_if: Tensor
    b_if: Tensor
    h0: Tensor
    c0: Tensor
    read_vectors: Tensor
    memory: Tensor
    usage: Tensor
    link: Tensor
    precedence: Tensor
    read_weights: Tensor
    write_weights: Tensor


def settings_for(memory: DNCMemory, sequence: SequencePass) -> SequenceSettings:
    clip = sequence.clip
    return SequenceSettings(
        _kernel_layout(memory.layout),
        memory.num_reads,
        memory.cell_width,
        memory.deallocation,
        float(clip) if clip is not None else 0.0,
        clip is not None,
        sequence.controller == "lstm",
    )


class DNCSequence(torch.autograd.Function):
    """``DNCSequence.apply(settings, x_gates, w_rec, w_if, b_if, *state0)`` ->
    :class:`SequenceOutputs` (as a tuple); ``settings`` a :class:`SequenceSettings`,
    ``state0`` a :class:`SequenceState`."""

    @staticmethod
    def forward(ctx, settings: SequenceSettings, x_gates: Tensor, w_rec, w_if, b_if,
                *state0: Tensor):
        segment = LinkTape.segment_for(x_gates.shape[1])
        outputs, saved = native.kernels().dnc_sequence_forward(
            x_gates, w_rec, w_if, b_if, list(state0), *settings, segment, True
        )
        ctx.settings = settings
        ctx.segment = segment
        ctx.set_materialize_grads(False)
        # `saved` owns what the C++ backward pass needs (none of it an output): saved like any
        # tensor, so autograd frees it with the node's other saved tensors
        ctx.save_for_backward(w_rec, w_if, saved, *state0)
        return tuple(outputs)

    @staticmethod
    def backward(ctx, *grads):
        if torch.is_grad_enabled():
            raise RuntimeError(DOUBLE_BACKWARD)
        w_rec, w_if, saved, *state0 = ctx.saved_tensors
        empty = w_rec.new_empty(0)
        g = [empty if x is None else x.contiguous() for x in grads]
        out = SequenceGrads(*native.kernels().dnc_sequence_backward(
            g, w_rec, w_if, state0, saved, *ctx.settings, ctx.segment
        ))
        if not ctx.settings.lstm:  # feed-forward: h0, c0 were empty placeholders
            out = out._replace(h0=None, c0=None)
        return (None, *out)


def run(memory: DNCMemory, sequence: SequencePass, state: DNCState,
        x_gates: Tensor) -> SequenceResult:
    """The pass over ``x_gates = controller.input_gates(x)`` ``[B, T, G]`` from the memory
    state ``state`` and the controller state and reads in ``sequence``."""
    dtype = state.memory.dtype
    settings = settings_for(memory, sequence)
    if settings.lstm:
        h0, c0 = sequence.controller_state
    else:  # a feed-forward controller keeps no state
        h0 = c0 = sequence.read_vectors.new_empty(0)
    state0 = SequenceState(*(t.to(dtype).contiguous()
                             for t in (h0, c0, sequence.read_vectors, *state)))
    weights = (sequence.recurrent.weight, sequence.interface.weight, sequence.interface.bias)
    x_gates = x_gates.contiguous()
    needs_grad = torch.is_grad_enabled() and any(
        t.requires_grad for t in (x_gates, *weights, *state0)
    )
    if needs_grad:
        out = SequenceOutputs(*DNCSequence.apply(settings, x_gates, *weights, *state0))
    else:
        outputs, _ = native.kernels().dnc_sequence_forward(
            x_gates, *weights, list(state0), *settings, LinkTape.segment_for(x_gates.shape[1]),
            False,
        )
        out = SequenceOutputs(*outputs)
    B = x_gates.shape[0]
    reads = out.read_vectors_all[-1].view(B, memory.num_reads, memory.cell_width)
    memory_state = type(state)(out.memory, out.usage, out.link, out.precedence,
                               out.read_weights, out.write_weights)
    return SequenceResult(
        out.controller_outputs.transpose(0, 1),
        out.read_vectors_all.transpose(0, 1),
        (out.h, out.c) if settings.lstm else (),
        memory_state,
        reads,
    )


class CppSequence(Backend):
    """``backend="cpp-sequence"``: :func:`run` for a whole pass; a single step is the C++
    step's."""

    name = "cpp-sequence"
    summary = "the C++ sequence (csrc/dnc_sequence.cpp: the whole pass, one call per direction)"
    uses_kernels = True

    def __init__(self, step: CppStep) -> None:
        self._step = step

    def supports(self, memory: DNCMemory, call: Call | None = None) -> str | None:
        seq = call.sequence if call is not None else None
        why = self._step.supports(memory, call if seq is None else Call(call.state))
        if why is not None or seq is None:
            return why
        if seq.trace:
            return "a trace (trace=True) needs the per-step loop"
        if seq.controller is None:
            return "the controller is not one LSTM or feed-forward layer (of dnc_qa's classes)"
        if seq.overridden:
            return "a subclass overrides per-step code the C++ loop reimplements"
        if seq.compiled:
            return "compile_step() compiles the per-step loop"
        if seq.hooks:
            return "hooks on the memory or a per-step layer must see every step"
        dtype = call.state.memory.dtype
        tensors = (seq.x, seq.interface.weight, seq.recurrent.weight, *seq.controller_state,
                   seq.read_vectors)
        if any(t.dtype != dtype for t in tensors):
            return "the input, the weights and the state are not all of the state's dtype"
        return None

    def step(self, memory, interface, state, tape=None):
        return self._step.step(memory, interface, state, tape)

    def step_flat(self, memory, flat, state, tape=None):
        return self._step.step_flat(memory, flat, state, tape)

    def run_sequence(self, memory, sequence, state, x_gates):
        return run(memory, sequence, state, x_gates)
