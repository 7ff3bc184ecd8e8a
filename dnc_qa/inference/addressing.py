"""Memory addressing in NumPy: one small function per mechanism, as in
:mod:`dnc_qa.memory.addressing` (the torch version the spec is checked against).

Each function follows ``docs/memory.md`` with the equation in its docstring.
Shapes: ``B`` batch, ``N`` cells, ``W`` cell width, ``R`` read heads, ``Hw`` write heads,
``H`` any number of heads. Inference only: no gradients, no in-place tricks.
"""

from __future__ import annotations

import numpy as np

from dnc_qa.inference.ops import softmax

CONTENT_EPS = 1e-6
"""``eps`` in the cosine similarity's denominator (as the torch code)."""

ALLOCATION_EPS = 1e-6
"""``eps_a`` that keeps every usage strictly positive before the allocation sort."""


# --------------------------------------------------------------------------- shared


def cosine_similarity(
    memory: np.ndarray, keys: np.ndarray, eps: float = CONTENT_EPS,
    masks: np.ndarray | None = None,
) -> np.ndarray:
    """``cos(k, M[i]) = k . M[i] / (|k| |M[i]| + eps)``; with DNC-M ``masks``
    ``cos(k * m, M[i] * m)``.

    Args:
        memory: ``[B, N, W]``; keys: ``[B, H, W]``; masks: optional ``[B, H, W]``.

    Returns:
        ``[B, H, N]``.
    """
    if masks is None:
        dot = np.matmul(keys, np.swapaxes(memory, -1, -2))  # [B, H, N]
        mem_norm = np.linalg.norm(memory, axis=-1)[:, None, :]  # [B, 1, N]
    else:
        keys = keys * masks
        masked_memory = memory[:, None, :, :] * masks[:, :, None, :]  # [B, H, N, W]
        dot = np.matmul(masked_memory, keys[..., None])[..., 0]
        mem_norm = np.linalg.norm(masked_memory, axis=-1)  # [B, H, N]
    key_norm = np.linalg.norm(keys, axis=-1)[..., None]  # [B, H, 1]
    return dot / (key_norm * mem_norm + eps)


def content_weights(
    memory: np.ndarray, keys: np.ndarray, strengths: np.ndarray, eps: float = CONTENT_EPS,
    masks: np.ndarray | None = None,
) -> np.ndarray:
    """``C(M, k, beta)[i] = softmax_i(beta * cos(k, M[i]))``.

    Args:
        memory: ``[B, N, W]``; keys: ``[B, H, W]``; strengths: ``[B, H]``;
        masks: optional ``[B, H, W]``.

    Returns:
        ``[B, H, N]``, each row a distribution over cells.
    """
    scores = cosine_similarity(memory, keys, eps, masks) * strengths[..., None]
    return softmax(scores, axis=-1)


def erase_and_add(
    memory: np.ndarray, weights: np.ndarray, erase_vectors: np.ndarray, add_vectors: np.ndarray
) -> np.ndarray:
    """``M_t = M_{t-1} * prod_j (1 - w_j e_j^T) + sum_j w_j v_j^T``.

    Args:
        memory: ``[B, N, W]``; weights: ``[B, H, N]``; erase_vectors, add_vectors: ``[B, H, W]``.

    Returns:
        ``[B, N, W]``.
    """
    keep = np.prod(1.0 - weights[..., :, None] * erase_vectors[..., None, :], axis=1)
    return memory * keep + np.matmul(np.swapaxes(weights, -1, -2), add_vectors)


