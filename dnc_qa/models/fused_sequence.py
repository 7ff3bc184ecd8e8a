"""A whole DNC sequence as one C++ loop, forward and backward (CPU).

:meth:`MemoryNet.forward <dnc_qa.models.memory_net.MemoryNet.forward>` steps through time in
Python: per timestep a controller matrix product, ~10 element-wise LSTM operations, the
clipping, the interface layer and the fused memory step, each an autograd node. At the
reference size (``B=16, N=128, LSTM 256``) the arithmetic of those small operations is tiny,
and their dispatch and autograd bookkeeping were a third of a training step. Here the time
loop runs in C++ (``dnc_qa/memory/csrc/dnc_sequence.cpp``): the same arithmetic, the same
matrix products (ATen's), the memory step of :mod:`dnc_qa.memory.fused`, and one
:class:`DNCSequence` node whose backward pass is the hand-derived reverse loop. The batch is
cut into one chunk per thread, each chunk's whole sequence on its own thread. The link is
updated in place, with ``~sqrt(T)`` checkpoints recomputed segment by segment in the
backward pass as :class:`~dnc_qa.memory.link_function.LinkTape` does; the controller's and
the interface layer's weight gradients are one matrix product each per sequence.

It applies (:func:`applies`) to a DNC with a one-layer controller (LSTM, or feed-forward as
the graph-task reproductions use) whose memory step the fused kernel computes
(:func:`dnc_qa.memory.fused.supports`: one write head, dense links, no sharpness,
float32/64 on the CPU), without a trace and without hooks on the per-step modules;
everything else takes the per-step path, which the float64 tests hold it equal to.
``MemoryNet.fused_sequence = False`` (or ``DNC_QA_FUSED=0``) switches it off.
"""

from __future__ import annotations

import torch
from torch import Tensor

from dnc_qa.memory import fused, native
from dnc_qa.memory.dnc import DNCMemory, DNCState
from dnc_qa.memory.link_function import LinkTape
from dnc_qa.models.controller import FeedforwardController, LSTMController, LSTMState

DOUBLE_BACKWARD = (
    "the fused DNC sequence (dnc_qa.models.fused_sequence) has no double backward "
    "(create_graph=True); set `model.fused_sequence = False`, `model.memory.fused = False` "
    "and `model.deferred_weight_grads = False` for the plain differentiable path"
)


def applies(model, x: Tensor, state, trace: bool, has_hooks) -> bool:
    """Whether :func:`run` computes ``model``'s pass over ``x`` from ``state``.

    ``has_hooks(module)`` says whether calling a module would run hooks (the per-step path
    calls the interface layer and the memory module once per step; hooks must see that)."""
    memory, controller = model.memory, model.controller
    if not (
        model.fused_sequence
        and not trace
        and _plain_model(model)
        and memory.fused
        and memory._phases is None
        and memory.num_writes == 1
        and _one_layer(controller)
        and model._compiled_control is None
        and x.device.type == "cpu"
    ):
        return False
    if torch.is_grad_enabled() and not model.deferred_weight_grads:
        return False  # the plain path was asked for (e.g. double backward)
    dtype = state.memory.memory.dtype
    recurrent = _recurrent(controller)
    ctrl_state = [t for layer in state.controller for t in layer]
    tensors = (x, model.interface.weight, recurrent.weight, *ctrl_state, state.read_vectors)
    if any(t.dtype != dtype for t in tensors):
        return False
    if any(has_hooks(m) for m in (memory, model.interface, recurrent)):
        return False
    return fused.supports(None, state.memory, memory.link, memory.link_sharpness)


def _one_layer(controller) -> bool:
    """A one-layer controller of exactly our classes: a subclass may override the step the
    C++ loop reimplements."""
    if type(controller) is LSTMController:
        return controller.num_layers == 1
    return type(controller) is FeedforwardController and len(controller.layers) == 0


def _plain_model(model) -> bool:
    """No override of the per-step methods the C++ loop reimplements (a subclass of
    ``MemoryNet`` may change ``_control``; of ``DNCMemory``, the step)."""
    from dnc_qa.models.memory_net import MemoryNet

    return type(model)._control is MemoryNet._control and type(model.memory) is DNCMemory


