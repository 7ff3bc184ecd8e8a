"""The controllers in NumPy, as :mod:`dnc_qa.models.controller`: a stacked LSTM whose first
layer sees ``[x_t, r_{t-1}]``, and a stack of ``tanh`` layers.

Weights are the torch modules' (``W [out, in]``). ``x``'s share of the first layer is computed
for every timestep at once (:meth:`input_gates`), the rest step by step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from dnc_qa.inference.ops import linear, sigmoid


class LSTMState(NamedTuple):
    h: np.ndarray  # [B, H]
    c: np.ndarray  # [B, H]


ControllerState = tuple[LSTMState, ...]
"""One :class:`LSTMState` per layer; ``()`` for the feedforward controller."""


def lstm_cell(gates: np.ndarray, c: np.ndarray) -> LSTMState:
    """One LSTM cell from its pre-activations ``gates [B, 4H]`` (order i, f, g, o):
    ``c' = f * c + i * tanh(g)``, ``h' = o * tanh(c')`` with sigmoid ``i, f, o``."""
    H = gates.shape[-1] // 4
    sig = sigmoid(gates)
    i, f, o = sig[:, :H], sig[:, H : 2 * H], sig[:, 3 * H :]
    c = f * c + i * np.tanh(gates[:, 2 * H : 3 * H])
    return LSTMState(o * np.tanh(c), c)


@dataclass
class LSTMController:
    """Stacked LSTM. ``input_proj: (W [4H, X], b)``; ``recurrent[0] = (W [4H, E + H], None)``
    over ``[extra, h]``; ``recurrent[l > 0] = (W [4H, 2H], b)`` over ``[h_below, h]``."""

    input_proj: tuple[np.ndarray, np.ndarray]
    recurrent: list[tuple[np.ndarray, np.ndarray | None]]

    @property
    def hidden_size(self) -> int:
        return self.input_proj[0].shape[0] // 4

    def initial_state(self, batch_size: int, dtype: np.dtype) -> ControllerState:
        zeros = np.zeros((batch_size, self.hidden_size), dtype=dtype)
        return tuple(LSTMState(zeros, zeros) for _ in self.recurrent)

    def input_gates(self, x: np.ndarray) -> np.ndarray:
        """The first layer's share from ``x [B, T, X]``: ``[B, T, 4H]``."""
        return linear(x, *self.input_proj)

    def step(self, x_gates: np.ndarray, extra: np.ndarray, state: ControllerState
             ) -> tuple[np.ndarray, ControllerState]:
        """``gates_0 = x_gates + [extra, h_0] W_0^T``; ``gates_l = [h_{l-1}', h_l] W_l^T + b_l``.
        Returns ``(h_top [B, H], new_state)``."""
        new_state = []
        below = extra
        for layer, ((weight, bias), prev) in enumerate(zip(self.recurrent, state, strict=True)):
            inputs = np.concatenate([below, prev.h], axis=-1)
            gates = linear(inputs, weight, bias)
            if layer == 0:
                gates = x_gates + gates
            s = lstm_cell(gates, prev.c)
            new_state.append(s)
            below = s.h
        return below, tuple(new_state)


@dataclass
class FeedforwardController:
    """``h = tanh(x W_x^T + b_x + extra W_e^T)``, then ``h = tanh(h W_l^T + b_l)`` per layer."""

    input_proj: tuple[np.ndarray, np.ndarray]
    extra_proj: np.ndarray
    layers: list[tuple[np.ndarray, np.ndarray]]

    def initial_state(self, batch_size: int, dtype: np.dtype) -> ControllerState:
        return ()

    def input_gates(self, x: np.ndarray) -> np.ndarray:
        return linear(x, *self.input_proj)

    def step(self, x_gates: np.ndarray, extra: np.ndarray, state: ControllerState
             ) -> tuple[np.ndarray, ControllerState]:
        h = np.tanh(x_gates + linear(extra, self.extra_proj))
        for weight, bias in self.layers:
            h = np.tanh(linear(h, weight, bias))
        return h, ()
