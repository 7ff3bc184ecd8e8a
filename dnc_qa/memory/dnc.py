"""The DNC's memory access: state, interface and one step, exactly as the spec says.

See ``docs/memory.md`` and Graves et al., Nature 538 (2016), Methods. The
arithmetic lives in :mod:`dnc_qa.memory.addressing`; this module wires it in the spec's order.

Shapes: ``B`` batch, ``N`` cells, ``W`` cell width, ``R`` read heads, ``Hw`` write heads.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
import torch.utils.checkpoint
from torch import Tensor, nn

from dnc_qa.memory import addressing as A
from dnc_qa.memory import fused
from dnc_qa.memory import memory_nodes as MN
from dnc_qa.memory import sparse_link as S
from dnc_qa.memory.link_function import LinkTape, link_step
from dnc_qa.validation import check_positive_ints

CHECKPOINT_MIN_CELLS = 256
"""From this memory size on, sequences recompute the link-free arithmetic in the backward pass
instead of keeping its ``[B, N, W]`` activations for every step (see ``DNCMemory``)."""

DEFAULT_MEMORY_INIT = 1e-6
"""Constant initial memory (Collier & Beel 2018): avoids 0/0 cosines on an empty memory."""


class DNCState(NamedTuple):
    """The memory's recurrent state."""

    memory: Tensor  # [B, N, W]
    usage: Tensor  # [B, N]
    link: Tensor  # [B, Hw, N, N]
    precedence: Tensor  # [B, Hw, N]
    read_weights: Tensor  # [B, R, N]
    write_weights: Tensor  # [B, Hw, N]