def read_memory(memory: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """``r_i = M^T w_i``: ``memory [B, N, W]``, ``weights [B, R, N]`` -> ``[B, R, W]``."""
    return np.matmul(weights, memory)


# --------------------------------------------------------------------------- DNC


def retention(free_gates: np.ndarray, prev_read_weights: np.ndarray) -> np.ndarray:
    """``psi = prod_i (1 - f_i * w^r_{t-1, i})``: ``[B, R]``, ``[B, R, N]`` -> ``[B, N]``."""
    return np.prod(1.0 - free_gates[..., None] * prev_read_weights, axis=1)


def usage_update(
    prev_usage: np.ndarray, prev_write_weights: np.ndarray, psi: np.ndarray
) -> np.ndarray:
    """``u_t = (u_{t-1} + w - u_{t-1} * w) * psi`` with ``w = 1 - prod_j (1 - w^w_{t-1, j})``.

    Args:
        prev_usage: ``[B, N]``; prev_write_weights: ``[B, Hw, N]``; psi: ``[B, N]``.

    Returns:
        ``[B, N]``.
    """
    written = 1.0 - np.prod(1.0 - prev_write_weights, axis=1)
    return (prev_usage + written - prev_usage * written) * psi


def sorted_allocation(usage: np.ndarray, eps: float = ALLOCATION_EPS) -> np.ndarray:
    """Allocation weighting of one write head.

    ``u_hat = eps + (1 - eps) * u``; ``phi`` sorts ``u_hat`` ascending (stable);
    ``a[phi[k]] = (1 - u_hat[phi[k]]) * prod_{m<k} u_hat[phi[m]]``.

    Args:
        usage: ``[B, N]``.

    Returns:
        ``[B, N]``.
    """
    u_hat = eps + (1.0 - eps) * usage
    order = np.argsort(u_hat, axis=-1, kind="stable")
    sorted_usage = np.take_along_axis(u_hat, order, axis=-1)
    ones = np.ones_like(sorted_usage[..., :1])
    exclusive_prod = np.cumprod(np.concatenate([ones, sorted_usage[..., :-1]], axis=-1), axis=-1)
    sorted_alloc = (1.0 - sorted_usage) * exclusive_prod
    allocation = np.empty_like(sorted_alloc)
    np.put_along_axis(allocation, order, sorted_alloc, axis=-1)
    return allocation


def write_allocations(
    usage: np.ndarray, allocation_gates: np.ndarray, write_gates: np.ndarray
) -> np.ndarray:
    """Allocation weightings of several write heads, one head after another: head ``j``
    allocates from the running usage ``u``, then ``u <- u + (1 - u) * g^a_j * g^w_j * a_j``.

    Args:
        usage: ``[B, N]``; allocation_gates, write_gates: ``[B, Hw]``.

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
            gate = (allocation_gates[:, j] * write_gates[:, j])[:, None]
            running = running + (1.0 - running) * gate * a_j
    return np.stack(allocations, axis=1)


def write_weights(
    content: np.ndarray, allocation: np.ndarray, allocation_gates: np.ndarray,
    write_gates: np.ndarray,
) -> np.ndarray:
    """``w^w_j = g^w_j * (g^a_j * a_j + (1 - g^a_j) * c_j)``.

    Args:
        content, allocation: ``[B, Hw, N]``; allocation_gates, write_gates: ``[B, Hw]``.

    Returns:
        ``[B, Hw, N]``.
    """
    ga = allocation_gates[..., None]
    return write_gates[..., None] * (ga * allocation + (1.0 - ga) * content)


def link_update(
    prev_link: np.ndarray, prev_precedence: np.ndarray, weights: np.ndarray
) -> np.ndarray:
    """Dense temporal links per write head:
    ``L[a, b] = (1 - w[a] - w[b]) * L_{t-1}[a, b] + w[a] * p_{t-1}[b]``, then ``L[a, a] = 0``.

    Args:
        prev_link: ``[B, Hw, N, N]``; prev_precedence, weights: ``[B, Hw, N]``.

    Returns:
        ``[B, Hw, N, N]``.
    """
    w_row = weights[..., :, None]  # w[a]
    w_col = weights[..., None, :]  # w[b]
    link = (1.0 - w_row - w_col) * prev_link + w_row * prev_precedence[..., None, :]
    n = link.shape[-1]
    link[..., np.arange(n), np.arange(n)] = 0.0
    return link


def precedence_update(prev_precedence: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """``p_t = (1 - sum_i w[i]) * p_{t-1} + w``: ``[B, Hw, N]`` -> ``[B, Hw, N]``."""
    return (1.0 - np.sum(weights, axis=-1, keepdims=True)) * prev_precedence + weights


def directional_weights(
    link: np.ndarray, prev_read_weights: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Forward ``f_ij = L_j w^r_{t-1, i}`` and backward ``b_ij = L_j^T w^r_{t-1, i}``.

    Args:
        link: ``[B, Hw, N, N]`` (this step's); prev_read_weights: ``[B, R, N]``.

    Returns:
        ``(forward, backward)``, each ``[B, R, Hw, N]``.
    """
    r = prev_read_weights[:, None, :, :]  # [B, 1, R, N]
    forward = np.matmul(r, np.swapaxes(link, -1, -2))  # [B, Hw, R, N]: sum_b L[a, b] r[b]
    backward = np.matmul(r, link)  # sum_a r[a] L[a, b]
    return forward.transpose(0, 2, 1, 3), backward.transpose(0, 2, 1, 3)


def sharpen_directional(
    weights: np.ndarray, sharpness: np.ndarray, eps: float = 1e-12
) -> np.ndarray:
    """DNC-S link sharpness: ``f_s = f^s / sum(f^s) * sum(f)`` with ``f`` clamped below at
    ``eps`` before the power.

    Args:
        weights: ``[B, R, Hw, N]``; sharpness: ``[B, R]`` in ``[1, inf)``.

    Returns:
        ``[B, R, Hw, N]``.
    """
    powered = np.maximum(weights, eps) ** sharpness[:, :, None, None]
    mass = np.sum(weights, axis=-1, keepdims=True)
    return powered / np.sum(powered, axis=-1, keepdims=True) * mass


def read_weights(
    read_modes: np.ndarray, backward: np.ndarray, content: np.ndarray, forward: np.ndarray
) -> np.ndarray:
    """``w^r_i = sum_j pi_i[j] b_ij + pi_i[Hw] c_i + sum_j pi_i[Hw + 1 + j] f_ij``.

    Args:
        read_modes: ``[B, R, 2 * Hw + 1]`` (backward heads, content, forward heads);
        backward, forward: ``[B, R, Hw, N]``; content: ``[B, R, N]``.

    Returns:
        ``[B, R, N]``.
    """
    num_writes = backward.shape[2]
    back_modes = read_modes[..., :num_writes, None]
    content_mode = read_modes[..., num_writes : num_writes + 1]
    fwd_modes = read_modes[..., num_writes + 1 :, None]
    return (
        np.sum(back_modes * backward, axis=2)
        + content_mode * content
        + np.sum(fwd_modes * forward, axis=2)
    )


# --------------------------------------------------------------------------- NTM


def interpolate(content: np.ndarray, prev_weights: np.ndarray, gates: np.ndarray) -> np.ndarray:
    """NTM gate ``w_g = g * w_c + (1 - g) * w_{t-1}``: ``[B, H, N]`` (gates ``[B, H]``)."""
    g = gates[..., None]
    return g * content + (1.0 - g) * prev_weights


def circular_shift(weights: np.ndarray, shifts: np.ndarray) -> np.ndarray:
    """NTM shift ``w_s[i] = sum_{o=-k..k} w_g[(i - o) mod N] * s[o]`` (index 0 of ``shifts``
    is offset ``-k``).

    Args:
        weights: ``[B, H, N]``; shifts: ``[B, H, 2k + 1]``.

    Returns:
        ``[B, H, N]``.
    """
    k = (shifts.shape[-1] - 1) // 2
    rolled = np.stack([np.roll(weights, o, axis=-1) for o in range(-k, k + 1)], axis=-1)
    return np.sum(rolled * shifts[..., None, :], axis=-1)


def sharpen(weights: np.ndarray, gamma: np.ndarray) -> np.ndarray:
    """NTM sharpening ``w[i] = w_s[i]^gamma / sum_n w_s[n]^gamma`` (gamma ``[B, H]``)."""
    powered = weights ** gamma[..., None]
    return powered / np.sum(powered, axis=-1, keepdims=True)


def ntm_address(
    memory: np.ndarray, prev_weights: np.ndarray, keys: np.ndarray, strengths: np.ndarray,
    gates: np.ndarray, shifts: np.ndarray, gamma: np.ndarray,
) -> np.ndarray:
    """Content, interpolation, shift, sharpening: the NTM's weighting ``[B, H, N]``."""
    content = content_weights(memory, keys, strengths)
    return sharpen(circular_shift(interpolate(content, prev_weights, gates), shifts), gamma)
