"""Pure tensor functions for memory addressing: one small function per mechanism.

Every function here follows ``docs/memory.md`` (the DNC paper's Methods,
Graves et al. 2016, and the NTM paper, Graves et al. 2014) exactly, with the equation in its
docstring. Shapes: ``B`` batch, ``N`` cells, ``W`` cell width, ``R`` read heads,
``Hw`` write heads, ``H`` any number of heads.

They are batched over ``B`` and over heads, work in any dtype and device, and are
differentiable in every argument.
"""

from __future__ import annotations

import torch
from torch import Tensor

CONTENT_EPS = 1e-6
"""``eps`` in the cosine similarity's denominator."""

ALLOCATION_EPS = 1e-6
"""``eps_a`` that keeps every usage strictly positive before the allocation sort."""


# --------------------------------------------------------------------------- shared


def prod_over_heads(x: Tensor, dim: int) -> Tensor:
    """``torch.prod(x, dim)`` for the small head dimensions, as explicit products.

    Same value (products taken in index order); its backward is a few multiplications instead
    of ``ProdBackward``'s zero handling, which dominates at small memory sizes.
    """
    parts = x.unbind(dim)
    out = parts[0]
    for part in parts[1:]:
        out = out * part
    return out


def cosine_similarity(
    memory: Tensor, keys: Tensor, eps: float = CONTENT_EPS, masks: Tensor | None = None
) -> Tensor:
    """``cos(k, M[i]) = k . M[i] / (|k| |M[i]| + eps)``.

    With ``masks`` (DNC-M, Csordas & Schmidhuber 2019) both sides are masked first:
    ``cos(k * m, M[i] * m)``.

    Args:
        memory: ``[B, N, W]``.
        keys: ``[B, H, W]``.
        masks: optional ``[B, H, W]`` in ``[0, 1]``.

    Returns:
        ``[B, H, N]``. A zero key or a zero memory row gives 0 (and finite gradients).
    """
    if masks is None:
        dot = torch.matmul(keys, memory.transpose(-1, -2))  # [B, H, N]
        mem_norm = torch.linalg.vector_norm(memory, dim=-1).unsqueeze(-2)  # [B, 1, N]
    else:
        keys = keys * masks
        masked_memory = memory.unsqueeze(1) * masks.unsqueeze(2)  # [B, H, N, W]
        dot = torch.matmul(masked_memory, keys.unsqueeze(-1)).squeeze(-1)
        mem_norm = torch.linalg.vector_norm(masked_memory, dim=-1)  # [B, H, N]
    key_norm = torch.linalg.vector_norm(keys, dim=-1).unsqueeze(-1)  # [B, H, 1]
    return dot / (key_norm * mem_norm + eps)


def content_weights(
    memory: Tensor,
    keys: Tensor,
    strengths: Tensor,
    eps: float = CONTENT_EPS,
    masks: Tensor | None = None,
) -> Tensor:
    """Content addressing ``C(M, k, beta)[i] = softmax_i(beta * cos(k, M[i]))``.

    Args:
        memory: ``[B, N, W]``.
        keys: ``[B, H, W]``.
        strengths: ``[B, H]``, in ``[1, inf)`` after ``oneplus``.
        masks: optional ``[B, H, W]`` key/memory masks (see :func:`cosine_similarity`).

    Returns:
        ``[B, H, N]``, each row a distribution over cells.
    """
    scores = cosine_similarity(memory, keys, eps, masks) * strengths.unsqueeze(-1)
    return torch.softmax(scores, dim=-1)


# --------------------------------------------------------------------------- DNC


def retention(free_gates: Tensor, prev_read_weights: Tensor) -> Tensor:
    """Memory retention ``psi = prod_i (1 - f_i * w^r_{t-1, i})``.

    Args:
        free_gates: ``[B, R]`` in ``[0, 1]``.
        prev_read_weights: ``[B, R, N]``.

    Returns:
        ``[B, N]`` in ``[0, 1]``: how much of each cell is *not* freed.
    """
    return prod_over_heads(1.0 - free_gates.unsqueeze(-1) * prev_read_weights, dim=1)


