"""The one in-memory graph form, and the builder every reader uses to validate while it builds.

Every reader returns a :class:`networkx.MultiDiGraph` whose node names are ``str`` and whose
edges each carry a ``str`` attribute ``label`` (:data:`LABEL`).  The edge key *is* the label, so
an edge is identified by ``(source, target, label)``; several labels may join the same pair
(e.g. two Underground lines between the same stations).  Undirected input becomes two directed
edges with the same label.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, NamedTuple

import networkx as nx

from dnc_qa.graphs.errors import GraphFormatError
from dnc_qa.graphs.limits import DEFAULT_LIMITS, Limits

LABEL = "label"


class Triple(NamedTuple):
    """A labelled directed edge: ``target`` is ``source``'s ``relation`` (e.g. Bob, mother, Ann)."""

    source: str
    relation: str
    target: str


def triples(graph: nx.MultiDiGraph) -> Iterator[Triple]:
    """Every edge of ``graph`` as a :class:`Triple`, in the graph's edge order (``edges``'
    order, read from the adjacency dict itself: the edge view costs microseconds per edge)."""
    for u, targets in graph._adj.items():
        for v, labels in targets.items():
            for label in labels:
                yield Triple(u, label, v)


def add_triple(graph: nx.MultiDiGraph, source: str, label: str, target: str, **attrs: Any) -> None:
    """Add one labelled edge in the canonical form (key == ``label`` attribute)."""
    graph.add_edge(source, target, key=label, **{LABEL: label, **attrs})


def graph_from_triples(items: Iterator[Triple] | list[Triple]) -> nx.MultiDiGraph:
    """A graph holding exactly these triples (nodes created as needed)."""
    graph = nx.MultiDiGraph()
    for t in items:
        add_triple(graph, t.source, t.relation, t.target)
    return graph


def out_labels(graph: nx.MultiDiGraph, node: str) -> dict[str, list[str]]:
    """``{label: [targets]}`` for the edges leaving ``node`` (2+ targets: ambiguous label)."""
    result: dict[str, list[str]] = {}
    for _, v, label in graph.out_edges(node, keys=True):
        result.setdefault(label, []).append(v)
    return result


class GraphBuilder:
    """Collect nodes and edges with the place each came from, rejecting bad input early.

    Checks: node names are non-empty; no duplicate node ids; no dangling endpoints (unless
    ``implicit_nodes``); no duplicate ``(source, target, label)`` edges; the node and edge limits;
    and (in :meth:`build`) that the graph is not empty.  Errors name ``path`` and the place.
    """

    def __init__(
        self, path: object = None, *, limits: Limits = DEFAULT_LIMITS, implicit_nodes: bool = False
    ) -> None:
        self.path = path
        self.limits = limits
        self.implicit_nodes = implicit_nodes
        self.graph = nx.MultiDiGraph()
        self._node_place: dict[str, str | None] = {}
        self._edge_place: dict[tuple[str, str, str], str | None] = {}

    def error(self, reason: str, place: str | None) -> GraphFormatError:
        """A :class:`GraphFormatError` at ``place`` in this builder's file."""
        return GraphFormatError(reason, path=self.path, place=place)  # type: ignore[arg-type]

    def add_node(
        self, name: object, attrs: Mapping[str, Any] | None = None, place: str | None = None
    ) -> str:
        """Add a node, returning its name as ``str``; duplicates are an error."""
        key = self._name(name, "node id", place)
        if key in self._node_place:
            first = self._node_place[key]
            where = f" (first at {first})" if first else ""
            raise self.error(f"duplicate node id {key!r}{where}", place)
        if len(self._node_place) >= self.limits.max_nodes:
            raise self.error(
                f"graph has more than {self.limits.max_nodes:,} nodes (raise it with --max-nodes)",
                place,
            )
        self._node_place[key] = place
        self.graph.add_node(key, **dict(attrs or {}))
        return key

    def has_node(self, name: str) -> bool:
        return name in self._node_place

    def add_edge(
        self,
        source: object,
        target: object,
        label: object,
        attrs: Mapping[str, Any] | None = None,
        place: str | None = None,
        *,
        undirected: bool = False,
    ) -> None:
        """Add ``source -label-> target`` (and the reverse when ``undirected``)."""
        u = self._endpoint(source, "source", place)
        v = self._endpoint(target, "target", place)
        lab = self._name(label, "edge label", place)
        pairs = [(u, v)] if not undirected or u == v else [(u, v), (v, u)]
        for a, b in pairs:
            if (a, b, lab) in self._edge_place:
                first = self._edge_place[(a, b, lab)]
                where = f" (first at {first})" if first else ""
                raise self.error(f"duplicate edge {a!r} -[{lab}]-> {b!r}{where}", place)
            if len(self._edge_place) >= self.limits.max_edges:
                raise self.error(
                    f"graph has more than {self.limits.max_edges:,} edges "
                    "(raise it with --max-edges)",
                    place,
                )
            self._edge_place[(a, b, lab)] = place
            add_triple(self.graph, a, lab, b, **dict(attrs or {}))

    def build(self) -> nx.MultiDiGraph:
        """The finished graph; an empty one (no nodes) is an error."""
        if self.graph.number_of_nodes() == 0:
            raise self.error("empty graph (no nodes)", None)
        return self.graph

    def _endpoint(self, name: object, role: str, place: str | None) -> str:
        key = self._name(name, f"edge {role}", place)
        if key not in self._node_place:
            if not self.implicit_nodes:
                raise self.error(f"edge {role} {key!r} is not a declared node", place)
            self.add_node(key, None, place)
        return key

    def _name(self, value: object, what: str, place: str | None) -> str:
        if value is None or isinstance(value, (dict, list, bool)):
            raise self.error(f"{what} must be a string or number, not {value!r}", place)
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        text = str(value)
        if not text.strip():
            raise self.error(f"{what} is empty", place)
        return text
