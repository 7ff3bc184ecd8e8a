"""The whole memory step as one C++ call per direction (``backend="cpp"``).

The PyTorch step spells the spec out as ~150 small tensor operations per step (and ~2x that
in the backward pass); at the reference size (``N=128``) their per-call overhead, not
arithmetic, is most of a training step. Here the same arithmetic (spec steps 1-10) runs as
one C++ call per step in each direction (``csrc/dnc_step.cpp``, built by
:mod:`dnc_qa.memory.native`), and :class:`FusedStep` ties the two together for autograd. The
backward pass is derived by hand; the float64 tests hold it to ``gradcheck`` and to the
PyTorch step.

Two entry points: :func:`fused_step` takes the activated interface (``DNCMemory.forward``),
:func:`fused_flat_step` the controller's raw output, whose activations it applies in C++ as
well, with the offsets of :mod:`dnc_qa.memory.layout` (``DNCMemory.step_flat``: every model
pass without a trace).

It computes one write head, dense links, masking and de-allocation, in float32/float64 on
the CPU (:meth:`CppStep.supports` lists the rest). Like the PyTorch step it shares a
:class:`~dnc_qa.memory.link_function.LinkTape` across a sequence, so the backward pass
recomputes incoming links from checkpoints instead of keeping one per step.

The kernels take their inputs as one list in a fixed order; :class:`StepInputs`,
:class:`StepOutputs`, :class:`StepSaved` and :class:`SavedForBackward` name them (the C++
side names the same positions in ``enum Input`` and its neighbours).
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, NamedTuple

import torch
from torch import Tensor

from dnc_qa.memory import native
from dnc_qa.memory.backends.base import Backend, Call
from dnc_qa.memory.layout import InterfaceLayout, kernel_layout
from dnc_qa.memory.link_function import LinkTape

if TYPE_CHECKING:
    from dnc_qa.memory.dnc import DNCMemory, DNCState

DOUBLE_BACKWARD = (
    "the C++ memory step has no double backward (create_graph=True); build the model with "
    "backend='torch' (and set model.deferred_weight_grads = False) for the plain "
    "differentiable path"
)


class StepInputs(NamedTuple):
    """The step kernels' inputs, in their order: the interface fields the step reads
    (:data:`dnc_qa.memory.layout.INTERFACE_FIELDS` without link sharpness; absent masks are
    empty tensors), then the incoming state."""

    read_keys: Tensor  # [B, R, W]
    read_strengths: Tensor  # [B, R]
    write_keys: Tensor  # [B, 1, W]
    write_strengths: Tensor  # [B, 1]
    erase_vectors: Tensor  # [B, 1, W]
    write_vectors: Tensor  # [B, 1, W]
    free_gates: Tensor  # [B, R]
    allocation_gates: Tensor  # [B, 1]
    write_gates: Tensor  # [B, 1]
    read_modes: Tensor  # [B, R, 3]
    read_masks: Tensor  # [B, R, W] or empty
    write_masks: Tensor  # [B, 1, W] or empty
    memory: Tensor  # [B, N, W]
    usage: Tensor  # [B, N]
    link: Tensor  # [B, 1, N, N]
    precedence: Tensor  # [B, 1, N]
    read_weights: Tensor  # [B, R, N]
    write_weights: Tensor  # [B, 1, N]


INTERFACE_INPUTS = StepInputs._fields[:12]
"""The interface part of :class:`StepInputs` (what ``activate`` returns, in this order)."""
STATE_INPUTS = StepInputs._fields[12:]


class StepOutputs(NamedTuple):
    """What a step returns: the reads and the new state."""

    reads: Tensor  # [B, R, W]
    memory: Tensor
    usage: Tensor
    link: Tensor
    precedence: Tensor
    read_weights: Tensor
    write_weights: Tensor


class StepSaved(NamedTuple):
    """What the forward kernel returns besides, for the backward pass."""

    psi: Tensor  # [B, N] retention
    write_content: Tensor  # [B, N]
    allocation: Tensor  # [B, N]
    order: Tensor  # [B, N] int64, the allocation's sort order
    read_content: Tensor  # [B, R, N]
    forward: Tensor  # [B, R, N] directional weights
    backward: Tensor  # [B, R, N]
    content_stats: Tensor  # [B, R + 1, 2, N] per read head, then the write head: each memory
    # row's dot product with the head's (masked) key, then the row's (masked) norm


class SavedForBackward(NamedTuple):
    """The backward kernel's ``saved`` argument: the new state but its link, then
    :class:`StepSaved`."""

    memory: Tensor
    usage: Tensor
    precedence: Tensor
    read_weights: Tensor
    write_weights: Tensor
    psi: Tensor
    write_content: Tensor
    allocation: Tensor
    order: Tensor
    read_content: Tensor
    forward: Tensor
    backward: Tensor
    content_stats: Tensor

    @classmethod
    def of(cls, out: StepOutputs, extra: StepSaved) -> SavedForBackward:
        return cls(out.memory, out.usage, out.precedence, out.read_weights, out.write_weights,
                   *extra)


def kernels_built() -> bool:
    """Whether the C++ kernels are there (without grad mode: only when built before; see
    :func:`dnc_qa.memory.native.kernels`)."""
    return native.kernels(build=torch.is_grad_enabled()) is not None


@functools.cache
def _kernel_layout(layout: InterfaceLayout) -> list[int]:
    return kernel_layout(layout, INTERFACE_INPUTS)


def _shapes_fit(interface, state, flat: Tensor | None) -> bool:
    """Every state field and interface field (if given) has exactly its spec shape, on the
    CPU (the kernel reads raw memory; anything else, e.g. a broadcast batch, goes elsewhere)."""
    B, N, W = state.memory.shape
    R = state.read_weights.shape[1]
    if flat is not None and (flat.shape[0] != B or flat.device.type != "cpu"):
        return False
    if interface is not None:
        expected = StepInputs(
            (B, R, W), (B, R), (B, 1, W), (B, 1), (B, 1, W), (B, 1, W), (B, R), (B, 1),
            (B, 1), (B, R, 3), (B, R, W), (B, 1, W), *([None] * 6),
        )
        for name in INTERFACE_INPUTS:
            t = getattr(interface, name)
            if t is not None and (
                tuple(t.shape) != getattr(expected, name) or t.device.type != "cpu"
            ):
                return False
    return all(
        tuple(t.shape) == shape and t.device.type == "cpu"
        for t, shape in zip(
            state, [(B, N, W), (B, N), (B, 1, N, N), (B, 1, N), (B, R, N), (B, 1, N)], strict=True
        )
    )


def _inputs(interface, state) -> StepInputs:
    """The kernel's inputs, contiguous and of the state's dtype; absent masks empty."""
    empty = state.memory.new_empty(0)
    dtype = state.memory.dtype
    fields = [getattr(interface, name) for name in INTERFACE_INPUTS] + list(state)
    return StepInputs(*(empty if t is None else t.to(dtype).contiguous() for t in fields))


def _buffer(out: Tensor | None) -> Tensor:
    return out if out is not None else torch.empty(0)


def _forward(inputs: StepInputs, deallocation: bool, tape: LinkTape):
    results = native.kernels().dnc_step_forward(list(inputs), deallocation,
                                                _buffer(tape.output_buffer()))
    return StepOutputs(*results[:7]), StepSaved(*results[7:])


class FusedStep(torch.autograd.Function):
    """``FusedStep.apply(tape, deallocation, *inputs)`` -> :class:`StepOutputs` (as a tuple),
    ``inputs`` a :class:`StepInputs`."""

    @staticmethod
    def forward(ctx, tape: LinkTape, deallocation: bool, *inputs: Tensor):
        inputs = StepInputs(*inputs)
        out, extra = _forward(inputs, deallocation, tape)
        ctx.t = tape.record(inputs.link, inputs.precedence, out.write_weights)
        tape.produced(out.link)
        ctx.tape = tape
        ctx.deallocation = deallocation
        ctx.set_materialize_grads(False)
        # the incoming link is not saved: the tape recomputes it (see LinkTape)
        kept = inputs._replace(link=inputs.link.new_empty(0))
        ctx.save_for_backward(*kept, *SavedForBackward.of(out, extra))
        return tuple(out)

    @staticmethod
    def backward(ctx, *grads):
        return FusedStep.backward_from(ctx, ctx.saved_tensors, grads)

    @staticmethod
    def backward_from(ctx, saved: tuple, grads: tuple):
        """:meth:`backward` given ``ctx.saved_tensors`` (unpacked once: a saved-tensor hook,
        e.g. non-reentrant checkpointing, allows one unpacking per backward pass)."""
        if torch.is_grad_enabled():
            raise RuntimeError(DOUBLE_BACKWARD)
        n = len(StepInputs._fields)
        tape = ctx.tape
        prev_link, recyclable = tape.link_before(ctx.t)
        inputs = StepInputs(*saved[:n])._replace(link=prev_link)
        kept = SavedForBackward(*saved[n:])
        grads = StepOutputs(*grads)
        empty = inputs.memory.new_empty(0)
        g = [empty if x is None else x.contiguous() for x in grads]
        out = StepInputs(*native.kernels().dnc_step_backward(
            list(inputs), ctx.deallocation, list(kept), g, _buffer(tape.spare())
        ))
        if recyclable:
            tape.give_back(prev_link)
        if tape.is_own_grad(grads.link):
            tape.give_back(grads.link)  # made by the next step's backward, used up here
        tape.mark_grad(out.link)
        out = out._replace(
            read_masks=out.read_masks if inputs.read_masks.numel() else None,
            write_masks=out.write_masks if inputs.write_masks.numel() else None,
        )
        return (None, None, *out)


def fused_step(interface, state: DNCState, deallocation: bool, tape: LinkTape | None):
    """One memory step through the C++ kernels: ``(read_vectors, new_state)``, as the
    PyTorch step computes it for the configurations :meth:`CppStep.supports` accepts."""
    inputs = _inputs(interface, state)
    if tape is None:
        tape = LinkTape(1)
    if torch.is_grad_enabled() and any(t.requires_grad for t in inputs):
        out = StepOutputs(*FusedStep.apply(tape, deallocation, *inputs))
    else:
        out, _ = _forward(inputs, deallocation, tape)
        tape.produced(out.link, recorded=False)
    return out.reads, type(state)(*out[1:])


class FusedFlatStep(torch.autograd.Function):
    """:class:`FusedStep` with the interface's activations in C++ as well:
    ``FusedFlatStep.apply(tape, deallocation, layout, flat, *state)`` with ``flat`` the
    controller's raw ``[B, interface_size]`` output and ``layout`` its kernel layout
    (:func:`dnc_qa.memory.layout.kernel_layout`)."""

    @staticmethod
    def forward(ctx, tape: LinkTape, deallocation: bool, layout: list, flat: Tensor, *state):
        interface = native.kernels().activate(flat, layout)
        outputs = FusedStep.forward(ctx, tape, deallocation, *interface, *state)
        ctx.layout = layout
        ctx.flat = flat.detach()  # (FusedStep.forward above saved the activated fields)
        return outputs

    @staticmethod
    def backward(ctx, *grads):
        if torch.is_grad_enabled():
            raise RuntimeError(DOUBLE_BACKWARD)
        saved = ctx.saved_tensors
        g = StepInputs(*FusedStep.backward_from(ctx, saved, grads)[2:])
        empty = ctx.flat.new_empty(0)
        g_interface = [empty if x is None else x for x in g[: len(INTERFACE_INPUTS)]]
        interface = list(saved[: len(INTERFACE_INPUTS)])
        g_flat = native.kernels().activate_backward(ctx.flat, interface, g_interface, ctx.layout)
        return (None, None, None, g_flat, *g[len(INTERFACE_INPUTS) :])


def fused_flat_step(flat: Tensor, state: DNCState, layout: list, deallocation: bool,
                    tape: LinkTape | None):
    """One memory step from the controller's raw interface ``flat [B, interface_size]``,
    activations included: ``(read_vectors, new_state)``; ``layout``: the kernel layout."""
    dtype = state.memory.dtype
    flat = flat.to(dtype)
    state_inputs = [t.to(dtype).contiguous() for t in state]
    if tape is None:
        tape = LinkTape(1)
    needs_grad = torch.is_grad_enabled() and (
        flat.requires_grad or any(t.requires_grad for t in state_inputs)
    )
    if needs_grad:
        out = StepOutputs(*FusedFlatStep.apply(tape, deallocation, layout, flat, *state_inputs))
    else:
        interface = native.kernels().activate(flat, layout)
        out, _ = _forward(StepInputs(*interface, *state_inputs), deallocation, tape)
        tape.produced(out.link, recorded=False)
    return out.reads, type(state)(*out[1:])


class CppStep(Backend):
    """``backend="cpp"``: :func:`fused_step` / :func:`fused_flat_step`."""

    name = "cpp"
    summary = "the C++ step (csrc/dnc_step.cpp: one call per step and direction)"
    uses_kernels = True

    def supports(self, memory: DNCMemory, call: Call | None = None) -> str | None:
        if memory.link != "dense":
            return "it computes dense links (sparse links: the sparse backend)"
        if memory.num_writes != 1:
            return f"{memory.num_writes} write heads (the C++ step has one)"
        if memory.link_sharpness:
            return "link sharpness is not in the C++ step"
        if call is None:
            return None if native.kernels(build=False) is not None else (
                "the C++ kernels are not built here")
        if memory._phases is not None:
            return "compile_step() runs the PyTorch step under torch.compile"
        state = call.state
        memory_tensor = state.memory
        if memory_tensor.device.type != "cpu":
            return f"the state is on {memory_tensor.device.type} (the C++ step runs on the CPU)"
        if memory_tensor.dtype not in (torch.float32, torch.float64):
            return f"the state is {memory_tensor.dtype} (the C++ step takes float32 or float64)"
        if torch.is_autocast_enabled("cpu"):
            return "autocast is on"
        if torch.compiler.is_compiling():
            return "torch.compile is tracing"
        if torch._C._are_functorch_transforms_active():
            return "a torch.func transform is active"
        if not _shapes_fit(call.interface, state, call.flat):
            return "the interface or state does not have the step's exact shapes (a broadcast?)"
        if not kernels_built():
            return "the C++ kernels are not built yet (no-grad passes do not build them)"
        return None

    def step(self, memory, interface, state, tape=None):
        return fused_step(interface, state, memory.deallocation, tape)

    def step_flat(self, memory, flat, state, tape=None):
        return fused_flat_step(flat, state, _kernel_layout(memory.layout), memory.deallocation,
                               tape)
