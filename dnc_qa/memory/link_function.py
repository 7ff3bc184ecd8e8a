"""The temporal link step as one autograd node with a memory-lean backward.

Steps 6 and 8 of ``docs/memory.md``, per write head ``j``:

    L_j[a, b] = (1 - w_j[a] - w_j[b]) * L_{t-1, j}[a, b] + w_j[a] * p_{t-1, j}[b],  L_j[a, a] = 0
    f_ij = L_j r_i,   b_ij = L_j^T r_i          (r_i: the previous read weights)

Autograd on the eager formula keeps several ``B x Hw x N x N`` tensors per timestep for the
backward pass. :class:`LinkStep` keeps none of them: its backward recomputes ``L_t`` from
``L_{t-1}`` (one pass) and needs only ``L_{t-1}``. With a :class:`LinkTape` shared by the
steps of a sequence, even ``L_{t-1}`` is kept only at every ``segment``-th step; the links in
between are recomputed segment by segment during the backward pass (the link recurrence is not
invertible, so they cannot be reconstructed backwards). Peak memory is then about
``T / segment + segment`` links instead of several per step.

On the CPU the forward and backward passes use the fused kernels of
:mod:`dnc_qa.memory.native` when they build; everywhere else the eager functions below.
"""

from __future__ import annotations

import math
import sys
import weakref

import torch
from torch import Tensor

from dnc_qa.memory import native

# --------------------------------------------------------------------------- eager kernels


def _factor(w: Tensor) -> Tensor:
    """``1 - w[a] - w[b]`` as ``[..., N, N]``."""
    return (1.0 - w).unsqueeze(-1) - w.unsqueeze(-2)


def link_update_eager(prev_link: Tensor, prev_precedence: Tensor, weights: Tensor) -> Tensor:
    """``L = (1 - w_a - w_b) L_prev + w_a p_b`` with a zero diagonal; ``[B, Hw, N, N]``."""
    link = _factor(weights).mul_(prev_link)
    link.add_(weights.unsqueeze(-1) * prev_precedence.unsqueeze(-2))
    link.diagonal(dim1=-2, dim2=-1).zero_()
    return link


def link_forward_eager(
    prev_link: Tensor, prev_precedence: Tensor, weights: Tensor, prev_reads: Tensor
) -> tuple[Tensor, Tensor, Tensor]:
    """New links and directional weights.

    Args:
        prev_link: ``[B, Hw, N, N]``; prev_precedence, weights: ``[B, Hw, N]``;
        prev_reads: ``[B, R, N]``.

    Returns:
        ``(link [B, Hw, N, N], forward [B, Hw, R, N], backward [B, Hw, R, N])``.
    """
    link = link_update_eager(prev_link, prev_precedence, weights)
    r = prev_reads.unsqueeze(1)  # [B, 1, R, N]
    forward = torch.matmul(r, link.transpose(-1, -2))  # f_i[a] = sum_b L[a, b] r_i[b]
    backward = torch.matmul(r, link)  # b_i[b] = sum_a r_i[a] L[a, b]
    return link, forward, backward


