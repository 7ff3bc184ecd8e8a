"""Controllers: a stacked LSTM and a feedforward network, stepped one timestep at a time.

The first layer's input is ``[x_t, r_{t-1}]``. Its weights are split so that the ``x`` part
of every timestep is computed in one matrix product before the time loop
(:meth:`input_gates`), leaving only the recurrent part inside the loop.

The layers applied at every step are listed by ``step_linears()``; :meth:`step` takes
optional per-sequence stand-ins for them (:class:`~dnc_qa.models.sequence_linear.SequenceLinear`,
which defer the weight gradients to one product per sequence) in the same order.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import torch
from torch import Tensor, nn

from dnc_qa.models.sequence_linear import SequenceLinear


class LSTMState(NamedTuple):
    """One LSTM layer's state."""

    h: Tensor  # [B, H]
    c: Tensor  # [B, H]


ControllerState = tuple[LSTMState, ...]
"""One :class:`LSTMState` per layer; the empty tuple for a feedforward controller."""


class LSTMController(nn.Module):
    """A stacked LSTM whose first layer sees ``[x_t, extra_t]`` (extra: last reads).

    Gates follow ``torch.nn.LSTM`` (order i, f, g, o); the forget-gate bias starts at 1.

    Args:
        input_size: width of ``x_t``.
        extra_size: width of the extra input fed back each step (``R * W`` read vectors).
        hidden_size: ``H`` per layer.
        num_layers: how many LSTM layers are stacked.
    """

    def __init__(self, input_size: int, extra_size: int, hidden_size: int, num_layers: int = 1):
        super().__init__()
        if num_layers < 1:
            raise ValueError(f"controller_layers must be >= 1, got {num_layers}")
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        H = hidden_size
        self.input_proj = nn.Linear(input_size, 4 * H)
        # layer 0: [extra, h]; layer l > 0: [h_below, h]
        self.recurrent = nn.ModuleList(
            [nn.Linear(extra_size + H, 4 * H, bias=False)]
            + [nn.Linear(2 * H, 4 * H) for _ in range(num_layers - 1)]
        )
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)
        H = self.hidden_size
        with torch.no_grad():
            self.input_proj.bias[H : 2 * H].fill_(1.0)
            for layer in self.recurrent[1:]:
                layer.bias[H : 2 * H].fill_(1.0)

    @property
    def output_size(self) -> int:
        return self.hidden_size

    def initial_state(
        self, batch_size: int, dtype: torch.dtype, device: torch.device
    ) -> ControllerState:
        zeros = torch.zeros(batch_size, self.hidden_size, dtype=dtype, device=device)
        return tuple(LSTMState(zeros, zeros) for _ in range(self.num_layers))

    def input_gates(self, x: Tensor) -> Tensor:
        """The first layer's gate contribution from ``x`` for all timesteps: ``[B, T, 4H]``."""
        return self.input_proj(x)

    def step_linears(self) -> tuple[nn.Linear, ...]:
        """The layers applied at every step, in the order :meth:`step`'s ``linears`` follow:
        the recurrent weights of each layer."""
        return tuple(self.recurrent)

    @staticmethod
    def _cell(gates: Tensor, c: Tensor) -> LSTMState:
        # one sigmoid over all four gate blocks (the g block's is unused): fewer ops per step
        H = gates.shape[-1] // 4
        sig = torch.sigmoid(gates)
        i, f, o = sig[:, :H], sig[:, H : 2 * H], sig[:, 3 * H :]
        c = torch.addcmul(f * c, i, torch.tanh(gates[:, 2 * H : 3 * H]))
        return LSTMState(o * torch.tanh(c), c)

    def step(
        self,
        x_gates: Tensor,
        extra: Tensor,
        state: ControllerState,
        linears: Sequence[SequenceLinear] | None = None,
    ) -> tuple[Tensor, ControllerState]:
        """Advance one timestep.

        Args:
            x_gates: ``[B, 4H]``, this step's row of :meth:`input_gates`.
            extra: ``[B, extra_size]``.
            state: the previous :data:`ControllerState`.
            linears: per-sequence stand-ins for :meth:`step_linears` (same weights), or
                ``None`` for the modules themselves.

        Returns:
            ``(h_top [B, H], new_state)``.
        """
        new_state = []
        below = extra
        layers = self.recurrent if linears is None else linears
        for layer, (linear, prev) in enumerate(zip(layers, state, strict=True)):
            inputs = torch.cat([below, prev.h], dim=-1)
            if layer > 0:
                gates = linear(inputs)
            elif linears is None:  # x_t's part was computed for all timesteps: fuse the add
                gates = torch.addmm(x_gates, inputs, linear.weight.t())
            else:
                gates = linear(inputs, add=x_gates)
            s = self._cell(gates, prev.c)
            new_state.append(s)
            below = s.h
        return below, tuple(new_state)


class FeedforwardController(nn.Module):
    """A stack of ``tanh`` layers over ``[x_t, extra_t]``; it keeps no state of its own."""

    def __init__(self, input_size: int, extra_size: int, hidden_size: int, num_layers: int = 1):
        super().__init__()
        if num_layers < 1:
            raise ValueError(f"controller_layers must be >= 1, got {num_layers}")
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.input_proj = nn.Linear(input_size, hidden_size)
        self.extra_proj = nn.Linear(extra_size, hidden_size, bias=False)
        self.layers = nn.ModuleList(
            [nn.Linear(hidden_size, hidden_size) for _ in range(num_layers - 1)]
        )

    @property
    def output_size(self) -> int:
        return self.hidden_size

    def initial_state(
        self, batch_size: int, dtype: torch.dtype, device: torch.device
    ) -> ControllerState:
        return ()

    def input_gates(self, x: Tensor) -> Tensor:
        """The first layer's contribution from ``x`` for all timesteps: ``[B, T, H]``."""
        return self.input_proj(x)

    def step_linears(self) -> tuple[nn.Linear, ...]:
        """The layers applied at every step, in the order :meth:`step`'s ``linears`` follow:
        ``extra_proj``, then the hidden layers."""
        return (self.extra_proj, *self.layers)

    def step(
        self,
        x_gates: Tensor,
        extra: Tensor,
        state: ControllerState,
        linears: Sequence[SequenceLinear] | None = None,
    ) -> tuple[Tensor, ControllerState]:
        """Advance one timestep: ``x_gates [B, H]``, ``extra [B, extra_size]`` ->
        ``(h [B, H], ())``; ``linears`` as in :meth:`LSTMController.step`."""
        first, *rest = self.step_linears() if linears is None else linears
        h = torch.tanh(x_gates + first(extra))
        for layer in rest:
            h = torch.tanh(layer(h))
        return h, ()


def make_controller(
    kind: str, input_size: int, extra_size: int, hidden_size: int, num_layers: int
) -> LSTMController | FeedforwardController:
    """Build the controller named by ``kind`` (``"lstm"`` or ``"feedforward"``)."""
    if kind == "lstm":
        return LSTMController(input_size, extra_size, hidden_size, num_layers)
    if kind == "feedforward":
        return FeedforwardController(input_size, extra_size, hidden_size, num_layers)
    raise ValueError(f"controller must be 'lstm' or 'feedforward', got {kind!r}")
