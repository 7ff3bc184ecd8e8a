"""The ``[B, N, W]`` memory arithmetic of a DNC step as lean autograd nodes.

Same values as :func:`~dnc_qa.memory.addressing.content_weights`,
:func:`~dnc_qa.memory.addressing.erase_and_add` and
:func:`~dnc_qa.memory.addressing.read_memory` (spec steps 2, 5, 7 and 10), with the backward
passes written out so that a step keeps no ``[B, N, W]`` intermediate for backward (only the
memories themselves, which the state holds anyway) and allocates one ``[B, N, W]`` tensor per
node and direction. The sparse-link path uses them (``DNCMemory(link="sparse")``): at large
``N`` a step is bound by passes over and allocations of ``[B, N, W]`` tensors.

Large fresh tensors are asked for transparent huge pages (``madvise``, Linux): at
``B N W = 16 x 16384 x 32`` faulting in a fresh float32 tensor page by page costs several times
the arithmetic done on it.
"""

from __future__ import annotations

import ctypes
import sys

import torch
from torch import Tensor

from dnc_qa.memory.addressing import CONTENT_EPS

_HUGE_PAGE = 2 << 20
_MADV_HUGEPAGE = 14
_madvise = None
if sys.platform.startswith("linux"):
    try:
        _madvise = ctypes.CDLL(None, use_errno=True).madvise
        _madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
        _madvise.restype = ctypes.c_int
    except (OSError, AttributeError):  # pragma: no cover - no libc symbol
        _madvise = None


def empty_huge(shape, like: Tensor) -> Tensor:
    """``torch.empty(shape)`` like ``like``; on Linux CPUs, large ones backed by huge pages.

    The advice is only a hint to the kernel (``MADV_HUGEPAGE`` on the 2 MiB-aligned part of the
    untouched buffer); values and lifetime are those of any tensor.
    """
    out = torch.empty(shape, dtype=like.dtype, device=like.device)
    nbytes = out.numel() * out.element_size()
    if _madvise is not None and out.device.type == "cpu" and nbytes >= 4 * _HUGE_PAGE:
        start = (out.data_ptr() + _HUGE_PAGE - 1) & ~(_HUGE_PAGE - 1)
        end = (out.data_ptr() + nbytes) & ~(_HUGE_PAGE - 1)
        if end > start:
            _madvise(start, end - start, _MADV_HUGEPAGE)
    return out


def _safe_div(num: Tensor, den: Tensor) -> Tensor:
    """``num / den`` with 0 where ``den == 0`` (a norm's gradient at 0, as autograd does)."""
    return (num / den).masked_fill_(den == 0, 0.0)


class _ContentWeights(torch.autograd.Function):
    """``softmax_i(beta * k . M[i] / (|k| |M[i]| + eps))`` with a written-out backward."""

    @staticmethod
    def forward(ctx, memory, keys, strengths, eps):
        dot = torch.bmm(keys, memory.transpose(1, 2))  # [B, H, N]
        mem_norm = torch.linalg.vector_norm(memory, dim=-1)  # [B, N]
        key_norm = torch.linalg.vector_norm(keys, dim=-1)  # [B, H]
        den = key_norm.unsqueeze(-1) * mem_norm.unsqueeze(-2) + eps
        cos = dot / den
        weights = torch.softmax(cos * strengths.unsqueeze(-1), dim=-1)
        ctx.save_for_backward(memory, keys, strengths, weights, cos, den, mem_norm, key_norm)
        return weights

    @staticmethod
    def backward(ctx, grad):
        memory, keys, strengths, weights, cos, den, mem_norm, key_norm = ctx.saved_tensors
        g_scores = weights * (grad - (grad * weights).sum(-1, keepdim=True))
        g_strengths = (g_scores * cos).sum(-1)
        g_dot = g_scores * strengths.unsqueeze(-1) / den  # [B, H, N]
        g_den = -g_dot * cos
        g_key_norm = (g_den * mem_norm.unsqueeze(-2)).sum(-1)  # [B, H]
        g_mem_norm = (g_den * key_norm.unsqueeze(-1)).sum(-2)  # [B, N]
        g_keys = g_memory = None
        if ctx.needs_input_grad[1]:
            g_keys = torch.bmm(g_dot, memory)
            g_keys += _safe_div(g_key_norm, key_norm).unsqueeze(-1) * keys
        if ctx.needs_input_grad[0]:
            g_memory = empty_huge(memory.shape, memory)
            torch.mul(memory, _safe_div(g_mem_norm, mem_norm).unsqueeze(-1), out=g_memory)
            g_memory.baddbmm_(g_dot.transpose(1, 2), keys)
        return g_memory, g_keys, g_strengths, None


