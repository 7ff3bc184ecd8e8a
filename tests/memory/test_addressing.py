"""Each addressing mechanism against hand-computed values."""

from __future__ import annotations

import pytest
import torch

from dnc_qa.memory import addressing as A

f64 = torch.float64


def test_cosine_similarity_hand_values():
    memory = torch.tensor([[[1.0, 0.0], [0.0, 2.0], [3.0, 4.0]]], dtype=f64)
    keys = torch.tensor([[[1.0, 0.0]]], dtype=f64)
    cos = A.cosine_similarity(memory, keys)
    expected = torch.tensor([1 / (1 + 1e-6), 0.0, 3 / (5 + 1e-6)], dtype=f64)
    torch.testing.assert_close(cos[0, 0], expected)


def test_content_weights_is_softmax_of_scaled_cosine():
    memory = torch.tensor([[[1.0, 0.0], [0.0, 1.0]]], dtype=f64)
    keys = torch.tensor([[[1.0, 0.0]]], dtype=f64)
    w = A.content_weights(memory, keys, torch.tensor([[2.0]], dtype=f64))
    e = torch.exp(torch.tensor([2.0 / (1 + 1e-6), 0.0], dtype=f64))
    torch.testing.assert_close(w[0, 0], e / e.sum())


def test_key_equal_to_row_with_strength_100_reads_one_hot():
    gen = torch.Generator().manual_seed(0)
    memory = torch.randn(1, 6, 8, generator=gen, dtype=f64)
    keys = memory[:, 3:4].clone()
    w = A.content_weights(memory, keys, torch.tensor([[100.0]], dtype=f64))
    assert w[0, 0].argmax() == 3
    assert w[0, 0, 3] > 0.999
    reads = A.read_memory(memory, w)
    torch.testing.assert_close(reads[0, 0], memory[0, 3], atol=1e-2, rtol=0)


def test_zero_memory_row_and_zero_key_give_no_nan_in_values_or_gradients():
    memory = torch.zeros(1, 4, 3, dtype=f64, requires_grad=True)
    with torch.no_grad():
        memory[0, 1] = torch.tensor([1.0, 2.0, 3.0])
    keys = torch.zeros(1, 2, 3, dtype=f64)
    keys[0, 0] = torch.tensor([1.0, 0.0, 0.0])
    keys.requires_grad_(True)
    w = A.content_weights(memory, keys, torch.full((1, 2), 5.0, dtype=f64))
    assert torch.isfinite(w).all()
    (w * torch.arange(4, dtype=f64)).sum().backward()
    assert torch.isfinite(memory.grad).all()
    assert torch.isfinite(keys.grad).all()


def test_retention_and_usage_hand_values():
    free = torch.tensor([[0.5, 1.0]], dtype=f64)
    reads = torch.tensor([[[1.0, 0.0, 0.0], [0.0, 0.5, 0.0]]], dtype=f64)
    psi = A.retention(free, reads)
    torch.testing.assert_close(psi, torch.tensor([[0.5, 0.5, 1.0]], dtype=f64))
    prev_usage = torch.tensor([[0.2, 0.4, 0.6]], dtype=f64)
    prev_ww = torch.tensor([[[0.5, 0.0, 0.0]], [[0.0, 0.0, 0.0]]], dtype=f64)[:1]
    usage = A.usage_update(prev_usage, prev_ww, psi)
    # cell 0: (0.2 + 0.5 - 0.1) * 0.5 = 0.3; cell 1: 0.4 * 0.5; cell 2: 0.6
    torch.testing.assert_close(usage, torch.tensor([[0.3, 0.2, 0.6]], dtype=f64))


def test_full_write_gives_usage_one():
    ww = torch.tensor([[[0.0, 1.0, 0.0]]], dtype=f64)
    usage = A.usage_update(torch.zeros(1, 3, dtype=f64), ww, torch.ones(1, 3, dtype=f64))
    torch.testing.assert_close(usage, torch.tensor([[0.0, 1.0, 0.0]], dtype=f64))


def test_free_gate_one_after_full_read_gives_usage_zero():
    reads = torch.tensor([[[0.0, 1.0, 0.0]]], dtype=f64)
    psi = A.retention(torch.ones(1, 1, dtype=f64), reads)
    usage = A.usage_update(torch.ones(1, 3, dtype=f64), torch.zeros(1, 1, 3, dtype=f64), psi)
    torch.testing.assert_close(usage, torch.tensor([[1.0, 0.0, 1.0]], dtype=f64))


