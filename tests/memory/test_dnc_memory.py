"""The DNC memory module: its interface and state, invariants, gradients, options. (Every
backend's step against the spec's naive transcription: test_backends.py.)"""

from __future__ import annotations

import pytest
import torch
from memory_helpers import random_dnc_interface, warmed_dnc_state

from dnc_qa.memory.dnc import DNCInterface, DNCMemory, DNCState

f64 = torch.float64


def test_interface_size_matches_paper_for_one_write_head():
    W, R = 32, 4
    assert DNCMemory(16, W, R, 1).interface_size == W * R + 3 * W + 5 * R + 3


def test_parse_interface_applies_activations_and_ranges():
    mem = DNCMemory(8, 5, num_reads=2, num_writes=2)
    flat = torch.randn(3, mem.interface_size, dtype=f64) * 10
    i = mem.parse_interface(flat)
    assert i.read_keys.shape == (3, 2, 5) and i.write_keys.shape == (3, 2, 5)
    assert (i.read_strengths >= 1).all() and (i.write_strengths >= 1).all()
    for gate in (i.free_gates, i.allocation_gates, i.write_gates, i.erase_vectors):
        assert ((gate >= 0) & (gate <= 1)).all()
    assert i.read_modes.shape == (3, 2, 5)
    torch.testing.assert_close(i.read_modes.sum(-1), torch.ones(3, 2, dtype=f64))
    # the flat vector is laid out in field order: the first R*W entries are the read keys
    torch.testing.assert_close(i.read_keys.reshape(3, -1), flat[:, :10])


def test_parse_interface_rejects_wrong_width():
    mem = DNCMemory(8, 5)
    with pytest.raises(ValueError, match=r"\[B, " + str(mem.interface_size) + r"\]"):
        mem.parse_interface(torch.zeros(2, mem.interface_size + 1))


@pytest.mark.parametrize("num_writes", [1, 2])
def test_invariants_hold_after_many_random_steps(num_writes):
    mem = DNCMemory(num_cells=12, cell_width=6, num_reads=3, num_writes=num_writes)
    gen = torch.Generator().manual_seed(3)
    state = mem.initial_state(4, dtype=f64)
    tol = 1e-9
    for _ in range(60):
        _, state = mem(random_dnc_interface(mem, 4, gen), state)
        for w in (state.read_weights, state.write_weights, state.precedence, state.usage):
            assert (w >= -tol).all() and (w <= 1 + tol).all()
        assert (state.read_weights.sum(-1) <= 1 + tol).all()
        assert (state.write_weights.sum(-1) <= 1 + tol).all()
        assert (state.precedence.sum(-1) <= 1 + tol).all()
        link = state.link
        assert (link >= -tol).all() and (link <= 1 + tol).all()
        assert torch.diagonal(link, dim1=-2, dim2=-1).abs().max() == 0
        assert (link.sum(-1) <= 1 + tol).all() and (link.sum(-2) <= 1 + tol).all()
        assert torch.isfinite(state.memory).all()


def test_dnc_step_gradcheck_float64():
    mem = DNCMemory(num_cells=5, cell_width=3, num_reads=2, num_writes=2)
    state = warmed_dnc_state(mem, batch=2, steps=4)
    flat = torch.randn(2, mem.interface_size, dtype=f64, generator=torch.Generator().manual_seed(5))

    def step(flat, memory, usage, link, precedence, read_weights, write_weights):
        s = DNCState(memory, usage, link, precedence, read_weights, write_weights)
        reads, new = mem(mem.parse_interface(flat), s)
        return (reads, *new)

    inputs = [flat.requires_grad_(True)] + [t.clone().requires_grad_(True) for t in state]
    assert torch.autograd.gradcheck(step, inputs, eps=1e-6, atol=1e-6)


def test_dnc_step_gradcheck_with_every_option_on():
    mem = DNCMemory(4, 3, 2, 1, masking=True, deallocation=True, link_sharpness=True)
    state = warmed_dnc_state(DNCMemory(4, 3, 2, 1), batch=1, steps=3)
    flat = torch.randn(1, mem.interface_size, dtype=f64, generator=torch.Generator().manual_seed(6))

    def step(flat):
        return mem(mem.parse_interface(flat), state)[0]

    assert torch.autograd.gradcheck(step, [flat.requires_grad_(True)], eps=1e-6, atol=1e-6)


