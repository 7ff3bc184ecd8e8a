"""The trained networks' forward pass in NumPy: DNC and NTM (controller + memory), and the
LSTM baseline, from the weights a torch model saved (its ``state_dict``).

Per timestep, as :class:`dnc_qa.models.memory_net.MemoryNet`:

    h_t           = controller([x_t, r_{t-1}], h_{t-1}), clipped to [-clip, clip]
    xi_t          = W_xi h_t + b_xi                      (the interface vector)
    r_t, memory_t = memory(parse(xi_t), memory_{t-1})
    y_t           = W_y [h_t, r_t] + b_y

``y, state = net(x, state)`` or ``y, state, trace = net(x, state, trace=True)`` with
``x [B, T, input_size]``, like the torch models; the states are NamedTuples with the torch
states' field names, so ``dnc_qa.app.engine.flatten_state`` names their arrays alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from dnc_qa.inference.controller import (
    ControllerState,
    FeedforwardController,
    LSTMController,
    lstm_cell,
)
from dnc_qa.inference.dnc import DNCMemory, DNCState
from dnc_qa.inference.ntm import NTMMemory, NTMState
from dnc_qa.inference.ops import linear


class UnsupportedModel(Exception):
    """The NumPy path cannot run this model exactly as torch would; use the torch model."""


MODEL_DEFAULTS: dict[str, dict[str, Any]] = {
    "dnc": {"hidden_size": 256, "controller_layers": 1, "num_cells": 128, "cell_width": 32,
            "num_reads": 4, "num_writes": 1, "controller": "lstm", "clip": 20.0,
            "masking": False, "deallocation": False, "link_sharpness": False},
    "ntm": {"hidden_size": 256, "controller_layers": 1, "num_cells": 128, "cell_width": 32,
            "num_reads": 1, "num_writes": 1, "controller": "lstm", "clip": 20.0},
    "lstm": {"hidden_size": 256, "controller_layers": 1},
}
"""The torch constructors' defaults (``DNC``, ``NTM``, ``LSTMBaseline``); a test checks they
agree, since a config may leave any of them out."""

KNOWN_CONFIG_KEYS = frozenset({
    "kind", "hidden_size", "controller_layers", "num_cells", "cell_width", "num_reads",
    "num_writes", "controller", "clip", "masking", "deallocation", "link_sharpness",
    "fit_cells", "link", "link_k", "backend",
})
"""The ``ModelConfig`` fields this path understands; any other key (a newer option) makes a
model unsupported, so it runs on torch rather than silently without that option. (``backend``
says how torch computes the memory, not what: any value runs here; ``link`` must be dense.)"""


class MemoryNetState(NamedTuple):
    controller: ControllerState
    memory: DNCState | NTMState
    read_vectors: np.ndarray  # [B, R, W]


class LSTMBaselineState(NamedTuple):
    h: np.ndarray  # [layers, B, H]
    c: np.ndarray  # [layers, B, H]


@dataclass
class MemoryNet:
    """Controller + DNC or NTM memory + interface and output layers (inference only)."""

    controller: LSTMController | FeedforwardController
    memory: DNCMemory | NTMMemory
    interface: tuple[np.ndarray, np.ndarray]
    output: tuple[np.ndarray, np.ndarray]
    clip: float | None
    dtype: np.dtype

    def initial_state(self, batch_size: int, dtype: np.dtype | None = None,
                      device: object = None, num_cells: int | None = None) -> MemoryNetState:
        """A fresh state (``device`` is accepted for the torch signature and ignored)."""
        dtype = np.dtype(dtype or self.dtype)
        mem = self.memory.initial_state(batch_size, dtype, num_cells)
        reads = np.zeros((batch_size, self.memory.num_reads, self.memory.cell_width), dtype)
        return MemoryNetState(self.controller.initial_state(batch_size, dtype), mem, reads)

    def __call__(self, x: np.ndarray, state: MemoryNetState | None = None, trace: bool = False
                 ) -> tuple[Any, ...]:
        """Run ``x [B, T, input_size]``: ``(y [B, T, output_size], state[, trace])``; the
        trace's fields are stacked to ``[B, T, ...]``."""
        x = np.asarray(x, dtype=self.dtype)
        B, T, _ = x.shape
        if state is None:
            state = self.initial_state(B)
        x_gates = self.controller.input_gates(x)
        ctrl, mem, reads = state
        hs, rs, steps = [], [], []
        for t in range(T):
            h, ctrl = self.controller.step(x_gates[:, t], reads.reshape(B, -1), ctrl)
            if self.clip is not None:
                h = np.clip(h, -self.clip, self.clip)
            iface = self.memory.parse_interface(linear(h, *self.interface))
            reads, mem = self.memory.step(iface, mem)
            hs.append(h)
            rs.append(reads.reshape(B, -1))
            if trace:
                steps.append(self.memory.trace_step(iface, mem))
        y = linear(np.concatenate([np.stack(hs, 1), np.stack(rs, 1)], axis=-1), *self.output)
        new_state = MemoryNetState(ctrl, mem, reads)
        if not trace:
            return y, new_state
        stacked = type(steps[0])(*(np.stack(f, axis=1) for f in zip(*steps, strict=True)))
        return y, new_state, stacked


