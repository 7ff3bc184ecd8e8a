"""A controller coupled to an external memory: what the DNC and the NTM have in common.

Per timestep (Graves et al. 2016, Methods):

    h_t            = controller([x_t, r_{t-1}], h_{t-1})        (clipped to [-clip, clip])
    xi_t           = W_xi h_t                                   (the interface vector)
    r_t, memory_t  = memory(parse(xi_t), memory_{t-1})
    y_t            = W_y [h_t, r_t]

``y`` is computed for all timesteps in one matrix product after the loop.

For a DNC the memory's backend may run the whole pass instead (the C++ sequence,
:mod:`dnc_qa.memory.backends.cpp_sequence`): :meth:`MemoryNet.forward` describes the pass
(:class:`~dnc_qa.memory.backends.SequencePass`) and asks the memory which backend runs it
(:meth:`MemoryNet.backend_for` says which and why).

The layers applied at every step (the controller's recurrent / feedback weights and
``W_xi``) get their weight gradients as one matrix product per sequence rather than one per
step (:mod:`dnc_qa.models.sequence_linear`; :attr:`MemoryNet.deferred_weight_grads`).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import torch
from torch import Tensor, nn

from dnc_qa.memory.backends import BackendChoice, Call, SequencePass
from dnc_qa.memory.dnc import DNCMemory, DNCState
from dnc_qa.memory.ntm import NTMMemory, NTMState
from dnc_qa.models.controller import (
    ControllerState,
    FeedforwardController,
    LSTMController,
    LSTMState,
    make_controller,
)
from dnc_qa.models.sequence_linear import SequenceLinear, deferral_possible
from dnc_qa.validation import check_positive_ints


class MemoryNetState(NamedTuple):
    """The whole recurrent state of a memory-augmented network."""

    controller: ControllerState
    memory: DNCState | NTMState
    read_vectors: Tensor  # [B, R, W]


def check_input(x: Tensor, input_size: int) -> None:
    """Raise ``ValueError`` unless ``x`` is ``[B, T, input_size]`` with ``B, T >= 1``."""
    if not isinstance(x, Tensor):
        raise ValueError(
            f"x must be a tensor of shape [B, T, {input_size}], got {type(x).__name__}"
        )
    if x.dim() != 3 or x.shape[-1] != input_size or x.shape[0] < 1 or x.shape[1] < 1:
        raise ValueError(
            f"x must have shape [B, T, {input_size}] (batch first), got {list(x.shape)}"
        )
    if not x.is_floating_point():
        raise ValueError(f"x must be a floating-point tensor, got {x.dtype}")


class SequenceLayers(NamedTuple):
    """One sequence's stand-ins for the per-step layers (deferred weight gradients)."""

    controller: tuple[SequenceLinear, ...]  # for ``controller.step_linears()``
    interface: SequenceLinear  # for ``MemoryNet.interface``


_HOOKS = ("_forward_hooks", "_forward_pre_hooks", "_backward_hooks", "_backward_pre_hooks")


def _has_call_hooks(module: nn.Module) -> bool:
    """Whether calling ``module`` would run hooks (forward or module-backward, its own or
    global ones), which a per-sequence stand-in would skip."""
    from torch.nn.modules import module as module_lib

    return any(getattr(module, name) for name in _HOOKS) or any(
        getattr(module_lib, "_global" + name, None) for name in _HOOKS
    )


