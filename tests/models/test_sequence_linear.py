"""SequenceLinear: per-step linear layers whose weight gradients are one product per sequence.

Every test compares against the plain per-step product (``affine`` with the weights
themselves, which autograd differentiates step by step).
"""

from __future__ import annotations

import gc
import weakref

import pytest
import torch

from dnc_qa.models.sequence_linear import SequenceLinear, affine

f64 = torch.float64
B, IN, OUT, T = 3, 4, 5, 6


def _leaves(seed: int = 0, bias: bool = True, dtype: torch.dtype = f64):
    gen = torch.Generator().manual_seed(seed)

    def leaf(*shape):
        return torch.randn(*shape, generator=gen, dtype=dtype).requires_grad_(True)

    weight = leaf(OUT, IN)
    b = leaf(OUT) if bias else None
    xs = [leaf(B, IN) for _ in range(T)]
    adds = [leaf(B, OUT) for _ in range(T)]
    return weight, b, xs, adds


def _chain(layer, xs, adds, with_add: bool = True):
    """A small recurrence: step t's input depends on step t-1's output."""
    outs, h = [], torch.zeros_like(xs[0])
    for x, add in zip(xs, adds, strict=True):
        y = torch.tanh(layer(x + h, add if with_add else None))
        outs.append(y)
        h = y[:, :IN]
    return outs


def _loss(outs):
    return sum((o.square() * (i + 1)).sum() for i, o in enumerate(outs))


def _grads(tensors):
    return [None if t is None or t.grad is None else t.grad.clone() for t in tensors]


def _run(deferred: bool, bias: bool = True, with_add: bool = True, reach: int = T):
    """Gradients of every leaf after a backward pass over the first ``reach`` outputs."""
    weight, b, xs, adds = _leaves(bias=bias)
    if deferred:
        layer = SequenceLinear(weight, b)
        assert layer.deferred
    else:

        def layer(x, add):
            return affine(x, weight, b, add)

    outs = _chain(layer, xs, adds, with_add)
    _loss(outs[:reach]).backward()
    return [o.detach() for o in outs], _grads([weight, b, *xs, *adds])


def _assert_same(got, want, rtol=1e-10, atol=1e-12):
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        if w is None:
            assert g is None
        else:
            torch.testing.assert_close(g, w, rtol=rtol, atol=atol)


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("with_add", [True, False])
def test_values_and_gradients_equal_the_plain_product(bias, with_add):
    outs, grads = _run(True, bias, with_add)
    outs0, grads0 = _run(False, bias, with_add)
    _assert_same(outs, outs0, rtol=0, atol=0)
    _assert_same(grads, grads0)


def test_steps_whose_outputs_do_not_reach_the_loss_contribute_nothing():
    _, grads = _run(True, reach=2)
    _, grads0 = _run(False, reach=2)
    _assert_same(grads, grads0)
    assert grads0[2 + T - 1] is None  # the last step's input got no gradient at all


def test_independent_steps_in_any_order():
    """Steps that do not feed each other: the engine may run their nodes in any order."""
    weight, b, xs, adds = _leaves()
    layer = SequenceLinear(weight, b)
    outs = [layer(x, a) for x, a in zip(xs, adds, strict=True)]
    sum(o.sin().sum() for o in reversed(outs)).backward()
    got = _grads([weight, b])
    weight.grad = b.grad = None
    sum(affine(x, weight, b, a).sin().sum() for x, a in zip(xs, adds, strict=True)).backward()
    _assert_same(got, _grads([weight, b]))


def test_retain_graph_backward_twice_accumulates_like_the_plain_path():
    def twice(deferred):
        weight, b, xs, adds = _leaves()
        layer = SequenceLinear(weight, b) if deferred else (lambda x, a: affine(x, weight, b, a))
        loss = sum(o.square().sum() for o in _chain(layer, xs, adds))
        loss.backward(retain_graph=True)
        loss.backward()
        return _grads([weight, b, *xs])

    _assert_same(twice(True), twice(False))


