"""Sparse temporal links for large memories (Rae et al. 2016, "Scaling Memory-Augmented
Neural Networks with Sparse Reads and Writes", the SDNC's link matrix).

The dense link ``L [B, Hw, N, N]`` costs ``N^2`` per step. Here each row keeps only its ``K``
largest entries, every column at most ``K`` (ties at the threshold aside), and the precedence
its ``K`` largest; one step then costs ``O(N K)`` plus a top-``K`` over ``N``.

Storage: the state's ``link`` field is ``[B, Hw, N, 2K]``: ``[..., :K]`` the values of row
``a`` and ``[..., K:]`` their column indices (as exact small integers in the link's dtype). An
empty slot points at the diagonal (column ``a``) with value 0; the diagonal is always 0.

The update is the spec's step 6 restricted to the kept entries:

    L[a, b] = (1 - w[a] - w[b]) * L_{t-1}[a, b] + w[a] * p_{t-1}[b]      (a != b)

over the union of row ``a``'s previous entries and the ``K`` columns of ``p_{t-1}``'s support;
then the row's ``K`` largest are kept and the columns in ``p``'s support are cut to ``K``.
With ``K >= N`` nothing is ever dropped and the result equals the dense link exactly.
"""

from __future__ import annotations

import torch
from torch import Tensor


def initial_sparse_link(
    batch: int, heads: int, cells: int, k: int, dtype: torch.dtype, device=None
) -> Tensor:
    """An empty sparse link ``[B, Hw, N, 2K]``: zero values, indices on the diagonal."""
    vals = torch.zeros(batch, heads, cells, k, dtype=dtype, device=device)
    rows = torch.arange(cells, dtype=dtype, device=device).view(1, 1, cells, 1)
    return torch.cat([vals, rows.expand(batch, heads, cells, k)], dim=-1)


def unpack(link: Tensor) -> tuple[Tensor, Tensor]:
    """``(values [B, Hw, N, K], indices [B, Hw, N, K] long)`` of a packed sparse link."""
    k = link.shape[-1] // 2
    return link[..., :k], link[..., k:].detach().long()


def pack(values: Tensor, indices: Tensor) -> Tensor:
    return torch.cat([values, indices.to(values.dtype)], dim=-1)


def densify(link: Tensor) -> Tensor:
    """The dense ``[B, Hw, N, N]`` link a packed sparse link stands for."""
    values, indices = unpack(link)
    n = values.shape[-2]
    dense = values.new_zeros(*values.shape[:-1], n)
    return dense.scatter_add(-1, indices, values)


def sparsify_precedence(precedence: Tensor, k: int) -> Tensor:
    """Keep the ``k`` largest entries of each precedence vector, zero the rest."""
    n = precedence.shape[-1]
    if k >= n:
        return precedence
    top = precedence.topk(k, dim=-1)
    return torch.zeros_like(precedence).scatter(-1, top.indices, top.values)