def test_options_off_by_default_and_change_the_result_when_on():
    base = DNCMemory(6, 4, 2, 1)
    assert not (base.masking or base.deallocation or base.link_sharpness)
    state = warmed_dnc_state(base, batch=2, steps=4)
    gen = torch.Generator().manual_seed(9)
    for option in ("masking", "deallocation", "link_sharpness"):
        mem = DNCMemory(6, 4, 2, 1, **{option: True})
        assert mem.interface_size >= base.interface_size
        flat = torch.randn(2, mem.interface_size, generator=gen, dtype=f64)
        on = mem(mem.parse_interface(flat), state)[0]
        plain = base.parse_interface(flat[:, : base.interface_size])
        off = base(plain, state)[0]
        assert not torch.allclose(on, off), option


def test_deallocation_erases_freed_cells():
    mem = DNCMemory(3, 2, 1, 1, deallocation=True)
    state = mem.initial_state(1, dtype=f64)
    state = state._replace(
        memory=torch.ones(1, 3, 2, dtype=f64),
        read_weights=torch.tensor([[[0.0, 1.0, 0.0]]], dtype=f64),
    )
    iface = DNCInterface(
        read_keys=torch.ones(1, 1, 2, dtype=f64),
        read_strengths=torch.ones(1, 1, dtype=f64),
        write_keys=torch.ones(1, 1, 2, dtype=f64),
        write_strengths=torch.ones(1, 1, dtype=f64),
        erase_vectors=torch.zeros(1, 1, 2, dtype=f64),
        write_vectors=torch.zeros(1, 1, 2, dtype=f64),
        free_gates=torch.ones(1, 1, dtype=f64),
        allocation_gates=torch.zeros(1, 1, dtype=f64),
        write_gates=torch.zeros(1, 1, dtype=f64),
        read_modes=torch.tensor([[[0.0, 1.0, 0.0]]], dtype=f64),
    )
    _, new = mem(iface, state)
    torch.testing.assert_close(new.memory[0, 1], torch.zeros(2, dtype=f64))
    torch.testing.assert_close(new.memory[0, 0], torch.ones(2, dtype=f64))


def test_batch_rows_are_independent():
    mem = DNCMemory(7, 4, 2, 2)
    state = warmed_dnc_state(mem, batch=3, steps=5)
    iface = random_dnc_interface(mem, 3, torch.Generator().manual_seed(2))
    reads, new = mem(iface, state)
    for b in range(3):
        one_iface = DNCInterface(*(t[b : b + 1] if t is not None else None for t in iface))
        one_state = DNCState(*(t[b : b + 1] for t in state))
        r, s = mem(one_iface, one_state)
        torch.testing.assert_close(r, reads[b : b + 1], rtol=1e-12, atol=1e-12)
        for got, want in zip(s, new, strict=True):
            torch.testing.assert_close(got, want[b : b + 1], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_dtype_and_device_follow_the_inputs(device, dtype):
    mem = DNCMemory(6, 4, 2, 1)
    state = mem.initial_state(2, dtype=dtype, device=device)
    iface = random_dnc_interface(
        mem, 2, torch.Generator().manual_seed(0), dtype=dtype, device=device
    )
    reads, new = mem(iface, state)
    for t in (reads, *new):
        assert t.dtype == dtype and t.device.type == device.type


def test_cuda_matches_cpu_when_present():
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    mem = DNCMemory(6, 4, 2, 2)
    state = warmed_dnc_state(mem, batch=2, steps=3)
    iface = random_dnc_interface(mem, 2, torch.Generator().manual_seed(4))
    reads, new = mem(iface, state)
    to = lambda xs: type(xs)(*(t.cuda() if t is not None else None for t in xs))  # noqa: E731
    reads_gpu, new_gpu = mem(to(iface), to(state))
    torch.testing.assert_close(reads_gpu.cpu(), reads)
    for a, b in zip(new_gpu, new, strict=True):
        torch.testing.assert_close(a.cpu(), b)


def test_initial_state_shapes_and_constant_memory():
    mem = DNCMemory(num_cells=9, cell_width=4, num_reads=3, num_writes=2, memory_init=1e-6)
    s = mem.initial_state(5)
    assert s.memory.shape == (5, 9, 4) and s.link.shape == (5, 2, 9, 9)
    assert s.read_weights.shape == (5, 3, 9) and s.write_weights.shape == (5, 2, 9)
    assert torch.all(s.memory == 1e-6) and torch.all(s.usage == 0)
    assert mem.initial_state(2, num_cells=20).memory.shape == (2, 20, 4)


def test_check_state_names_the_bad_field():
    mem = DNCMemory(6, 4, 2, 1)
    state = mem.initial_state(2)
    bad = state._replace(link=torch.zeros(2, 1, 6, 5))
    with pytest.raises(ValueError, match="state.link"):
        mem.check_state(bad)


def test_constructor_rejects_bad_sizes():
    with pytest.raises(ValueError, match="num_cells"):
        DNCMemory(0, 4)
    with pytest.raises(ValueError, match="num_writes"):
        DNCMemory(4, 4, 1, 0)