def test_sorted_allocation_hand_values():
    usage = torch.tensor([[0.5, 0.0, 1.0, 0.25]], dtype=f64)
    a = A.sorted_allocation(usage, eps=0.0)
    # sorted: 0.0 (cell 1), 0.25 (cell 3), 0.5 (cell 0), 1.0 (cell 2)
    expected = torch.tensor([[0.0, 1.0, 0.0, 0.0]], dtype=f64)
    torch.testing.assert_close(a, expected)
    usage = torch.tensor([[0.5, 0.2, 0.9]], dtype=f64)
    a = A.sorted_allocation(usage, eps=0.0)
    expected = torch.tensor([[(1 - 0.5) * 0.2, 0.8, (1 - 0.9) * 0.2 * 0.5]], dtype=f64)
    torch.testing.assert_close(a, expected)


def test_argmin_usage_is_argmax_allocation():
    gen = torch.Generator().manual_seed(1)
    usage = torch.rand(16, 10, generator=gen, dtype=f64)
    a = A.sorted_allocation(usage)
    assert torch.equal(a.argmax(-1), usage.argmin(-1))
    assert (a.sum(-1) <= 1 + 1e-12).all()


def test_allocation_ties_break_by_index():
    usage = torch.zeros(1, 4, dtype=f64)
    a = A.sorted_allocation(usage)
    assert a[0].argmax() == 0
    assert a[0, 0] == pytest.approx(1 - 1e-6)


def test_second_write_head_allocates_the_next_free_cell():
    usage = torch.tensor([[1.0, 0.0, 0.0, 1.0]], dtype=f64)
    ones = torch.ones(1, 2, dtype=f64)
    a = A.write_allocations(usage, ones, ones)
    assert a[0, 0].argmax() == 1
    assert a[0, 1].argmax() == 2


def test_one_hot_writes_give_one_hot_links():
    N = 4
    link = torch.zeros(1, 1, N, N, dtype=f64)
    prec = torch.zeros(1, 1, N, dtype=f64)
    for cell in [0, 1, 2]:
        ww = torch.zeros(1, 1, N, dtype=f64)
        ww[0, 0, cell] = 1.0
        link = A.link_update(link, prec, ww)
        prec = A.precedence_update(prec, ww)
    expected = torch.zeros(N, N, dtype=f64)
    expected[1, 0] = 1.0  # L[a, b] = 1: a was written right after b
    expected[2, 1] = 1.0
    torch.testing.assert_close(link[0, 0], expected)
    torch.testing.assert_close(prec[0, 0], torch.tensor([0.0, 0.0, 1.0, 0.0], dtype=f64))


def test_forward_read_from_cell_zero_after_writes_zero_then_one_lands_on_one():
    N = 3
    link = torch.zeros(1, 1, N, N, dtype=f64)
    prec = torch.zeros(1, 1, N, dtype=f64)
    for cell in [0, 1]:
        ww = torch.nn.functional.one_hot(torch.tensor([[cell]]), N).to(f64)
        link = A.link_update(link, prec, ww)
        prec = A.precedence_update(prec, ww)
    read = torch.tensor([[[1.0, 0.0, 0.0]]], dtype=f64)
    forward, backward = A.directional_weights(link, read)
    torch.testing.assert_close(forward[0, 0, 0], torch.tensor([0.0, 1.0, 0.0], dtype=f64))
    torch.testing.assert_close(backward[0, 0, 0], torch.zeros(N, dtype=f64))
    _, backward = A.directional_weights(link, torch.tensor([[[0.0, 1.0, 0.0]]], dtype=f64))
    torch.testing.assert_close(backward[0, 0, 0], torch.tensor([1.0, 0.0, 0.0], dtype=f64))


def test_link_update_hand_values_and_zero_diagonal():
    prev = torch.tensor([[[[0.0, 0.5], [0.25, 0.0]]]], dtype=f64)
    prec = torch.tensor([[[0.3, 0.6]]], dtype=f64)
    ww = torch.tensor([[[0.2, 0.4]]], dtype=f64)
    link = A.link_update(prev, prec, ww)
    # L[0,1] = (1 - .2 - .4) * .5 + .2 * .6 ; L[1,0] = (1 - .4 - .2) * .25 + .4 * .3
    expected = torch.tensor([[0.0, 0.4 * 0.5 + 0.12], [0.4 * 0.25 + 0.12, 0.0]], dtype=f64)
    torch.testing.assert_close(link[0, 0], expected)