def usage_update(prev_usage: Tensor, prev_write_weights: Tensor, psi: Tensor) -> Tensor:
    """``u_t = (u_{t-1} + w - u_{t-1} * w) * psi`` with ``w = 1 - prod_j (1 - w^w_{t-1, j})``.

    Args:
        prev_usage: ``[B, N]``.
        prev_write_weights: ``[B, Hw, N]``, all write heads of the previous step together.
        psi: ``[B, N]`` retention from :func:`retention`.

    Returns:
        ``[B, N]`` usage in ``[0, 1]``.
    """
    written = 1.0 - prod_over_heads(1.0 - prev_write_weights, dim=1)
    return (prev_usage + written - prev_usage * written) * psi


class _PositiveCumprod(torch.autograd.Function):
    """``torch.cumprod(x, dim=-1)`` for strictly positive ``x``, with the zero-free gradient
    ``g_x = reverse_cumsum(g * y) / x`` (``y`` the output): what torch's own backward computes
    when ``x`` has no zeros, without its check for zeros, which reads a value back to the host
    (a synchronisation, which breaks the capture of a training step as a CUDA graph)."""

    @staticmethod
    def forward(ctx, x: Tensor) -> Tensor:
        y = torch.cumprod(x, dim=-1)
        ctx.save_for_backward(x, y)
        return y

    @staticmethod
    def backward(ctx, g: Tensor) -> Tensor:
        x, y = ctx.saved_tensors
        return (g * y).flip(-1).cumsum(-1).flip(-1) / x


def sorted_allocation(usage: Tensor, eps: float = ALLOCATION_EPS) -> Tensor:
    """Allocation weighting for one write head from the usage vector.

    ``u_hat = eps + (1 - eps) * u``; ``phi`` sorts ``u_hat`` ascending (stable);
    ``a[phi[k]] = (1 - u_hat[phi[k]]) * prod_{m<k} u_hat[phi[m]]``.

    The sort order is not differentiated (as in the paper); the values are.

    Args:
        usage: ``[B, N]`` in ``[0, 1]``.

    Returns:
        ``[B, N]`` allocation weighting, summing to at most 1; the least used cell gets most.
    """
    u_hat = eps + (1.0 - eps) * usage
    sorted_usage, order = torch.sort(u_hat, dim=-1, stable=True)
    ones = torch.ones_like(sorted_usage[..., :1])
    # every factor is >= eps > 0: the zero-free cumulative product applies
    exclusive_prod = _PositiveCumprod.apply(torch.cat([ones, sorted_usage[..., :-1]], dim=-1))
    sorted_alloc = (1.0 - sorted_usage) * exclusive_prod
    return torch.empty_like(sorted_alloc).scatter_(-1, order, sorted_alloc)


def write_allocations(usage: Tensor, allocation_gates: Tensor, write_gates: Tensor) -> Tensor:
    """Allocation weightings for several write heads, one head after another.

    Head ``j`` allocates from the running usage ``u``, which each earlier head raises:
    ``u <- u + (1 - u) * g^a_j * g^w_j * a_j``. For one head this is the paper's ``a_t``.

    Args:
        usage: ``[B, N]``, this step's usage (after :func:`usage_update`).
        allocation_gates: ``[B, Hw]``.
        write_gates: ``[B, Hw]``.

    Returns:
        ``[B, Hw, N]``.
    """
    allocations = []
    running = usage
    num_writes = allocation_gates.shape[1]
    for j in range(num_writes):
        a_j = sorted_allocation(running)
        allocations.append(a_j)
        if j + 1 < num_writes:
            gate = (allocation_gates[:, j] * write_gates[:, j]).unsqueeze(-1)
            running = running + (1.0 - running) * gate * a_j
    return torch.stack(allocations, dim=1)


