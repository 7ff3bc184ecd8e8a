"""The test graphs and their queries (the paper's London Underground and family tree).

* Traversal: random 7-step walks on the test map (edge labels that leave a node once).
* Shortest path: source/goal pairs 4 steps apart on the test map (the paper: "all 4-step
  paths"; we draw a sample).
* Inference: 4-step relations of ``data/family/relations.json`` on the family tree, each
  mapped to the paper relation (labels 10-409) with the same edge-digit path; the family's
  edge names get the digits (searched over every assignment) that make the most 4-step
  family relations paper relations, since the network only knows those 400.

The map is the London Underground's Zone 1 stations (largest connected part) when a
transit-CSV folder with a ``zone`` column is given (``--london``), else the bundled
``data/transit`` map.
"""

from __future__ import annotations

import csv
import itertools
import json
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import networkx as nx
import numpy as np

from dnc_qa.errors import DncQaError
from dnc_qa.graphs.io import read_graph
from dnc_qa.graphs.relations import find_relation, follow, paper_relations

DATA = Path(__file__).resolve().parents[2] / "data"
FAMILY_TREE = Path(__file__).resolve().parents[1] / "app" / "demo_data" / "family-tree.json"
"""The invented family tree (package data; ``data/family/`` holds its relation table)."""
TRAVERSAL_STEPS = 7
PATH_STEPS = 4
RELATION_STEPS = 4


class TraversalTest(NamedTuple):
    start: str
    edges: tuple[str, ...]
    answer: tuple[str, ...]
    """The nodes visited after ``start``."""


class PathTest(NamedTuple):
    source: str
    goal: str
    distance: int


class InferenceTest(NamedTuple):
    start: str
    relation: str
    """The paper relation label, as a decimal string."""
    answer: str
    name: str
    """The family relation's name."""


class TestMap(NamedTuple):
    """A named test graph."""

    name: str
    graph: nx.MultiDiGraph


class FamilyTest(NamedTuple):
    """The family tree with its edges renamed to digits (``"0"``..)."""

    graph: nx.MultiDiGraph
    edge_digits: dict[str, str]


def load_map(london: Path | None) -> TestMap:
    """The Zone 1 London Underground (``london`` folder) or the bundled transit map."""
    if london is None:
        folder = DATA / "transit"
        return TestMap("bundled transit map (data/transit)", read_graph(folder))
    london = Path(london)
    if not london.is_dir():
        raise DncQaError(f"--london {london} is not a folder")
    graph = read_graph(london)
    stations = next(iter(sorted(london.glob("*stations.csv"))), None)
    if stations is None:
        raise DncQaError(f"--london {london} has no *stations.csv")
    with stations.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    if not rows or "zone" not in rows[0] or "name" not in rows[0]:
        raise DncQaError(f"{stations}: needs name and zone columns")
    zone1 = {r["name"] for r in rows if _zone(r["zone"]) <= 1.0}
    sub = graph.subgraph(n for n in graph.nodes if n in zone1).copy()
    if sub.number_of_nodes() == 0:
        raise DncQaError(f"{stations}: no Zone 1 station is in the network")
    part = max(nx.weakly_connected_components(sub), key=len)
    return TestMap(f"London Underground Zone 1 ({london})", sub.subgraph(part).copy())


