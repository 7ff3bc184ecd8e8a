"""The exact solver on tiny hand-made graphs."""

from __future__ import annotations

import networkx as nx

from dnc_qa.baselines import exact
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
