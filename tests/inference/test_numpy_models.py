"""The NumPy networks (``dnc_qa.inference.models``) equal the torch models value by value:
random weights, each controller and DNC option, several layers and write heads, a description
phase from a fresh state and then more steps from the state it left (float64 at rtol 1e-10,
float32 at 1e-5); the traces too. Unsupported models are refused with UnsupportedModel."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from inference_helpers import assert_same, to_numpy

from dnc_qa.inference import UnsupportedModel, build_model, load_model, load_weights
from dnc_qa.inference.models import KNOWN_CONFIG_KEYS, MODEL_DEFAULTS
from dnc_qa.models import DNC, NTM, LSTMBaseline

IN, OUT = 7, 5


def _torch_model(kind: str, config: dict[str, Any], dtype: torch.dtype, seed: int = 0
                 ) -> torch.nn.Module:
    """``kind``'s torch model with every parameter randomised (biases included)."""
    torch.manual_seed(seed)
    cfg = {k: v for k, v in config.items() if k not in ("kind", "fit_cells")}
    if kind == "lstm":
        net = LSTMBaseline(IN, OUT, cfg["hidden_size"], cfg.get("controller_layers", 1))
    else:
        net = (DNC if kind == "dnc" else NTM)(IN, OUT, **cfg)
    with torch.no_grad():
        for p in net.parameters():
            p.add_(torch.randn_like(p) * 0.4)
    return net.to(dtype).eval()


def _numpy_model(kind: str, config: dict[str, Any], net: torch.nn.Module, dtype: type):
    weights = {k: v.detach().numpy() for k, v in net.state_dict().items()}
    return build_model(kind, config, weights, IN, OUT, dtype)


def _run_both(kind: str, config: dict[str, Any], np_dtype: type, cells: int = 10) -> int:
    """A 12-step description phase from a fresh state, then 6 query steps from the state it
    left, both ways; returns how many arrays were compared."""
    t_dtype = torch.float64 if np_dtype is np.float64 else torch.float32
    net = _torch_model(kind, config, t_dtype)
    npnet = _numpy_model(kind, config, net, np_dtype)
    gen = torch.Generator().manual_seed(1)
    desc = (torch.rand(2, 12, IN, generator=gen) < 0.3).to(t_dtype)
    query = torch.randn(2, 6, IN, generator=gen).to(t_dtype)
    compared = 0
    with torch.no_grad():
        state = net.initial_state(2, num_cells=cells) if kind != "lstm" else net.initial_state(2)
        np_state = npnet.initial_state(2, num_cells=cells)
        compared += assert_same(np_state, state, np_dtype, "initial")
        y, state, trace = net(desc, state, trace=True)
        np_y, np_state, np_trace = npnet(desc.numpy(), np_state, trace=True)
        compared += assert_same(np_y, y, np_dtype, "description y")
        compared += assert_same(np_state, state, np_dtype, "description state")
        compared += assert_same(np_trace, trace, np_dtype, "description trace")
        # the query phase, from the stored (torch) state as the app does, and from its own
        y2, state2, trace2 = net(query, state, trace=True)
        for start in (to_numpy(state), np_state):
            np_y2, np_state2, np_trace2 = npnet(query.numpy(), start, trace=True)
            compared += assert_same(np_y2, y2, np_dtype, "query y")
            compared += assert_same(np_state2, state2, np_dtype, "query state")
            compared += assert_same(np_trace2, trace2, np_dtype, "query trace")
        assert float(y2.abs().max()) > 0.1
    return compared


OPTIONS = [
    {},
    {"masking": True},
    {"deallocation": True, "num_writes": 2},
    {"link_sharpness": True, "num_writes": 3},
    {"masking": True, "deallocation": True, "link_sharpness": True, "num_writes": 2},
]


@pytest.mark.parametrize("controller", ["lstm", "feedforward"])
@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("options", OPTIONS, ids=lambda o: "-".join(map(str, o)) or "plain")
def test_dnc_equals_torch_float64(controller: str, layers: int, options: dict[str, Any]) -> None:
    config = {"kind": "dnc", "hidden_size": 12, "controller_layers": layers, "num_cells": 8,
              "cell_width": 4, "num_reads": 2, "controller": controller, "clip": 0.6,
              "fit_cells": True, **options}
    assert _run_both("dnc", config, np.float64) >= 20


@pytest.mark.parametrize("controller", ["lstm", "feedforward"])
@pytest.mark.parametrize("clip", [None, 20.0])
def test_dnc_equals_torch_float32(controller: str, clip: float | None) -> None:
    config = {"kind": "dnc", "hidden_size": 16, "controller_layers": 2, "num_cells": 8,
              "cell_width": 6, "num_reads": 2, "num_writes": 2, "controller": controller,
              "clip": clip, "masking": True, "link_sharpness": True}
    assert _run_both("dnc", config, np.float32) >= 20


