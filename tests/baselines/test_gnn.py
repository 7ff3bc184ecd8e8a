"""The GNN baseline on tiny hand-made graphs."""

from __future__ import annotations

import torch

from dnc_qa.baselines.gnn import SPECS, HopGNN, Indexed, batch_of, hop_loss, traversal_hop
from dnc_qa.baselines.gnn_train import GraphQuery, accuracy, answer_right, training_hops
from dnc_qa.reproduce.testmaps import TraversalTest
from tests.baselines.test_exact import ring


def test_gnn_hop_shapes_and_loss() -> None:
    g = Indexed(ring())
    data = batch_of([traversal_hop(g, "a", "x", "b"), traversal_hop(g, "c", "y", "b")])
    model = HopGNN(SPECS["traversal"], hidden=16)
    logits = model(data)
    assert logits.shape == (6,)
    loss = hop_loss(logits, data)
    assert torch.isfinite(loss) and loss.item() > 0


def test_gnn_learns_a_tiny_traversal() -> None:
    """Trained on every hop of one graph, the GNN must answer every walk on it."""
    torch.manual_seed(0)
    g = ring()
    queries = [TraversalTest("a", ("x", "x"), ("b", "c")), TraversalTest("a", ("y", "y"),
                                                                         ("c", "b")),
               TraversalTest("c", ("x", "y"), ("a", "c"))]
    items = [GraphQuery(g, q) for q in queries]
    hops = [h for it in items for h in training_hops("traversal", it)]
    model = HopGNN(SPECS["traversal"], hidden=32)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    data = batch_of(hops)
    for _ in range(300):
        loss = hop_loss(model(data), data)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.05
    assert accuracy(model, items) == 1.0
    assert not answer_right(model, g, TraversalTest("a", ("x",), ("c",)))
