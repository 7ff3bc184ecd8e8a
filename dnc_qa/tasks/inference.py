"""Inference (DNC paper): name the node an unseen relation leads to.

Edges are labelled 0-9; labels 10-409 name 400 fixed relations (edge-label sequences of
length 2-5, :func:`dnc_qa.graphs.relations.paper_relations`) that the network never sees
spelled out. Query ``(start, relation, _)``, 10 planning steps, answer
``(start, relation, end)``. A query draws its relation's length uniformly from the lesson's
range, then one of the relations of that length that some simple walk from a random start
node spells out and that leads to exactly one node, uniformly. (Drawing a random walk and
keeping it when it spells a relation would make nearly every query a two-edge one: every
two-label sequence is a relation, but only one five-label sequence in a thousand is.)

With ``hints`` (not in the paper) the planning steps are supervised too: hop ``k`` of the
relation's walk, the triple ``(node k-1, edge k, node k)``, is the target of planning step
``2k`` (1-based), with loss weight ``hints``; hints are never scored as answers.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache

import networkx as nx
import numpy as np

from dnc_qa.encoding import Episode as GraphEpisode
from dnc_qa.encoding import InferenceQuery, inference_episode
from dnc_qa.encoding.episodes import DEFAULT_PLANNING_STEPS
from dnc_qa.encoding.labels import encode_triples
from dnc_qa.graphs.lesson_tables import Lesson
from dnc_qa.graphs.random_graphs import lesson_graph
from dnc_qa.graphs.relations import EDGE_LABELS, Relation, paper_relations
from dnc_qa.tasks.base import Episode
from dnc_qa.tasks.graph_base import MAX_TRIES, GraphTask, as_task_episode, planning_budget


@lru_cache(maxsize=1)
def relation_table() -> dict[tuple[str, ...], Relation]:
    """The paper's relations by edge path."""
    return {r.path: r for r in paper_relations()}


@lru_cache(maxsize=1)
def relation_paths() -> dict[str, tuple[str, ...]]:
    """The paper's relations' edge paths by label (``"10"`` -> ``("3", "7")``)."""
    return {str(r.label): r.path for r in paper_relations()}


def walk_nodes(graph, start: str, path: tuple[str, ...]) -> list[str] | None:
    """The nodes of the one simple walk from ``start`` along ``path`` (``start`` first), or
    ``None`` when some step has no edge or several."""
    nodes = [start]
    for label in path:
        nxt = [v for _, v, k in graph.out_edges(nodes[-1], keys=True)
               if k == label and v not in nodes]
        if len(nxt) != 1:
            return None
        nodes.append(nxt[0])
    return nodes


def out_edges(graph) -> dict[str, list[tuple[str, str]]]:
    """Each node's outgoing ``(target, label)`` pairs."""
    return {u: [(v, k) for v, keys in graph.adj[u].items() for k in keys] for u in graph}


@lru_cache(maxsize=1)
def relation_trie() -> dict:
    """The relations' edge paths as nested dicts, label by label (``trie["3"]["7"]``); the
    level a whole path reaches holds its :class:`Relation` under the key ``None``."""
    root: dict = {}
    for r in paper_relations():
        level = root
        for label in r.path:
            level = level.setdefault(label, {})
        level[None] = r
    return root


def relation_ends(graph, start: str, length: int,
                  edges: dict[str, list[tuple[str, str]]] | None = None
                  ) -> dict[tuple[str, ...], set[str]]:
    """The relations of ``length`` edges that a simple walk from ``start`` spells, as edge
    paths, each with the nodes those walks end on (:func:`~dnc_qa.graphs.relations.follow`
    of the path). One depth-first search over the simple walks, down
    :func:`relation_trie`: a walk stops as soon as its labels are no relation's prefix.
    ``edges``: :func:`out_edges` of ``graph``, when the caller has it."""
    edges = out_edges(graph) if edges is None else edges
    found: dict[tuple[str, ...], set[str]] = {}
    seen, labels = {start}, []

    def extend(node: str, level: dict) -> None:
        if len(labels) == length:
            if None in level:
                found.setdefault(tuple(labels), set()).add(node)
            return
        for v, k in edges[node]:
            below = level.get(k)
            if below is not None and v not in seen:
                seen.add(v)
                labels.append(k)
                extend(v, below)
                labels.pop()
                seen.discard(v)

    extend(start, relation_trie())
    return found


def relation_walks(graph, start: str, length: int,
                   edges: dict[str, list[tuple[str, str]]] | None = None
                   ) -> list[tuple[str, ...]]:
    """The relations of ``length`` edges that a simple walk from ``start`` spells, as edge
    paths, each once, sorted (:func:`relation_ends` without the ends)."""
    return sorted(relation_ends(graph, start, length, edges))


