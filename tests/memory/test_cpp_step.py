"""The C++ step (dnc_qa.memory.backends.cpp) beyond what test_backends.py checks of every
backend: gradcheck of its hand-derived backward pass, its interface activations at the edges,
the link tape across no-grad steps, what it refuses, and the names of its inputs."""

from __future__ import annotations

import itertools

import pytest
import torch
from memory_helpers import random_dnc_interface, warmed_dnc_state

from dnc_qa.inference.dnc import DNCInterface as NumpyDNCInterface
from dnc_qa.memory import native
from dnc_qa.memory.backends import cpp
from dnc_qa.memory.dnc import DNCInterface, DNCMemory, DNCState
from dnc_qa.memory.layout import INTERFACE_FIELDS, STATE_FIELDS, kernel_layout

f64 = torch.float64

pytestmark = pytest.mark.skipif(native.kernels() is None, reason="C++ kernels unavailable")

OPTIONS = list(itertools.product([False, True], [False, True]))  # (masking, deallocation)


def _memory(masking=False, deallocation=False, backend="cpp", **kw) -> DNCMemory:
    sizes = {"num_cells": 7, "cell_width": 4, "num_reads": 3, "num_writes": 1} | kw
    return DNCMemory(**sizes, masking=masking, deallocation=deallocation, backend=backend)


def test_the_kernels_read_the_one_layout():
    """Every interface type has the layout's fields in its order; the kernels' inputs are the
    layout's fields they read, then the state; their layout argument comes from it."""
    names = tuple(f.name for f in INTERFACE_FIELDS)
    assert DNCInterface._fields == NumpyDNCInterface._fields == names
    assert DNCState._fields == STATE_FIELDS
    assert cpp.StepInputs._fields == tuple(n for n in names if n != "link_sharpness") + STATE_FIELDS
    mem = _memory(masking=True)
    layout = kernel_layout(mem.layout, cpp.INTERFACE_INPUTS)
    assert len(layout) == 4 * 12 + 1 and layout[-1] == mem.interface_size
    slot = mem.layout.slot("read_modes")
    assert layout[4 * 9 : 4 * 10] == [slot.offset, slot.size, 3, 3]  # softmax over 3 modes


@pytest.mark.parametrize(("masking", "deallocation"), OPTIONS)
def test_gradcheck_float64(masking, deallocation):
    """Every activated interface field and every state field, through one step."""
    mem = _memory(masking, deallocation, num_cells=5, cell_width=3, num_reads=2)
    state = warmed_dnc_state(mem, batch=2, steps=3, seed=2)
    iface = random_dnc_interface(mem, 2, torch.Generator().manual_seed(7))
    names = [n for n in iface._fields if getattr(iface, n) is not None]
    leaves = [getattr(iface, n).detach().clone().requires_grad_(True) for n in names]
    leaves += [t.detach().clone().requires_grad_(True) for t in state]

    def step(*xs):
        it = iface._replace(**dict(zip(names, xs[: len(names)], strict=True)))
        st = DNCState(*xs[len(names) :])
        reads, new = cpp.fused_step(it, st, deallocation=deallocation, tape=None)
        return (reads, *new)

    assert torch.autograd.gradcheck(step, leaves, eps=1e-6, atol=1e-7)


@pytest.mark.parametrize("masking", [False, True])
def test_flat_step_gradcheck_float64(masking):
    mem = _memory(masking, num_cells=5, cell_width=3, num_reads=2)
    state = warmed_dnc_state(mem, batch=2, steps=3, seed=3)
    flat = torch.randn(2, mem.interface_size, generator=torch.Generator().manual_seed(8), dtype=f64)
    leaves = [flat.requires_grad_(True)] + [t.detach().clone().requires_grad_(True) for t in state]
    layout = cpp._kernel_layout(mem.layout)

    def step(x, *st):
        reads, new = cpp.fused_flat_step(x, DNCState(*st), layout, False, None)
        return (reads, *new)

    assert torch.autograd.gradcheck(step, leaves, eps=1e-6, atol=1e-7)


def _flat_run(mem: DNCMemory, steps: int, seed: int = 0):
    """``steps`` steps through ``step_flat`` from a warmed state, raw interfaces large enough
    that strengths pass softplus's threshold (20, its linear branch): values and gradients."""
    gen = torch.Generator().manual_seed(seed)
    start = warmed_dnc_state(mem, batch=3, steps=4, seed=seed)
    start = DNCState(*(t.detach().clone().requires_grad_(True) for t in start))
    flats = [(torch.randn(3, mem.interface_size, generator=gen, dtype=f64) * 3).requires_grad_(True)
             for _ in range(steps)]
    with torch.no_grad():
        flats[0][:, mem.num_reads * mem.cell_width] = 25.0
    tape = mem.begin_sequence(steps)
    state, outputs = start, []
    for flat in flats:
        reads, state = mem.step_flat(flat, state, tape=tape)
        outputs.append(reads)
    outputs += list(state)
    weights = [torch.randn(o.shape, generator=gen, dtype=f64) for o in outputs]
    loss = sum((o * w).sum() for o, w in zip(outputs, weights, strict=True))
    return [o.detach() for o in outputs] + list(torch.autograd.grad(loss, flats + list(start)))


