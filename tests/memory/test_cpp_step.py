"""The fused C++ memory step (dnc_qa.memory.fused): spec, eager path, gradcheck, invariants."""

from __future__ import annotations

import itertools

import pytest
import torch
from memory_helpers import random_dnc_interface, warmed_dnc_state
from spec_reference import dnc_reference_step

from dnc_qa.memory import fused
from dnc_qa.memory.dnc import DNCMemory, DNCState
from dnc_qa.models import DNC

f64 = torch.float64

pytestmark = pytest.mark.skipif(not fused.enabled(), reason="fused kernels unavailable")

OPTIONS = list(itertools.product([False, True], [False, True]))  # (masking, deallocation)


def _memory(masking=False, deallocation=False, **kw) -> DNCMemory:
    sizes = {"num_cells": 7, "cell_width": 4, "num_reads": 3, "num_writes": 1} | kw
    return DNCMemory(**sizes, masking=masking, deallocation=deallocation)


def _sequence(mem: DNCMemory, use_fused: bool, steps: int, seed: int = 0, dtype=f64):
    """Run ``steps`` steps through one tape from a warmed state; return values and gradients
    of a random linear loss w.r.t. every flat interface and every initial state field."""
    gen = torch.Generator().manual_seed(seed)
    start = warmed_dnc_state(mem, batch=3, steps=4, seed=seed, dtype=dtype)
    start = DNCState(*(t.detach().clone().requires_grad_(True) for t in start))
    flats = [
        (torch.randn(3, mem.interface_size, generator=gen, dtype=f64) * 2)
        .to(dtype)
        .requires_grad_(True)
        for _ in range(steps)
    ]
    mem.fused = use_fused
    try:
        return _run(mem, start, flats, gen, _parse_step(mem))
    finally:
        mem.fused = True


def _parse_step(mem: DNCMemory):
    """A step that parses the interface in Python, then calls the memory (fused or not)."""
    return lambda flat, state, tape: mem(mem.parse_interface(flat), state, tape=tape)


def _run(mem: DNCMemory, start: DNCState, flats: list, gen: torch.Generator, step):
    """``step(flat, state, tape)`` over ``flats`` through one tape; the outputs (every step's
    reads, the final state) and the gradients of a random linear loss of them with respect to
    every flat interface and every field of ``start``."""
    tape = mem.begin_sequence(len(flats))
    state, outputs = start, []
    for flat in flats:
        reads, state = step(flat, state, tape)
        outputs.append(reads)
    outputs += list(state)
    dtype = start.memory.dtype
    weights = [torch.randn(o.shape, generator=gen, dtype=f64).to(dtype) for o in outputs]
    loss = sum((o * w).sum() for o, w in zip(outputs, weights, strict=True))
    return [o.detach() for o in outputs], torch.autograd.grad(loss, flats + list(start))


def _assert_same(values, grads, want_values, want_grads) -> None:
    """Two runs of :func:`_run`: every value and every gradient equal at 1e-10."""
    for got, want in zip(values + list(grads), want_values + list(want_grads), strict=True):
        torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(("masking", "deallocation"), OPTIONS)
def test_values_and_gradients_equal_the_eager_path(masking, deallocation):
    """Over 9 steps through one tape (links recomputed from checkpoints every 3 steps)."""
    mem = _memory(masking, deallocation)
    values, grads = _sequence(mem, use_fused=True, steps=9)
    want_values, want_grads = _sequence(mem, use_fused=False, steps=9)
    _assert_same(values, grads, want_values, want_grads)


def _random_state(mem: DNCMemory, batch: int, gen: torch.Generator) -> DNCState:
    """A valid state with distinct usages (no near-ties for the allocation sort to flip)."""
    N, W, R = mem.num_cells, mem.cell_width, mem.num_reads

    def simplex(*shape):
        return torch.softmax(torch.randn(*shape, generator=gen, dtype=f64), -1) * 0.9

    link = torch.rand(batch, 1, N, N, generator=gen, dtype=f64) / N
    link.diagonal(dim1=-2, dim2=-1).zero_()
    return DNCState(
        memory=torch.randn(batch, N, W, generator=gen, dtype=f64),
        usage=torch.rand(batch, N, generator=gen, dtype=f64),
        link=link,
        precedence=simplex(batch, 1, N),
        read_weights=simplex(batch, R, N),
        write_weights=simplex(batch, 1, N),
    )


