"""Sparse temporal links (SDNC): equal to dense when K >= N, invariants, gradients."""

from __future__ import annotations

import pytest
import torch
from memory_helpers import random_dnc_interface
from spec_reference import dnc_reference_step

from dnc_qa.memory.dnc import DNCMemory, DNCState
from dnc_qa.memory.sparse_link import (
    densify,
    sparse_directional,
    sparse_link_step,
    sparse_link_update,
)
from dnc_qa.models import DNC

f64 = torch.float64


def _dense_view(state: DNCState) -> DNCState:
    return state._replace(link=densify(state.link))


@pytest.mark.parametrize("num_writes", [1, 2])
@pytest.mark.parametrize("extra_k", [0, 3])
def test_sparse_with_k_at_least_n_equals_the_spec(num_writes, extra_k):
    N = 6
    sparse = DNCMemory(N, 4, 3, num_writes, link="sparse", link_k=N + extra_k)
    gen = torch.Generator().manual_seed(11)
    state = sparse.initial_state(2, dtype=f64)
    for _ in range(6):
        iface = random_dnc_interface(sparse, 2, gen)
        reads, new = sparse(iface, state)
        ref_reads, ref = dnc_reference_step(iface._asdict(), _dense_view(state)._asdict())
        torch.testing.assert_close(reads, ref_reads, rtol=1e-10, atol=1e-12)
        for name, value in _dense_view(new)._asdict().items():
            torch.testing.assert_close(value, ref[name], rtol=1e-10, atol=1e-12, msg=name)
        state = new


def test_sparse_with_k_at_least_n_equals_dense_model():
    torch.manual_seed(3)
    dense = DNC(5, 3, hidden_size=12, num_cells=6, cell_width=4, num_reads=2).double()
    sparse = DNC(
        5, 3, hidden_size=12, num_cells=6, cell_width=4, num_reads=2, link="sparse", link_k=6
    ).double()
    sparse.load_state_dict(dense.state_dict())
    x = torch.randn(2, 8, 5, dtype=f64)
    yd, yd_state = dense(x)
    ys, ys_state = sparse(x)
    torch.testing.assert_close(ys, yd, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(densify(ys_state.memory.link), yd_state.memory.link)
    gd = torch.autograd.grad(yd.square().sum(), list(dense.parameters()))
    gs = torch.autograd.grad(ys.square().sum(), list(sparse.parameters()))
    for a, b in zip(gs, gd, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("k", [1, 3])
def test_sparse_invariants(k):
    mem = DNCMemory(20, 4, 2, 2, link="sparse", link_k=k)
    gen = torch.Generator().manual_seed(5)
    state = mem.initial_state(3, dtype=f64)
    tol = 1e-9
    for _ in range(25):
        _, state = mem(random_dnc_interface(mem, 3, gen), state)
        link = densify(state.link)
        assert link.shape == (3, 2, 20, 20)
        assert ((link != 0).sum(-1) <= k).all(), "at most K entries per row"
        assert ((link != 0).sum(-2) <= k).all(), "at most K entries per column"
        assert ((state.precedence != 0).sum(-1) <= k).all()
        assert (link >= -tol).all() and (link <= 1 + tol).all()
        assert torch.diagonal(link, dim1=-2, dim2=-1).abs().max() == 0
        assert (link.sum(-1) <= 1 + tol).all() and (link.sum(-2) <= 1 + tol).all()
        assert (state.precedence.sum(-1) <= 1 + tol).all()
        for w in (state.read_weights, state.write_weights):
            assert (w >= -tol).all() and (w.sum(-1) <= 1 + tol).all()


def test_sparse_state_shape_and_options():
    mem = DNCMemory(10, 4, 2, 1, link="sparse", link_k=3)
    state = mem.initial_state(2)
    assert state.link.shape == (2, 1, 10, 6)
    mem.check_state(state)
    with pytest.raises(ValueError, match="link"):
        DNCMemory(10, 4, link="csr")
    with pytest.raises(ValueError, match="link_k"):
        DNCMemory(10, 4, link="sparse", link_k=0)


def test_sparse_gradcheck_float64():
    mem = DNCMemory(7, 3, 2, 1, link="sparse", link_k=3)
    gen = torch.Generator().manual_seed(2)
    state = mem.initial_state(2, dtype=f64)
    for _ in range(4):
        _, state = mem(random_dnc_interface(mem, 2, gen), state)
    flat = torch.randn(2, mem.interface_size, dtype=f64, generator=gen)

    def step(flat, memory, read_weights):
        s = state._replace(memory=memory, read_weights=read_weights)
        return mem(mem.parse_interface(flat), s)[0]

    inputs = [
        flat.requires_grad_(True),
        state.memory.clone().requires_grad_(True),
        state.read_weights.clone().requires_grad_(True),
    ]
    assert torch.autograd.gradcheck(step, inputs, eps=1e-6, atol=1e-6)


def _warmed_sparse_inputs(N, K, H, R, B, seed):
    mem = DNCMemory(N, 4, R, H, link="sparse", link_k=K)
    gen = torch.Generator().manual_seed(seed)
    state = mem.initial_state(B, dtype=f64)
    with torch.no_grad():
        for _ in range(8):
            _, state = mem(random_dnc_interface(mem, B, gen), state)
    w = torch.rand(B, H, N, dtype=f64, generator=gen)
    w = w / w.sum(-1, keepdim=True) * 0.9
    return state.link, state.precedence, w, state.read_weights


@pytest.mark.parametrize(
    ("N", "K", "H", "R", "B"),
    [(20, 3, 2, 3, 2), (6, 6, 1, 2, 2), (6, 9, 2, 2, 2), (30, 4, 1, 4, 3)],
)
def test_fused_sparse_link_step_equals_update_then_directional(N, K, H, R, B):
    """sparse_link_step (one node, written-out backward) against the two plain functions."""
    inputs = [t.clone().requires_grad_(True) for t in _warmed_sparse_inputs(N, K, H, R, B, 1)]
    link, p, w, r = inputs
    plain_link = sparse_link_update(link, p, w, K)
    plain = (plain_link, *sparse_directional(plain_link, r))
    fused = sparse_link_step(link, p, w, r, K)
    for a, b in zip(fused, plain, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-15)
    gen = torch.Generator().manual_seed(7)
    grads = [torch.randn(x.shape, dtype=f64, generator=gen) for x in plain]
    grads[0][..., K:] = 0  # the index half carries no gradient
    g_plain = torch.autograd.grad(plain, inputs, grads)
    g_fused = torch.autograd.grad(fused, inputs, grads)
    for a, b in zip(g_fused, g_plain, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-14)


def test_fused_sparse_link_step_gradcheck_float64():
    link, p, w, r = _warmed_sparse_inputs(12, 3, 2, 2, 2, 4)
    K = 3
    indices = link[..., K:]

    def step(values, p, w, r):
        new_link, forward, backward = sparse_link_step(torch.cat([values, indices], -1), p, w, r, K)
        return new_link[..., :K], forward, backward

    inputs = [t.clone().requires_grad_(True) for t in (link[..., :K], p, w, r)]
    assert torch.autograd.gradcheck(step, inputs, eps=1e-7, atol=1e-6)
