"""DNC, NTM and LSTM baseline: one interface, state continuation, gradients, bad input."""

from __future__ import annotations

import pytest
import torch

from dnc_qa.models import DNC, NTM, LSTMBaseline, detach_state
from dnc_qa.models.state import map_state

f64 = torch.float64
SMALL = {"hidden_size": 12, "num_cells": 6, "cell_width": 4}


def make(kind: str, **kw):
    if kind == "dnc":
        return DNC(5, 3, num_reads=2, **SMALL, **kw)
    if kind == "dnc-ff":
        return DNC(5, 3, num_reads=2, controller="feedforward", controller_layers=2, **SMALL, **kw)
    if kind == "ntm":
        return NTM(5, 3, num_reads=2, num_writes=2, **SMALL, **kw)
    return LSTMBaseline(5, 3, hidden_size=12, num_layers=2)


KINDS = ["dnc", "dnc-ff", "ntm", "lstm"]


@pytest.mark.parametrize("kind", KINDS)
def test_output_shape_and_state_continuation(kind):
    torch.manual_seed(0)
    model = make(kind).double()
    x = torch.randn(3, 9, 5, dtype=f64)
    y, _ = model(x)
    assert y.shape == (3, 9, 3)
    y1, state = model(x[:, :4])
    y2, _ = model(x[:, 4:], state)
    torch.testing.assert_close(torch.cat([y1, y2], 1), y, rtol=1e-12, atol=1e-12)
    y2d, _ = model(x[:, 4:], detach_state(state))
    torch.testing.assert_close(y2d, y2)
    assert not any(t.requires_grad for t in _leaves(detach_state(state)))


def _leaves(state):
    out = []
    map_state(lambda t: out.append(t) or t, state)
    return out


@pytest.mark.parametrize("kind", ["dnc", "ntm"])
def test_controller_sees_its_reads_and_output_uses_them(kind):
    model = make(kind)
    read_size = model.memory.num_reads * model.memory.cell_width
    assert model.controller.recurrent[0].in_features == read_size + 12
    assert model.output.in_features == 12 + read_size


def test_no_parameter_depends_on_num_cells_and_larger_memory_runs():
    small = DNC(5, 3, hidden_size=12, num_cells=8, cell_width=4)
    large = DNC(5, 3, hidden_size=12, num_cells=64, cell_width=4)
    large.load_state_dict(small.state_dict())
    x = torch.randn(2, 7, 5)
    y, state = small(x, small.initial_state(2, num_cells=50))
    assert state.memory.memory.shape == (2, 50, 4) and torch.isfinite(y).all()


@pytest.mark.parametrize("kind", ["dnc", "ntm"])
def test_trace_has_per_step_values(kind):
    model = make(kind)
    y, _, trace = model(torch.randn(2, 5, 5), trace=True)
    assert trace.read_weights.shape == (2, 5, model.memory.num_reads, 6)
    assert trace.write_weights.shape[:2] == (2, 5)
    if kind == "dnc":
        assert trace.usage.shape == (2, 5, 6) and trace.read_modes.shape == (2, 5, 2, 3)


@pytest.mark.parametrize("kind", ["dnc", "ntm", "lstm"])
def test_whole_model_gradcheck_float64(kind):
    torch.manual_seed(1)
    model = make(kind).double()
    x = torch.randn(2, 3, 5, dtype=f64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x: model(x)[0], [x], eps=1e-6, atol=1e-6)
    # and with respect to a weight matrix
    weight = model.output.weight

    def through_weight(w):
        return torch.func.functional_call(model, {"output.weight": w}, (x.detach(),))[0]

    assert torch.autograd.gradcheck(through_weight, [weight.detach().clone().requires_grad_(True)])


@pytest.mark.parametrize("kind", KINDS)
def test_batch_rows_are_independent(kind):
    torch.manual_seed(2)
    model = make(kind).double()
    x = torch.randn(4, 6, 5, dtype=f64)
    y, _ = model(x)
    for b in range(4):
        torch.testing.assert_close(model(x[b : b + 1])[0], y[b : b + 1], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kind", KINDS)
def test_dtype_and_device_follow_the_inputs(kind, device):
    model = make(kind).to(device=device, dtype=f64)
    y, state = model(torch.randn(2, 3, 5, dtype=f64, device=device))
    assert y.dtype == f64 and y.device.type == device.type
    assert all(t.dtype == f64 and t.device.type == device.type for t in _leaves(state))


@pytest.mark.parametrize("kind", KINDS)
def test_wrong_input_shape_is_a_value_error_naming_x(kind):
    model = make(kind)
    for bad in (torch.randn(3, 5), torch.randn(2, 4, 6), torch.randn(2, 0, 5)):
        with pytest.raises(ValueError, match=r"x must have shape \[B, T, 5\]"):
            model(bad)
    with pytest.raises(ValueError, match="floating-point"):
        model(torch.ones(2, 3, 5, dtype=torch.long))


@pytest.mark.parametrize("kind", KINDS)
def test_state_of_another_batch_size_is_rejected(kind):
    model = make(kind)
    _, state = model(torch.randn(2, 3, 5))
    with pytest.raises(ValueError, match="batch size"):
        model(torch.randn(3, 3, 5), state)


def test_bad_constructor_arguments():
    with pytest.raises(ValueError, match="controller"):
        DNC(5, 3, controller="gru")
    with pytest.raises(ValueError, match="input_size"):
        DNC(0, 3)
    with pytest.raises(ValueError, match="hidden_size"):
        NTM(5, 3, hidden_size=-1)


@pytest.mark.parametrize("clip", [0.01, None])
def test_clip_bounds_the_controller_output(clip):
    model = DNC(5, 3, clip=clip, **SMALL)
    seen = []
    model.interface.register_forward_hook(lambda mod, args, out: seen.append(args[0]))
    model(torch.randn(1, 4, 5) * 100)
    largest = max(h.abs().max().item() for h in seen)
    if clip is None:
        assert largest > 0.01
    else:
        assert largest <= clip
