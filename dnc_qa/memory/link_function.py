"""The temporal link step as one autograd node with a memory-lean backward.

Spec steps 6 and 8 (``shared/spec/memory-access.md``), per write head ``j``:

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


def _native_for(t: Tensor):
    if t.device.type != "cpu" or t.dtype not in (torch.float32, torch.float64):
        return None
    return native.kernels()


def link_forward(
    prev_link: Tensor, prev_precedence: Tensor, weights: Tensor, prev_reads: Tensor
) -> tuple[Tensor, Tensor, Tensor]:
    """:func:`link_forward_eager`, fused on the CPU (no autograd)."""
    k = _native_for(prev_link)
    if k is None:
        return link_forward_eager(prev_link, prev_precedence, weights, prev_reads)
    link, fwd, bwd = k.link_forward(
        prev_link.contiguous(),
        prev_precedence.contiguous(),
        weights.contiguous(),
        prev_reads.contiguous(),
    )
    return link, fwd, bwd


def link_update(prev_link: Tensor, prev_precedence: Tensor, weights: Tensor) -> Tensor:
    """The link update alone (used to recompute links in the backward pass)."""
    k = _native_for(prev_link)
    if k is None:
        return link_update_eager(prev_link, prev_precedence, weights)
    no_reads = weights.new_zeros(weights.shape[0], 0, weights.shape[-1])
    return k.link_forward(
        prev_link.contiguous(), prev_precedence.contiguous(), weights.contiguous(), no_reads
    )[0]


def link_backward(prev_link, prev_precedence, weights, prev_reads, grad_link, gf, gb):
    """:func:`link_backward_eager`, fused on the CPU."""
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
    )
    return dl, dp, dw, dr.sum(1)


# --------------------------------------------------------------------------- tape and Function


class LinkTape:
    """What the backward pass of a sequence of :class:`LinkStep` nodes shares.

    Holds every step's (small) precedence and write weights, and the incoming link of every
    ``segment``-th step. :meth:`link_before` hands the backward pass of step ``t`` its incoming
    link, recomputing the segment it lies in from its checkpoint when needed.

    Args:
        segment: checkpoint spacing in timesteps; :meth:`for_length` picks ``~sqrt(T)``.
    """

    def __init__(self, segment: int = 8) -> None:
        if segment < 1:
            raise ValueError(f"segment must be >= 1, got {segment}")
        self.segment = segment
        self.steps: list[tuple[Tensor, Tensor]] = []
        self.checkpoints: dict[int, Tensor] = {}
        self.cache: dict[int, Tensor] = {}
        self._last: weakref.ref | None = None

    @classmethod
    def for_length(cls, steps: int) -> LinkTape:
        """A tape for ``steps`` timesteps, checkpointing every ``ceil(sqrt(steps))``."""
        return cls(max(1, math.ceil(math.sqrt(steps))))

    def record(self, prev_link: Tensor, prev_precedence: Tensor, weights: Tensor) -> int:
        """Note a forward step; returns its index ``t``."""
        t = len(self.steps)
        self.steps.append((prev_precedence, weights))
        chained = self._last is not None and self._last() is prev_link
        if t % self.segment == 0 or not chained:
            self.checkpoints[t] = prev_link
        return t

    def produced(self, link: Tensor) -> None:
        """Remember the link step ``t`` returned, to recognise it as step ``t + 1``'s input."""
        self._last = weakref.ref(link)

    def link_before(self, t: int) -> Tensor:
        """The incoming link of step ``t`` (recomputed from the nearest checkpoint)."""
        if t in self.checkpoints:
            return self.checkpoints[t]
        if t in self.cache:
            return self.cache.pop(t)
        start = max(s for s in self.checkpoints if s <= t)
        link = self.checkpoints[start]
        for u in range(start, t):
            precedence, weights = self.steps[u]
            link = link_update(link, precedence, weights)
            if u + 1 < t:
                self.cache[u + 1] = link
        return link


class LinkStep(torch.autograd.Function):
    """``(link, forward, backward) = LinkStep.apply(prev_link, prev_precedence, weights,
    prev_reads, tape)``; ``forward``/``backward`` are ``[B, Hw, R, N]``."""

    @staticmethod
    def forward(ctx, prev_link, prev_precedence, weights, prev_reads, tape):
        link, fwd, bwd = link_forward(prev_link, prev_precedence, weights, prev_reads)
        ctx.set_materialize_grads(False)
        if tape is None:
            tape = LinkTape(1)
        ctx.tape = tape
        ctx.t = tape.record(prev_link, prev_precedence, weights)
        tape.produced(link)
        ctx.save_for_backward(prev_precedence, weights, prev_reads)
        return link, fwd, bwd

    @staticmethod
    def backward(ctx, grad_link, grad_forward, grad_backward):
        prev_precedence, weights, prev_reads = ctx.saved_tensors
        prev_link = ctx.tape.link_before(ctx.t)
        dl, dp, dw, dr = link_backward(
            prev_link, prev_precedence, weights, prev_reads, grad_link, grad_forward, grad_backward
        )
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
    """
    needs_grad = torch.is_grad_enabled() and any(
        t.requires_grad for t in (prev_link, prev_precedence, weights, prev_reads)
    )
    if not needs_grad:
        return link_forward(prev_link, prev_precedence, weights, prev_reads)
    return LinkStep.apply(prev_link, prev_precedence, weights, prev_reads, tape)
