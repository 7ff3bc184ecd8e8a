"""The Differentiable Neural Computer (Graves et al., Nature 2016)."""

from __future__ import annotations

from typing import Any

from dnc_qa.memory.dnc import DNCMemory
from dnc_qa.models.memory_net import MemoryNet


class DNC(MemoryNet):
    """A controller (LSTM or feedforward) with the DNC's memory.

    ``y, state = model(x, state=None)`` with ``x [B, T, input_size]`` and logits
    ``y [B, T, output_size]``. No parameter depends on ``num_cells``: a trained model runs with
    a larger memory via ``model.initial_state(B, num_cells=...)``.

    Args:
        input_size, output_size: widths of ``x_t`` and ``y_t``.
        hidden_size: controller width per layer.
        controller_layers: stacked controller layers.
        num_cells, cell_width, num_reads, num_writes: ``N, W, R, Hw``.
        controller: ``"lstm"`` or ``"feedforward"``.
        clip: controller outputs are clamped to ``[-clip, clip]`` (``None``: no clipping).
        **memory_options: passed to :class:`~dnc_qa.memory.dnc.DNCMemory` (``masking``,
            ``deallocation``, ``link_sharpness``, ``memory_init``, ``link``, ``link_k``, and
            ``backend``: how the memory is computed, ``"auto"`` by default; see
            :func:`dnc_qa.memory.backends.choose_backend` and :meth:`backend_for`).
    """

    def __init__(
        self,
        input_size: int,
        output_size: int,
        hidden_size: int = 256,
        controller_layers: int = 1,
        num_cells: int = 128,
        cell_width: int = 32,
        num_reads: int = 4,
        num_writes: int = 1,
        controller: str = "lstm",
        clip: float | None = 20.0,
        **memory_options: Any,
    ) -> None:
        memory = DNCMemory(num_cells, cell_width, num_reads, num_writes, **memory_options)
        super().__init__(
            memory, input_size, output_size, hidden_size, controller_layers, controller, clip
        )