def unique_relations(graph, start: str, length: int,
                     edges: dict[str, list[tuple[str, str]]]
                     ) -> list[tuple[tuple[str, ...], str]]:
    """The ``(path, end)`` of every relation of ``length`` edges (for ``length`` 1: every
    edge label) that simple walks from ``start`` spell and that leads to exactly one node,
    sorted by path."""
    if length == 1:
        ends: dict[tuple[str, ...], set[str]] = {}
        for v, k in edges[start]:
            if v != start:
                ends.setdefault((k,), set()).add(v)
    else:
        ends = relation_ends(graph, start, length, edges)
    return [(p, next(iter(e))) for p, e in sorted(ends.items()) if len(e) == 1]


def draw_query(graph, lesson: Lesson, rng: np.random.Generator,
               edges: dict[str, list[tuple[str, str]]] | None = None,
               memo: dict[tuple[str, int], list[tuple[tuple[str, ...], str]]] | None = None,
               ) -> InferenceQuery | None:
    """A query whose relation is known and whose answer is unique, or ``None``.

    The relation's length is uniform over the lesson's range (redrawn only when no start
    node has a relation of that length); the start is uniform over the nodes that have one,
    and the relation uniform over those of that length that a simple walk from the start
    spells and that lead to one node. A one-edge query (bridge lessons) asks for the edge
    label itself as the relation. ``edges``: :func:`out_edges` of ``graph``, when the caller
    has it; ``memo``: a dict kept across the calls for one graph (each start's relations are
    searched once)."""
    table = relation_table()
    edges = out_edges(graph) if edges is None else edges
    memo = {} if memo is None else memo
    nodes = sorted(graph.nodes)
    for _ in range(MAX_TRIES):
        length = int(rng.integers(lesson.length[0], lesson.length[1] + 1))
        for i in rng.permutation(len(nodes)):
            start = nodes[int(i)]
            key = (start, length)
            if key not in memo:
                memo[key] = unique_relations(graph, start, length, edges)
            choices = memo[key]
            if choices:
                path, end = choices[int(rng.integers(len(choices)))]
                label = path[0] if length == 1 else table[path].label
                return InferenceQuery(start, str(label), end)
    return None


@dataclass(frozen=True)
class InferenceTask(GraphTask):
    """Inference at ``lesson`` (``None``: the final lesson, relations of length 2-5).

    Args:
        planning_steps: blank steps between each query and its answer (the paper's 10) ...
        planning_per_edge: ... plus this many per triple of the graph, rounded up.
        bridge: warm-up lessons also ask one-edge relations (the edge label itself).
        hints: loss weight of the intermediate hops during planning (0: none, the paper).
    """

    lesson: Lesson | None = None
    planning_steps: int = DEFAULT_PLANNING_STEPS
    planning_per_edge: float = 0.0
    bridge: bool = False
    hints: float = 0.0
    name: str = "inference"

    def with_lesson(self, lesson: Lesson) -> InferenceTask:
        return replace(self, lesson=lesson)

    def build(self, rng: np.random.Generator) -> GraphEpisode:
        return self.problem(rng)[2]

    def task_episode(self, rng: np.random.Generator) -> Episode:
        """One episode for the trainer, with the planning steps' hints when ``hints``."""
        graph, queries, episode = self.problem(rng)
        out = as_task_episode(episode)
        if self.hints:
            add_hints(out, graph, queries, episode, self.hints)
        return out

    def problem(self, rng: np.random.Generator
                ) -> tuple[nx.MultiDiGraph, list[InferenceQuery], GraphEpisode]:
        """One episode with the graph and queries it was built from."""
        lesson = self.current
        for _ in range(MAX_TRIES):
            graph = lesson_graph(lesson, rng, edge_labels=[int(e) for e in EDGE_LABELS])
            edges, memo = out_edges(graph), {}
            queries = [draw_query(graph, lesson, rng, edges, memo)
                       for _ in range(lesson.queries)]
            if all(q is not None for q in queries):
                planning = planning_budget(graph, self.planning_steps, self.planning_per_edge)
                episode = inference_episode(graph, queries, rng,  # type: ignore[arg-type]
                                            planning_steps=planning)
                return graph, queries, episode  # type: ignore[return-value]
        raise RuntimeError(f"could not build an inference episode for {lesson}")


def relation_length(relation: str) -> int:
    """How many edges a query's relation label spans (1 for a bare edge label)."""
    label = int(relation)
    if label < len(EDGE_LABELS):
        return 1
    return len(relation_paths()[str(label)])


def add_hints(out: Episode, graph, queries: list[InferenceQuery], episode: GraphEpisode,
              weight: float) -> None:
    """Write the hops of each query's relation into ``out``'s planning steps (in place): hop
    ``k`` (``1 <= k < length``) as the target of the query's planning step ``2k``, with mask
    ``weight``. The last hop is the answer itself; a walk that is not unique gets no hints."""
    paths = relation_paths()
    for span in episode.phases:
        if span.kind != "planning":
            continue
        query = queries[span.query]
        path = paths.get(query.relation)
        nodes = walk_nodes(graph, query.start, path) if path else None
        if nodes is None:
            continue
        for k in range(1, len(path)):
            step = span.start + 2 * k - 1
            if step >= span.stop:
                break
            hop = episode.relabelling.encode(nodes[k - 1], path[k - 1], nodes[k])
            out.targets[step] = encode_triples([hop])[0]
            out.mask[step] = weight
