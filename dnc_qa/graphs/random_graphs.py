"""The paper's random graphs (Graves et al. 2016, Methods, "Graph tasks").

* ``n`` nodes are uniform points in the unit square (attributes ``x``, ``y``);
* each node's ``K`` nearest neighbours (Euclidean, ties by index) become its outbound edges,
  with ``K`` drawn uniformly per node from the lesson's out-degree range (capped at ``n - 1``);
* node labels are unique, uniform in ``0..999``; node names are those labels as strings;
* edge labels: ``N`` unique numbers are drawn from ``0..999`` (``N`` defaults to the largest
  out-degree), then each node's outbound labels are drawn from them without replacement, so
  labels are unique per source node but repeat across the graph.  The inference task passes a
  fixed pool instead (``edge_labels=range(10)``).
"""

from __future__ import annotations

from collections.abc import Sequence

import networkx as nx
import numpy as np

from dnc_qa.errors import DncQaError
from dnc_qa.graphs.lesson_tables import Lesson
from dnc_qa.graphs.model import LABEL
from dnc_qa.graphs.rng import Seed, as_rng

LABEL_SPACE = 1000


def random_graph(
    num_nodes: int,
    out_degree: tuple[int, int],
    seed: Seed = None,
    *,
    edge_labels: Sequence[int] | None = None,
    num_edge_labels: int | None = None,
) -> nx.MultiDiGraph:
    """One random graph as described in the module docstring.

    Args:
        num_nodes: ``n`` (1..1000).
        out_degree: inclusive ``(lo, hi)`` range of the per-node out-degree ``K``.
        seed: int seed or generator.
        edge_labels: a fixed pool of edge labels (inference: ``range(10)``).
        num_edge_labels: size ``N`` of the drawn pool when ``edge_labels`` is ``None``.
    """
    lo, hi = out_degree
    if not 1 <= num_nodes <= LABEL_SPACE:
        raise DncQaError(f"num_nodes must be in 1..{LABEL_SPACE}, not {num_nodes}")
    if not 0 <= lo <= hi:
        raise DncQaError(f"bad out-degree range {out_degree}")
    rng = as_rng(seed)
    if edge_labels is None:
        size = num_edge_labels if num_edge_labels is not None else max(hi, 1)
        if not hi <= size <= LABEL_SPACE:
            raise DncQaError(f"num_edge_labels must be in {hi}..{LABEL_SPACE}, not {size}")
        pool = rng.choice(LABEL_SPACE, size=size, replace=False)
    else:
        pool = np.asarray(list(edge_labels))
        if len(set(pool.tolist())) < min(hi, num_nodes - 1):
            raise DncQaError(f"{len(pool)} edge labels cannot give out-degree {hi}")
    names = [str(int(v)) for v in rng.choice(LABEL_SPACE, size=num_nodes, replace=False)]
    points = rng.random((num_nodes, 2))
    graph = nx.MultiDiGraph()
    graph.add_nodes_from((name, {"x": float(x), "y": float(y)})
                         for name, (x, y) in zip(names, points.tolist(), strict=True))
    dist = np.linalg.norm(points[:, None, :] - points[None, :, :], axis=-1)
    np.fill_diagonal(dist, np.inf)
    nearest = np.argsort(dist, axis=1, kind="stable").tolist()  # each row: nearest first
    edges = []
    for i, src in enumerate(names):
        k = min(int(rng.integers(lo, hi + 1)), num_nodes - 1)
        labels = rng.choice(pool, size=k, replace=False).tolist()
        edges += [(src, names[j], str(lab), {LABEL: str(lab)})
                  for j, lab in zip(nearest[i][:k], labels, strict=True)]
    graph.add_edges_from(edges)  # in the canonical form of add_triple (key == label)
    return graph


def lesson_graph(
    lesson: Lesson, seed: Seed = None, *, edge_labels: Sequence[int] | None = None
) -> nx.MultiDiGraph:
    """A random graph for ``lesson``: ``n`` drawn uniformly from ``lesson.nodes``."""
    rng = as_rng(seed)
    n = int(rng.integers(lesson.nodes[0], lesson.nodes[1] + 1))
    return random_graph(n, lesson.out_degree, rng, edge_labels=edge_labels)
