"""The C++ sequence (dnc_qa.memory.backends.cpp_sequence) beyond what test_backends.py checks
of every backend: gradcheck, float32, the batch cut into chunks per thread, what it frees,
hooks, retain_graph and checkpointing, subclasses, and a long sequence with every option."""

from __future__ import annotations

import pytest
import torch

from dnc_qa.memory import native
from dnc_qa.memory.backends import cpp_sequence
from dnc_qa.memory.dnc import DNCState
from dnc_qa.models import DNC
from dnc_qa.models.controller import LSTMState
from dnc_qa.models.memory_net import MemoryNetState

f64 = torch.float64

pytestmark = pytest.mark.skipif(native.kernels() is None, reason="C++ kernels unavailable")


def _model(dtype=f64, **kw) -> DNC:
    torch.manual_seed(0)
    sizes = {"hidden_size": 6, "num_cells": 7, "cell_width": 3, "num_reads": 2} | kw
    return DNC(5, 4, **sizes).to(dtype)


def _state(model: DNC, batch: int, seed: int) -> MemoryNetState:
    """A realistic start: the state after a random warm-up sequence, as leaves needing grad."""
    gen = torch.Generator().manual_seed(seed)
    dtype = model.output.weight.dtype
    with torch.no_grad():
        _, state = model(torch.randn(batch, 4, 5, generator=gen, dtype=f64).to(dtype))

    def leaf(t):
        return t.detach().clone().requires_grad_(True)

    controller = tuple(LSTMState(leaf(h), leaf(c)) for h, c in state.controller)
    return MemoryNetState(controller, DNCState(*map(leaf, state.memory)), leaf(state.read_vectors))


def _leaves(state: MemoryNetState) -> list[torch.Tensor]:
    return [*(t for layer in state.controller for t in layer), state.read_vectors, *state.memory]


def _run(model: DNC, use_sequence: bool, steps: int, seed: int = 0):
    """Outputs, final state and the gradients (every parameter, every initial-state field) of
    a random linear loss of the outputs and of every final-state field, through the C++
    sequence or the per-step loop of C++ steps."""
    model.memory.backend = "cpp-sequence" if use_sequence else "cpp"
    start = _state(model, batch=3, seed=seed)
    gen = torch.Generator().manual_seed(seed + 1)
    x = torch.randn(3, steps, 5, generator=gen, dtype=f64).to(model.output.weight.dtype)
    assert model.backend_for(x, start).name == model.memory.backend
    y, state = model(x, start)
    ends = [y, *_leaves(state)]
    loss = sum((t * torch.randn(t.shape, generator=gen, dtype=t.dtype)).sum() for t in ends)
    model.zero_grad()
    loss.backward()
    grads = [p.grad.clone() for p in model.parameters()] + [t.grad for t in _leaves(start)]
    return [t.detach() for t in ends], grads


def _assert_close(a: list, b: list, atol: float) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        assert x is not None and y is not None
        torch.testing.assert_close(x, y, rtol=0, atol=atol)


def test_a_long_sequence_with_every_option_equals_the_per_step_path():
    """T = 17: link checkpoints every 5 steps and a last segment of 2."""
    model = _model(masking=True, deallocation=True, clip=0.3)
    out_seq, grads_seq = _run(model, True, 17)
    out_step, grads_step = _run(model, False, 17)
    _assert_close(out_seq, out_step, 1e-10)
    _assert_close(grads_seq, grads_step, 1e-10)


def test_the_sequence_path_is_taken(monkeypatch):
    calls = []
    real = cpp_sequence.DNCSequence.forward

    def counted(ctx, *args):
        calls.append(1)
        return real(ctx, *args)

    monkeypatch.setattr(cpp_sequence.DNCSequence, "forward", staticmethod(counted))
    model = _model()
    y, _ = model(torch.randn(2, 3, 5, dtype=f64))
    y.sum().backward()
    assert len(calls) == 1
    model.memory.backend = "cpp"
    model(torch.randn(2, 3, 5, dtype=f64))
    assert len(calls) == 1


def test_hooks_see_every_step():
    model = _model()
    seen = []
    model.interface.register_forward_hook(lambda m, i, o: seen.append(1))
    model(torch.randn(2, 6, 5, dtype=f64))
    assert len(seen) == 6


def test_no_grad_pass_equals_the_training_pass_and_leaves_the_start_alone():
    """Without gradients the link is updated in place from the first step on (no
    checkpoints): same values, bit for bit; the caller's initial state is never written."""
    model = _model(masking=True, deallocation=True, clip=1.0)
    start = _state(model, batch=3, seed=3)
    before = [t.detach().clone() for t in _leaves(start)]
    x = torch.randn(3, 11, 5, dtype=f64)
    y, state = model(x, start)
    with torch.no_grad():
        y2, state2 = model(x, start)
    assert torch.equal(y, y2)
    for a, b in zip(_leaves(state), _leaves(state2), strict=True):
        assert torch.equal(a, b)
    for a, b in zip(before, _leaves(start), strict=True):
        assert torch.equal(a, b)


def test_float32_equals_the_per_step_path():
    model = _model(dtype=torch.float32, clip=20.0)
    out_seq, grads_seq = _run(model, True, 9)
    out_step, grads_step = _run(model, False, 9)
    _assert_close(out_seq, out_step, 1e-5)
    _assert_close(grads_seq, grads_step, 1e-4)


