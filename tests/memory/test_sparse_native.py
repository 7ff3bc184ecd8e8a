"""The sparse link step's C++ kernels (csrc/sparse_link.cpp) against its PyTorch version:
the same kept entries in the same slots (ties resolved as torch.topk resolves them), values and
gradients equal at 1e-10 in float64; equal to the dense link when K >= N; gradcheck."""

from __future__ import annotations

import pytest
import torch

from dnc_qa.memory import native
from dnc_qa.memory import sparse_link as S
from dnc_qa.memory.dnc import DNCMemory

f64 = torch.float64


@pytest.fixture
def kernels():
    lib = native.kernels()
    if lib is None:
        pytest.skip("native kernels unavailable")
    return lib


def _assert_links_equal(a, b, k, rtol=1e-10, atol=1e-12):
    """Packed links: the same columns in the same slots, close values."""
    assert torch.equal(a[..., k:], b[..., k:]), "kept entries / slot order differ"
    torch.testing.assert_close(a[..., :k], b[..., :k], rtol=rtol, atol=atol)


def _random_state(B, H, N, K, R, gen, dtype=f64, empty=0.3, p_support=None):
    """A packed link with random rows (distinct off-diagonal columns, some empty slots), a
    precedence with ``p_support`` non-zeros (default K), write and read weights."""
    vals = torch.rand(B, H, N, K, generator=gen, dtype=dtype) / K
    idx = torch.empty(B, H, N, K, dtype=torch.long)
    for b in range(B):
        for h in range(H):
            for a in range(N):
                others = torch.randperm(N, generator=gen)
                others = others[others != a]
                take = min(K, N - 1)
                idx[b, h, a, :take] = others[:take]
                idx[b, h, a, take:] = a
    hole = (torch.rand(B, H, N, K, generator=gen) < empty) | (idx == torch.arange(N).view(N, 1))
    vals[hole] = 0
    idx[hole] = torch.arange(N).view(1, 1, N, 1).expand(B, H, N, K)[hole]
    link = S.pack(vals, idx)
    p = torch.rand(B, H, N, generator=gen, dtype=dtype)
    p = S.sparsify_precedence(p, K if p_support is None else p_support)
    p = p / p.sum(-1, keepdim=True).clamp(min=1e-30) * 0.8
    w = torch.rand(B, H, N, generator=gen, dtype=dtype)
    w = w / w.sum(-1, keepdim=True) * 0.9
    r = torch.rand(B, R, N, generator=gen, dtype=dtype)
    r = r / r.sum(-1, keepdim=True)
    return link, p, w, r


def _compare_step(inputs, K, rtol=1e-10, atol=1e-12, grads=True):
    inputs = [t.clone().requires_grad_(grads) for t in inputs]
    ref = S.sparse_link_step(*inputs, K, native=False)
    out = S.sparse_link_step(*inputs, K, native=True)
    _assert_links_equal(out[0], ref[0], K, rtol, atol)
    for a, b in zip(out[1:], ref[1:], strict=True):
        torch.testing.assert_close(a, b, rtol=rtol, atol=atol)
    if not grads:
        return out
    gen = torch.Generator().manual_seed(5)
    gs = [torch.randn(x.shape, dtype=x.dtype, generator=gen) for x in ref]
    for sel in ([0, 1, 2], [0], [1], [2]):  # all outputs, and each alone (None gradients)
        outs_ref = [ref[i] for i in sel]
        outs = [out[i] for i in sel]
        g_ref = torch.autograd.grad(outs_ref, inputs, [gs[i] for i in sel], retain_graph=True)
        g_out = torch.autograd.grad(outs, inputs, [gs[i] for i in sel], retain_graph=True)
        for name, a, b in zip(["link", "p", "w", "r"], g_out, g_ref, strict=True):
            torch.testing.assert_close(a, b, rtol=rtol, atol=atol, msg=name)
    return out


@pytest.mark.parametrize(
    ("B", "H", "N", "K", "R"),
    [(2, 1, 20, 3, 3), (3, 2, 30, 4, 2), (2, 1, 64, 8, 4), (1, 2, 17, 1, 1), (2, 1, 9, 8, 2)],
)
def test_step_on_random_states_equals_pytorch(kernels, B, H, N, K, R):
    gen = torch.Generator().manual_seed(N * 7 + K)
    for trial in range(3):
        _compare_step(_random_state(B, H, N, K, R, gen, empty=0.2 * trial), K)


