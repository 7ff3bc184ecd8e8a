"""The whole DNC memory step as one fused CPU kernel, forward and backward.

:func:`dnc_step` in :mod:`dnc_qa.memory.dnc` spells the spec out as ~150 small tensor
operations per step (and ~2x that in the backward pass); at the reference size (``N=128``)
their per-call overhead, not arithmetic, is most of a training step. Here the same
arithmetic (spec steps 1-10) runs as one C++ call per step in each direction
(``csrc/dnc_step.cpp``, compiled with the link kernels by :mod:`dnc_qa.memory.native`), and
:class:`FusedStep` ties the two together for autograd. The backward pass is derived by hand;
the float64 tests hold it to ``torch.autograd.gradcheck`` and to the eager path.

Two entry points: :func:`fused_step` takes the activated :class:`DNCInterface` (what
``DNCMemory.forward`` gets), :func:`fused_flat_step` the controller's raw output and applies
the interface's activations in C++ as well (what ``DNCMemory.step_flat``, and so every model
pass without a trace, uses: ~40 fewer small ops per step).

Used by :class:`~dnc_qa.memory.dnc.DNCMemory` when :func:`supports` says so: one write head,
dense links, no link sharpness, float32/float64 on the CPU, kernels built, not under autocast.
Masking and de-allocation are supported. Like the link-only path it shares a
:class:`~dnc_qa.memory.link_function.LinkTape` across a sequence, so the backward pass
recomputes incoming links from checkpoints instead of keeping one per step.
"""

from __future__ import annotations

import os

import torch
from torch import Tensor

from dnc_qa.memory import native
from dnc_qa.memory.link_function import LinkTape

DOUBLE_BACKWARD = (
    "the fused DNC memory step (dnc_qa.memory.fused) has no double backward "
    "(create_graph=True); set `model.memory.fused = False` (and "
    "`model.deferred_weight_grads = False`) for the plain differentiable path"
)

_INTERFACE_FIELDS = (
    "read_keys",
    "read_strengths",
    "write_keys",
    "write_strengths",
    "erase_vectors",
    "write_vectors",
    "free_gates",
    "allocation_gates",
    "write_gates",
    "read_modes",
    "read_masks",
    "write_masks",
)


def enabled() -> bool:
    """``False`` when ``DNC_QA_FUSED=0`` (or ``DNC_QA_NATIVE=0``) or the kernels did not build
    (without grad mode: or are not built yet, see :func:`dnc_qa.memory.native.kernels`)."""
    if os.environ.get("DNC_QA_FUSED", "1") == "0":
        return False
    k = native.kernels(build=torch.is_grad_enabled())
    return k is not None and hasattr(k, "dnc_step_forward")


def supports(interface, state, link: str, link_sharpness: bool) -> bool:
    """Whether :func:`fused_step` computes this step (else the eager path must).

    ``interface`` may be ``None`` (a flat interface, :func:`fused_flat_step`)."""
    memory = state.memory
    return (
        link == "dense"
        and not link_sharpness
        and (interface is None or interface.link_sharpness is None)
        and state.link.shape[1] == 1
        and memory.device.type == "cpu"
        and memory.dtype in (torch.float32, torch.float64)
        and not torch.is_autocast_enabled("cpu")
        and not torch.compiler.is_compiling()
        and not torch._C._are_functorch_transforms_active()
        and _shapes_fit(interface, state)
        and enabled()
    )


def _shapes_fit(interface, state) -> bool:
    """Every state field and interface field (if given) has exactly its spec shape, on the
    CPU (the kernel reads raw memory; anything else, e.g. a broadcast batch, goes eager)."""
    B, N, W = state.memory.shape
    R = state.read_weights.shape[1]
    expected = {
        "read_keys": (B, R, W),
        "read_strengths": (B, R),
        "write_keys": (B, 1, W),
        "write_strengths": (B, 1),
        "erase_vectors": (B, 1, W),
        "write_vectors": (B, 1, W),
        "free_gates": (B, R),
        "allocation_gates": (B, 1),
        "write_gates": (B, 1),
        "read_modes": (B, R, 3),
        "read_masks": (B, R, W),
        "write_masks": (B, 1, W),
    }
    if interface is not None:
        for name, shape in expected.items():
            t = getattr(interface, name)
            if t is not None and (tuple(t.shape) != shape or t.device.type != "cpu"):
                return False
    return all(
        tuple(t.shape) == shape and t.device.type == "cpu"
        for t, shape in zip(
            state, [(B, N, W), (B, N), (B, 1, N, N), (B, 1, N), (B, R, N), (B, 1, N)], strict=True
        )
    )


def _inputs(interface, state) -> list[Tensor]:
    """The kernel's 18 inputs in its order, contiguous; absent masks are empty tensors."""
    empty = state.memory.new_empty(0)
    fields = [getattr(interface, name) for name in _INTERFACE_FIELDS] + list(state)
    dtype = state.memory.dtype
    return [empty if t is None else t.to(dtype).contiguous() for t in fields]