class MemoryNet(nn.Module):
    """Controller + memory module; subclasses choose the memory (:class:`DNCMemory`, ...).

    Call as ``y, state = model(x, state=None)`` or, with ``trace=True``,
    ``y, state, trace = model(x, state, trace=True)`` where ``trace`` holds the memory's
    per-step values stacked to ``[B, T, ...]``.
    """

    deferred_weight_grads: bool = True
    """Compute the per-step layers' weight gradients once per sequence (one matrix product
    over all ``T B`` rows, :mod:`~dnc_qa.models.sequence_linear`) instead of once per step.
    Same values up to rounding; set ``False`` (on a model or on the class) for the plain
    per-step path, e.g. for double backward. The plain path is also used where deferral
    does not apply: ``T == 1``, no grad mode, autocast, :meth:`compile_step`, ``torch.func``
    transforms, and hooks on the per-step modules (so that they see every step)."""

    def __init__(
        self,
        memory: DNCMemory | NTMMemory,
        input_size: int,
        output_size: int,
        hidden_size: int,
        controller_layers: int,
        controller: str,
        clip: float | None,
    ) -> None:
        super().__init__()
        check_positive_ints(input_size=input_size, output_size=output_size, hidden_size=hidden_size)
        self.input_size = input_size
        self.output_size = output_size
        self.clip = clip
        self.memory = memory
        read_size = memory.num_reads * memory.cell_width
        self.controller = make_controller(
            controller, input_size, read_size, hidden_size, controller_layers
        )
        self.interface = nn.Linear(hidden_size, memory.interface_size)
        self.output = nn.Linear(hidden_size + read_size, output_size)
        self._compiled_control = None

    def _control(
        self,
        x_gate: Tensor,
        reads: Tensor,
        ctrl: ControllerState,
        layers: SequenceLayers | None = None,
    ):
        """Controller step, clipping and the raw interface vector: ``(h, xi, ctrl)``.

        ``layers``: this sequence's :class:`SequenceLayers`, or ``None`` (plain modules).
        """
        linears = None if layers is None else layers.controller
        h, ctrl = self.controller.step(x_gate, reads.flatten(1), ctrl, linears)
        if self.clip is not None:
            h = h.clamp(-self.clip, self.clip)
        xi = self.interface(h) if layers is None else layers.interface(h)
        return h, xi, ctrl

    def _sequence_layers(self, x: Tensor) -> SequenceLayers | None:
        """Per-sequence layers with deferred weight gradients for a pass over ``x [B, T, X]``,
        or ``None`` where the plain per-step modules are used (see
        :attr:`deferred_weight_grads`)."""
        modules = (*self.controller.step_linears(), self.interface)
        if (
            not self.deferred_weight_grads
            or self._compiled_control is not None
            or x.shape[1] < 2
            or not deferral_possible(x)
            or any(_has_call_hooks(m) for m in modules)
        ):
            return None
        *ctrl, iface = (SequenceLinear(m.weight, m.bias) for m in modules)
        return SequenceLayers(tuple(ctrl), iface)

    def compile_step(self, **compile_kwargs: Any) -> None:
        """Optional ``torch.compile`` path: the per-step controller + interface, and the
        memory's link-free arithmetic, are compiled on the first call (same values).

        ``compile_kwargs`` go to ``torch.compile`` (default ``dynamic=False``). Compiling
        takes tens of seconds on a CPU; ``benchmarks.speed --compile`` reports it.
        """
        compile_kwargs.setdefault("dynamic", False)
        self._compiled_control = torch.compile(self._control, **compile_kwargs)
        if hasattr(self.memory, "compile_step"):
            self.memory.compile_step(**compile_kwargs)

    def initial_state(
        self,
        batch_size: int,
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
        num_cells: int | None = None,
    ) -> MemoryNetState:
        """A fresh state; ``num_cells`` runs the same weights with a different memory size."""
        dtype = dtype or self.output.weight.dtype
        device = torch.device(device) if device is not None else self.output.weight.device
        mem = self.memory.initial_state(batch_size, dtype=dtype, device=device, num_cells=num_cells)
        reads = torch.zeros(
            batch_size, self.memory.num_reads, self.memory.cell_width, dtype=dtype, device=device
        )
        return MemoryNetState(self.controller.initial_state(batch_size, dtype, device), mem, reads)

    def _sequence_pass(self, x: Tensor, state: MemoryNetState, trace: bool) -> SequencePass:
        """This pass as the memory's backends see it (what the C++ sequence needs to know)."""
        ctrl = self.controller
        kind, recurrent = None, None
        if type(ctrl) is LSTMController and ctrl.num_layers == 1:
            kind, recurrent = "lstm", ctrl.recurrent[0]
        elif type(ctrl) is FeedforwardController and len(ctrl.layers) == 0:
            kind, recurrent = "feedforward", ctrl.extra_proj
        modules = (self.memory, self.interface) + ((recurrent,) if recurrent is not None else ())
        return SequencePass(
            x=x,
            controller=kind,
            recurrent=recurrent,
            interface=self.interface,
            clip=self.clip,
            controller_state=tuple(t for layer in state.controller for t in layer),
            read_vectors=state.read_vectors,
            trace=trace,
            hooks=any(_has_call_hooks(m) for m in modules),
            overridden=(type(self)._control is not MemoryNet._control
                        or type(self.memory) is not DNCMemory),
            compiled=self._compiled_control is not None,
        )

    def backend_for(
        self, x: Tensor, state: MemoryNetState | None = None, trace: bool = False
    ) -> BackendChoice:
        """Which memory backend a pass over ``x`` runs (from ``state``) and why."""
        if state is None:
            state = self.initial_state(x.shape[0], dtype=x.dtype, device=x.device)
        if not isinstance(self.memory, DNCMemory):
            return BackendChoice("torch", f"the {type(self.memory).__name__} has one step, "
                                          "in PyTorch")
        return self.memory.choose_backend(Call(state.memory, sequence=self._sequence_pass(
            x, state, trace)))

    def forward(
        self, x: Tensor, state: MemoryNetState | None = None, trace: bool = False
    ) -> tuple[Tensor, MemoryNetState] | tuple[Tensor, MemoryNetState, Any]:
        """Run ``x [B, T, input_size]``; return logits ``[B, T, output_size]`` and the state."""
        check_input(x, self.input_size)
        B, T, _ = x.shape
        if state is None:
            state = self.initial_state(B, dtype=x.dtype, device=x.device)
        elif state.read_vectors.shape[0] != B:
            raise ValueError(
                f"state is for batch size {state.read_vectors.shape[0]}, but x has batch size {B}"
            )
        else:
            self.memory.check_state(state.memory)
        if isinstance(self.memory, DNCMemory):
            sequence = self._sequence_pass(x, state, trace)
            choice = self.memory.choose_backend(Call(state.memory, sequence=sequence))
            if choice.name == "cpp-sequence":
                x_gates = self.controller.input_gates(x)
                r = choice.backend.run_sequence(self.memory, sequence, state.memory, x_gates)
                ctrl = (LSTMState(*r.controller_state),) if r.controller_state else ()
                y = self.output(torch.cat([r.controller_outputs, r.read_vectors_all], dim=-1))
                return y, MemoryNetState(ctrl, r.memory, r.read_vectors)
        # unbind, not x_gates[:, t]: the backward of T selects would zero-fill and add T full
        # [B, T, 4H] gradients; unbind's backward stacks the T step gradients once
        x_gates = self.controller.input_gates(x).unbind(1)
        ctrl, mem, reads = state
        hs, rs, steps = [], [], []
        begin = getattr(self.memory, "begin_sequence", None)
        step_kw = {"tape": begin(T)} if begin is not None else {}
        layers = self._sequence_layers(x)
        control = self._compiled_control or self._control
        # step_flat skips the memory module's __call__: not when a trace or its hooks need it
        parse_here = trace or _has_call_hooks(self.memory) or not hasattr(self.memory, "step_flat")
        for t in range(T):
            h, xi, ctrl = control(x_gates[t], reads, ctrl, layers)
            if parse_here:
                iface = self.memory.parse_interface(xi)
                reads, mem = self.memory(iface, mem, **step_kw)
                if trace:
                    steps.append(self.memory.trace_step(iface, mem))
            else:  # the memory parses (DNC: inside its fused step where it can)
                reads, mem = self.memory.step_flat(xi, mem, **step_kw)
            hs.append(h)
            rs.append(reads.flatten(1))
        y = self.output(torch.cat([torch.stack(hs, 1), torch.stack(rs, 1)], dim=-1))
        new_state = MemoryNetState(ctrl, mem, reads)
        if not trace:
            return y, new_state
        stacked = type(steps[0])(*(torch.stack(field, dim=1) for field in zip(*steps, strict=True)))
        return y, new_state, stacked
