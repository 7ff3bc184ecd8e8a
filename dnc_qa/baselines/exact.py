"""An exact solver for the graph tasks' test queries (networkx): 100% by construction.

Its row in the report shows that every test query is well-formed (the walk exists and is
unambiguous, the goal is reachable at the stated distance, the relation has one answer).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import networkx as nx

from dnc_qa.graphs.relations import follow, paper_relations
from dnc_qa.reproduce.testmaps import InferenceTest, PathTest, TraversalTest


class ExactScore(NamedTuple):
    queries: int
    correct: int

    @property
    def accuracy(self) -> float:
        return self.correct / self.queries if self.queries else 0.0


def traverse(graph: nx.MultiDiGraph, start: str, edges: Sequence[str]) -> tuple[str, ...] | None:
    """The nodes a walk visits, or ``None`` when an edge is missing or ambiguous."""
    node, out = start, []
    for edge in edges:
        targets = [v for _, v, k in graph.out_edges(node, keys=True) if k == edge]
        if len(targets) != 1:
            return None
        node = targets[0]
        out.append(node)
    return tuple(out)


def solve_traversal(graph: nx.MultiDiGraph, tests: Sequence[TraversalTest]) -> ExactScore:
    right = sum(traverse(graph, t.start, t.edges) == t.answer for t in tests)
    return ExactScore(len(tests), right)


def solve_paths(graph: nx.MultiDiGraph, tests: Sequence[PathTest]) -> ExactScore:
    """A query is right when BFS finds a path of exactly the stated (minimal) length."""
    right = 0
    for t in tests:
        try:
            path = nx.shortest_path(graph, t.source, t.goal)
        except (nx.NetworkXNoPath, nx.NodeNotFound):
            continue
        right += len(path) - 1 == t.distance
    return ExactScore(len(tests), right)


def solve_inference(graph: nx.MultiDiGraph, tests: Sequence[InferenceTest]) -> ExactScore:
    """Follow the relation's edge path (known to the solver, unlike the network)."""
    paths = {str(r.label): r.path for r in paper_relations()}
    right = 0
    for t in tests:
        ends = follow(graph, t.start, paths[t.relation])
        right += ends == {t.answer}
    return ExactScore(len(tests), right)
