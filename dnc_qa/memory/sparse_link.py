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

import warnings

import torch
from torch import Tensor

from dnc_qa.memory import native


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


# --------------------------------------------------------------------------- fused step


def _select(values: Tensor, indices: Tensor, p: Tensor, w: Tensor, k: int):
    """The update's selection, without autograd: what :func:`sparse_link_update` keeps.

    Returns ``(new_val, new_idx, source, column, mask, p_idx)``: the new values and (reset)
    indices ``[B, H, N, K]``; for each kept slot its ``source`` slot among the row's ``K`` old
    entries (``< K``) or the ``kp`` candidates (``>= K``), its ``column`` before empty slots
    are reset, and ``mask`` (the slot carries ``(1 - w_a - w_c) V + w_a p_c``, not 0).
    """
    B, H, N, K = values.shape
    dev = values.device
    rows = torch.arange(N, device=dev).view(1, 1, N, 1)
    kp = min(K, N)
    p_top = p.topk(kp, dim=-1)
    p_idx, p_val = p_top.indices, p_top.values  # [B, H, kp]
    p_sparse = torch.zeros_like(p).scatter(-1, p_idx, p_val)
    flat_idx = indices.flatten(2)
    w_a = w.unsqueeze(-1)
    w_b = w.gather(-1, flat_idx).view(B, H, N, K)
    p_b = p_sparse.gather(-1, flat_idx).view(B, H, N, K)
    old = (1.0 - w_a - w_b) * values + w_a * p_b
    slot_of_col = torch.full((B, H, N), kp, dtype=torch.long, device=dev)
    slot_of_col.scatter_(-1, p_idx, torch.arange(kp, device=dev).expand(B, H, kp))
    held = slot_of_col.gather(-1, flat_idx).view(B, H, N, K)
    dup = torch.zeros(B, H, N, kp + 1, dtype=torch.bool, device=dev)
    dup.scatter_(-1, held, True)
    dup = dup[..., :kp]
    cand_val = w_a * p_val.unsqueeze(2)
    cand_idx = torch.where(dup, rows, p_idx.unsqueeze(2))
    all_val = torch.cat([old, cand_val], dim=-1)
    valid = torch.cat([indices != rows, cand_idx != rows], dim=-1)  # cand_idx = row: a dup
    all_val.masked_fill_(~valid, 0.0)
    source = all_val.topk(K, dim=-1).indices
    new_val = all_val.gather(-1, source)
    mask = valid.gather(-1, source)
    # the column of each kept slot, without a [B, H, N, K + kp] index tensor
    from_old = source < K
    column = torch.where(
        from_old,
        indices.gather(-1, source.clamp(max=K - 1)),
        cand_idx.gather(-1, (source - K).clamp_(min=0)),
    )
    if K < N:
        slot = slot_of_col.gather(-1, column.flatten(2)).view(B, H, N, K)
        col_vals = new_val.new_zeros(B, H, N, kp + 1)
        col_vals.scatter_(-1, slot, new_val)
        threshold = col_vals[..., :kp].transpose(-1, -2).topk(K, dim=-1).values[..., -1]
        threshold = torch.cat([threshold, threshold.new_zeros(B, H, 1)], dim=-1)
        keep = new_val >= threshold.gather(-1, slot.flatten(2)).view(B, H, N, K)
        new_val.masked_fill_(~keep, 0.0)
        mask &= keep
    new_idx = torch.where(new_val == 0, rows, column)
    return new_val, new_idx, source, column, mask, p_idx


def _csr(values: Tensor, indices: Tensor) -> Tensor:
    """The links of all ``B * H`` slices as one block-diagonal ``[S N, S N]`` CSR matrix."""
    B, H, N, K = values.shape
    S = B * H
    offsets = (torch.arange(S, device=values.device) * N).view(B, H, 1, 1)
    col = (indices + offsets).flatten()
    crow = torch.arange(0, S * N * K + 1, K, device=values.device)
    with warnings.catch_warnings():  # "sparse CSR support is in beta", once per process
        warnings.simplefilter("ignore", UserWarning)
        return torch.sparse_csr_tensor(
            crow, col, values.flatten(), size=(S * N, S * N), check_invariants=False
        )


