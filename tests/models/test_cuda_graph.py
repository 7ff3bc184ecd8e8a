"""CUDA-graph capture of a training step and of a forward pass (dnc_qa.models.cuda_graph):
the replays compute what the eager steps compute. The equality tests need a GPU."""

from __future__ import annotations

import pytest
import torch

from dnc_qa.models import DNC
from dnc_qa.models.cuda_graph import GraphedForward, GraphedTrainStep

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
f64 = torch.float64


def _model(device, **kw) -> DNC:
    torch.manual_seed(0)
    return DNC(5, 4, hidden_size=16, num_cells=8, cell_width=4, num_reads=2, **kw).to(device, f64)


def test_cpu_tensors_are_refused():
    model = DNC(5, 4, hidden_size=8, num_cells=4, cell_width=2, num_reads=1)
    x = torch.randn(2, 3, 5)
    with pytest.raises(ValueError, match="CUDA"):
        GraphedForward(model, x)
    with pytest.raises(ValueError, match="CUDA"):
        GraphedTrainStep(
            model, torch.optim.Adam(model.parameters()), torch.nn.MSELoss(), x, x[..., :4]
        )


@cuda
@pytest.mark.parametrize("options", [{}, {"masking": True, "deallocation": True}])
def test_replayed_training_equals_eager_training(options):
    device = torch.device("cuda")
    gen = torch.Generator().manual_seed(1)
    batches = [
        (
            torch.randn(3, 6, 5, generator=gen, dtype=f64),
            torch.randn(3, 6, 4, generator=gen, dtype=f64),
        )
        for _ in range(5)
    ]
    batches = [(x.to(device), y.to(device)) for x, y in batches]
    loss_fn = torch.nn.functional.mse_loss
    warmup = 2

    eager = _model(device, **options)
    opt_e = torch.optim.Adam(eager.parameters(), lr=1e-2, capturable=True)
    for _ in range(warmup):  # what the graphed step's warm-up does on its example batch
        opt_e.zero_grad(set_to_none=True)
        loss_fn(eager(batches[0][0])[0], batches[0][1]).backward()
        opt_e.step()
    graphed = _model(device, **options)
    opt_g = torch.optim.Adam(graphed.parameters(), lr=1e-2, capturable=True)
    step = GraphedTrainStep(graphed, opt_g, loss_fn, *batches[0], warmup=warmup)
    for x, y in batches[1:]:
        opt_e.zero_grad(set_to_none=True)
        loss_e = loss_fn(eager(x)[0], y)
        loss_e.backward()
        opt_e.step()
        loss_g = step(x, y)
        torch.testing.assert_close(loss_g, loss_e.detach(), rtol=0, atol=1e-10)
    for a, b in zip(graphed.parameters(), eager.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-10)


@cuda
def test_replayed_forward_equals_eager_forward():
    device = torch.device("cuda")
    model = _model(device)
    gen = torch.Generator().manual_seed(2)
    xs = [torch.randn(3, 7, 5, generator=gen, dtype=f64).to(device) for _ in range(3)]
    forward = GraphedForward(model, xs[0])
    for x in xs:
        with torch.no_grad():
            want = model(x)[0]
        torch.testing.assert_close(forward(x), want, rtol=0, atol=1e-12)