@pytest.mark.parametrize(("masking", "deallocation"), OPTIONS)
def test_float32_step_is_close_to_the_eager_path(masking, deallocation):
    """One float32 step, values and gradients. (Over many float32 steps the two paths may
    part: usages that tie to within rounding can sort differently and allocate elsewhere.)"""
    mem = _memory(masking, deallocation, num_cells=16, cell_width=8)
    gen = torch.Generator().manual_seed(4)
    state = _random_state(mem, 3, gen)
    flat = torch.randn(3, mem.interface_size, generator=gen, dtype=f64) * 2
    upstream = torch.randn(3 * 16 * 40, generator=gen, dtype=f64)
    results = []
    for use in (True, False):
        leaves = [flat.float().requires_grad_(True)]
        leaves += [t.float().requires_grad_(True) for t in state]
        mem.fused = use
        reads, new = mem(mem.parse_interface(leaves[0]), DNCState(*leaves[1:]))
        out = torch.cat([t.flatten() for t in (reads, *new)])
        grads = torch.autograd.grad((out * upstream[: out.numel()].float()).sum(), leaves)
        results.append([out.detach(), *grads])
    mem.fused = True
    for got, want in zip(*results, strict=True):
        torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("seed", [0, 1])
def test_step_equals_naive_spec_transcription(seed):
    mem = _memory()
    state = warmed_dnc_state(mem, batch=2, steps=5, seed=seed)
    iface = random_dnc_interface(mem, 2, torch.Generator().manual_seed(50 + seed))
    assert fused.supports(iface, state, mem.link, mem.link_sharpness)
    reads, new = fused.fused_step(iface, state, deallocation=False, tape=None)
    want_reads, want_state = dnc_reference_step(iface._asdict(), state._asdict())
    torch.testing.assert_close(reads, want_reads, rtol=1e-10, atol=1e-12)
    for name in DNCState._fields:
        torch.testing.assert_close(
            getattr(new, name), want_state[name], rtol=1e-10, atol=1e-12, msg=name
        )


@pytest.mark.parametrize(("masking", "deallocation"), OPTIONS)
def test_gradcheck_float64(masking, deallocation):
    """Every activated interface field and every state field, through one fused step."""
    mem = _memory(masking, deallocation, num_cells=5, cell_width=3, num_reads=2)
    state = warmed_dnc_state(mem, batch=2, steps=3, seed=2)
    iface = random_dnc_interface(mem, 2, torch.Generator().manual_seed(7))
    names = [n for n in iface._fields if getattr(iface, n) is not None]
    leaves = [getattr(iface, n).detach().clone().requires_grad_(True) for n in names]
    leaves += [t.detach().clone().requires_grad_(True) for t in state]

    def step(*xs):
        it = iface._replace(**dict(zip(names, xs[: len(names)], strict=True)))
        st = DNCState(*xs[len(names) :])
        reads, new = fused.fused_step(it, st, deallocation=deallocation, tape=None)
        return (reads, *new)

    assert torch.autograd.gradcheck(step, leaves, eps=1e-6, atol=1e-7)


def test_invariants_hold_over_a_long_sequence():
    mem = _memory(num_cells=10)
    gen = torch.Generator().manual_seed(3)
    state = mem.initial_state(4, dtype=f64)
    for _ in range(30):
        _, state = mem(random_dnc_interface(mem, 4, gen), state)
        for w in (state.read_weights, state.write_weights, state.precedence):
            assert w.min() >= 0 and w.max() <= 1 + 1e-12
            assert (w.sum(-1) <= 1 + 1e-12).all()
        assert state.usage.min() >= 0 and state.usage.max() <= 1 + 1e-12
        assert state.link.diagonal(dim1=-2, dim2=-1).abs().max() == 0
        assert state.link.min() >= 0 and (state.link.sum(-1) <= 1 + 1e-12).all()


def test_used_only_where_it_applies(monkeypatch):
    calls = []
    monkeypatch.setattr(fused, "fused_step", lambda *a, **k: calls.append(1) or (None, None))
    gen = torch.Generator().manual_seed(0)
    for mem, expected in [
        (_memory(), 1),
        (_memory(num_writes=2), 0),
        (DNCMemory(7, 4, 3, 1, link="sparse", link_k=2), 0),
        (DNCMemory(7, 4, 3, 1, link_sharpness=True), 0),
    ]:
        calls.clear()
        state = mem.initial_state(2, dtype=f64)
        mem(random_dnc_interface(mem, 2, gen), state)
        assert len(calls) == expected, mem


def test_switched_off_by_environment(monkeypatch):
    monkeypatch.setenv("DNC_QA_FUSED", "0")
    assert not fused.enabled()


def test_a_model_trains_the_same_fused_and_eager():
    """A whole DNC: loss and every parameter gradient agree (float64)."""
    torch.manual_seed(0)
    model = DNC(5, 3, hidden_size=8, num_cells=9, cell_width=4, num_reads=2).double()
    x = torch.randn(2, 11, 5, dtype=f64)
    results = []
    for use in (True, False):
        model.memory.fused = use
        model.zero_grad()
        y, _ = model(x)
        y.pow(2).sum().backward()
        results.append((y.detach(), [p.grad.clone() for p in model.parameters()]))
    torch.testing.assert_close(results[0][0], results[1][0], rtol=1e-10, atol=1e-12)
    for a, b in zip(results[0][1], results[1][1], strict=True):
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-11)


