"""The PyTorch step's link node (one autograd Function, C++ row loops or PyTorch operations,
the checkpointing tape, recycled buffers) against the addressing functions; the write-phase
checkpointing; when the kernels are built. (Whole steps of every backend against the spec:
test_backends.py.)"""

from __future__ import annotations

import pytest
import torch

from dnc_qa.memory import addressing as A
from dnc_qa.memory import link_function as LF
from dnc_qa.memory import native
from dnc_qa.memory.dnc import DNCMemory
from dnc_qa.models import DNC

f64 = torch.float64


@pytest.fixture(params=["native", "eager"])
def kernel_path(request, monkeypatch):
    """Run a test once through the native CPU kernels (when they build) and once eager."""
    if request.param == "eager":
        monkeypatch.setattr(LF, "_native_for", lambda t: None)
    elif native.kernels() is None:
        pytest.skip("native kernels unavailable")
    return request.param


def _link_inputs(B=2, H=2, N=6, R=3, seed=0):
    gen = torch.Generator().manual_seed(seed)
    link = torch.rand(B, H, N, N, generator=gen, dtype=f64) / N
    link.diagonal(dim1=-2, dim2=-1).zero_()
    prec = torch.rand(B, H, N, generator=gen, dtype=f64) / N
    w = torch.rand(B, H, N, generator=gen, dtype=f64) / N
    r = torch.rand(B, R, N, generator=gen, dtype=f64) / N
    return link, prec, w, r