@pytest.mark.parametrize("controller", ["lstm", "feedforward"])
def test_gradcheck(controller):
    model = _model(
        controller=controller, hidden_size=3, num_cells=4, cell_width=2, num_reads=2, clip=0.4
    )
    start = _state(model, batch=2, seed=5)
    gen = torch.Generator().manual_seed(7)
    gates = 12 if controller == "lstm" else 3
    x_gates = torch.randn(2, 5, gates, generator=gen, dtype=f64).requires_grad_(True)
    x = torch.randn(2, 5, 5, dtype=f64)
    sequence = model._sequence_pass(x, start, trace=False)
    weights = [sequence.recurrent.weight, model.interface.weight, model.interface.bias]
    settings = cpp_sequence.settings_for(model.memory, sequence)

    def f(*inputs):
        return cpp_sequence.DNCSequence.apply(settings, *inputs)

    leaves = _leaves(start)
    if controller == "feedforward":  # no controller state: empty placeholders for h0, c0
        leaves = [torch.empty(0, dtype=f64), torch.empty(0, dtype=f64), *leaves]
    inputs = (x_gates, *weights, *leaves)
    assert torch.autograd.gradcheck(f, inputs, eps=1e-6, atol=1e-6)


def test_double_backward_raises():
    model = _model()
    y, _ = model(torch.randn(2, 3, 5, dtype=f64))
    with pytest.raises(RuntimeError, match="double backward"):
        torch.autograd.grad(y.sum(), model.interface.weight, create_graph=True)


def test_retain_graph_gives_the_same_gradients_twice():
    model = _model(clip=0.5)
    y, _ = model(torch.randn(2, 7, 5, dtype=f64))
    loss = y.pow(2).sum()
    loss.backward(retain_graph=True)
    first = [p.grad.clone() for p in model.parameters()]
    loss.backward()
    for a, p in zip(first, model.parameters(), strict=True):
        torch.testing.assert_close(p.grad, 2 * a, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("controller", ["lstm", "feedforward"])
@pytest.mark.parametrize("threads", [1, 2, 3])
def test_batch_chunks_per_thread_equal_the_per_step_path(threads, controller):
    """The batch is cut into one chunk per thread (3 rows: chunks of 3; 1 + 2; 1 + 1 + 1),
    each run on its own thread: the same values and gradients whatever the cut."""
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        model = _model(controller=controller, masking=True, clip=0.5)
        out_seq, grads_seq = _run(model, True, 6)
        out_step, grads_step = _run(model, False, 6)
    finally:
        torch.set_num_threads(before)
    _assert_close(out_seq, out_step, 1e-10)
    _assert_close(grads_seq, grads_step, 1e-10)


def test_saved_state_is_freed_by_the_backward_pass_not_by_the_outputs():
    """What the backward pass needs is freed with the node's saved tensors: right after a
    backward pass without retain_graph (the outputs, e.g. last step's loss, may live on), or
    when the graph goes without one. Nothing outlives its graph."""
    live = native.kernels().dnc_sequence_live
    before = live()
    model = _model()
    y, state = model(torch.randn(2, 9, 5, dtype=f64))
    assert live() == before + 1
    y.sum().backward()
    assert live() == before  # y and state are still here
    y2, state2 = model(torch.randn(2, 9, 5, dtype=f64))
    assert live() == before + 1
    del y2, state2  # every output of the graph gone: the graph and its saved state go too
    assert live() == before


def test_non_reentrant_checkpointing_gives_the_same_gradients():
    """torch.utils.checkpoint (non-reentrant: saved-tensor hooks, the forward pass recomputed
    in the backward pass) over the sequence path and over the per-step path."""
    from torch.utils.checkpoint import checkpoint

    x = torch.randn(2, 7, 5, dtype=f64)
    grads = {}
    for use_sequence, ckpt in [(True, False), (True, True), (False, True)]:
        model = _model(masking=True, clip=0.5)
        model.memory.backend = "cpp-sequence" if use_sequence else "cpp"
        if ckpt:
            y = checkpoint(lambda inp, m=model: m(inp)[0], x, use_reentrant=False)
        else:
            y = model(x)[0]
        y.pow(2).sum().backward()
        grads[(use_sequence, ckpt)] = [p.grad for p in model.parameters()]
    _assert_close(grads[(True, True)], grads[(True, False)], 1e-10)
    _assert_close(grads[(False, True)], grads[(True, False)], 1e-10)


def test_subclasses_that_override_a_step_use_the_per_step_path():
    from dnc_qa.models.controller import LSTMController

    class MyController(LSTMController):
        def step(self, *args, **kwargs):
            return super().step(*args, **kwargs)

    class MyDNC(DNC):
        def _control(self, *args, **kwargs):
            return super()._control(*args, **kwargs)

    x = torch.randn(2, 3, 5, dtype=f64)
    model = _model()
    model.controller.__class__ = MyController
    assert "controller is not one" in model.backend_for(x).reason
    torch.manual_seed(0)
    sub = MyDNC(5, 4, hidden_size=6, num_cells=7, cell_width=3, num_reads=2).to(f64)
    assert "subclass overrides" in sub.backend_for(x).reason
