"""The exact solver and the GNN baseline on tiny hand-made graphs."""

from __future__ import annotations

import networkx as nx
import torch

from dnc_qa.baselines import exact
from dnc_qa.baselines.gnn import SPECS, HopGNN, Indexed, batch_of, hop_loss, traversal_hop
from dnc_qa.baselines.gnn_train import GraphQuery, accuracy, answer_right, training_hops
from dnc_qa.graphs.relations import paper_relations
from dnc_qa.reproduce.testmaps import InferenceTest, PathTest, TraversalTest


def ring() -> nx.MultiDiGraph:
    """a -x-> b -x-> c -x-> a, and a -y-> c, c -y-> b."""
    g = nx.MultiDiGraph()
    for u, k, v in [("a", "x", "b"), ("b", "x", "c"), ("c", "x", "a"), ("a", "y", "c"),
                    ("c", "y", "b")]:
        g.add_edge(u, v, key=k)
    return g


def test_exact_traversal_right_and_wrong() -> None:
    g = ring()
    good = TraversalTest("a", ("x", "x", "y"), ("b", "c", "b"))
    bad = TraversalTest("a", ("x", "x", "y"), ("b", "c", "a"))
    missing = TraversalTest("b", ("y",), ("a",))
    assert exact.solve_traversal(g, [good]).accuracy == 1.0
    assert exact.solve_traversal(g, [good, bad, missing]).correct == 1
    assert exact.traverse(g, "b", ("y",)) is None


def test_exact_paths_need_the_minimal_length() -> None:
    g = ring()
    assert exact.solve_paths(g, [PathTest("a", "c", 1)]).accuracy == 1.0
    assert exact.solve_paths(g, [PathTest("a", "c", 2)]).accuracy == 0.0
    assert exact.solve_paths(g, [PathTest("b", "a", 2)]).accuracy == 1.0


def test_exact_inference_follows_the_paper_relation() -> None:
    rel = paper_relations()[0]  # a length-2 path over digits
    first, second = rel.path
    g = nx.MultiDiGraph()
    g.add_edge("p", "q", key=first)
    g.add_edge("q", "r", key=second)
    assert exact.solve_inference(g, [InferenceTest("p", str(rel.label), "r", "x")]).accuracy == 1
    assert exact.solve_inference(g, [InferenceTest("p", str(rel.label), "q", "x")]).accuracy == 0


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
