"""The NumPy memory mechanisms and steps equal the torch ones (``dnc_qa.memory``) value by
value, in float64 at rtol 1e-10, from non-trivial states."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from inference_helpers import assert_same, to_numpy

from dnc_qa.inference import addressing as NA
from dnc_qa.inference.dnc import DNCMemory as NumpyDNCMemory
from dnc_qa.inference.ntm import NTMMemory as NumpyNTMMemory
from dnc_qa.memory import addressing as TA
from dnc_qa.memory.dnc import DNCMemory
from dnc_qa.memory.ntm import NTMMemory

f64 = torch.float64


def _dnc_pair(num_writes: int, masking: bool, deallocation: bool, sharp: bool, cells: int = 7
              ) -> tuple[DNCMemory, NumpyDNCMemory]:
    opts = {"masking": masking, "deallocation": deallocation, "link_sharpness": sharp}
    return (DNCMemory(cells, 5, num_reads=3, num_writes=num_writes, **opts),
            NumpyDNCMemory(cells, 5, 3, num_writes, **opts))


def _warm_dnc(mem: DNCMemory, steps: int, gen: torch.Generator):
    """A torch state after ``steps`` random steps: links, usage, reads all non-trivial."""
    state = mem.initial_state(2, dtype=f64)
    for _ in range(steps):
        flat = torch.randn(2, mem.interface_size, generator=gen, dtype=f64) * 2
        _, state = mem(mem.parse_interface(flat), state)
    return state


@pytest.mark.parametrize("num_writes", [1, 2, 3])
@pytest.mark.parametrize("masking,deallocation,sharp", [
    (False, False, False), (True, False, False), (False, True, False), (False, False, True),
    (True, True, True)])
def test_dnc_steps_equal_torch(num_writes: int, masking: bool, deallocation: bool, sharp: bool
                               ) -> None:
    mem, npmem = _dnc_pair(num_writes, masking, deallocation, sharp)
    assert npmem.interface_size == mem.interface_size
    gen = torch.Generator().manual_seed(num_writes)
    state = _warm_dnc(mem, 6, gen)
    np_state = to_numpy(state)
    assert float(state.link.abs().sum()) > 0.1 and float(state.usage.sum()) > 0.1
    for t in range(5):
        flat = torch.randn(2, mem.interface_size, generator=gen, dtype=f64) * 2
        iface = mem.parse_interface(flat)
        np_iface = npmem.parse_interface(flat.numpy())
        assert assert_same(np_iface, iface, where=f"interface {t}") >= 10
        reads, state = mem(iface, state)
        np_reads, np_state = npmem.step(np_iface, np_state)
        assert_same(np_reads, reads, where=f"reads {t}")
        assert assert_same(np_state, state, where=f"state {t}") == 6
        assert_same(npmem.trace_step(np_iface, np_state), mem.trace_step(iface, state),
                    where=f"trace {t}")


def test_a_wrong_option_is_caught() -> None:
    """The comparison is sensitive: deallocation on one side only makes it fail."""
    mem, _ = _dnc_pair(1, False, True, False)
    npmem = NumpyDNCMemory(7, 5, 3, 1, deallocation=False)
    gen = torch.Generator().manual_seed(0)
    state = _warm_dnc(mem, 6, gen)
    flat = torch.randn(2, mem.interface_size, generator=gen, dtype=f64) * 2
    _, new = mem(mem.parse_interface(flat), state)
    _, np_new = npmem.step(npmem.parse_interface(flat.numpy()), to_numpy(state))
    with pytest.raises(AssertionError):
        assert_same(np_new, new)


@pytest.mark.parametrize("num_writes", [1, 2])
@pytest.mark.parametrize("shift_range", [1, 2])
def test_ntm_steps_equal_torch(num_writes: int, shift_range: int) -> None:
    mem = NTMMemory(9, 4, num_reads=2, num_writes=num_writes, shift_range=shift_range)
    npmem = NumpyNTMMemory(9, 4, 2, num_writes, shift_range)
    assert npmem.interface_size == mem.interface_size
    gen = torch.Generator().manual_seed(7)
    state = mem.initial_state(2, dtype=f64)
    np_state = npmem.initial_state(2, np.float64)
    assert_same(np_state, state, where="initial")
    for t in range(8):
        flat = torch.randn(2, mem.interface_size, generator=gen, dtype=f64) * 2
        iface, np_iface = mem.parse_interface(flat), npmem.parse_interface(flat.numpy())
        assert assert_same(np_iface, iface, where=f"interface {t}") == 12
        reads, state = mem(iface, state)
        np_reads, np_state = npmem.step(np_iface, np_state)
        assert_same(np_reads, reads, where=f"reads {t}")
        assert assert_same(np_state, state, where=f"state {t}") == 3
        assert_same(npmem.trace_step(np_iface, np_state), mem.trace_step(iface, state))


def test_each_mechanism_equals_torch() -> None:
    """Mechanism by mechanism, including edge cases: zero rows, tied usage, a saturated cell."""
    g = torch.Generator().manual_seed(3)
    B, N, W, R, Hw = 2, 6, 4, 3, 2
    memory = torch.randn(B, N, W, generator=g, dtype=f64)
    memory[0, 2] = 0.0  # a zero row: cosine 0
    keys = torch.randn(B, R, W, generator=g, dtype=f64)
    masks = torch.rand(B, R, W, generator=g, dtype=f64)
    strengths = 1 + torch.rand(B, R, generator=g, dtype=f64) * 5
    n = lambda t: t.numpy()  # noqa: E731
    assert_same(NA.cosine_similarity(n(memory), n(keys)), TA.cosine_similarity(memory, keys))
    assert_same(NA.cosine_similarity(n(memory), n(keys), masks=n(masks)),
                TA.cosine_similarity(memory, keys, masks=masks))
    assert_same(NA.content_weights(n(memory), n(keys), n(strengths)),
                TA.content_weights(memory, keys, strengths))
    usage = torch.rand(B, N, generator=g, dtype=f64)
    usage[0, :3] = 0.5  # ties: the stable sort must order them by index
    usage[1, 4] = 1.0
    assert_same(NA.sorted_allocation(n(usage)), TA.sorted_allocation(usage))
    ga, gw = torch.rand(B, Hw, generator=g, dtype=f64), torch.rand(B, Hw, generator=g, dtype=f64)
    alloc = TA.write_allocations(usage, ga, gw)
    assert_same(NA.write_allocations(n(usage), n(ga), n(gw)), alloc)
    content = torch.softmax(torch.randn(B, Hw, N, generator=g, dtype=f64), -1)
    ww = TA.write_weights(content, alloc, ga, gw)
    assert_same(NA.write_weights(n(content), n(alloc), n(ga), n(gw)), ww)
    erase, add = torch.rand(B, Hw, W, generator=g, dtype=f64), torch.randn(B, Hw, W, generator=g,
                                                                           dtype=f64)
    assert_same(NA.erase_and_add(n(memory), n(ww), n(erase), n(add)),
                TA.erase_and_add(memory, ww, erase, add))
    link = torch.rand(B, Hw, N, N, generator=g, dtype=f64) / N
    prec = torch.softmax(torch.randn(B, Hw, N, generator=g, dtype=f64), -1) * 0.9
    new_link = TA.link_update(link, prec, ww)
    assert_same(NA.link_update(n(link), n(prec), n(ww)), new_link)
    assert_same(NA.precedence_update(n(prec), n(ww)), TA.precedence_update(prec, ww))
    prev_rw = torch.softmax(torch.randn(B, R, N, generator=g, dtype=f64), -1)
    fwd, bwd = TA.directional_weights(new_link, prev_rw)
    assert_same(NA.directional_weights(n(new_link), n(prev_rw)), (fwd, bwd))
    sharp = 1 + torch.rand(B, R, generator=g, dtype=f64) * 3
    assert_same(NA.sharpen_directional(n(fwd), n(sharp)), TA.sharpen_directional(fwd, sharp))
    modes = torch.softmax(torch.randn(B, R, 2 * Hw + 1, generator=g, dtype=f64), -1)
    rc = torch.softmax(torch.randn(B, R, N, generator=g, dtype=f64), -1)
    rw = TA.read_weights(modes, bwd, rc, fwd)
    assert_same(NA.read_weights(n(modes), n(bwd), n(rc), n(fwd)), rw)
    assert_same(NA.read_memory(n(memory), n(rw)), TA.read_memory(memory, rw))
    free = torch.rand(B, R, generator=g, dtype=f64)
    psi = TA.retention(free, prev_rw)
    assert_same(NA.retention(n(free), n(prev_rw)), psi)
    assert_same(NA.usage_update(n(usage), n(ww), n(psi)), TA.usage_update(usage, ww, psi))
    shifts = torch.softmax(torch.randn(B, R, 5, generator=g, dtype=f64), -1)
    gamma = 1 + torch.rand(B, R, generator=g, dtype=f64) * 3
    gates = torch.rand(B, R, generator=g, dtype=f64)
    assert_same(NA.ntm_address(n(memory), n(prev_rw), n(keys), n(strengths), n(gates),
                               n(shifts), n(gamma)),
                TA.ntm_address(memory, prev_rw, keys, strengths, gates, shifts, gamma))
