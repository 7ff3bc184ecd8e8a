"""The paper's random graphs against every curriculum lesson; determinism per seed."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from dnc_qa.graphs import load_curriculum
from dnc_qa.graphs.lesson_tables import TASKS
from dnc_qa.graphs.random_graphs import lesson_graph, random_graph
from dnc_qa.graphs.relations import RELATION_LENGTHS, follow, paper_relations

PAPER_ENDPOINTS = {  # spec/paper-setups.md section 1, ED Tables 3-5: (lessons, first, last)
    "traversal": (14, ((3, 10), (2, 4), (1, 1)), ((10, 40), (2, 6), (1, 20))),
    "inference": (17, ((3, 3), (2, 2), (2, 2)), ((20, 25), (2, 4), (2, 5))),
    "shortest_path": (15, ((5, 10), (1, 2), (2, 2)), ((20, 25), (2, 6), (2, 5))),
}


@pytest.mark.parametrize("task", TASKS)
def test_curriculum_tables(task: str) -> None:
    c = load_curriculum(task)
    count, first, last = PAPER_ENDPOINTS[task]
    assert len(c) == count
    assert (c[0].nodes, c[0].out_degree, c[0].length) == first
    assert (c.final.nodes, c.final.out_degree, c.final.length) == last
    for a, b in zip(c.lessons, c.lessons[1:], strict=False):
        for field in ("nodes", "out_degree", "length"):
            lo, hi = getattr(b, field)
            assert lo <= hi and getattr(a, field)[0] <= lo and getattr(a, field)[1] <= hi
    assert all(lesson.queries == (3 if task == "inference" else 1) for lesson in c.lessons)


@pytest.mark.parametrize("task", TASKS)
def test_lesson_graphs_respect_ranges(task: str) -> None:
    rng = np.random.default_rng(0)
    pool = range(10) if task == "inference" else None
    for lesson in load_curriculum(task).lessons:
        for _ in range(5):
            g = lesson_graph(lesson, rng, edge_labels=pool)
            n = g.number_of_nodes()
            assert lesson.nodes[0] <= n <= lesson.nodes[1]
            names = [int(v) for v in g]
            assert len(set(names)) == n and all(0 <= v <= 999 for v in names)
            for node in g:
                k = g.out_degree(node)
                assert min(lesson.out_degree[0], n - 1) <= k <= min(lesson.out_degree[1], n - 1)
                labels = [lab for *_, lab in g.out_edges(node, keys=True)]
                assert len(set(labels)) == len(labels)  # unique per source
                assert all(0 <= int(lab) <= (9 if pool else 999) for lab in labels)
                assert node not in g.successors(node)


def test_outbound_edges_are_nearest_neighbours() -> None:
    g = random_graph(30, (3, 3), 4)
    pos = {n: np.array([d["x"], d["y"]]) for n, d in g.nodes(data=True)}
    for node in g:
        dist = sorted((float(np.linalg.norm(pos[node] - pos[m])), m) for m in g if m != node)
        assert set(g.successors(node)) == {m for _, m in dist[:3]}
        assert all(0 <= c <= 1 for c in pos[node])


def test_edge_label_pool_repeats_across_graph() -> None:
    g = random_graph(40, (2, 4), 1)
    labels = {lab for *_, lab in g.edges(keys=True)}
    assert len(labels) == 4  # N defaults to the largest out-degree
    assert len(labels) < g.number_of_edges()


def test_determinism_per_seed() -> None:
    a, b, c = (random_graph(25, (2, 5), s) for s in (7, 7, 8))
    assert nx.utils.graphs_equal(a, b) and list(a.edges(keys=True)) == list(b.edges(keys=True))
    assert not nx.utils.graphs_equal(a, c)


def test_paper_relations() -> None:
    rels = paper_relations()
    assert len(rels) == 400 and [r.label for r in rels] == list(range(10, 410))
    assert len({r.path for r in rels}) == 400
    for length in RELATION_LENGTHS:
        assert sum(len(r.path) == length for r in rels) == 100
    assert rels == paper_relations()
    g = random_graph(10, (2, 4), 0, edge_labels=range(10))
    start = next(iter(g))
    first = next(k for *_, k in g.out_edges(start, keys=True))
    assert follow(g, start, (first,)) == set(g[start]) & {
        v for _, v, k in g.out_edges(start, keys=True) if k == first}