def test_a_pass_that_does_not_need_the_weights_files_nothing():
    """``autograd.grad`` w.r.t. an input only, then a full backward: no stale steps."""
    weight, b, xs, adds = _leaves()
    layer = SequenceLinear(weight, b)
    loss = _loss(_chain(layer, xs, adds))
    (gx,) = torch.autograd.grad(loss, [xs[0]], retain_graph=True)
    assert not layer._collector._passes
    loss.backward()
    got = _grads([weight, b])
    _, want = _run(False)
    _assert_same(got, want[:2])
    torch.testing.assert_close(gx, want[2], rtol=1e-10, atol=1e-12)
    assert not layer._collector._passes


def test_autograd_grad_with_respect_to_the_weights_only():
    weight, b, xs, adds = _leaves()
    layer = SequenceLinear(weight, b)
    loss = _loss(_chain(layer, xs, adds))
    got = torch.autograd.grad(loss, [weight, b])
    _, want = _run(False)
    _assert_same(list(got), want[:2])


def test_a_gradient_reaching_the_aliases_directly_is_added():
    weight, b, xs, adds = _leaves()
    layer = SequenceLinear(weight, b)
    loss = sum(o.sum() for o in _chain(layer, xs, adds)) + layer.weight.square().sum()
    loss.backward()
    got = _grads([weight])
    weight.grad = None
    plain = _chain(lambda x, a: affine(x, weight, b, a), xs, adds)
    (sum(o.sum() for o in plain) + weight.square().sum()).backward()
    _assert_same(got, _grads([weight]))


def test_gradcheck_through_a_sequence():
    weight, b, xs, adds = _leaves()
    x0, a0 = xs[0].detach().requires_grad_(True), adds[0].detach().requires_grad_(True)
    rest = [(x.detach(), a.detach()) for x, a in zip(xs[1:4], adds[1:4], strict=True)]

    def f(w, bb, x, a):
        layer = SequenceLinear(w, bb)
        outs = _chain(layer, [x] + [r[0] for r in rest], [a] + [r[1] for r in rest])
        return torch.stack(outs)

    inputs = (weight.detach().requires_grad_(True), b.detach().requires_grad_(True), x0, a0)
    assert torch.autograd.gradcheck(f, inputs)


def test_double_backward_is_a_clear_error():
    weight, b, xs, adds = _leaves()
    layer = SequenceLinear(weight, b)
    loss = sum(o.square().sum() for o in _chain(layer, xs, adds))
    with pytest.raises(RuntimeError, match="double backward"):
        torch.autograd.grad(loss, [weight], create_graph=True)


@pytest.mark.parametrize("mode", ["no_grad", "inference_mode"])
def test_without_grad_mode_nothing_is_recorded(mode):
    weight, b, xs, adds = _leaves()
    context = torch.no_grad() if mode == "no_grad" else torch.inference_mode()
    with context:
        layer = SequenceLinear(weight, b)
        outs = _chain(layer, xs, adds)
    assert not layer.deferred and layer.weight is weight
    assert all(o.grad_fn is None for o in outs)
    outs0, _ = _run(False)
    _assert_same([o.detach() for o in outs], outs0, rtol=0, atol=0)


def test_frozen_weights_use_the_plain_product_and_inputs_still_get_gradients():
    weight, b, xs, adds = _leaves()
    weight.requires_grad_(False)
    b.requires_grad_(False)
    layer = SequenceLinear(weight, b)
    assert not layer.deferred
    sum(o.square().sum() for o in _chain(layer, xs, adds)).backward()
    assert xs[0].grad is not None and weight.grad is None


@pytest.mark.parametrize("backward", [True, False])
def test_the_graph_and_the_collector_are_freed(backward):
    weight, b, xs, adds = _leaves()
    layer = SequenceLinear(weight, b)
    probe = weakref.ref(layer._collector)
    outs = _chain(layer, xs, adds)
    if backward:
        sum(o.sum() for o in outs).backward()
    del layer, outs
    gc.collect()
    assert probe() is None, "the collector (and the graph holding it) leaked"


def test_float32_matches_the_plain_product():
    weight, b, xs, adds = _leaves(dtype=torch.float32)
    layer = SequenceLinear(weight, b)
    sum(o.sum() for o in _chain(layer, xs, adds)).backward()
    got = _grads([weight, b, *xs])
    for t in (weight, b, *xs):
        t.grad = None
    sum(o.sum() for o in _chain(lambda x, a: affine(x, weight, b, a), xs, adds)).backward()
    _assert_same(got, _grads([weight, b, *xs]), rtol=1e-5, atol=1e-5)