@dataclass
class LSTMBaseline:
    """``torch.nn.LSTM`` (batch first, gates i, f, g, o) and a linear read-out.

    ``layers[l] = (W_ih [4H, in], W_hh [4H, H], b_ih, b_hh)``; per step
    ``gates = x W_ih^T + b_ih + h W_hh^T + b_hh``.
    """

    layers: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]
    output: tuple[np.ndarray, np.ndarray]
    dtype: np.dtype

    def initial_state(self, batch_size: int, dtype: np.dtype | None = None,
                      device: object = None, num_cells: int | None = None) -> LSTMBaselineState:
        H = self.layers[0][1].shape[1]
        zeros = np.zeros((len(self.layers), batch_size, H), dtype=np.dtype(dtype or self.dtype))
        return LSTMBaselineState(zeros, zeros)

    def __call__(self, x: np.ndarray, state: LSTMBaselineState | None = None,
                 trace: bool = False) -> tuple[Any, ...]:
        """``(y [B, T, output_size], state[, None])``: the LSTM has no memory to trace."""
        x = np.asarray(x, dtype=self.dtype)
        if state is None:
            state = self.initial_state(x.shape[0])
        below = x
        hs, cs = [], []
        for layer, (w_ih, w_hh, b_ih, b_hh) in enumerate(self.layers):
            x_gates = linear(below, w_ih, b_ih)  # [B, T, 4H]
            h, c = state.h[layer], state.c[layer]
            outs = []
            for t in range(x.shape[1]):
                gates = x_gates[:, t] + linear(h, w_hh, b_hh)
                h, c = lstm_cell(gates, c)
                outs.append(h)
            below = np.stack(outs, axis=1)
            hs.append(h)
            cs.append(c)
        y = linear(below, *self.output)
        new_state = LSTMBaselineState(np.stack(hs), np.stack(cs))
        return (y, new_state, None) if trace else (y, new_state)



NumpyNet = MemoryNet | LSTMBaseline


# ---------------------------------------------------------------------------- building


def model_settings(kind: str, config: dict[str, Any]) -> dict[str, Any]:
    """``config`` completed with :data:`MODEL_DEFAULTS`; raises :class:`UnsupportedModel` for
    an unknown kind, controller or config key, or a sparse link."""
    if kind not in MODEL_DEFAULTS:
        raise UnsupportedModel(f"model kind {kind!r} has no NumPy forward pass")
    unknown = sorted(set(config) - KNOWN_CONFIG_KEYS)
    if unknown:
        raise UnsupportedModel(f"config keys {', '.join(unknown)} are not understood here")
    if config.get("link", "dense") != "dense":
        raise UnsupportedModel(f"link {config['link']!r}: only dense links have a NumPy "
                               "forward pass")
    settings = {**MODEL_DEFAULTS[kind], **{k: config[k] for k in MODEL_DEFAULTS[kind]
                                           if k in config}}
    if kind != "lstm" and settings["controller"] not in ("lstm", "feedforward"):
        raise UnsupportedModel(f"controller {settings['controller']!r} is not supported")
    for key in ("hidden_size", "controller_layers", "num_cells", "cell_width", "num_reads",
                "num_writes"):
        value = settings.get(key, 1)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise UnsupportedModel(f"{key} must be a positive integer, got {value!r}")
    clip = settings.get("clip")
    if clip is not None and (isinstance(clip, bool) or not isinstance(clip, int | float)):
        raise UnsupportedModel(f"clip must be a number or null, got {clip!r}")
    return settings