def sparse_link_update(link: Tensor, prev_precedence: Tensor, weights: Tensor, k: int) -> Tensor:
    """One sparse link step (module docstring); ``weights`` are this step's dense ``w``.

    Args:
        link: ``[B, Hw, N, 2K]`` packed sparse ``L_{t-1}``.
        prev_precedence: ``[B, Hw, N]`` (at most ``K`` non-zeros in sparse mode).
        weights: ``[B, Hw, N]``.

    Returns:
        ``[B, Hw, N, 2K]`` packed sparse ``L_t``.
    """
    values, indices = unpack(link)
    B, H, N, K = values.shape
    rows = torch.arange(N, device=values.device).view(1, 1, N, 1)
    kp = min(K, N)
    # the precedence's support: the only columns that can gain entries this step
    p_top = prev_precedence.topk(kp, dim=-1)
    p_idx, p_val = p_top.indices, p_top.values  # [B, H, kp]
    p_sparse = torch.zeros_like(prev_precedence).scatter(-1, p_idx, p_val)
    w_a = weights.unsqueeze(-1)  # [B, H, N, 1]
    # previous entries: decay, plus the outer product where their column is in p's support
    w_b = weights.gather(-1, indices.flatten(2)).view(B, H, N, K)
    p_b = p_sparse.gather(-1, indices.flatten(2)).view(B, H, N, K)
    old = (1.0 - w_a - w_b) * values + w_a * p_b
    # new candidates (a, p_idx[j]) that row a does not hold yet
    slot_of_col = torch.full((B, H, N), kp, dtype=torch.long, device=values.device)
    slot_of_col.scatter_(-1, p_idx, torch.arange(kp, device=values.device).expand(B, H, kp))
    held = slot_of_col.gather(-1, indices.flatten(2)).view(B, H, N, K)  # kp: not in support
    dup = torch.zeros(B, H, N, kp + 1, dtype=torch.bool, device=values.device)
    dup.scatter_(-1, held, True)
    dup = dup[..., :kp]
    cand_idx = p_idx.unsqueeze(2).expand(B, H, N, kp)
    cand_val = w_a * p_val.unsqueeze(2)
    cand_val = torch.where(dup, torch.zeros_like(cand_val), cand_val)
    cand_idx = torch.where(dup, rows.expand(B, H, N, kp), cand_idx)
    all_val = torch.cat([old, cand_val], dim=-1)
    all_idx = torch.cat([indices, cand_idx], dim=-1)
    on_diag = all_idx == rows
    all_val = torch.where(on_diag, torch.zeros_like(all_val), all_val)
    # keep each row's K largest
    top = all_val.detach().topk(K, dim=-1).indices
    new_val = all_val.gather(-1, top)
    new_idx = all_idx.gather(-1, top)
    # cut the columns of p's support to their K largest entries
    if K < N:
        slot = slot_of_col.gather(-1, new_idx.flatten(2)).view(B, H, N, K)
        col_vals = new_val.new_zeros(B, H, N, kp + 1)
        col_vals.scatter_(-1, slot, new_val.detach())
        threshold = col_vals[..., :kp].topk(K, dim=-2).values[..., -1, :]  # [B, H, kp]
        threshold = torch.cat([threshold, threshold.new_zeros(B, H, 1)], dim=-1)
        keep = new_val.detach() >= threshold.gather(-1, slot.flatten(2)).view(B, H, N, K)
        new_val = torch.where(keep, new_val, torch.zeros_like(new_val))
        new_idx = torch.where(keep, new_idx, rows.expand(B, H, N, K))
    empty = new_val.detach() == 0
    new_idx = torch.where(empty, rows.expand(B, H, N, K), new_idx)
    return pack(new_val, new_idx)


def sparse_directional(link: Tensor, prev_reads: Tensor) -> tuple[Tensor, Tensor]:
    """Forward ``L r_i`` and backward ``L^T r_i`` from a packed sparse link.

    Args:
        link: ``[B, Hw, N, 2K]``; prev_reads: ``[B, R, N]``.

    Returns:
        ``(forward, backward)``, each ``[B, R, Hw, N]``.
    """
    values, indices = unpack(link)
    B, H, N, K = values.shape
    R = prev_reads.shape[1]
    r = prev_reads.unsqueeze(1).expand(B, H, R, N)
    flat_idx = indices.flatten(2).unsqueeze(2).expand(B, H, R, N * K)
    r_at = r.gather(-1, flat_idx).view(B, H, R, N, K)
    forward = (values.unsqueeze(2) * r_at).sum(-1)  # [B, H, R, N]
    contrib = (values.unsqueeze(2) * r.unsqueeze(-1)).flatten(3)  # [B, H, R, N*K]
    backward = r.new_zeros(B, H, R, N).scatter_add(-1, flat_idx, contrib)
    return forward.transpose(1, 2), backward.transpose(1, 2)