def _matvec(values: Tensor, indices: Tensor, x: Tensor) -> Tensor:
    """``L x``, slice by slice: ``out[b, i, h, a] = sum_k L[b, h, a, k] x[b, i, h, idx]``.

    Args:
        values, indices: ``[B, H, N, K]`` unpacked sparse links.
        x: ``[B, R, H, N]`` (may be an expanded view).

    Returns:
        ``[B, R, H, N]``.
    """
    B, H, N, K = values.shape
    R = x.shape[1]
    if values.device.type == "cpu":  # one block-diagonal CSR product (MKL / native kernel)
        rows = x.permute(0, 2, 3, 1).reshape(B * H * N, R)
        out = _csr(values, indices) @ rows
        return out.view(B, H, N, R).permute(0, 3, 1, 2)
    flat_idx = indices.flatten(2)
    out = values.new_empty(B, R, H, N)
    for i in range(R):
        at = x[:, i].gather(-1, flat_idx).view(B, H, N, K)
        out[:, i] = (values * at).sum(-1)
    return out


def _matvec_t(values: Tensor, indices: Tensor, x: Tensor) -> Tensor:
    """``L^T x`` per slice: ``out[b, i, h, c] = sum_{a, k: idx=c} L[b, h, a, k] x[b, i, h, a]``.

    Same shapes as :func:`_matvec`; one scatter-add of ``[B, H, N K]`` per column of ``x``.
    """
    B, H, N, K = values.shape
    R = x.shape[1]
    flat_idx = indices.flatten(2)
    out = values.new_zeros(B, R, H, N)
    for i in range(R):
        contrib = (values * x[:, i].unsqueeze(-1)).flatten(2)  # [B, H, N K]
        out[:, i].scatter_add_(-1, flat_idx, contrib)
    return out


def _per_slice(reads: Tensor, heads: int) -> Tensor:
    """``[B, R, N]`` -> ``[B, R, H, N]`` (a view)."""
    B, R, N = reads.shape
    return reads.unsqueeze(2).expand(B, R, heads, N)


class _SparseLinkStep(torch.autograd.Function):
    """:func:`sparse_link_update` followed by :func:`sparse_directional`, as one node.

    Same values. The forward pass leaves no ``[B, H, N, 2K]`` candidate tensors and no
    ``[B, H, R, N, K]`` products in the graph; the backward pass is written out: a kept slot
    holds ``v = (1 - w_a - w_c) V_src + w_a p_c`` with ``c`` its column, ``V_src`` the
    previous value of the slot it came from (0 for a new entry) and ``p`` the precedence
    restricted to its ``K`` largest entries.
    """

    @staticmethod
    def forward(ctx, link, prev_precedence, weights, prev_reads, k):
        values, indices = unpack(link)
        H = values.shape[1]
        new_val, new_idx, source, column, mask, p_idx = _select(
            values, indices, prev_precedence, weights, k
        )
        reads = _per_slice(prev_reads, H)
        forward = _matvec(new_val, new_idx, reads)
        backward = _matvec_t(new_val, new_idx, reads)
        ctx.save_for_backward(
            values, prev_precedence, weights, prev_reads, new_val, new_idx, source, column, mask
        )
        ctx.p_idx = p_idx
        ctx.mark_non_differentiable(new_idx)
        return new_val, new_idx, forward, backward

    @staticmethod
    def backward(ctx, g_val, _g_idx, g_fwd, g_bwd):
        values, p, w, r, new_val, new_idx, source, column, mask = ctx.saved_tensors
        p_idx = ctx.p_idx
        B, H, N, K = values.shape
        R = r.shape[1]
        flat_new = new_idx.flatten(2)
        g = torch.zeros_like(new_val) if g_val is None else g_val.clone()
        g_r = torch.zeros_like(r)
        # directional: f_i[a] = sum_c L[a, c] r_i[c] and b_i[c] = sum_a L[a, c] r_i[a]
        if g_fwd is not None:
            g_r += _matvec_t(new_val, new_idx, g_fwd).sum(2)
            for i in range(R):
                r_at = r[:, i].unsqueeze(1).expand(B, H, N).gather(-1, flat_new)
                g.addcmul_(g_fwd[:, i].unsqueeze(-1), r_at.view(B, H, N, K))
        if g_bwd is not None:
            g_r += _matvec(new_val, new_idx, g_bwd).sum(2)
            for i in range(R):
                gb_at = g_bwd[:, i].gather(-1, flat_new).view(B, H, N, K)
                g.addcmul_(r[:, i].view(B, 1, N, 1), gb_at)
        # the update: v = mask * ((1 - w_a - w_c) V_src + w_a p_c)
        g.mul_(mask)
        kp = min(K, N)
        from_old = source < K
        v_src = values.gather(-1, source.clamp(max=K - 1)).masked_fill_(~from_old, 0.0)
        p_sparse = torch.zeros_like(p).scatter(-1, p_idx, p.gather(-1, p_idx))
        flat_col = column.flatten(2)
        w_a = w.unsqueeze(-1)
        w_c = w.gather(-1, flat_col).view(B, H, N, K)
        p_c = p_sparse.gather(-1, flat_col).view(B, H, N, K)
        g_values = values.new_zeros(B, H, N, K + kp)
        g_values.scatter_(-1, source, g * (1.0 - w_a - w_c))
        g_link = torch.cat([g_values[..., :K], torch.zeros_like(values)], dim=-1)
        g_w = (g * (p_c - v_src)).sum(-1)
        g_w.scatter_add_(-1, flat_col, (-g * v_src).flatten(2))
        g_ps = torch.zeros_like(p).scatter_add_(-1, flat_col, (g * w_a).flatten(2))
        g_p = torch.zeros_like(p).scatter(-1, p_idx, g_ps.gather(-1, p_idx))
        return g_link, g_p, g_w, g_r, None