def _flat_sequence(mem: DNCMemory, use_flat: bool, steps: int, seed: int = 0):
    """Like :func:`_sequence`, through ``step_flat`` (activations fused) or parse + forward."""
    gen = torch.Generator().manual_seed(seed)
    start = warmed_dnc_state(mem, batch=3, steps=4, seed=seed)
    start = DNCState(*(t.detach().clone().requires_grad_(True) for t in start))
    flats = [
        (torch.randn(3, mem.interface_size, generator=gen, dtype=f64) * 3).requires_grad_(True)
        for _ in range(steps)
    ]
    with torch.no_grad():  # strengths beyond softplus's threshold (20) take its linear branch
        flats[0][:, mem.num_reads * mem.cell_width] = 25.0
    if use_flat:
        return _run(mem, start, flats, gen, lambda f, st, tape: mem.step_flat(f, st, tape=tape))
    return _run(mem, start, flats, gen, _parse_step(mem))


@pytest.mark.parametrize(("masking", "deallocation"), OPTIONS)
def test_fused_activations_equal_parse_interface(masking, deallocation):
    """``step_flat`` (interface activations inside the C++ step) against ``parse_interface``."""
    mem = _memory(masking, deallocation)
    values, grads = _flat_sequence(mem, use_flat=True, steps=7)
    want_values, want_grads = _flat_sequence(mem, use_flat=False, steps=7)
    _assert_same(values, grads, want_values, want_grads)


@pytest.mark.parametrize("masking", [False, True])
def test_fused_flat_step_gradcheck_float64(masking):
    mem = _memory(masking, num_cells=5, cell_width=3, num_reads=2)
    state = warmed_dnc_state(mem, batch=2, steps=3, seed=3)
    flat = torch.randn(2, mem.interface_size, generator=torch.Generator().manual_seed(8), dtype=f64)
    leaves = [flat.requires_grad_(True)] + [t.detach().clone().requires_grad_(True) for t in state]
    layout = (mem.num_reads, mem.cell_width, masking)

    def step(x, *st):
        reads, new = fused.fused_flat_step(x, DNCState(*st), layout, False, None)
        return (reads, *new)

    assert torch.autograd.gradcheck(step, leaves, eps=1e-6, atol=1e-7)


def test_step_flat_rejects_a_wrong_width():
    mem = _memory()
    with pytest.raises(ValueError, match="flat interface"):
        mem.step_flat(torch.zeros(2, mem.interface_size + 1, dtype=f64), mem.initial_state(2))


def test_double_backward_is_a_clear_error():
    mem = _memory(num_cells=5, cell_width=3, num_reads=2)
    state = warmed_dnc_state(mem, batch=2, steps=2)
    flat = torch.randn(2, mem.interface_size, dtype=f64, requires_grad=True)
    reads, _ = mem.step_flat(flat, state)
    with pytest.raises(RuntimeError, match="memory.fused = False"):
        torch.autograd.grad(reads.sum(), flat, create_graph=True)


def test_an_interface_that_broadcasts_takes_the_eager_path():
    """A batch-1 interface against a batch-2 state: the eager functions broadcast it; the
    kernel, which reads raw memory, must not be handed it."""
    mem = _memory()
    state = warmed_dnc_state(mem, batch=2, steps=3)
    iface = random_dnc_interface(mem, 1, torch.Generator().manual_seed(3))
    assert not fused.supports(iface, state, mem.link, mem.link_sharpness)
    reads, new = mem(iface, state)
    mem.fused = False
    want_reads, want = mem(iface, state)
    torch.testing.assert_close(reads, want_reads, rtol=0, atol=0)
    for a, b in zip(new, want, strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_a_no_grad_step_inside_a_sequence_keeps_gradients_right():
    """The tape cannot recompute links through a step it did not record: a no-grad step in the
    middle of a sequence must make the next recorded step keep its incoming link."""
    mem = _memory()
    gen = torch.Generator().manual_seed(5)
    flats = [torch.randn(2, mem.interface_size, generator=gen, dtype=f64) for _ in range(8)]

    def run(shared_tape: bool):
        params = [f.clone().requires_grad_(True) for f in flats]
        tape = mem.begin_sequence(8) if shared_tape else None
        state, total = mem.initial_state(2, dtype=f64), 0.0
        for t, flat in enumerate(params):
            with torch.set_grad_enabled(t != 4):  # then recorded step 4 is no checkpoint
                reads, state = mem.step_flat(flat, state, tape=tape)
            total = total + reads.sum() + state.link.sum()
        return torch.autograd.grad(total, [p for t, p in enumerate(params) if t != 4])

    for a, b in zip(run(True), run(False), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)
