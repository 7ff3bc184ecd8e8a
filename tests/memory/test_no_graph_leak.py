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

from dnc_qa.memory import native
from dnc_qa.memory.dnc import DNCMemory
from dnc_qa.models import DNC


def _assert_freed(model, backward: bool, probes: list, what: str) -> None:
    """Run ``model`` on a sequence (and backward); afterwards every weak reference in
    ``probes`` (filled while it ran) and the final link must be dead."""
    y, state = model(torch.randn(2, 12, 6))
    assert probes, f"the model no longer makes {what} here: update this test"
    link_probe = weakref.ref(state.memory.link)
    if backward:
        y.sum().backward()
    del y, state
    gc.collect()
    assert all(p() is None for p in probes), f"{what} (and the graph holding it) leaked"
    assert link_probe() is None, "the final link is still referenced"


@pytest.mark.parametrize("backward", [True, False])
@pytest.mark.parametrize("num_cells", [8, 300])
def test_graph_of_a_step_is_freed(backward, num_cells, monkeypatch):
    """The per-step path (its link tape and every node holding it)."""
    tapes = []
    begin = DNCMemory.begin_sequence

    def recording_begin(self, steps):
        tape = begin(self, steps)
        tapes.append(weakref.ref(tape))
        return tape

    monkeypatch.setattr(DNCMemory, "begin_sequence", recording_begin)
    model = DNC(6, 4, hidden_size=8, num_cells=num_cells, cell_width=4, num_reads=2)
    model.memory.backend = "cpp" if native.kernels() is not None else "torch"
    _assert_freed(model, backward, tapes, "a link tape per sequence")


@pytest.mark.parametrize("backward", [True, False])
def test_graph_of_a_fused_sequence_is_freed(backward, monkeypatch):
    """The whole-sequence node (dnc_qa.memory.backends.cpp_sequence) and what it saved."""
    from dnc_qa.memory.backends import cpp_sequence

    if native.kernels() is None:
        pytest.skip("C++ kernels unavailable")

    nodes = []
    forward = cpp_sequence.DNCSequence.forward

    def recording_forward(ctx, *args):
        nodes.append(weakref.ref(ctx))
        return forward(ctx, *args)

    monkeypatch.setattr(cpp_sequence.DNCSequence, "forward", staticmethod(recording_forward))
    model = DNC(6, 4, hidden_size=8, num_cells=20, cell_width=4, num_reads=2)
    _assert_freed(model, backward, nodes, "the fused-sequence node")


def test_dnc_trains_under_autocast():
    """Mixed precision (bf16 autocast; CPU here, the same code path as CUDA) runs forward and
    backward through the fused link step, and the link stays in full precision."""
    torch.manual_seed(0)
    model = DNC(6, 4, hidden_size=8, num_cells=10, cell_width=4, num_reads=2)
    x = torch.randn(2, 9, 6)
    with torch.autocast(device_type="cpu", dtype=torch.bfloat16):
        y, state = model(x)
    assert state.memory.link.dtype == torch.float32
    y.float().sum().backward()
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)


def test_link_step_accepts_mixed_dtypes_under_autocast():
    """What autocast hands the fused link step on CUDA: a float32 link, bfloat16 weightings."""
    from dnc_qa.memory.link_function import LinkTape, link_step

    gen = torch.Generator().manual_seed(0)
    link = (torch.rand(2, 1, 6, 6, generator=gen) * 0.1).requires_grad_(True)
    bf16 = [
        (torch.rand(*shape, generator=gen) * 0.1).to(torch.bfloat16).requires_grad_(True)
        for shape in [(2, 1, 6), (2, 1, 6), (2, 2, 6)]
    ]
    with torch.autocast(device_type="cpu", dtype=torch.bfloat16):
        new_link, forward, backward = link_step(link, *bf16, LinkTape(2))
    assert new_link.dtype == forward.dtype == backward.dtype == torch.float32
    (new_link.sum() + forward.sum() + backward.sum()).backward()
    assert all(t.grad is not None and t.grad.dtype == torch.bfloat16 for t in bf16)
