"""MemoryNet's deferred weight gradients (DNC and NTM, LSTM and feedforward controllers):
the same values and gradients as the plain per-step path, and the plain path where
deferral does not apply."""

from __future__ import annotations

import pytest
import torch

from dnc_qa.memory import native
from dnc_qa.memory.dnc import DNCMemory
from dnc_qa.models import DNC, NTM

f64 = torch.float64
SMALL = {"hidden_size": 12, "num_cells": 6, "cell_width": 4, "num_reads": 2}

CONFIGS = {
    "dnc-lstm1": lambda: DNC(5, 3, **SMALL),
    "dnc-lstm2": lambda: DNC(5, 3, controller_layers=2, **SMALL),
    "dnc-ff1": lambda: DNC(5, 3, controller="feedforward", **SMALL),
    "dnc-ff2": lambda: DNC(5, 3, controller="feedforward", controller_layers=2, **SMALL),
    "ntm-lstm2": lambda: NTM(5, 3, controller_layers=2, num_writes=2, **SMALL),
    "ntm-ff1": lambda: NTM(5, 3, controller="feedforward", **SMALL),
}


def _make(name: str, dtype: torch.dtype = f64, device: torch.device | str = "cpu"):
    """The per-step path (what these tests are about; the C++ sequence, which would take
    "dnc-lstm1" over, has its own tests: test_cpp_sequence.py): a DNC's memory steps by
    the C++ step on the CPU where it can, else by the PyTorch step."""
    torch.manual_seed(0)
    model = CONFIGS[name]().to(device=device, dtype=dtype)
    if isinstance(model.memory, DNCMemory):
        cpu = torch.device(device).type == "cpu" and native.kernels() is not None
        model.memory.backend = "cpp" if cpu and model.memory.num_writes == 1 else "torch"
    return model


def _graph_names(tensor: torch.Tensor) -> set[str]:
    """The names of every node in ``tensor``'s autograd graph."""
    seen, names, todo = set(), set(), [tensor.grad_fn]
    while todo:
        node = todo.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        names.add(type(node).__name__)
        todo.extend(fn for fn, _ in node.next_functions)
    return names


def _train_grads(model, x, deferred: bool, state=None):
    """Logits and every parameter's ``.grad`` after one backward pass."""
    model.deferred_weight_grads = deferred
    model.zero_grad(set_to_none=True)
    y, _ = model(x, state)
    assert ("_SequenceWeightsBackward" in _graph_names(y)) == deferred
    scale = torch.linspace(0.5, 2.0, y.shape[1], dtype=y.dtype, device=y.device)[:, None]
    (y.square() * scale).sum().backward()
    return y.detach(), {n: p.grad.clone() for n, p in model.named_parameters()}


