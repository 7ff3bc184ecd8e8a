"""Rules that need no memory and no planning, scored exactly on the same episodes as a model.

A lesson counts as learned only where the model beats the best of these: on small graphs a
rule that just avoids stepping back, or takes the goal when it is adjacent, already finds a
shortest path most of the time.

Shortest path (the network's own moves, an episode right when it reaches the goal in the
minimal number of moves):

* ``random legal move``: a uniformly random outgoing edge;
* ``never step back``: a random outgoing edge that does not return to the node just left
  (any edge when there is no other);
* ``goal when adjacent``: the goal's edge when the goal is a neighbour, else as
  ``never step back``.

Each rule's success probability is computed exactly (a sum over its choices), not sampled.

Inference: ``random reachable node`` names a uniformly random node reachable from the start
by a simple walk of the relation's length (the answer is always among them).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

import networkx as nx

Policy = Callable[[nx.MultiDiGraph, str, "str | None", str], dict[str, float]]
"""``policy(graph, node, previous_node, goal) -> {next node: probability}`` (edges to the
same neighbour are merged: a path is judged by its nodes)."""


def _edges(graph: nx.MultiDiGraph, node: str) -> list[str]:
    """The targets of ``node``'s outgoing edges, one entry per edge."""
    return [v for _, v in graph.out_edges(node)]


def _uniform(targets: list[str]) -> dict[str, float]:
    out: dict[str, float] = {}
    for t in targets:
        out[t] = out.get(t, 0.0) + 1.0 / len(targets)
    return out


def random_move(graph: nx.MultiDiGraph, node: str, previous: str | None, goal: str
                ) -> dict[str, float]:
    return _uniform(_edges(graph, node))


def never_back(graph: nx.MultiDiGraph, node: str, previous: str | None, goal: str
               ) -> dict[str, float]:
    targets = _edges(graph, node)
    forward = [t for t in targets if t != previous]
    return _uniform(forward or targets)


def goal_if_adjacent(graph: nx.MultiDiGraph, node: str, previous: str | None, goal: str
                     ) -> dict[str, float]:
    if goal in _edges(graph, node):
        return {goal: 1.0}
    return never_back(graph, node, previous, goal)


PATH_RULES: dict[str, Policy] = {
    "random legal move": random_move,
    "never step back": never_back,
    "goal when adjacent": goal_if_adjacent,
}


def path_success(policy: Policy, graph: nx.MultiDiGraph, source: str, goal: str) -> float:
    """The probability that ``policy`` walks from ``source`` to ``goal`` along a shortest
    path (every move one step closer)."""
    distance = nx.single_target_shortest_path_length(graph, goal)
    if source not in distance:
        return 0.0

    @cache
    def p(node: str, previous: str | None) -> float:
        if node == goal:
            return 1.0
        total = 0.0
        for nxt, prob in policy(graph, node, previous, goal).items():
            if distance.get(nxt, -1) == distance[node] - 1:
                total += prob * p(nxt, node)
        return total

    return p(source, None)


def reachable_in(graph: nx.MultiDiGraph, start: str, length: int) -> set[str]:
    """Nodes at the end of a simple walk (no node twice) of ``length`` edges from ``start``."""
    ends: set[str] = set()

    def walk(node: str, seen: frozenset[str], left: int) -> None:
        if left == 0:
            ends.add(node)
            return
        for _, v in graph.out_edges(node):
            if v not in seen:
                walk(v, seen | {v}, left - 1)

    walk(start, frozenset({start}), length)
    return ends


def random_reachable_success(graph: nx.MultiDiGraph, start: str, length: int,
                             answer: str) -> float:
    """The chance that a uniformly random node of :func:`reachable_in` is ``answer``."""
    ends = reachable_in(graph, start, length)
    return 1.0 / len(ends) if answer in ends else 0.0
