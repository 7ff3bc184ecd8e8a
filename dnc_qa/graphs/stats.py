"""Summary numbers for a canonical graph (what ``dncqa graph info`` prints)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import networkx as nx

from dnc_qa.graphs.model import out_labels

DIAMETER_NODE_LIMIT = 5000


@dataclass(frozen=True)
class GraphStats:
    """Size, labels, connectivity and degrees of a graph.

    ``diameter`` is the hop diameter of the underlying undirected graph and
    ``directed_diameter`` that of the directed graph; each is ``None`` when the graph is not
    (strongly) connected or has more than :data:`DIAMETER_NODE_LIMIT` nodes.
    ``ambiguous_out_labels`` counts (node, label) pairs leading to more than one node, which a
    traversal cannot follow unambiguously.
    """

    nodes: int
    edges: int
    labels: tuple[str, ...]
    adjacent_pairs: int
    weak_components: int
    strong_components: int
    diameter: int | None
    directed_diameter: int | None
    out_degree: tuple[int, int]
    in_degree: tuple[int, int]
    self_loops: int
    ambiguous_out_labels: int

    @property
    def connected(self) -> bool:
        return self.weak_components == 1

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["labels"] = list(self.labels)
        data["out_degree"] = list(self.out_degree)
        data["in_degree"] = list(self.in_degree)
        data["connected"] = self.connected
        data["strongly_connected"] = self.strong_components == 1
        return data


def adjacent_pairs(graph: nx.MultiDiGraph) -> int:
    """Distinct unordered pairs of different nodes joined by at least one edge."""
    return len({frozenset((u, v)) for u, v in graph.edges() if u != v})


def graph_stats(graph: nx.MultiDiGraph) -> GraphStats:
    """Compute :class:`GraphStats` (diameters are skipped on very large graphs)."""
    n = graph.number_of_nodes()
    weak = nx.number_weakly_connected_components(graph) if n else 0
    strong = nx.number_strongly_connected_components(graph) if n else 0
    small = 0 < n <= DIAMETER_NODE_LIMIT
    diameter = nx.diameter(nx.Graph(graph.to_undirected(as_view=True))) if small and weak == 1 \
        else None
    directed = nx.diameter(nx.DiGraph(graph)) if small and strong == 1 and n > 0 else None
    outs = [d for _, d in graph.out_degree()] or [0]
    ins = [d for _, d in graph.in_degree()] or [0]
    ambiguous = sum(1 for node in graph for targets in out_labels(graph, node).values()
                    if len(targets) > 1)
    return GraphStats(
        nodes=n, edges=graph.number_of_edges(),
        labels=tuple(sorted({k for *_, k in graph.edges(keys=True)})),
        adjacent_pairs=adjacent_pairs(graph), weak_components=weak, strong_components=strong,
        diameter=diameter, directed_diameter=directed, out_degree=(min(outs), max(outs)),
        in_degree=(min(ins), max(ins)), self_loops=nx.number_of_selfloops(graph),
        ambiguous_out_labels=ambiguous,
    )