def _recurrent(controller) -> torch.nn.Linear:
    """The layer applied to the step's inputs other than ``x``: ``W_rec`` of the C++ loop
    (LSTM: over ``[r_{t-1}, h_{t-1}]``; feed-forward: over ``r_{t-1}``)."""
    if isinstance(controller, LSTMController):
        return controller.recurrent[0]
    return controller.extra_proj


def _layout(model) -> tuple:
    """``(R, W, masking, deallocation, clip, has_clip, lstm)``: the C++ loop's settings
    (the link checkpoint spacing follows)."""
    memory = model.memory
    clip = model.clip
    return (
        memory.num_reads,
        memory.cell_width,
        memory.masking,
        memory.deallocation,
        float(clip) if clip is not None else 0.0,
        clip is not None,
        isinstance(model.controller, LSTMController),
    )


class DNCSequence(torch.autograd.Function):
    """``DNCSequence.apply(layout, x_gates, w_rec, w_if, b_if, *state0)`` ->
    ``(hc [T,B,H], rs [T,B,R*W], h_T, c_T, M_T, u_T, L_T, p_T, rw_T, ww_T)``.

    ``layout`` as :func:`_layout`; ``state0`` is ``h0, c0, r0, M0, u0, L0, p0, rw0, ww0``
    (``h0``, ``c0`` empty for a feed-forward controller). ``hc`` are the clipped controller
    outputs.
    """

    @staticmethod
    def forward(ctx, layout: tuple, x_gates: Tensor, w_rec, w_if, b_if, *state0: Tensor):
        segment = LinkTape.segment_for(x_gates.shape[1])
        outputs, saved = native.kernels().dnc_sequence_forward(
            x_gates, w_rec, w_if, b_if, list(state0), *layout, segment, True
        )
        ctx.layout = layout
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
        out = native.kernels().dnc_sequence_backward(
            g, w_rec, w_if, state0, saved, *ctx.layout, ctx.segment
        )
        if not ctx.layout[6]:  # feed-forward: h0, c0 were empty placeholders
            out[4] = out[5] = None
        return (None, *out)


def run(model, x_gates: Tensor, state) -> tuple[Tensor, Tensor, object]:
    """The controller outputs ``hc [B, T, H]`` (clipped), the read vectors
    ``rs [B, T, R*W]`` and the new :class:`~dnc_qa.models.memory_net.MemoryNetState`, for
    ``x_gates = model.controller.input_gates(x)``; :func:`applies` must hold."""
    from dnc_qa.models.memory_net import MemoryNetState

    memory = model.memory
    dtype = state.memory.memory.dtype
    layout = _layout(model)
    lstm = layout[6]
    if lstm:
        ((h0, c0),) = state.controller
    else:  # a feed-forward controller keeps no state
        h0 = c0 = state.read_vectors.new_empty(0)
    state0 = [h0, c0, state.read_vectors, *state.memory]
    state0 = [t.to(dtype).contiguous() for t in state0]
    weights = (_recurrent(model.controller).weight, model.interface.weight, model.interface.bias)
    x_gates = x_gates.contiguous()
    needs_grad = torch.is_grad_enabled() and any(
        t.requires_grad for t in (x_gates, *weights, *state0)
    )
    if needs_grad:
        outputs = DNCSequence.apply(layout, x_gates, *weights, *state0)
    else:
        outputs, _ = native.kernels().dnc_sequence_forward(
            x_gates, *weights, state0, *layout, LinkTape.segment_for(x_gates.shape[1]), False
        )
    hc, rs, h, c, *mem = outputs
    B = x_gates.shape[0]
    reads = rs[-1].view(B, memory.num_reads, memory.cell_width)
    controller_state = (LSTMState(h, c),) if lstm else ()
    new_state = MemoryNetState(controller_state, DNCState(*mem), reads)
    return hc.transpose(0, 1), rs.transpose(0, 1), new_state