def _assert_grads_equal(got, want, rtol, atol):
    assert got.keys() == want.keys()
    for name in want:
        torch.testing.assert_close(got[name], want[name], rtol=rtol, atol=atol, msg=name)


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_every_parameter_gradient_equals_the_plain_path_float64(name, device):
    model = _make(name, device=device)
    x = torch.randn(3, 7, 5, dtype=f64, device=device)
    y, grads = _train_grads(model, x, deferred=True)
    y0, grads0 = _train_grads(model, x, deferred=False)
    torch.testing.assert_close(y, y0, rtol=1e-12, atol=1e-12)
    _assert_grads_equal(grads, grads0, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("name", ["dnc-lstm1", "dnc-ff2"])
def test_float32_gradients_match_the_plain_path(name):
    model = _make(name, dtype=torch.float32)
    x = torch.randn(4, 9, 5)
    _, grads = _train_grads(model, x, deferred=True)
    _, grads0 = _train_grads(model, x, deferred=False)
    _assert_grads_equal(grads, grads0, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", ["dnc-lstm2", "ntm-ff1"])
def test_a_continued_sequence_backpropagates_into_the_first_part(name):
    """Two chunks, the state not detached: the second chunk's steps feed the first's."""

    def run(deferred):
        model = _make(name)
        model.deferred_weight_grads = deferred
        x = torch.randn(2, 8, 5, dtype=f64, generator=torch.Generator().manual_seed(3))
        y1, state = model(x[:, :5])
        y2, _ = model(x[:, 5:], state)
        (y1.sum() + y2.square().sum()).backward()
        return {n: p.grad for n, p in model.named_parameters()}

    _assert_grads_equal(run(True), run(False), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("name", ["dnc-lstm2", "dnc-ff2", "ntm-lstm2"])
def test_gradcheck_through_the_deferred_weights(name):
    model = _make(name)
    x = torch.randn(2, 3, 5, dtype=f64)
    names = [n for n, _ in model.named_parameters() if "recurrent" in n or "proj" in n]
    names += ["interface.weight", "interface.bias"]
    assert model._sequence_layers(x) is not None
    _gradcheck_deferred(model, x, names, fast_mode=True)


def test_gradcheck_every_entry_of_the_deferred_weights_of_a_tiny_model():
    torch.manual_seed(0)
    model = DNC(3, 2, hidden_size=3, num_cells=4, cell_width=2, num_reads=1).double()
    model.memory.backend = "torch"
    x = torch.randn(2, 3, 3, dtype=f64)
    names = ["controller.recurrent.0.weight", "interface.weight", "interface.bias"]
    _gradcheck_deferred(model, x, names)


def _gradcheck_deferred(model, x, names: list[str], **gradcheck_kw) -> None:
    """``gradcheck`` of the model's output w.r.t. the named parameters, and the deferred
    weight-gradient node really was in the graph."""
    params = dict(model.named_parameters())
    deferred = []

    def f(*weights):
        y = torch.func.functional_call(model, dict(zip(names, weights, strict=True)), (x,))[0]
        deferred.append("_SequenceWeightsBackward" in _graph_names(y))
        return y

    inputs = [params[n].detach().clone().requires_grad_(True) for n in names]
    assert torch.autograd.gradcheck(f, inputs, **gradcheck_kw)
    assert any(deferred)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # torch.compile's imports
def test_where_deferral_does_not_apply_the_plain_path_is_used():
    model = _make("dnc-lstm1")
    x = torch.randn(2, 4, 5, dtype=f64)
    assert model._sequence_layers(x) is not None
    assert model._sequence_layers(x[:, :1]) is None  # one step: nothing to batch
    with torch.no_grad():
        assert model._sequence_layers(x) is None
    with torch.inference_mode():
        assert model._sequence_layers(x) is None
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert model._sequence_layers(x.float()) is None
    handle = model.interface.register_forward_hook(lambda *args: None)
    assert model._sequence_layers(x) is None  # hooks must see every step
    handle.remove()
    model.deferred_weight_grads = False
    assert model._sequence_layers(x) is None
    model.deferred_weight_grads = True
    model.compile_step()  # compiles lazily, on the first call: nothing is compiled here
    assert model._sequence_layers(x) is None


def test_frozen_per_step_layers_still_give_input_gradients():
    model = _make("dnc-lstm2")
    for p in (*model.controller.recurrent.parameters(), *model.interface.parameters()):
        p.requires_grad_(False)
    x = torch.randn(2, 4, 5, dtype=f64, requires_grad=True)
    y, _ = model(x)
    assert "_SequenceWeightsBackward" not in _graph_names(y)
    y.sum().backward()
    assert x.grad is not None and model.controller.recurrent[0].weight.grad is None
    model.deferred_weight_grads = False
    x2 = x.detach().requires_grad_(True)
    model(x2)[0].sum().backward()
    torch.testing.assert_close(x.grad, x2.grad, rtol=1e-10, atol=1e-12)


def test_double_backward_names_the_switch():
    model = _make("dnc-ff1")
    y, _ = model(torch.randn(2, 3, 5, dtype=f64))
    with pytest.raises(RuntimeError, match="deferred_weight_grads = False"):
        torch.autograd.grad(y.sum(), [model.interface.weight], create_graph=True)