def write_weights(
    content: Tensor, allocation: Tensor, allocation_gates: Tensor, write_gates: Tensor
) -> Tensor:
    """``w^w_j = g^w_j * (g^a_j * a_j + (1 - g^a_j) * c_j)``.

    Args:
        content: ``[B, Hw, N]`` write content weights.
        allocation: ``[B, Hw, N]`` from :func:`write_allocations`.
        allocation_gates, write_gates: ``[B, Hw]``.

    Returns:
        ``[B, Hw, N]``.
    """
    ga = allocation_gates.unsqueeze(-1)
    return write_gates.unsqueeze(-1) * (ga * allocation + (1.0 - ga) * content)


def erase_and_add(
    memory: Tensor, weights: Tensor, erase_vectors: Tensor, add_vectors: Tensor
) -> Tensor:
    """``M_t = M_{t-1} * prod_j (1 - w_j e_j^T) + sum_j w_j v_j^T``.

    Args:
        memory: ``[B, N, W]``.
        weights: ``[B, H, N]`` write weightings.
        erase_vectors: ``[B, H, W]`` in ``[0, 1]``.
        add_vectors: ``[B, H, W]``.

    Returns:
        ``[B, N, W]``.
    """
    keep = prod_over_heads(1.0 - weights.unsqueeze(-1) * erase_vectors.unsqueeze(-2), dim=1)
    return memory * keep + torch.matmul(weights.transpose(-1, -2), add_vectors)


def link_update(prev_link: Tensor, prev_precedence: Tensor, weights: Tensor) -> Tensor:
    """Temporal link matrix per write head.

    ``L[a, b] = (1 - w[a] - w[b]) * L_{t-1}[a, b] + w[a] * p_{t-1}[b]``, then ``L[a, a] = 0``.

    Args:
        prev_link: ``[B, Hw, N, N]``.
        prev_precedence: ``[B, Hw, N]``.
        weights: ``[B, Hw, N]`` this step's write weightings.

    Returns:
        ``[B, Hw, N, N]`` with a zero diagonal.
    """
    w_row = weights.unsqueeze(-1)  # w[a]
    w_col = weights.unsqueeze(-2)  # w[b]
    link = (1.0 - w_row - w_col) * prev_link + w_row * prev_precedence.unsqueeze(-2)
    n = link.shape[-1]
    off_diagonal = 1.0 - torch.eye(n, dtype=link.dtype, device=link.device)
    return link * off_diagonal


def precedence_update(prev_precedence: Tensor, weights: Tensor) -> Tensor:
    """``p_t = (1 - sum_i w[i]) * p_{t-1} + w``.

    Args:
        prev_precedence: ``[B, Hw, N]``.
        weights: ``[B, Hw, N]``.

    Returns:
        ``[B, Hw, N]``.
    """
    return (1.0 - weights.sum(dim=-1, keepdim=True)) * prev_precedence + weights


def directional_weights(link: Tensor, prev_read_weights: Tensor) -> tuple[Tensor, Tensor]:
    """Forward ``f_ij = L_j w^r_{t-1, i}`` and backward ``b_ij = L_j^T w^r_{t-1, i}``.

    Args:
        link: ``[B, Hw, N, N]`` (the links updated this step).
        prev_read_weights: ``[B, R, N]``.

    Returns:
        ``(forward, backward)``, each ``[B, R, Hw, N]``.
    """
    w = prev_read_weights.unsqueeze(1).transpose(-1, -2)  # [B, 1, N, R]
    forward = torch.matmul(link, w).permute(0, 3, 1, 2)  # [B, R, Hw, N]
    backward = torch.matmul(link.transpose(-1, -2), w).permute(0, 3, 1, 2)
    return forward, backward


def sharpen_directional(weights: Tensor, sharpness: Tensor, eps: float = 1e-12) -> Tensor:
    """Link distribution sharpness (Csordas & Schmidhuber 2019), optional.

    ``f_s = f^s / sum(f^s) * sum(f)``: raises each directional weighting to the power
    ``s >= 1`` and renormalises it to its original mass, so the sums stay at most 1.

    Args:
        weights: ``[B, R, Hw, N]`` forward or backward weightings.
        sharpness: ``[B, R]`` in ``[1, inf)``.

    Returns:
        ``[B, R, Hw, N]``.
    """
    powered = weights.clamp_min(eps) ** sharpness[:, :, None, None]
    mass = weights.sum(dim=-1, keepdim=True)
    return powered / powered.sum(dim=-1, keepdim=True) * mass