def build_model(kind: str, config: dict[str, Any], weights: dict[str, np.ndarray],
                input_size: int, output_size: int, dtype: np.dtype | type = np.float32
                ) -> NumpyNet:
    """The NumPy network for ``kind`` (``dnc``, ``ntm``, ``lstm``) and ``config`` (the
    ``ModelConfig`` fields) from a torch ``state_dict``'s arrays.

    ``dtype``: what to compute in (float32, as the torch model's parameters are, whatever the
    file holds). Raises :class:`UnsupportedModel` when the weights' names or shapes do not fit
    exactly (the torch path then reports the mismatch).
    """
    s = model_settings(kind, config)
    dtype = np.dtype(dtype)
    H, layers = int(s["hidden_size"]), int(s["controller_layers"])
    if kind == "lstm":
        shapes = {"output.weight": (output_size, H), "output.bias": (output_size,)}
        for layer in range(layers):
            shapes |= {f"lstm.weight_ih_l{layer}": (4 * H, input_size if layer == 0 else H),
                       f"lstm.weight_hh_l{layer}": (4 * H, H),
                       f"lstm.bias_ih_l{layer}": (4 * H,), f"lstm.bias_hh_l{layer}": (4 * H,)}
        w = _checked(weights, shapes, dtype)
        return LSTMBaseline(
            [tuple(w[f"lstm.{n}_l{layer}"] for n in ("weight_ih", "weight_hh", "bias_ih",
                                                       "bias_hh"))  # type: ignore[misc]
             for layer in range(layers)],
            (w["output.weight"], w["output.bias"]), dtype)
    N, W, R, Hw = (int(s[k]) for k in ("num_cells", "cell_width", "num_reads", "num_writes"))
    if kind == "dnc":
        memory: DNCMemory | NTMMemory = DNCMemory(
            N, W, R, Hw, bool(s["masking"]), bool(s["deallocation"]), bool(s["link_sharpness"]))
    else:
        memory = NTMMemory(N, W, R, Hw)
    extra = R * W
    shapes = {"interface.weight": (memory.interface_size, H),
              "interface.bias": (memory.interface_size,),
              "output.weight": (output_size, H + extra), "output.bias": (output_size,)}
    if s["controller"] == "lstm":
        shapes |= {"controller.input_proj.weight": (4 * H, input_size),
                   "controller.input_proj.bias": (4 * H,),
                   "controller.recurrent.0.weight": (4 * H, extra + H)}
        for layer in range(1, layers):
            shapes |= {f"controller.recurrent.{layer}.weight": (4 * H, 2 * H),
                       f"controller.recurrent.{layer}.bias": (4 * H,)}
        w = _checked(weights, shapes, dtype)
        controller: LSTMController | FeedforwardController = LSTMController(
            (w["controller.input_proj.weight"], w["controller.input_proj.bias"]),
            [(w["controller.recurrent.0.weight"], None)]
            + [(w[f"controller.recurrent.{layer}.weight"], w[f"controller.recurrent.{layer}.bias"])
               for layer in range(1, layers)])
    else:
        shapes |= {"controller.input_proj.weight": (H, input_size),
                   "controller.input_proj.bias": (H,),
                   "controller.extra_proj.weight": (H, extra)}
        for layer in range(layers - 1):
            shapes |= {f"controller.layers.{layer}.weight": (H, H),
                       f"controller.layers.{layer}.bias": (H,)}
        w = _checked(weights, shapes, dtype)
        controller = FeedforwardController(
            (w["controller.input_proj.weight"], w["controller.input_proj.bias"]),
            w["controller.extra_proj.weight"],
            [(w[f"controller.layers.{layer}.weight"], w[f"controller.layers.{layer}.bias"])
             for layer in range(layers - 1)])
    clip = None if s["clip"] is None else float(s["clip"])
    return MemoryNet(controller, memory, (w["interface.weight"], w["interface.bias"]),
                     (w["output.weight"], w["output.bias"]), clip, dtype)


def _checked(weights: dict[str, np.ndarray], shapes: dict[str, tuple[int, ...]],
             dtype: np.dtype) -> dict[str, np.ndarray]:
    """``weights`` cast to ``dtype``, if their names and shapes are exactly ``shapes``."""
    missing, unexpected = sorted(set(shapes) - set(weights)), sorted(set(weights) - set(shapes))
    if missing or unexpected:
        raise UnsupportedModel(f"weights do not fit the config: missing {missing}, "
                               f"unexpected {unexpected}")
    for name, shape in shapes.items():
        got = tuple(weights[name].shape)
        if got != shape:
            raise UnsupportedModel(f"weight {name} has shape {list(got)}, expected {list(shape)}")
        if weights[name].dtype.kind != "f":
            raise UnsupportedModel(f"weight {name} is {weights[name].dtype}, not floating point")
    return {name: np.ascontiguousarray(weights[name], dtype=dtype) for name in shapes}


def load_weights(path: str | Path) -> dict[str, np.ndarray]:
    """A ``model.safetensors`` file's arrays (``safetensors.numpy``: no torch import).

    Raises :class:`UnsupportedModel` when the file cannot be read this way (a corrupt file,
    or a dtype NumPy lacks such as bfloat16); the torch path then reports or handles it.
    """
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError, TypeError, RuntimeError) as exc:
        raise UnsupportedModel(f"cannot read {path} with NumPy: {exc}") from None


def load_model(path: str | Path, kind: str, config: dict[str, Any], input_size: int,
               output_size: int, dtype: np.dtype | type = np.float32) -> NumpyNet:
    """:func:`build_model` from a ``model.safetensors`` file."""
    return build_model(kind, config, load_weights(path), input_size, output_size, dtype)
