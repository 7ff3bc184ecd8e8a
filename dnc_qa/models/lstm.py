"""The LSTM baseline: the same interface as the DNC, no external memory."""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor, nn

from dnc_qa.models.memory_net import check_input
from dnc_qa.validation import check_positive_ints


class LSTMBaselineState(NamedTuple):
    h: Tensor  # [layers, B, H]
    c: Tensor  # [layers, B, H]


class LSTMBaseline(nn.Module):
    """A stacked ``torch.nn.LSTM`` (batch first) with a linear read-out.

    ``y, state = model(x, state=None)``; ``trace=True`` returns ``None`` as the trace.
    """

    def __init__(
        self,
        input_size: int,
        output_size: int,
        hidden_size: int = 256,
        num_layers: int = 1,
        **_ignored: object,
    ) -> None:
        super().__init__()
        check_positive_ints(
            input_size=input_size,
            output_size=output_size,
            hidden_size=hidden_size,
            num_layers=num_layers,
        )
        self.input_size = input_size
        self.output_size = output_size
        self.lstm = nn.LSTM(input_size, hidden_size, num_layers, batch_first=True)
        self.output = nn.Linear(hidden_size, output_size)

    def initial_state(
        self,
        batch_size: int,
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
        num_cells: int | None = None,
    ) -> LSTMBaselineState:
        w = self.output.weight
        shape = (self.lstm.num_layers, batch_size, self.lstm.hidden_size)
        zeros = torch.zeros(shape, dtype=dtype or w.dtype, device=device or w.device)
        return LSTMBaselineState(zeros, zeros)

    def forward(self, x: Tensor, state: LSTMBaselineState | None = None, trace: bool = False):
        check_input(x, self.input_size)
        if state is None:
            state = self.initial_state(x.shape[0], x.dtype, x.device)
        elif state.h.shape[1] != x.shape[0]:
            raise ValueError(
                f"state is for batch size {state.h.shape[1]}, but x has batch size {x.shape[0]}"
            )
        out, (h, c) = self.lstm(x, tuple(state))
        y = self.output(out)
        new_state = LSTMBaselineState(h, c)
        return (y, new_state, None) if trace else (y, new_state)