@pytest.mark.parametrize(("masking", "deallocation"), OPTIONS)
def test_activations_in_cpp_equal_parse_interface_at_the_thresholds(masking, deallocation):
    got = _flat_run(_memory(masking, deallocation), steps=7)
    want = _flat_run(_memory(masking, deallocation, backend="torch"), steps=7)
    for a, b in zip(got, want, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)


def test_step_flat_rejects_a_wrong_width():
    mem = _memory()
    with pytest.raises(ValueError, match="flat interface"):
        mem.step_flat(torch.zeros(2, mem.interface_size + 1, dtype=f64), mem.initial_state(2))


def test_double_backward_is_a_clear_error():
    mem = _memory(num_cells=5, cell_width=3, num_reads=2)
    state = warmed_dnc_state(mem, batch=2, steps=2)
    flat = torch.randn(2, mem.interface_size, dtype=f64, requires_grad=True)
    reads, _ = mem.step_flat(flat, state)
    with pytest.raises(RuntimeError, match="backend='torch'"):
        torch.autograd.grad(reads.sum(), flat, create_graph=True)


def test_an_interface_that_broadcasts_takes_the_pytorch_step():
    """A batch-1 interface against a batch-2 state: the PyTorch functions broadcast it; the
    kernel, which reads raw memory, must not be handed it."""
    mem = _memory(backend="auto")
    state = warmed_dnc_state(mem, batch=2, steps=3)
    iface = random_dnc_interface(mem, 1, torch.Generator().manual_seed(3))
    reads, new = mem(iface, state)
    mem.backend = "torch"
    want_reads, want = mem(iface, state)
    torch.testing.assert_close(reads, want_reads, rtol=0, atol=0)
    for a, b in zip(new, want, strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    mem.backend = "cpp"
    with pytest.raises(ValueError, match="exact shapes"):
        mem(iface, state)


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


@pytest.mark.parametrize(("N", "ld"), [(7, 16), (16, 32), (19, 32)])
@pytest.mark.parametrize("dtype", [f64, torch.float32])
def test_padded_link_rows_give_the_unpadded_step(N, ld, dtype):
    """A link whose rows are ld > N apart, zero beyond column N (the C++ sequence's layout):
    the step forward and backward give what the unpadded link gives, and every column beyond
    N of the new link and of the link's gradient stays zero."""
    mem = _memory(True, True, num_cells=N, cell_width=4, num_reads=3)
    state = warmed_dnc_state(mem, batch=3, steps=4, seed=5)
    iface = random_dnc_interface(mem, 3, torch.Generator().manual_seed(9))
    inputs = [t.to(dtype) for t in cpp._inputs(iface, state)]
    k = native.kernels()
    link = inputs[cpp.StepInputs._fields.index("link")]
    padded = link.new_zeros(*link.shape[:-1], ld)
    padded[..., :N] = link
    inputs_p = list(inputs)
    inputs_p[cpp.StepInputs._fields.index("link")] = padded
    out = k.dnc_step_forward(inputs, True, torch.empty(0))
    out_p = k.dnc_step_forward(inputs_p, True, torch.empty(0))
    tol = {"rtol": 0, "atol": 1e-12 if dtype == f64 else 1e-5}
    for i, (a, b) in enumerate(zip(out, out_p, strict=True)):
        if i == cpp.StepOutputs._fields.index("link"):
            assert b.shape[-1] == ld and torch.count_nonzero(b[..., N:]) == 0
            b = b[..., :N]
        torch.testing.assert_close(b, a, **tol)
    gen = torch.Generator().manual_seed(1)
    grads = [torch.randn(t.shape, generator=gen, dtype=f64).to(dtype) for t in out[:7]]
    grads_p = list(grads)
    g_link = grads[cpp.StepOutputs._fields.index("link")]
    grads_p[cpp.StepOutputs._fields.index("link")] = torch.cat(
        [g_link, g_link.new_zeros(*g_link.shape[:-1], ld - N)], dim=-1)
    saved = list(cpp.SavedForBackward.of(cpp.StepOutputs(*out[:7]), cpp.StepSaved(*out[7:])))
    saved_p = list(cpp.SavedForBackward.of(cpp.StepOutputs(*out_p[:7]), cpp.StepSaved(*out_p[7:])))
    back = k.dnc_step_backward(inputs, True, saved, grads, torch.empty(0))
    back_p = k.dnc_step_backward(inputs_p, True, saved_p, grads_p, torch.empty(0))
    for i, (a, b) in enumerate(zip(back, back_p, strict=True)):
        if i == cpp.StepInputs._fields.index("link"):
            assert b.shape[-1] == ld and torch.count_nonzero(b[..., N:]) == 0
            b = b[..., :N]
        torch.testing.assert_close(b, a, **tol)


def test_a_link_of_the_wrong_size_is_refused():
    mem = _memory(num_cells=5)
    state = warmed_dnc_state(mem, batch=2, steps=2)
    iface = random_dnc_interface(mem, 2, torch.Generator().manual_seed(3))
    inputs = list(cpp._inputs(iface, state))
    i = cpp.StepInputs._fields.index("link")
    inputs[i] = inputs[i][..., :4].contiguous()  # rows shorter than N
    with pytest.raises(RuntimeError, match="ld >= N"):
        native.kernels().dnc_step_forward(inputs, False, torch.empty(0))


@pytest.mark.parametrize("N", [37, 150])
@pytest.mark.parametrize("dtype", [f64, torch.float32])
def test_allocation_order_is_a_stable_sort_of_usage(dtype, N):
    """The saved allocation order sorts the new usage ascending with ties in index order
    (float sorts packed keys, by std::sort below 64 cells and by radix from there; double a
    stable sort: all must give this), among many ties, zeros and values a few float32 steps
    apart."""
    mem = _memory(num_cells=N, cell_width=4, num_reads=2)
    state = warmed_dnc_state(mem, batch=4, steps=2, seed=3)
    gen = torch.Generator().manual_seed(4)
    levels = torch.tensor([0.0, 1e-3, 0.25, 0.5, 1.0], dtype=f64)
    usage = levels[torch.randint(0, 5, (4, N), generator=gen)]
    usage[1] = torch.rand(N, generator=gen, dtype=f64)  # one row without ties
    usage[2] = 0.0  # a fresh memory: every cell tied
    # values 16 float32 steps apart, some tied: keys that differ in their lowest bytes
    usage[3] = 0.5 + torch.randint(0, 4096, (N,), generator=gen).to(f64) * 2.0**-20
    state = state._replace(usage=usage.to(state.usage.dtype),
                           write_weights=torch.zeros_like(state.write_weights))
    iface = random_dnc_interface(mem, 4, gen)._replace(
        free_gates=torch.zeros(4, 2))  # no freeing: the new usage is the old one
    inputs = [t.to(dtype) for t in cpp._inputs(iface, state)]
    out = native.kernels().dnc_step_forward(inputs, False, torch.empty(0))
    new_usage = out[cpp.StepOutputs._fields.index("usage")]
    torch.testing.assert_close(new_usage, usage.to(dtype), rtol=0, atol=0)
    order = out[len(cpp.StepOutputs._fields) + cpp.StepSaved._fields.index("order")]
    for b in range(4):
        u = new_usage[b].tolist()
        assert order[b].tolist() == sorted(range(N), key=lambda n, u=u: u[n])


@pytest.mark.parametrize(("masking", "deallocation"), OPTIONS)
def test_saved_content_statistics_are_each_rows_dot_product_and_norm(masking, deallocation):
    """What the backward pass reads instead of recomputing it: per read head (against the new
    memory) and then the write head (against the memory it writes to), each row's dot
    product with the (masked) key and the row's (masked) norm."""
    mem = _memory(masking, deallocation, num_cells=9, cell_width=5, num_reads=3)
    state = warmed_dnc_state(mem, batch=2, steps=3, seed=6)
    iface = random_dnc_interface(mem, 2, torch.Generator().manual_seed(8))
    inputs = cpp.StepInputs(*[t.to(f64) for t in cpp._inputs(iface, state)])
    out = native.kernels().dnc_step_forward(list(inputs), deallocation, torch.empty(0))
    outputs = cpp.StepOutputs(*out[:7])
    saved = cpp.StepSaved(*out[7:])
    assert saved.content_stats.shape == (2, 4, 2, 9)
    ones = torch.ones(2, 3, 5, dtype=f64)
    rmask = inputs.read_masks if masking else ones
    wmask = inputs.write_masks if masking else ones[:, :1]
    written = inputs.memory * saved.psi.unsqueeze(-1) if deallocation else inputs.memory
    for heads, keys, masks, memory in [
        (slice(0, 3), inputs.read_keys, rmask, outputs.memory),
        (slice(3, 4), inputs.write_keys, wmask, written),
    ]:
        rows = memory.unsqueeze(1) * masks.unsqueeze(2)  # [B, heads, N, W]
        dot = (rows * (keys * masks).unsqueeze(2)).sum(-1)
        torch.testing.assert_close(saved.content_stats[:, heads, 0], dot)
        torch.testing.assert_close(saved.content_stats[:, heads, 1], rows.norm(dim=-1))