def content_weights(
    memory: Tensor, keys: Tensor, strengths: Tensor, eps: float = CONTENT_EPS
) -> Tensor:
    """:func:`dnc_qa.memory.addressing.content_weights` without masks, as one node.

    Args:
        memory: ``[B, N, W]``; keys: ``[B, H, W]``; strengths: ``[B, H]``.

    Returns:
        ``[B, H, N]``.
    """
    return _ContentWeights.apply(memory, keys, strengths, eps)


def _one_minus_outer(w: Tensor, e: Tensor, out: Tensor) -> Tensor:
    """``out = 1 - w e^T`` for ``w [B, N]``, ``e [B, W]``."""
    torch.bmm(w.unsqueeze(-1), e.unsqueeze(-2), out=out)
    return out.neg_().add_(1.0)


def _keep(weights: Tensor, erase: Tensor, out: Tensor, skip: int = -1) -> Tensor:
    """``out = prod_{j != skip} (1 - w_j e_j^T)`` (``[B, N, W]``; ones if no head is left)."""
    heads = [j for j in range(weights.shape[1]) if j != skip]
    if not heads:
        return out.fill_(1.0)
    _one_minus_outer(weights[:, heads[0]], erase[:, heads[0]], out)
    if len(heads) > 1:
        factor = torch.empty_like(out)
        for j in heads[1:]:
            out.mul_(_one_minus_outer(weights[:, j], erase[:, j], factor))
    return out


class _EraseAndAdd(torch.autograd.Function):
    """``M_t = M_{t-1} * prod_j (1 - w_j e_j^T) + sum_j w_j v_j^T`` with a written-out backward."""

    @staticmethod
    def forward(ctx, memory, weights, erase, add):
        out = _keep(weights, erase, empty_huge(memory.shape, memory))
        out.mul_(memory)
        out.baddbmm_(weights.transpose(1, 2), add)
        ctx.save_for_backward(memory, weights, erase, add)
        return out

    @staticmethod
    def backward(ctx, grad):
        memory, weights, erase, add = ctx.saved_tensors
        heads = weights.shape[1]
        g_memory = g_weights = g_erase = g_add = None
        if ctx.needs_input_grad[3]:
            g_add = torch.bmm(weights, grad)  # [B, H, W]
        if ctx.needs_input_grad[1] or ctx.needs_input_grad[2]:
            # d/dw_j and d/de_j through the erase: P_j = G * M * prod_{l != j} (1 - w_l e_l^T)
            scaled = empty_huge(memory.shape, memory)
            g_w, g_e = [], []
            for j in range(heads):
                if heads == 1:
                    torch.mul(grad, memory, out=scaled)
                else:
                    _keep(weights, erase, scaled, skip=j).mul_(grad).mul_(memory)
                g_e.append(-torch.bmm(weights[:, j : j + 1], scaled))  # [B, 1, W]
                g_w.append(torch.bmm(scaled, erase[:, j].unsqueeze(-1)).squeeze(-1))  # [B, N]
            del scaled
            g_erase = torch.cat(g_e, dim=1)
            g_weights = torch.bmm(add, grad.transpose(1, 2)) - torch.stack(g_w, dim=1)
        if ctx.needs_input_grad[0]:
            g_memory = _keep(weights, erase, empty_huge(memory.shape, memory)).mul_(grad)
        return g_memory, g_weights, g_erase, g_add


def erase_and_add(memory: Tensor, weights: Tensor, erase_vectors: Tensor, add_vectors: Tensor):
    """:func:`dnc_qa.memory.addressing.erase_and_add` as one node (``[B, N, W]``)."""
    return _EraseAndAdd.apply(memory, weights, erase_vectors, add_vectors)


class _ReadMemory(torch.autograd.Function):
    """``r_i = M^T w_i``; the memory's gradient goes into a huge-page buffer."""

    @staticmethod
    def forward(ctx, memory, weights):
        ctx.save_for_backward(memory, weights)
        return torch.bmm(weights, memory)

    @staticmethod
    def backward(ctx, grad):
        memory, weights = ctx.saved_tensors
        g_memory = g_weights = None
        if ctx.needs_input_grad[0]:
            g_memory = empty_huge(memory.shape, memory)
            torch.bmm(weights.transpose(1, 2), grad, out=g_memory)
        if ctx.needs_input_grad[1]:
            g_weights = torch.bmm(grad, memory.transpose(1, 2))
        return g_memory, g_weights


def read_memory(memory: Tensor, weights: Tensor) -> Tensor:
    """:func:`dnc_qa.memory.addressing.read_memory` as one node: ``[B, R, W]``."""
    return _ReadMemory.apply(memory, weights)
