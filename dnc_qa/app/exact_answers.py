"""Exact answers with networkx, and the check of a model's answer against them.

An :class:`Answer` is a path (nodes joined by labelled edges), one node, or a list of nodes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import networkx as nx

from dnc_qa.app.kinship import FamilyView, parse_relation
from dnc_qa.app.queries import (
    FactQuery,
    MultiFactQuery,
    NeighboursQuery,
    Query,
    RelationQuery,
    ShortestPathQuery,
    TraversalQuery,
)
from dnc_qa.errors import DncQaError

AnswerKind = Literal["path", "node", "nodes", "count", "none"]


class NoAnswerError(DncQaError):
    """The question has no answer in this graph (e.g. a line that ends before the last stop)."""


@dataclass(frozen=True)
class Answer:
    """An answer: ``kind`` says how to read ``nodes``.

    Attributes:
        kind: ``"path"`` (``nodes`` joined by ``labels``, ``len(labels) == len(nodes) - 1``),
            ``"node"`` (one node), ``"nodes"`` (a list, possibly empty) or ``"none"``
            (no answer exists; ``note`` says why); ``"count"``: the number of stops of a
            path (``len(labels)``; ``nodes`` and ``labels`` hold the path, ``note`` its text).
        nodes: the node names.
        labels: the edge labels of a path.
        note: a remark for people ("no route", "unknown label 417").
    """

    kind: AnswerKind
    nodes: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()
    note: str = ""

    def to_json(self) -> Any:
        """A path as ``[[source, label, target], ...]``, a node as a string, a list as a list,
        a count as an integer, no answer as ``None``."""
        if self.kind == "count":
            return len(self.labels)
        if self.kind == "path":
            pairs = zip(self.nodes, self.labels, self.nodes[1:], strict=False)
            return [[a, lab, b] for a, lab, b in pairs]
        if self.kind == "node":
            return self.nodes[0] if self.nodes else None
        if self.kind == "nodes":
            return list(self.nodes)
        return None

    def text(self) -> str:
        """One line for people: ``Bank -[Central E]-> Liverpool Street``, ``Ann``, ``Ann, Bo``,
        ``2 stops (Bank -[Central E]-> ...)``."""
        if self.kind == "count":
            n = len(self.labels)
            return f"{n} stop{'' if n == 1 else 's'} ({self.note})"
        if self.kind == "path":
            if len(self.nodes) == 1:
                return f"{self.nodes[0]} (already there)"
            parts = [self.nodes[0]]
            for lab, node in zip(self.labels, self.nodes[1:], strict=False):
                parts.append(f"-[{lab}]-> {node}")
            return " ".join(parts)
        if self.kind == "node":
            return self.nodes[0] if self.nodes else "(nothing)"
        if self.kind == "nodes":
            return ", ".join(self.nodes) if self.nodes else "(none)"
        return f"(no answer: {self.note})" if self.note else "(no answer)"

    @property
    def end(self) -> str | None:
        """The last node of a path, or the node of a node answer."""
        return self.nodes[-1] if self.nodes and self.kind in ("path", "node") else None


def as_count(answer: Answer, target: str) -> Answer:
    """A path answer as its number of stops (``"count"``), the path as its note; a path
    that does not reach ``target`` (or no answer) is no answer (``"none"``, which keeps the
    path it took, so two such answers are the same only when their paths are)."""
    if answer.kind == "path" and answer.nodes and answer.nodes[-1] == target:
        return Answer("count", answer.nodes, answer.labels, note=answer.text())
    if answer.kind == "path":
        return Answer("none", answer.nodes, answer.labels,
                      note=answer.note or f"the path does not reach {target}")
    return answer


def _check_node(graph: nx.MultiDiGraph, node: str) -> None:
    if node not in graph:
        raise DncQaError(f"no node {node!r} in this graph")


def shortest_path(graph: nx.MultiDiGraph, source: str, target: str) -> Answer:
    """A shortest path by number of edges (ties: networkx's BFS order, then label order)."""
    _check_node(graph, source)
    _check_node(graph, target)
    try:
        nodes = nx.shortest_path(graph, source, target)
    except nx.NetworkXNoPath:
        return Answer("none", note=f"no route from {source} to {target}")
    labels = tuple(sorted(graph[a][b])[0] for a, b in zip(nodes, nodes[1:], strict=False))
    return Answer("path", tuple(nodes), labels)


def traverse(graph: nx.MultiDiGraph, query: TraversalQuery) -> Answer:
    """Follow the steps' labels from ``query.start``; a missing or forked edge is an error."""
    _check_node(graph, query.start)
    node, nodes, labels = query.start, [query.start], []
    for i, step in enumerate(query.steps, 1):
        targets = [v for _, v, k in graph.out_edges(node, keys=True) if k == step.label]
        where = f"(step {i} of {len(query.steps)})"
        if not targets:
            if step.direction:
                raise NoAnswerError(
                    f"the {step.line} line does not go {step.direction} from {node} {where}")
            raise NoAnswerError(f"there is no {step.label!r} edge from {node} {where}")
        if len(targets) > 1:
            raise NoAnswerError(
                f"{step.label!r} leads from {node} to {len(targets)} places "
                f"({', '.join(sorted(targets))}) {where}")
        node = targets[0]
        nodes.append(node)
        labels.append(step.label)
    return Answer("path", tuple(nodes), tuple(labels))


def neighbours(graph: nx.MultiDiGraph, node: str) -> Answer:
    """Every node joined to ``node`` by an edge in either direction, sorted."""
    _check_node(graph, node)
    found = set(graph.successors(node)) | set(graph.predecessors(node))
    found.discard(node)
    return Answer("nodes", tuple(sorted(found)))


def relatives(graph: nx.MultiDiGraph, query: RelationQuery) -> Answer:
    """Everyone who is ``query.person``'s ``query.relation`` in a family tree."""
    _check_node(graph, query.person)
    relation = parse_relation(query.relation)
    if relation is None:
        raise DncQaError(f"unknown family relation {query.relation!r}")
    view = FamilyView(graph)
    if not view.is_family_tree():
        raise NoAnswerError("this graph is not a family tree (no parent, child, sibling or "
                            "spouse edges)")
    return Answer("nodes", tuple(view.relatives(query.person, relation)))


def fact(graph: nx.MultiDiGraph, query: FactQuery) -> Answer:
    """The objects of ``(subject, relation, ?)`` (or the subjects, for an inverse query)."""
    _check_node(graph, query.subject)
    if query.inverse:
        found = {u for u, _, k in graph.in_edges(query.subject, keys=True) if k == query.relation}
    else:
        found = {v for _, v, k in graph.out_edges(query.subject, keys=True)
                 if k == query.relation}
    return Answer("nodes", tuple(sorted(found)))


def follow_hop(graph: nx.MultiDiGraph, nodes: set[str], relation: str, inverse: bool = False
               ) -> set[str]:
    """The nodes one ``relation`` edge from any of ``nodes`` (against the edges' direction
    when ``inverse``)."""
    if inverse:
        return {u for n in nodes for u, _, k in graph.in_edges(n, keys=True) if k == relation}
    return {v for n in nodes for _, v, k in graph.out_edges(n, keys=True) if k == relation}


def fact_chain(graph: nx.MultiDiGraph, query: MultiFactQuery) -> Answer:
    """Every node the chain reaches, following the stored triples hop by hop (all of them
    when a hop leads to several); ``"none"`` when some hop has no stored edge, the note
    naming it."""
    _check_node(graph, query.subject)
    nodes = {query.subject}
    for i, (relation, inverse) in enumerate(zip(query.relations, query.inverse, strict=True)):
        found = follow_hop(graph, nodes, relation, inverse)
        if not found:
            where = ", ".join(sorted(nodes))
            edge = f"{relation!r} edge {'into' if inverse else 'from'} {where}"
            return Answer("none", note=f"there is no {edge} (hop {i + 1} of {query.hops})")
        nodes = found
    return Answer("nodes", tuple(sorted(nodes)))


def exact_answer(graph: nx.MultiDiGraph, query: Query) -> Answer:
    """The exact answer to ``query`` in ``graph``."""
    if isinstance(query, ShortestPathQuery):
        found = shortest_path(graph, query.source, query.target)
        return as_count(found, query.target) if query.count else found
    if isinstance(query, TraversalQuery):
        return traverse(graph, query)
    if isinstance(query, NeighboursQuery):
        return neighbours(graph, query.node)
    if isinstance(query, RelationQuery):
        return relatives(graph, query)
    if isinstance(query, FactQuery):
        return fact(graph, query)
    if isinstance(query, MultiFactQuery):
        return fact_chain(graph, query)
    raise TypeError(f"not a query: {query!r}")


def is_valid_path(graph: nx.MultiDiGraph, answer: Answer) -> bool:
    """Whether every edge of a path answer exists in ``graph``."""
    if answer.kind != "path" or len(answer.labels) != len(answer.nodes) - 1:
        return False
    return all(
        graph.has_edge(a, b, key=lab)
        for a, lab, b in zip(answer.nodes, answer.labels, answer.nodes[1:], strict=False)
    )


def agrees(graph: nx.MultiDiGraph, query: Query, model: Answer, exact: Answer) -> bool:
    """Whether the model's answer is right.

    * number of stops: the same count;
    * shortest path: a valid path from source to target no longer than the exact one (any of
      several shortest paths agrees);
    * traversal: the same nodes and labels;
    * lists: the same set; a single-node model answer agrees if it is one of the exact nodes;
    * no answer (``"none"``, or an empty list): the model giving none.
    """
    if exact.kind == "none" or (exact.kind == "nodes" and not exact.nodes
                                and model.kind == "none"):
        return model.kind == "none"
    if isinstance(query, ShortestPathQuery) and query.count:
        return model.kind == "count" and len(model.labels) == len(exact.labels)
    if isinstance(query, ShortestPathQuery):
        return (
            is_valid_path(graph, model)
            and model.nodes[0] == query.source
            and model.nodes[-1] == query.target
            and len(model.nodes) <= len(exact.nodes)
        )
    if exact.kind == "path":
        return model.kind == "path" and model.nodes == exact.nodes and model.labels == exact.labels
    if model.kind == "node":
        return bool(model.nodes) and model.nodes[0] in exact.nodes
    if model.kind == "nodes":
        return set(model.nodes) == set(exact.nodes)
    return False