@pytest.mark.parametrize("controller", ["lstm", "feedforward"])
@pytest.mark.parametrize("np_dtype", [np.float64, np.float32])
def test_ntm_equals_torch(controller: str, np_dtype: type) -> None:
    config = {"hidden_size": 10, "controller_layers": 2, "num_cells": 9, "cell_width": 4,
              "num_reads": 2, "num_writes": 2, "controller": controller, "clip": 0.7}
    assert _run_both("ntm", config, np_dtype) >= 15


@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("np_dtype", [np.float64, np.float32])
def test_lstm_baseline_equals_torch(layers: int, np_dtype: type) -> None:
    config = {"kind": "lstm", "hidden_size": 11, "controller_layers": layers, "num_cells": 4}
    assert _run_both("lstm", config, np_dtype) >= 10


def test_clipping_is_applied() -> None:
    """Built without the config's clip, the NumPy DNC no longer matches (the check can fail)."""
    config = {"hidden_size": 12, "num_cells": 8, "cell_width": 4, "num_reads": 2,
              "controller": "feedforward", "clip": 0.3}
    net = _torch_model("dnc", config, torch.float64)
    wrong = _numpy_model("dnc", {**config, "clip": None}, net, np.float64)
    x = torch.randn(1, 4, IN, dtype=torch.float64)
    with torch.no_grad():
        y, _ = net(x)
    with pytest.raises(AssertionError):
        assert_same(wrong(x.numpy())[0], y)


def test_defaults_are_the_torch_constructors() -> None:
    for kind, cls in (("dnc", DNC), ("ntm", NTM)):
        params = inspect.signature(cls.__init__).parameters
        for name, value in MODEL_DEFAULTS[kind].items():
            if name in params:
                assert params[name].default == value, (kind, name)
    from dnc_qa.memory.dnc import DNCMemory

    memory_params = inspect.signature(DNCMemory.__init__).parameters
    for name in ("masking", "deallocation", "link_sharpness"):
        assert memory_params[name].default == MODEL_DEFAULTS["dnc"][name]
    lstm = inspect.signature(LSTMBaseline.__init__).parameters
    assert lstm["hidden_size"].default == MODEL_DEFAULTS["lstm"]["hidden_size"]
    assert lstm["num_layers"].default == MODEL_DEFAULTS["lstm"]["controller_layers"]
    from dataclasses import fields

    from dnc_qa.train.config import ModelConfig

    assert {f.name for f in fields(ModelConfig)} == set(KNOWN_CONFIG_KEYS)


def test_missing_config_keys_take_the_defaults() -> None:
    net = DNC(IN, OUT).eval()  # every default
    npnet = _numpy_model("dnc", {}, net, np.float32)
    x = torch.rand(1, 3, IN)
    with torch.no_grad():
        y, _ = net(x)
    assert_same(npnet(x.numpy())[0], y, np.float32)


def test_unsupported_models_are_refused(tmp_path: Path) -> None:
    net = _torch_model("dnc", {"hidden_size": 8, "num_cells": 6, "cell_width": 4,
                               "num_reads": 1}, torch.float32)
    weights = {k: v.numpy() for k, v in net.state_dict().items()}
    good = {"hidden_size": 8, "num_cells": 6, "cell_width": 4, "num_reads": 1}
    build_model("dnc", good, weights, IN, OUT)
    cases = [
        ("gru", good, weights, "kind"),
        ("dnc", {**good, "link": "sparse"}, weights, "link"),
        ("dnc", {**good, "controller": "gru"}, weights, "controller"),
        ("dnc", {**good, "num_reads": 2}, weights, "shape"),
        ("dnc", {**good, "masking": True}, weights, "shape"),
        ("dnc", good, {k: v for k, v in weights.items() if k != "output.bias"}, "missing"),
        ("dnc", good, {**weights, "extra.weight": weights["output.bias"]}, "unexpected"),
        ("ntm", good, weights, "shape"),
        ("dnc", good, {**weights, "output.bias": weights["output.bias"].astype(np.int32)},
         "floating"),
        ("dnc", {**good, "hidden_size": "8"}, weights, "hidden_size"),
        ("dnc", {**good, "num_cells": 0}, weights, "num_cells"),
        ("dnc", {**good, "clip": "big"}, weights, "clip"),
    ]
    for kind, config, w, match in cases:
        with pytest.raises(UnsupportedModel, match=match):
            build_model(kind, config, w, IN, OUT)
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"\x00junk")
    with pytest.raises(UnsupportedModel, match="junk.safetensors"):
        load_weights(junk)
    from safetensors.torch import save_file

    bf16 = tmp_path / "bf16.safetensors"
    save_file({k: v.to(torch.bfloat16) for k, v in net.state_dict().items()}, str(bf16))
    with pytest.raises(UnsupportedModel):
        load_model(bf16, "dnc", good, IN, OUT)
    ok = tmp_path / "ok.safetensors"
    save_file(net.state_dict(), str(ok))
    assert load_model(ok, "dnc", good, IN, OUT).dtype == np.float32