def link_backward_eager(
    prev_link: Tensor,
    prev_precedence: Tensor,
    weights: Tensor,
    prev_reads: Tensor,
    grad_link: Tensor | None,
    grad_forward: Tensor,
    grad_backward: Tensor,
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Gradients of :func:`link_forward_eager` w.r.t. ``(prev_link, prev_precedence, weights,
    prev_reads)``, recomputing the new link from ``prev_link``."""
    link = link_update_eager(prev_link, prev_precedence, weights)
    r = prev_reads.unsqueeze(1)  # [B, 1, R, N]
    # total gradient of L: incoming + sum_i gf_i r_i^T + r_i gb_i^T
    g = torch.matmul(grad_forward.transpose(-1, -2), r)
    g = g.add_(torch.matmul(r.transpose(-1, -2), grad_backward))
    if grad_link is not None:
        g = g.add_(grad_link)
    g.diagonal(dim1=-2, dim2=-1).zero_()
    grad_reads = (
        torch.matmul(grad_forward, link) + torch.matmul(grad_backward, link.transpose(-1, -2))
    ).sum(1)
    del link
    grad_prev_precedence = torch.matmul(weights.unsqueeze(-2), g).squeeze(-2)
    gp = torch.matmul(g, prev_precedence.unsqueeze(-1)).squeeze(-1)
    g_lp = g * prev_link
    grad_weights = gp - g_lp.sum(-1) - g_lp.sum(-2)
    del g_lp
    grad_prev_link = g.mul_(_factor(weights))
    return grad_prev_link, grad_prev_precedence, grad_weights, grad_reads


# --------------------------------------------------------------------------- dispatch


_native_for = native.kernels_for  # (a module name: tests patch it to force the eager path)


def link_forward(
    prev_link: Tensor,
    prev_precedence: Tensor,
    weights: Tensor,
    prev_reads: Tensor,
    out: Tensor | None = None,
) -> tuple[Tensor, Tensor, Tensor]:
    """:func:`link_forward_eager`, fused on the CPU (no autograd); ``out``: a buffer to reuse."""
    k = _native_for(prev_link)
    if k is None:
        return link_forward_eager(prev_link, prev_precedence, weights, prev_reads)
    link, fwd, bwd = k.link_forward(
        prev_link.contiguous(),
        prev_precedence.contiguous(),
        weights.contiguous(),
        prev_reads.contiguous(),
        _buffer(out),
    )
    return link, fwd, bwd


def _buffer(out: Tensor | None) -> Tensor:
    return out if out is not None else torch.empty(0)


def link_update(
    prev_link: Tensor, prev_precedence: Tensor, weights: Tensor, out: Tensor | None = None
) -> Tensor:
    """The link update alone (used to recompute links in the backward pass)."""
    k = _native_for(prev_link)
    if k is None:
        return link_update_eager(prev_link, prev_precedence, weights)
    no_reads = weights.new_zeros(weights.shape[0], 0, weights.shape[-1])
    return k.link_forward(
        prev_link.contiguous(),
        prev_precedence.contiguous(),
        weights.contiguous(),
        no_reads,
        _buffer(out),
    )[0]


def link_backward(prev_link, prev_precedence, weights, prev_reads, grad_link, gf, gb, out=None):
    """:func:`link_backward_eager`, fused on the CPU; ``out``: a buffer for ``grad_prev_link``."""
    if gf is None:
        gf = torch.zeros_like(
            prev_reads.unsqueeze(1).expand(*weights.shape[:2], *prev_reads.shape[1:])
        )
    if gb is None:
        gb = torch.zeros_like(gf)
    k = _native_for(prev_link)
    if k is None:
        return link_backward_eager(
            prev_link, prev_precedence, weights, prev_reads, grad_link, gf, gb
        )
    grad_link = grad_link.contiguous() if grad_link is not None else prev_link.new_empty(0)
    dl, dp, dw, dr = k.link_backward(
        prev_link.contiguous(),
        prev_precedence.contiguous(),
        weights.contiguous(),
        prev_reads.contiguous(),
        grad_link,
        gf.contiguous(),
        gb.contiguous(),
        _buffer(out),
    )
    return dl, dp, dw, dr.sum(1)


# --------------------------------------------------------------------------- tape and Function


class LinkTape:
    """What the steps of one sequence share: checkpoints for the backward pass, and buffers.

    Holds every step's (small) precedence and write weights, and the incoming link of every
    ``segment``-th step. :meth:`link_before` hands the backward pass of step ``t`` its incoming
    link, recomputing the segment it lies in from its checkpoint when needed.

    It also recycles ``N x N`` buffers that provably nobody else holds (links of two steps
    ago that are not checkpoints, recomputed links and link gradients once used): at large
    ``N`` the page faults of fresh allocations cost as much as the kernels themselves.

    Args:
        segment: checkpoint spacing in timesteps; :meth:`for_length` picks ``~sqrt(T)``.
    """

    MAX_SPARE = 3

    def __init__(self, segment: int = 8) -> None:
        if segment < 1:
            raise ValueError(f"segment must be >= 1, got {segment}")
        self.segment = segment
        self.steps: list[tuple[Tensor, Tensor]] = []
        self.checkpoints: dict[int, Tensor] = {}
        self.cache: dict[int, Tensor] = {}
        self._last: weakref.ref | None = None
        self._outputs: list[Tensor] = []  # the last two links produced in the forward pass
        self._spare: list[Tensor] = []
        self._grads: weakref.WeakValueDictionary = weakref.WeakValueDictionary()

    @staticmethod
    def segment_for(steps: int) -> int:
        """The checkpoint spacing for ``steps`` timesteps: ``ceil(sqrt(steps))``, which keeps
        about ``2 sqrt(T)`` links (checkpoints plus one recomputed segment)."""
        return max(1, math.ceil(math.sqrt(steps)))

    @classmethod
    def for_length(cls, steps: int) -> LinkTape:
        """A tape for ``steps`` timesteps, checkpointing every :meth:`segment_for` steps."""
        return cls(cls.segment_for(steps))

    # ------------------------------------------------------------------ forward pass

    def record(self, prev_link: Tensor, prev_precedence: Tensor, weights: Tensor) -> int:
        """Note a forward step; returns its index ``t``."""
        # Only detached aliases are kept: a tensor with a grad_fn would lead back through the
        # autograd graph to this tape (held by every step's ctx), a reference cycle through
        # C++ nodes that Python's garbage collector cannot see, leaking the whole graph.
        t = len(self.steps)
        self.steps.append((prev_precedence.detach(), weights.detach()))
        chained = self._last is not None and self._last() is prev_link
        if t % self.segment == 0 or not chained:
            self.checkpoints[t] = prev_link.detach()
        return t

    def produced(self, link: Tensor, recorded: bool = True) -> None:
        """Remember the link a step returned, to recognise it as the next step's input.

        ``recorded=False``: a step that did not :meth:`record` (no grad): the next recorded
        step must checkpoint its incoming link, as the tape cannot recompute through it."""
        self._last = weakref.ref(link) if recorded else None
        self._outputs.append(link.detach())  # see record(): no graph references
        if len(self._outputs) > 2:
            self._outputs.pop(0)

    def output_buffer(self) -> Tensor | None:
        """The link produced two steps ago, if only this tape still holds it (else ``None``)."""
        if len(self._outputs) < 2:
            return None
        old = self._outputs[0]
        if not self._sole_owner(old, expected_refs=4):
            return None
        storage = old.untyped_storage().data_ptr()
        if any(c.untyped_storage().data_ptr() == storage for c in self.checkpoints.values()):
            return None
        self._outputs.pop(0)
        return old

    @staticmethod
    def _sole_owner(t: Tensor, expected_refs: int) -> bool:
        # Python references: the holder(s), the caller's local, this function's argument and
        # getrefcount's argument (output_buffer: list + `old` + 2 = 4); storage: t + the
        # temporary storage object. A view, a user variable or a saved copy all fail this.
        return (
            sys.getrefcount(t) <= expected_refs
            and t._base is None
            and torch._C._storage_Use_Count(t.untyped_storage()._cdata) <= 2
        )

    # ------------------------------------------------------------------ backward pass

    def spare(self) -> Tensor | None:
        """A recycled ``N x N`` buffer for the backward pass, or ``None``."""
        return self._spare.pop() if self._spare else None

    def give_back(self, t: Tensor | None) -> None:
        if t is not None and len(self._spare) < self.MAX_SPARE:
            self._spare.append(t)

    def mark_grad(self, grad: Tensor) -> None:
        """``grad`` (a link gradient this tape's backward made) may be recycled once used."""
        self._grads[id(grad)] = grad

    def is_own_grad(self, grad: Tensor | None) -> bool:
        return grad is not None and self._grads.get(id(grad)) is grad

    def link_before(self, t: int) -> tuple[Tensor, bool]:
        """The incoming link of step ``t`` and whether it may be recycled after use."""
        if t in self.checkpoints:
            return self.checkpoints[t], False
        if t in self.cache:
            return self.cache.pop(t), True
        start = max(s for s in self.checkpoints if s <= t)
        link = self.checkpoints[start]
        for u in range(start, t):
            precedence, weights = self.steps[u]
            link = link_update(link, precedence, weights, out=self.spare())
            if u + 1 < t:
                self.cache[u + 1] = link
        return link, True


class LinkStep(torch.autograd.Function):
    """``(link, forward, backward) = LinkStep.apply(prev_link, prev_precedence, weights,
    prev_reads, tape)``; ``forward``/``backward`` are ``[B, Hw, R, N]``."""

    @staticmethod
    def forward(ctx, prev_link, prev_precedence, weights, prev_reads, tape):
        if tape is None:
            tape = LinkTape(1)
        out = tape.output_buffer()
        link, fwd, bwd = link_forward(prev_link, prev_precedence, weights, prev_reads, out=out)
        ctx.set_materialize_grads(False)
        ctx.tape = tape
        ctx.t = tape.record(prev_link, prev_precedence, weights)
        tape.produced(link)
        ctx.save_for_backward(prev_precedence, weights, prev_reads)
        return link, fwd, bwd

    @staticmethod
    def backward(ctx, grad_link, grad_forward, grad_backward):
        prev_precedence, weights, prev_reads = ctx.saved_tensors
        tape = ctx.tape
        prev_link, recyclable = tape.link_before(ctx.t)
        dl, dp, dw, dr = link_backward(
            prev_link,
            prev_precedence,
            weights,
            prev_reads,
            grad_link,
            grad_forward,
            grad_backward,
            out=tape.spare(),
        )
        if recyclable:
            tape.give_back(prev_link)
        if tape.is_own_grad(grad_link):
            tape.give_back(grad_link)  # made by the next step's backward, used up here
        tape.mark_grad(dl)
        return dl, dp, dw, dr, None


def link_step(
    prev_link: Tensor,
    prev_precedence: Tensor,
    weights: Tensor,
    prev_reads: Tensor,
    tape: LinkTape | None = None,
) -> tuple[Tensor, Tensor, Tensor]:
    """New links and the directional weightings ``[B, Hw, R, N]`` (spec steps 6 and 8).

    Differentiable in every argument; with ``tape`` (shared by consecutive steps of one
    sequence) the backward pass keeps only checkpointed links (see the module docstring).

    Under autocast (mixed precision) it runs in the link's own dtype with autocast off: the
    fused kernels need one dtype, and the link recurrence is kept in full precision.
    """
    if torch.is_autocast_enabled(prev_link.device.type):
        dtype = prev_link.dtype
        with torch.autocast(device_type=prev_link.device.type, enabled=False):
            return link_step(
                prev_link,
                prev_precedence.to(dtype),
                weights.to(dtype),
                prev_reads.to(dtype),
                tape,
            )
    needs_grad = torch.is_grad_enabled() and any(
        t.requires_grad for t in (prev_link, prev_precedence, weights, prev_reads)
    )
    if not needs_grad:
        out = tape.output_buffer() if tape is not None else None
        result = link_forward(prev_link, prev_precedence, weights, prev_reads, out=out)
        if tape is not None:
            tape.produced(result[0], recorded=False)
        return result
    if prev_link.device.type == "cpu":
        native.kernels()  # build them now if needed: inside the Function grad mode is off
    return LinkStep.apply(prev_link, prev_precedence, weights, prev_reads, tape)
