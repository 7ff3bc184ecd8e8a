"""The NTM memory step: equal to the spec's naive transcription, invariants, gradients."""

from __future__ import annotations

import pytest
import torch
from memory_helpers import random_ntm_interface, warmed_ntm_state
from spec_reference import ntm_reference_step

from dnc_qa.memory.ntm import NTMInterface, NTMMemory, NTMState

f64 = torch.float64


@pytest.mark.parametrize("heads", [(1, 1), (2, 3), (3, 2)])
@pytest.mark.parametrize("shift_range", [1, 2])
def test_step_equals_naive_spec_transcription(heads, shift_range):
    reads, writes = heads
    mem = NTMMemory(7, 4, num_reads=reads, num_writes=writes, shift_range=shift_range)
    state = warmed_ntm_state(mem, batch=2, steps=4, seed=shift_range)
    iface = random_ntm_interface(mem, 2, torch.Generator().manual_seed(11))
    r, new = mem(iface, state)
    ref_r, ref = ntm_reference_step(iface._asdict(), state._asdict())
    torch.testing.assert_close(r, ref_r, rtol=1e-10, atol=1e-12)
    for name in NTMState._fields:
        torch.testing.assert_close(getattr(new, name), ref[name], rtol=1e-10, atol=1e-12)


def test_parse_interface_shapes_and_ranges():
    mem = NTMMemory(8, 5, num_reads=2, num_writes=3, shift_range=2)
    flat = torch.randn(4, mem.interface_size, dtype=f64) * 5
    i = mem.parse_interface(flat)
    assert i.read_keys.shape == (4, 2, 5) and i.write_keys.shape == (4, 3, 5)
    assert i.read_shifts.shape == (4, 2, 5) and i.write_shifts.shape == (4, 3, 5)
    assert i.erase_vectors.shape == (4, 3, 5) and i.add_vectors.shape == (4, 3, 5)
    assert (i.read_sharpen >= 1).all() and (i.write_strengths >= 1).all()
    torch.testing.assert_close(i.write_shifts.sum(-1), torch.ones(4, 3, dtype=f64))
    assert ((i.erase_vectors >= 0) & (i.erase_vectors <= 1)).all()


def test_weights_stay_distributions_after_many_steps():
    mem = NTMMemory(10, 4, num_reads=2, num_writes=2)
    gen = torch.Generator().manual_seed(0)
    state = mem.initial_state(3, dtype=f64)
    for _ in range(50):
        _, state = mem(random_ntm_interface(mem, 3, gen), state)
        for w in (state.read_weights, state.write_weights):
            assert (w >= 0).all() and (w <= 1 + 1e-12).all()
            torch.testing.assert_close(w.sum(-1), torch.ones_like(w.sum(-1)))
        assert torch.isfinite(state.memory).all()


def test_location_addressing_walks_one_cell_per_step():
    """Gate 0 (ignore content), shift +1, sharp: the focus moves forward by one and wraps."""
    N, W = 4, 2
    mem = NTMMemory(N, W, 1, 1)
    state = mem.initial_state(1, dtype=f64)
    one = torch.ones(1, 1, dtype=f64)
    shift = torch.tensor([[[0.0, 0.0, 1.0]]], dtype=f64)
    iface = NTMInterface(
        read_keys=torch.ones(1, 1, W, dtype=f64),
        read_strengths=one,
        read_gates=0 * one,
        read_shifts=shift,
        read_sharpen=one,
        write_keys=torch.ones(1, 1, W, dtype=f64),
        write_strengths=one,
        write_gates=0 * one,
        write_shifts=shift,
        write_sharpen=one,
        erase_vectors=torch.ones(1, 1, W, dtype=f64),
        add_vectors=torch.tensor([[[3.0, 4.0]]], dtype=f64),
    )
    for step in range(1, 6):
        reads, state = mem(iface, state)
        assert state.write_weights[0, 0].argmax() == step % N
        # the read head also moved to the cell just written and reads the added vector
        torch.testing.assert_close(reads[0, 0], torch.tensor([3.0, 4.0], dtype=f64))


def test_ntm_step_gradcheck_float64():
    mem = NTMMemory(5, 3, num_reads=2, num_writes=2)
    state = warmed_ntm_state(mem, batch=2, steps=3)
    flat = torch.randn(2, mem.interface_size, dtype=f64, generator=torch.Generator().manual_seed(1))

    def step(flat, memory, rw, ww):
        r, new = mem(mem.parse_interface(flat), NTMState(memory, rw, ww))
        return (r, *new)

    inputs = [flat.requires_grad_(True)] + [t.clone().requires_grad_(True) for t in state]
    assert torch.autograd.gradcheck(step, inputs, eps=1e-6, atol=1e-6)


def test_batch_rows_are_independent():
    mem = NTMMemory(6, 3, 2, 2)
    state = warmed_ntm_state(mem, batch=3, steps=3)
    iface = random_ntm_interface(mem, 3, torch.Generator().manual_seed(2))
    reads, new = mem(iface, state)
    for b in range(3):
        r, s = mem(
            NTMInterface(*(t[b : b + 1] for t in iface)), NTMState(*(t[b : b + 1] for t in state))
        )
        torch.testing.assert_close(r, reads[b : b + 1], rtol=1e-12, atol=1e-12)
        for got, want in zip(s, new, strict=True):
            torch.testing.assert_close(got, want[b : b + 1], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_dtype_and_device_follow_the_inputs(device, dtype):
    mem = NTMMemory(6, 4, 2, 1)
    state = mem.initial_state(2, dtype=dtype, device=device)
    iface = random_ntm_interface(
        mem, 2, torch.Generator().manual_seed(0), dtype=dtype, device=device
    )
    reads, new = mem(iface, state)
    for t in (reads, *new):
        assert t.dtype == dtype and t.device.type == device.type


def test_constructor_rejects_bad_sizes():
    with pytest.raises(ValueError, match="shift_range"):
        NTMMemory(4, 4, shift_range=-1)
    with pytest.raises(ValueError, match="cell_width"):
        NTMMemory(4, 0)