def read_weights(read_modes: Tensor, backward: Tensor, content: Tensor, forward: Tensor) -> Tensor:
    """``w^r_i = sum_j pi_i[j] b_ij + pi_i[Hw] c_i + sum_j pi_i[Hw + 1 + j] f_ij``.

    Args:
        read_modes: ``[B, R, 2 * Hw + 1]``, order (backward heads, content, forward heads).
        backward, forward: ``[B, R, Hw, N]``.
        content: ``[B, R, N]``.

    Returns:
        ``[B, R, N]``.
    """
    num_writes = backward.shape[2]
    back_modes = read_modes[..., :num_writes].unsqueeze(-1)
    content_mode = read_modes[..., num_writes : num_writes + 1]
    fwd_modes = read_modes[..., num_writes + 1 :].unsqueeze(-1)
    return (
        (back_modes * backward).sum(dim=2)
        + content_mode * content
        + (fwd_modes * forward).sum(dim=2)
    )


def read_memory(memory: Tensor, weights: Tensor) -> Tensor:
    """``r_i = M^T w_i``.

    Args:
        memory: ``[B, N, W]``.
        weights: ``[B, R, N]``.

    Returns:
        ``[B, R, W]``.
    """
    return torch.matmul(weights, memory)


# --------------------------------------------------------------------------- NTM


def interpolate(content: Tensor, prev_weights: Tensor, gates: Tensor) -> Tensor:
    """NTM gate ``w_g = g * w_c + (1 - g) * w_{t-1}``.

    Args:
        content: ``[B, H, N]``; prev_weights: ``[B, H, N]``; gates: ``[B, H]``.

    Returns:
        ``[B, H, N]``.
    """
    g = gates.unsqueeze(-1)
    return g * content + (1.0 - g) * prev_weights


def circular_shift(weights: Tensor, shifts: Tensor) -> Tensor:
    """NTM convolutional shift ``w_s[i] = sum_{o=-k..k} w_g[(i - o) mod N] * s[o]``.

    Index 0 of ``shifts`` is offset ``-k``; offset ``+1`` moves the focus one cell forward.

    Args:
        weights: ``[B, H, N]``.
        shifts: ``[B, H, 2k + 1]``, a distribution over offsets.

    Returns:
        ``[B, H, N]``.
    """
    k = (shifts.shape[-1] - 1) // 2
    rolled = torch.stack([torch.roll(weights, o, dims=-1) for o in range(-k, k + 1)], dim=-1)
    return (rolled * shifts.unsqueeze(-2)).sum(dim=-1)


def sharpen(weights: Tensor, gamma: Tensor) -> Tensor:
    """NTM sharpening ``w[i] = w_s[i]^gamma / sum_n w_s[n]^gamma``.

    Args:
        weights: ``[B, H, N]``; gamma: ``[B, H]`` in ``[1, inf)``.

    Returns:
        ``[B, H, N]``.
    """
    powered = weights ** gamma.unsqueeze(-1)
    return powered / powered.sum(dim=-1, keepdim=True)


def ntm_address(
    memory: Tensor,
    prev_weights: Tensor,
    keys: Tensor,
    strengths: Tensor,
    gates: Tensor,
    shifts: Tensor,
    gamma: Tensor,
) -> Tensor:
    """The NTM's four addressing stages: content, interpolation, shift, sharpening.

    Args:
        memory: ``[B, N, W]``; prev_weights: ``[B, H, N]``; keys: ``[B, H, W]``;
        strengths, gates, gamma: ``[B, H]``; shifts: ``[B, H, 2k + 1]``.

    Returns:
        ``[B, H, N]``.
    """
    content = content_weights(memory, keys, strengths)
    gated = interpolate(content, prev_weights, gates)
    return sharpen(circular_shift(gated, shifts), gamma)