def test_read_weights_mix_modes_in_spec_order():
    # Hw = 2: modes = (backward_1, backward_2, content, forward_1, forward_2)
    modes = torch.tensor([[[0.1, 0.2, 0.3, 0.15, 0.25]]], dtype=f64)
    b = torch.tensor([[[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]]], dtype=f64)
    f = torch.tensor([[[[0.0, 0.0, 1.0], [0.5, 0.5, 0.0]]]], dtype=f64)
    c = torch.tensor([[[0.0, 0.0, 1.0]]], dtype=f64)
    w = A.read_weights(modes, b, c, f)
    expected = torch.tensor([0.1 + 0.125, 0.2 + 0.125, 0.3 + 0.15], dtype=f64)
    torch.testing.assert_close(w[0, 0], expected)


def test_erase_and_add_hand_values():
    memory = torch.ones(1, 2, 2, dtype=f64)
    ww = torch.tensor([[[1.0, 0.5]]], dtype=f64)
    erase = torch.tensor([[[1.0, 0.0]]], dtype=f64)
    add = torch.tensor([[[2.0, 3.0]]], dtype=f64)
    out = A.erase_and_add(memory, ww, erase, add)
    expected = torch.tensor([[0.0 + 2.0, 1.0 + 3.0], [0.5 + 1.0, 1.0 + 1.5]], dtype=f64)
    torch.testing.assert_close(out[0], expected)


def test_ntm_circular_shift_plus_one_moves_focus_forward_and_wraps():
    w = torch.tensor([[[0.0, 0.0, 1.0]]], dtype=f64)
    plus_one = torch.tensor([[[0.0, 0.0, 1.0]]], dtype=f64)  # offsets (-1, 0, +1)
    torch.testing.assert_close(
        A.circular_shift(w, plus_one), torch.tensor([[[1.0, 0.0, 0.0]]], dtype=f64)
    )
    minus_one = torch.tensor([[[1.0, 0.0, 0.0]]], dtype=f64)
    torch.testing.assert_close(
        A.circular_shift(w, minus_one), torch.tensor([[[0.0, 1.0, 0.0]]], dtype=f64)
    )
    spread = torch.tensor([[[0.25, 0.5, 0.25]]], dtype=f64)
    torch.testing.assert_close(
        A.circular_shift(w, spread), torch.tensor([[[0.25, 0.25, 0.5]]], dtype=f64)
    )


def test_ntm_sharpen_and_interpolate_hand_values():
    w = torch.tensor([[[0.2, 0.8]]], dtype=f64)
    out = A.sharpen(w, torch.tensor([[2.0]], dtype=f64))
    torch.testing.assert_close(out, torch.tensor([[[0.04 / 0.68, 0.64 / 0.68]]], dtype=f64))
    prev = torch.tensor([[[1.0, 0.0]]], dtype=f64)
    torch.testing.assert_close(A.interpolate(w, prev, torch.tensor([[0.0]], dtype=f64)), prev)
    torch.testing.assert_close(A.interpolate(w, prev, torch.tensor([[1.0]], dtype=f64)), w)


def test_masked_content_ignores_masked_out_dimensions():
    memory = torch.tensor([[[1.0, 100.0], [1.0, -100.0]]], dtype=f64)
    keys = torch.tensor([[[1.0, 0.0]]], dtype=f64)
    masks = torch.tensor([[[1.0, 0.0]]], dtype=f64)
    w = A.content_weights(memory, keys, torch.tensor([[3.0]], dtype=f64), masks=masks)
    torch.testing.assert_close(w[0, 0], torch.tensor([0.5, 0.5], dtype=f64))


def test_positive_cumprod_matches_torch_cumprod_and_gradcheck():
    """The allocation's zero-free cumulative product: torch's values and gradients for
    positive inputs (it skips torch's host-side check for zeros), and gradcheck."""
    from dnc_qa.memory.addressing import _PositiveCumprod

    gen = torch.Generator().manual_seed(0)
    x = (torch.rand(3, 7, generator=gen, dtype=torch.float64) + 1e-6).requires_grad_(True)
    g = torch.randn(3, 7, generator=gen, dtype=torch.float64)
    y = _PositiveCumprod.apply(x)
    (gx,) = torch.autograd.grad(y, x, g)
    x2 = x.detach().clone().requires_grad_(True)
    y2 = torch.cumprod(x2, dim=-1)
    (gx2,) = torch.autograd.grad(y2, x2, g)
    torch.testing.assert_close(y, y2, rtol=0, atol=0)
    torch.testing.assert_close(gx, gx2, rtol=1e-12, atol=1e-14)
    assert torch.autograd.gradcheck(_PositiveCumprod.apply, (x,))
