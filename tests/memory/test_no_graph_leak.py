"""A training step must free its autograd graph: nothing the memory keeps may point back to it.

A tensor with a ``grad_fn`` stored on an object that the graph's nodes also hold makes a
reference cycle through C++ autograd nodes that Python's garbage collector cannot break, and
every step then leaks its whole graph (seen as gigabytes of growth within minutes).
"""

from __future__ import annotations

import gc
import weakref

import pytest
import torch

from dnc_qa.memory.dnc import DNCMemory
from dnc_qa.models import DNC


@pytest.mark.parametrize("backward", [True, False])
@pytest.mark.parametrize("num_cells", [8, 300])
def test_graph_of_a_step_is_freed(backward, num_cells, monkeypatch):
    tapes = []
    begin = DNCMemory.begin_sequence

    def recording_begin(self, steps):
        tape = begin(self, steps)
        tapes.append(weakref.ref(tape))
        return tape

    monkeypatch.setattr(DNCMemory, "begin_sequence", recording_begin)
    model = DNC(6, 4, hidden_size=8, num_cells=num_cells, cell_width=4, num_reads=2)
    y, state = model(torch.randn(2, 12, 6))
    assert tapes, "the model no longer opens a link tape per sequence: update this test"
    link_probe = weakref.ref(state.memory.link)
    if backward:
        y.sum().backward()
    del y, state
    gc.collect()
    assert all(t() is None for t in tapes), "the link tape (and the graph holding it) leaked"
    assert link_probe() is None, "the final link is still referenced"
