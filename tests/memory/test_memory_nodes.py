"""The lean [B, N, W] nodes (memory_nodes) against the plain addressing functions."""

from __future__ import annotations

import pytest
import torch

from dnc_qa.memory import addressing as A
from dnc_qa.memory import memory_nodes as MN

f64 = torch.float64


def _inputs(B=2, N=7, W=3, H=2, seed=0, zeros=True):
    gen = torch.Generator().manual_seed(seed)
    memory = torch.randn(B, N, W, dtype=f64, generator=gen)
    if zeros:
        memory[0, 2] = 0  # a zero row: cosine 0, finite gradients (the norm's kink: no gradcheck)
    w = torch.rand(B, H, N, dtype=f64, generator=gen)
    w = w / w.sum(-1, keepdim=True) * 0.8
    e = torch.rand(B, H, W, dtype=f64, generator=gen)
    v = torch.randn(B, H, W, dtype=f64, generator=gen)
    keys = torch.randn(B, H, W, dtype=f64, generator=gen)
    if zeros:
        keys[1, 0] = 0  # a zero key
    strengths = 1 + torch.rand(B, H, dtype=f64, generator=gen) * 3
    return memory, w, e, v, keys, strengths


def _compare(plain, lean, inputs, seed=3):
    a, b = plain(*inputs), lean(*inputs)
    torch.testing.assert_close(b, a, rtol=1e-12, atol=1e-14)
    g = torch.randn(a.shape, dtype=f64, generator=torch.Generator().manual_seed(seed))
    ga = torch.autograd.grad(a, inputs, g)
    gb = torch.autograd.grad(b, inputs, g)
    for x, y in zip(gb, ga, strict=True):
        torch.testing.assert_close(x, y, rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("heads", [1, 3])
def test_content_weights_node_equals_plain(heads):
    memory, _, _, _, keys, strengths = _inputs(H=heads)
    inputs = [t.requires_grad_(True) for t in (memory, keys, strengths)]
    _compare(A.content_weights, MN.content_weights, inputs)
    memory, _, _, _, keys, strengths = _inputs(H=heads, zeros=False)
    inputs = [t.requires_grad_(True) for t in (memory, keys, strengths)]
    assert torch.autograd.gradcheck(MN.content_weights, inputs)


@pytest.mark.parametrize("heads", [1, 2, 3])
def test_erase_and_add_node_equals_plain(heads):
    memory, w, e, v, _, _ = _inputs(H=heads)
    inputs = [t.requires_grad_(True) for t in (memory, w, e, v)]
    _compare(A.erase_and_add, MN.erase_and_add, inputs)
    assert torch.autograd.gradcheck(MN.erase_and_add, inputs)


def test_read_memory_node_equals_plain():
    memory, w, *_ = _inputs(H=4)
    inputs = [t.requires_grad_(True) for t in (memory, w)]
    _compare(A.read_memory, MN.read_memory, inputs)
    assert torch.autograd.gradcheck(MN.read_memory, inputs)


def test_empty_huge_is_an_ordinary_tensor():
    like = torch.zeros(1, dtype=torch.float32)
    big = MN.empty_huge((3, 1 << 20), like)  # 12 MiB: asks for huge pages on Linux
    assert big.shape == (3, 1 << 20) and big.dtype == torch.float32
    big.fill_(2.0)
    assert float(big.sum()) == 2.0 * 3 * (1 << 20)
    small = MN.empty_huge((4,), like.double())
    assert small.dtype == f64 and small.shape == (4,)