class _NativeSparseLinkStep(torch.autograd.Function):
    """:class:`_SparseLinkStep` as the C++ kernels ``sparse_link_forward`` /
    ``sparse_link_backward`` (``csrc/sparse_link.cpp``): same kept entries in the same slots
    (ties resolved as ``torch.topk`` resolves them), values and gradients equal up to the order
    of floating-point summation. Returns the packed new link directly.
    """

    @staticmethod
    def forward(ctx, link, prev_precedence, weights, prev_reads, lib):
        link, p, w, r = (t.contiguous() for t in (link, prev_precedence, weights, prev_reads))
        new_link, forward, backward, source, p_idx = lib.sparse_link_forward(link, p, w, r)
        ctx.save_for_backward(link, p, w, r, new_link, source, p_idx)
        ctx.lib = lib
        return new_link, forward, backward

    @staticmethod
    def backward(ctx, g_link, g_fwd, g_bwd):
        link, p, w, r, new_link, source, p_idx = ctx.saved_tensors
        none = link.new_empty(0)
        g_link, g_fwd, g_bwd = (
            none if g is None else g.contiguous() for g in (g_link, g_fwd, g_bwd)
        )
        g_l, g_p, g_w, g_r = ctx.lib.sparse_link_backward(
            link, p, w, r, new_link, source, p_idx, g_link, g_fwd, g_bwd
        )
        return g_l, g_p, g_w, g_r, None


_native_for = native.kernels_for  # (a module name: tests patch it to force the PyTorch path)


def sparse_link_step(
    link: Tensor,
    prev_precedence: Tensor,
    weights: Tensor,
    prev_reads: Tensor,
    k: int,
    native: bool | None = None,
) -> tuple[Tensor, Tensor, Tensor]:
    """:func:`sparse_link_update` then :func:`sparse_directional`, fused (same values).

    On the CPU (float32/float64) this is the C++ kernels' step when they are built (see
    :mod:`dnc_qa.memory.native`), else :class:`_SparseLinkStep`; both keep the same entries.

    Args:
        link: ``[B, Hw, N, 2K]`` packed ``L_{t-1}``.
        prev_precedence: ``[B, Hw, N]``.
        weights: ``[B, Hw, N]`` this step's write weights.
        prev_reads: ``[B, R, N]``.
        k: ``K`` (the link's own ``K``, ``link.shape[-1] // 2``, is the one used).
        native: ``False``: the PyTorch implementation; ``True``: the C++ kernels (an error
            when they are unavailable); ``None``: the kernels where available.

    Returns:
        ``(new_link [B, Hw, N, 2K], forward [B, R, Hw, N], backward [B, R, Hw, N])``.
    """
    lib = None
    if native is None:
        lib = _native_for(link)
    elif native:
        lib = _native_for(link)
        if lib is None:
            raise RuntimeError("sparse_link_step: the native kernels are unavailable here")
    if lib is not None:
        return _NativeSparseLinkStep.apply(link, prev_precedence, weights, prev_reads, lib)
    new_val, new_idx, forward, backward = _SparseLinkStep.apply(
        link, prev_precedence, weights, prev_reads, k
    )
    return pack(new_val, new_idx), forward, backward
