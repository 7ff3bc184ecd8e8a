"""Graph traversal (DNC paper): follow a sequence of edge labels from a start node.

Each episode: a random graph of the lesson's size, its triples in random order, then per
query ``(src, e1, _), (_, e2, _), ...`` along a random walk whose length is uniform in the
lesson's range; the answer phase asks for every completed triple of the walk.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from dnc_qa.encoding import Episode as GraphEpisode
from dnc_qa.encoding import TraversalQuery, traversal_episode
from dnc_qa.graphs.lesson_tables import Lesson
from dnc_qa.graphs.random_graphs import lesson_graph
from dnc_qa.tasks.graph_base import MAX_TRIES, GraphTask


def random_walk(graph, start: str, length: int, rng: np.random.Generator) -> tuple[str, ...]:
    """Edge labels of a random walk of ``length`` steps (shorter at a dead end)."""
    node, edges = start, []
    for _ in range(length):
        out = sorted((k, v) for _, v, k in graph.out_edges(node, keys=True))
        if not out:
            break
        k, v = out[int(rng.integers(len(out)))]
        edges.append(k)
        node = v
    return tuple(edges)


@dataclass(frozen=True)
class TraversalTask(GraphTask):
    """Traversal at ``lesson`` (``None``: the final lesson, paths of 1-20 on 10-40 nodes)."""

    lesson: Lesson | None = None
    name: str = "traversal"

    def with_lesson(self, lesson: Lesson) -> TraversalTask:
        return replace(self, lesson=lesson)

    def build(self, rng: np.random.Generator) -> GraphEpisode:
        lesson = self.current
        for _ in range(MAX_TRIES):
            graph = lesson_graph(lesson, rng)
            nodes = sorted(graph.nodes)
            queries = []
            for _ in range(lesson.queries):
                start = nodes[int(rng.integers(len(nodes)))]
                length = int(rng.integers(lesson.length[0], lesson.length[1] + 1))
                edges = random_walk(graph, start, length, rng)
                if edges:
                    queries.append(TraversalQuery(start, edges))
            if len(queries) == lesson.queries:
                return traversal_episode(graph, queries, rng)
        raise RuntimeError(f"could not build a traversal episode for {lesson}")