def _zone(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return float("inf")


def unique_out(graph: nx.MultiDiGraph, node: str) -> list[tuple[str, str]]:
    """``(edge, target)`` pairs of ``node`` whose edge label leaves it only once, sorted."""
    out = sorted((k, v) for _, v, k in graph.out_edges(node, keys=True))
    labels = [k for k, _ in out]
    return [(k, v) for k, v in out if labels.count(k) == 1]


def traversal_tests(graph: nx.MultiDiGraph, count: int, seed: int,
                    steps: int = TRAVERSAL_STEPS) -> list[TraversalTest]:
    """``count`` random walks of ``steps`` steps (restarted at dead ends)."""
    rng = np.random.default_rng(seed)
    nodes = sorted(graph.nodes)
    tests: list[TraversalTest] = []
    for _ in range(count * 50):
        if len(tests) == count:
            break
        node = start = nodes[int(rng.integers(len(nodes)))]
        edges, visited = [], []
        for _ in range(steps):
            out = unique_out(graph, node)
            if not out:
                break
            k, node = out[int(rng.integers(len(out)))]
            edges.append(k)
            visited.append(node)
        if len(edges) == steps:
            tests.append(TraversalTest(start, tuple(edges), tuple(visited)))
    if len(tests) < count:
        raise DncQaError(f"the test map has too few {steps}-step walks")
    return tests


def path_tests(graph: nx.MultiDiGraph, count: int, seed: int,
               steps: int = PATH_STEPS) -> list[PathTest]:
    """``count`` pairs (with replacement when there are fewer) exactly ``steps`` apart."""
    lengths = dict(nx.all_pairs_shortest_path_length(graph))
    pairs = sorted((s, t) for s, row in lengths.items() for t, d in row.items() if d == steps)
    if not pairs:
        raise DncQaError(f"the test map has no pair {steps} steps apart")
    rng = np.random.default_rng(seed)
    pick = rng.choice(len(pairs), size=count, replace=count > len(pairs))
    return [PathTest(*pairs[int(i)], steps) for i in pick]


def load_family(folder: Path | None = None) -> tuple[FamilyTest, list[tuple[str, tuple[str, ...]]]]:
    """The family tree with digit edge names, and its relations as digit paths (from
    ``folder``'s ``family-tree.json`` and ``relations.json``; by default the packaged tree and
    ``data/family/relations.json``)."""
    tree = Path(folder) / "family-tree.json" if folder is not None else FAMILY_TREE
    folder = Path(folder) if folder is not None else DATA / "family"
    graph = read_graph(tree)
    names = sorted({k for *_, k in graph.edges(keys=True)})
    if len(names) > 10:
        raise DncQaError("the family tree has more than 10 edge names")
    relations = json.loads((folder / "relations.json").read_text(encoding="utf-8"))
    comps = [tuple(r["composition"]) for r in relations
             if len(r["composition"]) == RELATION_STEPS and set(r["composition"]) <= set(names)]
    digits = best_digits(names, comps)
    renamed = nx.MultiDiGraph()
    renamed.add_nodes_from(graph.nodes)
    for u, v, k in graph.edges(keys=True):
        renamed.add_edge(u, v, key=digits[k])
    paths = [(r["name"], tuple(digits[c] for c in r["composition"]))
             for r in relations if all(c in digits for c in r["composition"])]
    return FamilyTest(renamed, digits), paths


def best_digits(names: Sequence[str], compositions: Sequence[tuple[str, ...]]) -> dict[str, str]:
    """The assignment of digits to edge ``names`` under which most ``compositions`` are paper
    relations (the first such in lexicographic order of digit tuples)."""
    known = {r.path for r in paper_relations()}
    best, best_hits = tuple(range(len(names))), -1
    for perm in itertools.permutations(range(10), len(names)):
        table = dict(zip(names, perm, strict=True))
        hits = sum(tuple(str(table[c]) for c in comp) in known for comp in compositions)
        if hits > best_hits:
            best, best_hits = perm, hits
    return {n: str(d) for n, d in zip(names, best, strict=True)}


def inference_tests(family: FamilyTest, relations: Sequence[tuple[str, tuple[str, ...]]],
                    count: int, seed: int, steps: int | None = RELATION_STEPS
                    ) -> list[InferenceTest]:
    """Up to ``count`` (start, relation) queries with a unique answer, for relations of
    ``steps`` steps (``None``: any length) that are among the paper's 400."""
    table = paper_relations()
    found = []
    for name, path in relations:
        rel = find_relation(table, path)
        if (steps is None or len(path) == steps) and rel is not None:
            found.append((name, str(rel.label), path))
    items = []
    for name, label, path in found:
        for start in sorted(family.graph.nodes):
            ends = follow(family.graph, start, path)
            if len(ends) == 1:
                items.append(InferenceTest(start, label, next(iter(ends)), name))
    if not items:
        return []
    rng = np.random.default_rng(seed)
    if len(items) <= count:
        return items
    return [items[int(i)] for i in sorted(rng.choice(len(items), size=count, replace=False))]
