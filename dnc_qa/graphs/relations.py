"""Relations as compositions of edge labels, and the inference task's 400 fixed relations.

A relation is a sequence of edge labels; following it from a node means taking one edge of each
label in turn.  Answers use *simple-walk* semantics: walks that revisit a node are discarded, so
``brother = (father, son)`` never answers the start itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import NamedTuple

import networkx as nx

from dnc_qa.graphs.rng import as_rng

EDGE_LABELS = tuple(range(10))
FIRST_RELATION_LABEL = 10
RELATION_LENGTHS = (2, 3, 4, 5)
RELATIONS_PER_LENGTH = 100
PAPER_RELATION_SEED = 2016


class Relation(NamedTuple):
    """A named composition: ``label`` (an int for the paper's table, else a name) and its
    sequence of edge labels ``path``."""

    label: int | str
    path: tuple[str, ...]


def follow(graph: nx.MultiDiGraph, start: str, path: Iterable[str]) -> set[str]:
    """Every node reached from ``start`` by a simple walk whose labels are ``path``."""
    walks: list[tuple[str, ...]] = [(start,)]
    for label in path:
        walks = [w + (v,) for w in walks for _, v, k in graph.out_edges(w[-1], keys=True)
                 if k == label and v not in w]
    return {w[-1] for w in walks}


def paper_relations(seed: int = PAPER_RELATION_SEED) -> tuple[Relation, ...]:
    """The inference task's 400 fixed relations: labels 10..409, paths over edge labels
    ``"0".."9"``, 100 distinct paths of each length 2, 3, 4, 5 (fixed by ``seed``)."""
    rng = as_rng(seed)
    out: list[Relation] = []
    for length in RELATION_LENGTHS:
        seen: set[tuple[str, ...]] = set()
        while len(seen) < RELATIONS_PER_LENGTH:
            path = tuple(str(int(x)) for x in rng.integers(0, len(EDGE_LABELS), size=length))
            if path not in seen:
                seen.add(path)
                out.append(Relation(FIRST_RELATION_LABEL + len(out), path))
    return tuple(out)


def find_relation(relations: Sequence[Relation], path: Sequence[str]) -> Relation | None:
    """The relation whose path is ``path``, if any."""
    target = tuple(path)
    return next((r for r in relations if r.path == target), None)