class DNCInterface(NamedTuple):
    """What the controller emits each step, after activations.

    The last three fields belong to the DNC-MDS options and are ``None`` unless enabled.
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


def dnc_step(
    interface: DNCInterface,
    state: DNCState,
    deallocation: bool = False,
    tape: LinkTape | None = None,
    link: str = "dense",
    link_k: int = 8,
    phases: tuple | None = None,
    checkpoint: bool = False,
) -> tuple[Tensor, DNCState]:
    """One memory step in the spec's order (steps 1-10).

    Args:
        interface: this step's :class:`DNCInterface`.
        state: the incoming :class:`DNCState` (subscript ``t-1``).
        deallocation: DNC-D, erase freed cells: ``M_{t-1} <- M_{t-1} * psi`` before writing.
        tape: shared by the steps of one sequence for a memory-lean backward pass
            (see :mod:`dnc_qa.memory.link_function`); the values do not depend on it.
        link: ``"dense"`` (the spec) or ``"sparse"`` (SDNC links, see
            :mod:`dnc_qa.memory.sparse_link`; ``state.link`` is then ``[B, Hw, N, 2K]``).
        link_k: ``K`` entries kept per row/column of the link and in the precedence.
        phases: ``(write_phase, read_phase)`` replacements (compiled versions of this
            module's :func:`write_phase` and :func:`read_phase`).
        checkpoint: recompute :func:`write_phase` in the backward pass
            (``torch.utils.checkpoint``) instead of saving its activations; same values.

    Returns:
        ``(read_vectors [B, R, W], new_state)``.
    """
    # sparse links: the [B, N, W] arithmetic as lean nodes (memory_nodes), which keep no
    # [B, N, W] intermediates, so recomputing them in backward would only cost time
    lean = link == "sparse" and phases is None
    write, read = phases or (write_phase, read_phase)
    if lean:
        usage, memory, ww, read_content = write_phase(interface, state, deallocation, lean=True)
    elif checkpoint and torch.is_grad_enabled():
        # only what write_phase reads: keeping the link alive here would defeat the tape
        light = state._replace(link=None, precedence=None)
        usage, memory, ww, read_content = torch.utils.checkpoint.checkpoint(
            write, interface, light, deallocation, use_reentrant=False
        )
    else:
        usage, memory, ww, read_content = write(interface, state, deallocation)
    # 6. + 8. Temporal links, and the directional weights from the previous read weights and
    # the new links, in one fused node (A.link_update and A.directional_weights, fused).
    if link == "sparse":
        new_link, forward, backward = S.sparse_link_step(
            state.link, state.precedence, ww, state.read_weights, link_k
        )
        precedence = S.sparsify_precedence(A.precedence_update(state.precedence, ww), link_k)
    else:
        new_link, forward, backward = link_step(
            state.link, state.precedence, ww, state.read_weights, tape
        )
        forward, backward = forward.transpose(1, 2), backward.transpose(1, 2)  # [B, R, Hw, N]
        precedence = A.precedence_update(state.precedence, ww)
    if lean:
        rw, read_vectors = read_phase(interface, memory, read_content, forward, backward, True)
    else:
        rw, read_vectors = read(interface, memory, read_content, forward, backward)
    return read_vectors, DNCState(memory, usage, new_link, precedence, rw, ww)


def write_phase(
    interface: DNCInterface, state: DNCState, deallocation: bool = False, lean: bool = False
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Spec steps 1-5 and 7: ``(usage, memory, write_weights, read_content)``.

    Everything of a step that neither reads nor writes the link (a pure tensor function, so
    :meth:`DNCMemory.compile_step` can hand it to ``torch.compile``). ``lean``: the
    ``[B, N, W]`` arithmetic as the nodes of :mod:`dnc_qa.memory.memory_nodes` (same values).
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


class DNCMemory(nn.Module):
    """The DNC's memory as a module: ``read_vectors, state = mem(interface, state)``.

    Holds no parameters, so a trained controller runs with any ``num_cells``.

    Args:
        num_cells: ``N``.
        cell_width: ``W``.
        num_reads: ``R``.
        num_writes: ``Hw``.
        masking: DNC-M key/memory masking (adds read and write masks to the interface).
        deallocation: DNC-D, freed cells are erased in proportion to ``1 - psi``.
        link_sharpness: DNC-S, sharpen directional weightings by a learned power per read head.
        memory_init: the constant the initial memory is filled with.
        link: ``"dense"`` (default, the spec's ``N x N`` links) or ``"sparse"`` (SDNC: the
            ``link_k`` largest entries per row and column, ``state.link`` is
            ``[B, Hw, N, 2 * link_k]``; equal to dense when ``link_k >= N``).
        link_k: ``K`` for sparse links.

    Within a sequence (``tape=`` from :meth:`begin_sequence`, as the models do) and from
    ``N >= 256`` on, the backward pass recomputes each step's link-free arithmetic instead of
    keeping its ``[B, N, W]`` activations, so peak memory grows slowly with ``T``.
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
    ) -> None:
        super().__init__()
        if link not in ("dense", "sparse"):
            raise ValueError(f"link must be 'dense' or 'sparse', got {link!r}")
        if not isinstance(link_k, int) or link_k < 1:
            raise ValueError(f"link_k must be a positive integer, got {link_k!r}")
        self.link = link
        self.link_k = link_k
        self._phases: tuple | None = None
        check_positive_ints(
            num_cells=num_cells, cell_width=cell_width, num_reads=num_reads, num_writes=num_writes
        )
        self.num_cells = num_cells
        self.cell_width = cell_width
        self.num_reads = num_reads
        self.num_writes = num_writes
        self.masking = masking
        self.deallocation = deallocation
        self.link_sharpness = link_sharpness
        self.memory_init = memory_init
        self.fused = True
        """Use the fused C++ step (:mod:`dnc_qa.memory.fused`) where it applies; same values."""

    # ------------------------------------------------------------------ interface layout

    def _field_sizes(self) -> list[tuple[str, int]]:
        R, W, Hw = self.num_reads, self.cell_width, self.num_writes
        sizes = [
            ("read_keys", R * W),
            ("read_strengths", R),
            ("write_keys", Hw * W),
            ("write_strengths", Hw),
            ("erase_vectors", Hw * W),
            ("write_vectors", Hw * W),
            ("free_gates", R),
            ("allocation_gates", Hw),
            ("write_gates", Hw),
            ("read_modes", R * (2 * Hw + 1)),
        ]
        if self.masking:
            sizes += [("read_masks", R * W), ("write_masks", Hw * W)]
        if self.link_sharpness:
            sizes += [("link_sharpness", R)]
        return sizes

    @property
    def interface_size(self) -> int:
        """Length of the flat controller output :meth:`parse_interface` reads.

        ``W*R + 3*W + 5*R + 3`` for one write head, as in the paper.
        """
        return sum(size for _, size in self._field_sizes())

    def _check_flat(self, flat: Tensor) -> None:
        if flat.dim() != 2 or flat.shape[1] != self.interface_size:
            raise ValueError(
                f"flat interface must have shape [B, {self.interface_size}], got {list(flat.shape)}"
            )

    def parse_interface(self, flat: Tensor) -> DNCInterface:
        """Split ``[B, interface_size]`` into a :class:`DNCInterface`, applying activations.

        Strengths and link sharpness get ``oneplus``; gates, erase vectors and masks a
        sigmoid; read modes a softmax over their ``2*Hw + 1`` entries; keys and write
        vectors stay as they are.
        """
        self._check_flat(flat)
        B, R, W, Hw = flat.shape[0], self.num_reads, self.cell_width, self.num_writes
        names, sizes = zip(*self._field_sizes(), strict=True)
        raw = dict(zip(names, torch.split(flat, list(sizes), dim=1), strict=True))
        fields = {
            "read_keys": raw["read_keys"].reshape(B, R, W),
            "read_strengths": oneplus(raw["read_strengths"]),
            "write_keys": raw["write_keys"].reshape(B, Hw, W),
            "write_strengths": oneplus(raw["write_strengths"]),
            "erase_vectors": torch.sigmoid(raw["erase_vectors"]).reshape(B, Hw, W),
            "write_vectors": raw["write_vectors"].reshape(B, Hw, W),
            "free_gates": torch.sigmoid(raw["free_gates"]),
            "allocation_gates": torch.sigmoid(raw["allocation_gates"]),
            "write_gates": torch.sigmoid(raw["write_gates"]),
            "read_modes": torch.softmax(raw["read_modes"].reshape(B, R, 2 * Hw + 1), dim=-1),
        }
        if self.masking:
            fields["read_masks"] = torch.sigmoid(raw["read_masks"]).reshape(B, R, W)
            fields["write_masks"] = torch.sigmoid(raw["write_masks"]).reshape(B, Hw, W)
        if self.link_sharpness:
            fields["link_sharpness"] = oneplus(raw["link_sharpness"])
        return DNCInterface(**fields)

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
        """One step: ``(read_vectors [B, R, W], new_state)``; see :func:`dnc_step`.

        On the CPU, one write head and dense links, the step runs as one fused C++ kernel
        (:mod:`dnc_qa.memory.fused`) unless ``self.fused`` is ``False`` or the step is compiled.
        """
        if (
            self.fused
            and self._phases is None
            and fused.supports(interface, state, self.link, self.link_sharpness)
        ):
            return fused.fused_step(interface, state, self.deallocation, tape)
        return dnc_step(
            interface,
            state,
            deallocation=self.deallocation,
            tape=tape if self.link == "dense" else None,
            link=self.link,
            link_k=self.link_k,
            phases=self._phases,
            checkpoint=tape is not None
            and self._phases is None
            and state.memory.shape[1] >= CHECKPOINT_MIN_CELLS,
        )

    def step_flat(
        self, flat: Tensor, state: DNCState, tape: LinkTape | None = None
    ) -> tuple[Tensor, DNCState]:
        """One step from the controller's raw output ``flat [B, interface_size]``: the same as
        ``self(self.parse_interface(flat), state, tape)``, with the activations fused into the
        C++ step where it applies (what a model uses when it needs no trace)."""
        self._check_flat(flat)
        if (
            self.fused
            and self._phases is None
            and flat.shape[0] == state.memory.shape[0]
            and flat.device.type == "cpu"
            and fused.supports(None, state, self.link, self.link_sharpness)
        ):
            layout = (self.num_reads, self.cell_width, self.masking)
            return fused.fused_flat_step(flat, state, layout, self.deallocation, tape)
        return self(self.parse_interface(flat), state, tape=tape)

    def compile_step(self, **compile_kwargs) -> None:
        """Run the link-free parts of each step under ``torch.compile`` (same arithmetic).

        The fused link node stays eager (it is already one kernel on the CPU). Compiling
        happens on the first call; ``compile_kwargs`` go to ``torch.compile``
        (default ``dynamic=False``).
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
            f"link_sharpness={self.link_sharpness}, link={self.link!r}, link_k={self.link_k}"
        )