def test_link_forward_equals_addressing_functions(kernel_path):
    link, prec, w, r = _link_inputs()
    new, fwd, bwd = LF.link_forward(link, prec, w, r)
    want = A.link_update(link, prec, w)
    want_f, want_b = A.directional_weights(want, r)
    torch.testing.assert_close(new, want, rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(fwd.transpose(1, 2), want_f, rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(bwd.transpose(1, 2), want_b, rtol=1e-12, atol=1e-14)


def test_link_function_gradcheck_float64(kernel_path):
    inputs = [t.requires_grad_(True) for t in _link_inputs(B=2, H=2, N=5, R=2)]
    assert torch.autograd.gradcheck(lambda *xs: LF.link_step(*xs), inputs, eps=1e-6, atol=1e-8)


def test_link_function_gradients_equal_autograd_of_the_formula(kernel_path):
    ins = [t.requires_grad_(True) for t in _link_inputs(N=7, seed=3)]
    ref = [t.detach().clone().requires_grad_(True) for t in ins]
    new, fwd, bwd = LF.link_step(*ins)
    want = A.link_update(*ref[:3])
    want_f, want_b = A.directional_weights(want, ref[3])
    gen = torch.Generator().manual_seed(1)
    gl, gf, gb = (torch.randn(t.shape, generator=gen, dtype=f64) for t in (new, fwd, bwd))
    (new * gl).sum().add((fwd * gf).sum()).add((bwd * gb).sum()).backward()
    (want * gl).sum().add((want_f.transpose(1, 2) * gf).sum()).add(
        (want_b.transpose(1, 2) * gb).sum()
    ).backward()
    for a, b in zip(ins, ref, strict=True):
        torch.testing.assert_close(a.grad, b.grad, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("segment", [1, 2, 3, 100])
def test_tape_checkpointing_gives_the_same_gradients(kernel_path, segment):
    """A sequence through one tape: recomputed links give the gradients of full storage."""
    link, prec, w, r = _link_inputs(N=6, seed=5)
    gen = torch.Generator().manual_seed(2)
    ws = torch.rand(7, *w.shape, generator=gen, dtype=f64).div_(6).requires_grad_(True)
    rs = torch.rand(7, *r.shape, generator=gen, dtype=f64).div_(6).requires_grad_(True)

    def run(tape):
        L, p, total = link, prec, 0.0
        for t in range(7):
            if tape is None:
                L2 = A.link_update(L, p, ws[t])
                f, b = A.directional_weights(L2, rs[t])
                f, b = f.transpose(1, 2), b.transpose(1, 2)
            else:
                L2, f, b = LF.link_step(L, p, ws[t], rs[t], tape)
            p = A.precedence_update(p, ws[t])
            total = total + (f * (t + 1)).sum() + (b * b).sum()
            L = L2
        return total + (L * L).sum()

    want = torch.autograd.grad(run(None), [ws, rs])
    got = torch.autograd.grad(run(LF.LinkTape(segment)), [ws, rs])
    for a, b in zip(got, want, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)


def test_model_gradients_do_not_depend_on_the_kernel_path(monkeypatch):
    torch.manual_seed(0)
    model = DNC(5, 3, hidden_size=12, num_cells=6, cell_width=4, num_reads=2,
                backend="torch").double()
    x = torch.randn(2, 9, 5, dtype=f64)

    def grads():
        model.zero_grad()
        model(x)[0].square().sum().backward()
        return [p.grad.clone() for p in model.parameters()]

    native_grads = grads()
    monkeypatch.setattr(LF, "_native_for", lambda t: None)
    eager_grads = grads()
    for a, b in zip(native_grads, eager_grads, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)


def test_no_grad_path_matches_and_keeps_no_graph(kernel_path):
    torch.manual_seed(0)
    model = DNC(5, 3, hidden_size=12, num_cells=6, cell_width=4, num_reads=2,
                backend="torch").double()
    x = torch.randn(2, 4, 5, dtype=f64)
    y = model(x)[0]
    with torch.no_grad():
        y0, state = model(x)
    torch.testing.assert_close(y0, y.detach(), rtol=1e-12, atol=1e-12)
    assert state.memory.link.grad_fn is None


@pytest.mark.parametrize("grad", [True, False])
def test_recycled_buffers_never_overwrite_links_someone_holds(kernel_path, grad):
    link, prec, w, r = _link_inputs(N=5, seed=9)
    w.requires_grad_(grad)
    tape = LF.LinkTape(2)
    kept, want = [], []
    L, L_ref = link, link
    with torch.set_grad_enabled(grad):
        for _ in range(6):
            L, _, _ = LF.link_step(L, prec, w, r, tape)
            L_ref = A.link_update(L_ref, prec, w)
            kept.append(L)
            want.append(L_ref.detach().clone())
    for got, ref in zip(kept, want, strict=True):
        torch.testing.assert_close(got.detach(), ref, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("backend", ["cpp", "torch"])
@pytest.mark.parametrize("grad", [True, False])
def test_forward_recycles_link_buffers(kernel_path, backend, grad):
    """A sequence reuses the buffers of links nobody holds any more, instead of allocating an
    ``N x N`` link per step (which, at large ``N``, grew the resident memory by a link per
    step through allocator fragmentation). Checkpointed links are never reused."""
    if kernel_path == "eager" and backend == "torch":
        pytest.skip("the eager link functions take no out= buffer")
    mem = DNCMemory(num_cells=6, cell_width=3, num_reads=2, backend=backend)
    gen = torch.Generator().manual_seed(0)
    steps = 12
    tape = mem.begin_sequence(steps)
    state = mem.initial_state(2, dtype=f64)
    pointers = []
    with torch.set_grad_enabled(grad):
        for _ in range(steps):
            flat = torch.randn(2, mem.interface_size, generator=gen, dtype=f64)
            _, state = mem(mem.parse_interface(flat.requires_grad_(grad)), state, tape=tape)
            pointers.append(state.link.data_ptr())
    checkpoints = len(tape.checkpoints)
    assert len(set(pointers)) <= checkpoints + 3, (len(set(pointers)), checkpoints)


@pytest.mark.slow
def test_compiled_step_equals_eager():
    """``compile_step()`` (torch.compile, tens of seconds to compile) gives the same values."""
    torch.manual_seed(0)
    model = DNC(5, 3, hidden_size=12, num_cells=6, cell_width=4, num_reads=2).double()
    x = torch.randn(2, 5, 5, dtype=f64)
    y0 = model(x)[0]
    g0 = torch.autograd.grad(y0.sum(), list(model.parameters()))
    model.compile_step()
    y1 = model(x)[0]
    g1 = torch.autograd.grad(y1.sum(), list(model.parameters()))
    torch.testing.assert_close(y1, y0, rtol=1e-10, atol=1e-12)
    for a, b in zip(g1, g0, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)


def test_checkpointed_write_phase_gives_the_same_values_and_gradients(monkeypatch):
    from dnc_qa.memory.backends import pytorch

    torch.manual_seed(0)
    model = DNC(5, 3, hidden_size=12, num_cells=6, cell_width=4, num_reads=2,
                backend="torch").double()
    x = torch.randn(2, 7, 5, dtype=f64)

    def run():
        y = model(x)[0]
        return y, torch.autograd.grad(y.square().sum(), list(model.parameters()))

    y0, g0 = run()
    monkeypatch.setattr(pytorch, "CHECKPOINT_MIN_CELLS", 1)
    y1, g1 = run()
    torch.testing.assert_close(y1, y0, rtol=0, atol=0)
    for a, b in zip(g1, g0, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-14)


def test_no_grad_passes_do_not_build_the_kernels(monkeypatch, tmp_path):
    """An inference pass (the app's ingest) uses the kernels only if they were built before:
    it must not spend a minute compiling. Training (grad mode) builds them."""
    import torch.utils.cpp_extension as cpp

    calls = []
    monkeypatch.setattr(native, "_module", None)
    monkeypatch.setattr(native, "_failed", False)
    monkeypatch.setattr(native, "_prebuilt", lambda: None)  # as in an install without one
    monkeypatch.setattr(native, "_looked_for_prebuilt", False)
    monkeypatch.setattr(native, "_built_marker", lambda: tmp_path / "native.built")
    monkeypatch.setattr(cpp, "load_inline", lambda **kw: calls.append(kw) or "kernels")
    assert native.kernels(build=False) is None and not calls
    assert native.kernels() == "kernels" and len(calls) == 1
    assert (tmp_path / "native.built").exists()
    monkeypatch.setattr(native, "_module", None)
    assert native.kernels(build=False) == "kernels" and len(calls) == 2


def test_a_training_step_on_the_link_path_builds_the_kernels(monkeypatch):
    """LinkStep runs its kernels inside an autograd.Function, where grad mode is off: the
    build must be asked for before, or the PyTorch step (two write heads, backend="torch")
    would silently stay on the link's PyTorch operations."""
    asked = []

    def fake_kernels(build: bool = True):
        asked.append(build)
        return None

    monkeypatch.setattr(native, "kernels", fake_kernels)
    mem = DNCMemory(num_cells=5, cell_width=3, num_reads=2, num_writes=2)
    state = mem.initial_state(2, dtype=f64)
    flat = torch.randn(2, mem.interface_size, dtype=f64, requires_grad=True)
    reads, _ = mem(mem.parse_interface(flat), state)
    reads.sum().backward()
    assert True in asked
