"""The Neural Turing Machine (Graves, Wayne & Danihelka 2014), as an ablation of the DNC."""

from __future__ import annotations

from typing import Any

from dnc_qa.memory.ntm import NTMMemory
from dnc_qa.models.memory_net import MemoryNet


class NTM(MemoryNet):
    """A controller with the NTM's content + location addressed memory.

    Same interface as :class:`~dnc_qa.models.dnc.DNC`. ``**memory_options`` go to
    :class:`~dnc_qa.memory.ntm.NTMMemory` (``shift_range``, ``memory_init``).
    """

    def __init__(
        self,
        input_size: int,
        output_size: int,
        hidden_size: int = 256,
        controller_layers: int = 1,
        num_cells: int = 128,
        cell_width: int = 32,
        num_reads: int = 1,
        num_writes: int = 1,
        controller: str = "lstm",
        clip: float | None = 20.0,
        **memory_options: Any,
    ) -> None:
        memory = NTMMemory(num_cells, cell_width, num_reads, num_writes, **memory_options)
        super().__init__(
            memory, input_size, output_size, hidden_size, controller_layers, controller, clip
        )