@pytest.mark.parametrize(("N", "K"), [(12, 4), (7, 7), (6, 9), (40, 5)])
def test_ties_resolve_as_torch_topk(kernels, N, K):
    """Inputs full of ties: an empty link with a zero precedence (the first step), and values,
    precedence and weights on a coarse grid. The C++ selection reproduces torch.topk's choice
    among equal candidates (same std algorithms, same comparator), slot order included."""
    B, H, R = 3, 2, 2
    gen = torch.Generator().manual_seed(N + K)
    empty = S.initial_sparse_link(B, H, N, K, f64)
    zeros = torch.zeros(B, H, N, dtype=f64)
    w = torch.rand(B, H, N, generator=gen, dtype=f64)
    w = w / w.sum(-1, keepdim=True) * 0.9
    r = torch.softmax(torch.randn(B, R, N, generator=gen, dtype=f64), -1)
    _compare_step([empty, zeros, w, r], K)
    _compare_step([empty, zeros, torch.zeros_like(w), r], K)
    for trial in range(3):
        link, p, w, r = _random_state(B, H, N, K, R, gen, p_support=max(1, K // 2))
        q = 1 / 8
        link = torch.cat([(link[..., :K] / q).round() * q / N, link[..., K:]], -1)
        link[..., :K][link[..., K:].long() == torch.arange(N).view(N, 1)] = 0
        idx = torch.where(link[..., :K] == 0, torch.arange(N, dtype=f64).view(N, 1), link[..., K:])
        link = torch.cat([link[..., :K], idx], -1)
        p = (p / q).round() * q / 4
        w = torch.full_like(w, 0.5 / N) if trial == 0 else (w * N / q).round() * q / (2 * N)
        _compare_step([link, p, w, r], K)


@pytest.mark.parametrize(
    ("N", "K", "H", "R", "B"),
    [(20, 3, 2, 3, 2), (6, 6, 1, 2, 2), (6, 9, 2, 2, 2), (48, 8, 1, 4, 3), (16, 1, 1, 2, 2)],
)
def test_memory_sequences_equal_pytorch_path(kernels, monkeypatch, N, K, H, R, B):
    """Whole DNC memory sequences from the initial state (zero precedence: ties at the first
    step) through both paths: every state field, the reads, and the gradients w.r.t. every
    step's interface and the initial memory."""
    T = 7
    mem = DNCMemory(N, 4, R, H, link="sparse", link_k=K)
    gen = torch.Generator().manual_seed(3 * N + K)
    flats = [torch.randn(B, mem.interface_size, generator=gen, dtype=f64) * 2 for _ in range(T)]
    m0 = torch.randn(B, N, 4, generator=gen, dtype=f64) * 0.5
    g_reads = [torch.randn(B, R, 4, generator=gen, dtype=f64) for _ in range(T)]

    def run():
        leaves = [f.clone().requires_grad_(True) for f in flats]
        memory0 = m0.clone().requires_grad_(True)
        state = mem.initial_state(B, dtype=f64)._replace(memory=memory0)
        states, loss = [], 0
        for flat, g in zip(leaves, g_reads, strict=True):
            reads, state = mem(mem.parse_interface(flat), state)
            states.append(state)
            loss = loss + (reads * g).sum() + state.link[..., :K].sum() * 0.1
        grads = torch.autograd.grad(loss, [*leaves, memory0])
        return states, grads

    states, grads = run()
    with monkeypatch.context() as m:
        m.setattr(S, "_native_for", lambda link: None)
        ref_states, ref_grads = run()
    for s, rs in zip(states, ref_states, strict=True):
        _assert_links_equal(s.link, rs.link, K)
        for name in ("memory", "usage", "precedence", "read_weights", "write_weights"):
            torch.testing.assert_close(
                getattr(s, name), getattr(rs, name), rtol=1e-10, atol=1e-12, msg=name
            )
    for a, b in zip(grads, ref_grads, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("extra_k", [0, 3])
def test_k_at_least_n_equals_the_dense_link(kernels, extra_k):
    """Nothing is dropped: the new link is the dense update, f = L r, b = L^T r."""
    B, H, N, R = 2, 2, 7, 3
    K = N + extra_k
    gen = torch.Generator().manual_seed(9)
    link, p, w, r = _random_state(B, H, N, K, R, gen)
    p = torch.rand(B, H, N, generator=gen, dtype=f64) / N  # dense: K >= N keeps it all
    new, f, b = S.sparse_link_step(link, p, w, r, K, native=True)
    prev = S.densify(link)
    dense = (1 - w.unsqueeze(-1) - w.unsqueeze(-2)) * prev + w.unsqueeze(-1) * p.unsqueeze(-2)
    dense = dense * (1 - torch.eye(N, dtype=f64))
    torch.testing.assert_close(S.densify(new), dense, rtol=1e-12, atol=1e-14)
    rr = r.unsqueeze(2)  # [B, R, 1, N]
    torch.testing.assert_close(f, (dense.unsqueeze(1) @ rr.unsqueeze(-1)).squeeze(-1))
    torch.testing.assert_close(b, (rr.unsqueeze(-2) @ dense.unsqueeze(1)).squeeze(-2))


def test_float32_equals_pytorch(kernels):
    gen = torch.Generator().manual_seed(1)
    inputs = _random_state(3, 2, 50, 6, 3, gen, dtype=torch.float32)
    _compare_step(inputs, 6, rtol=1e-5, atol=1e-6)


def test_gradcheck_float64_native(kernels):
    B, H, N, K, R = 2, 2, 12, 3, 2
    gen = torch.Generator().manual_seed(4)
    link, p, w, r = _random_state(B, H, N, K, R, gen)
    indices = link[..., K:]

    def step(values, p, w, r):
        new_link, forward, backward = S.sparse_link_step(
            torch.cat([values, indices], -1), p, w, r, K, native=True
        )
        return new_link[..., :K], forward, backward

    inputs = [t.clone().requires_grad_(True) for t in (link[..., :K], p, w, r)]
    assert torch.autograd.gradcheck(step, inputs, eps=1e-7, atol=1e-6)


def test_no_grad_and_fallbacks(kernels, monkeypatch):
    gen = torch.Generator().manual_seed(2)
    inputs = _random_state(2, 1, 15, 3, 2, gen)
    with torch.no_grad():
        out = S.sparse_link_step(*inputs, 3)
    ref = S.sparse_link_step(*inputs, 3, native=False)
    _assert_links_equal(out[0], ref[0], 3)
    # no kernels (no compiler): the PyTorch path; native=True is an error
    monkeypatch.setattr(native, "kernels", lambda build=True: None)
    out = S.sparse_link_step(*inputs, 3)
    _assert_links_equal(out[0], ref[0], 3, rtol=0, atol=0)
    with pytest.raises(RuntimeError, match="native"):
        S.sparse_link_step(*inputs, 3, native=True)