class FusedStep(torch.autograd.Function):
    """``FusedStep.apply(tape, deallocation, *inputs)`` -> ``(reads, M, u, L, p, rw, ww)``.

    ``inputs`` are :func:`_inputs`' 18 tensors: the interface fields, then the state's.
    """

    @staticmethod
    def forward(ctx, tape: LinkTape, deallocation: bool, *inputs: Tensor):
        k = native.kernels()
        out = tape.output_buffer()
        results = k.dnc_step_forward(list(inputs), deallocation, _buffer(out))
        reads, memory, usage, link, precedence, rw, ww = results[:7]
        psi, cw, alloc, order, cr, f, bk = results[7:]
        ctx.t = tape.record(inputs[14], inputs[15], ww)
        tape.produced(link)
        ctx.tape = tape
        ctx.deallocation = deallocation
        ctx.set_materialize_grads(False)
        # the incoming link is not saved: the tape recomputes it (see LinkTape)
        saved_inputs = [t if i != 14 else t.new_empty(0) for i, t in enumerate(inputs)]
        ctx.save_for_backward(
            *saved_inputs, memory, usage, precedence, rw, ww, psi, cw, alloc, order, cr, f, bk
        )
        return reads, memory, usage, link, precedence, rw, ww

    @staticmethod
    def backward(ctx, *grads):
        return FusedStep.backward_from(ctx, ctx.saved_tensors, grads)

    @staticmethod
    def backward_from(ctx, saved: tuple, grads: tuple):
        """:meth:`backward` given ``ctx.saved_tensors`` (unpacked once: a saved-tensor hook,
        e.g. non-reentrant checkpointing, allows one unpacking per backward pass)."""
        if torch.is_grad_enabled():
            raise RuntimeError(DOUBLE_BACKWARD)
        inputs, state_saved = list(saved[:18]), list(saved[18:])
        tape = ctx.tape
        prev_link, recyclable = tape.link_before(ctx.t)
        inputs[14] = prev_link
        grad_link = grads[3]
        empty = inputs[12].new_empty(0)
        g = [empty if x is None else x.contiguous() for x in grads]
        out = native.kernels().dnc_step_backward(
            inputs, ctx.deallocation, state_saved, g, _buffer(tape.spare())
        )
        if recyclable:
            tape.give_back(prev_link)
        if tape.is_own_grad(grad_link):
            tape.give_back(grad_link)  # made by the next step's backward, used up here
        tape.mark_grad(out[14])
        if not inputs[10].numel():
            out[10] = None
        if not inputs[11].numel():
            out[11] = None
        return (None, None, *out)


def _buffer(out: Tensor | None) -> Tensor:
    return out if out is not None else torch.empty(0)


def fused_step(interface, state, deallocation: bool, tape: LinkTape | None):
    """One memory step through the fused kernels: ``(read_vectors, new_state)``.

    Same contract as :func:`dnc_qa.memory.dnc.dnc_step` for the configurations
    :func:`supports` accepts.
    """
    inputs = _inputs(interface, state)
    if tape is None:
        tape = LinkTape(1)
    needs_grad = torch.is_grad_enabled() and any(t.requires_grad for t in inputs)
    if needs_grad:
        reads, memory, usage, link, precedence, rw, ww = FusedStep.apply(
            tape, deallocation, *inputs
        )
    else:
        out = tape.output_buffer()
        results = native.kernels().dnc_step_forward(inputs, deallocation, _buffer(out))
        reads, memory, usage, link, precedence, rw, ww = results[:7]
        tape.produced(link, recorded=False)
    return reads, type(state)(memory, usage, link, precedence, rw, ww)


class FusedFlatStep(torch.autograd.Function):
    """:class:`FusedStep` with the interface's activations fused in as well:
    ``FusedFlatStep.apply(tape, deallocation, layout, flat, *state)`` where ``flat`` is the
    controller's raw ``[B, interface_size]`` output and ``layout = (R, W, masking)``."""

    @staticmethod
    def forward(ctx, tape: LinkTape, deallocation: bool, layout: tuple, flat: Tensor, *state):
        k = native.kernels()
        iface = k.activate(flat, *layout)
        outputs = FusedStep.forward(ctx, tape, deallocation, *iface, *state)
        ctx.layout = layout
        ctx.flat = flat.detach()  # (FusedStep.forward above saved the activated fields)
        return outputs

    @staticmethod
    def backward(ctx, *grads):
        if torch.is_grad_enabled():
            raise RuntimeError(DOUBLE_BACKWARD)
        saved = ctx.saved_tensors
        grad_inputs = FusedStep.backward_from(ctx, saved, grads)[2:]
        g_iface, g_state = list(grad_inputs[:12]), grad_inputs[12:]
        empty = ctx.flat.new_empty(0)
        g_iface = [empty if g is None else g for g in g_iface]
        iface = list(saved[:12])
        g_flat = native.kernels().activate_backward(ctx.flat, iface, g_iface, *ctx.layout)
        return (None, None, None, g_flat, *g_state)


def fused_flat_step(flat: Tensor, state, layout: tuple, deallocation: bool, tape: LinkTape | None):
    """One memory step from the controller's raw interface ``flat [B, interface_size]``,
    activations included: ``(read_vectors, new_state)``. ``layout = (R, W, masking)``."""
    dtype = state.memory.dtype
    flat = flat.to(dtype)
    state_inputs = [t.to(dtype).contiguous() for t in state]
    if tape is None:
        tape = LinkTape(1)
    needs_grad = torch.is_grad_enabled() and (
        flat.requires_grad or any(t.requires_grad for t in state_inputs)
    )
    if needs_grad:
        reads, memory, usage, link, precedence, rw, ww = FusedFlatStep.apply(
            tape, deallocation, layout, flat, *state_inputs
        )
    else:
        k = native.kernels()
        iface = k.activate(flat, *layout)
        out = tape.output_buffer()
        results = k.dnc_step_forward([*iface, *state_inputs], deallocation, _buffer(out))
        reads, memory, usage, link, precedence, rw, ww = results[:7]
        tape.produced(link, recorded=False)
    return reads, type(state)(memory, usage, link, precedence, rw, ww)
