"""Seeded family trees and the derived relations defined as compositions of base relations.

Base relations (edges): ``mother``, ``father``, ``son``, ``daughter``, ``husband``, ``wife``.
A triple ``(X, mother, Y)`` means *Y is X's mother*.  Every parent-child link gives four edges
(child -> mother/father, parent -> son/daughter) and every couple two (husband <-> wife).

Derived relations (:data:`DERIVED_RELATIONS`) are sequences of base relations followed with
simple-walk semantics (:func:`dnc_qa.graphs.relations.follow`): e.g. ``maternal great uncle =
mother, mother, father, son`` (the brothers of the maternal grandmother).

Generation: ``founding_couples`` couples form generation 0.  Each couple has a number of
children drawn from ``children``; in every later generation a person marries with probability
``marriage_rate``, preferably someone of the other sex from another family in the same
generation, otherwise a new person who marries in (with no parents in the tree).  The last
generation does not marry.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import networkx as nx
import numpy as np

from dnc_qa.graphs.model import add_triple
from dnc_qa.graphs.names import FEMALE_NAMES, MALE_NAMES
from dnc_qa.graphs.relations import Relation, follow
from dnc_qa.graphs.rng import Seed, as_rng

BASE_RELATIONS = ("mother", "father", "son", "daughter", "husband", "wife")

DERIVED_RELATIONS: tuple[Relation, ...] = (
    Relation("paternal grandfather", ("father", "father")),
    Relation("paternal grandmother", ("father", "mother")),
    Relation("maternal grandfather", ("mother", "father")),
    Relation("maternal grandmother", ("mother", "mother")),
    Relation("brother", ("father", "son")),
    Relation("sister", ("father", "daughter")),
    Relation("son-in-law", ("daughter", "husband")),
    Relation("daughter-in-law", ("son", "wife")),
    Relation("wife's father", ("wife", "father")),
    Relation("husband's mother", ("husband", "mother")),
    Relation("grandson", ("son", "son")),
    Relation("granddaughter", ("daughter", "daughter")),
    Relation("paternal uncle", ("father", "father", "son")),
    Relation("paternal aunt", ("father", "father", "daughter")),
    Relation("maternal uncle", ("mother", "father", "son")),
    Relation("maternal aunt", ("mother", "father", "daughter")),
    Relation("brother's son", ("father", "son", "son")),
    Relation("sister's daughter", ("father", "daughter", "daughter")),
    Relation("paternal great grandfather", ("father", "father", "father")),
    Relation("maternal great grandmother", ("mother", "mother", "mother")),
    Relation("maternal great uncle", ("mother", "mother", "father", "son")),
    Relation("maternal great aunt", ("mother", "mother", "father", "daughter")),
    Relation("paternal great uncle", ("father", "father", "father", "son")),
    Relation("paternal uncle's son", ("father", "father", "son", "son")),
    Relation("maternal aunt's daughter", ("mother", "father", "daughter", "daughter")),
    Relation("paternal great uncle's son", ("father", "father", "father", "son", "son")),
    Relation("maternal great aunt's husband", ("mother", "mother", "father", "daughter",
                                               "husband")),
)
RELATIONS_BY_NAME = {str(r.label): r for r in DERIVED_RELATIONS}


@lru_cache(maxsize=1)
def paper_edge_numbers() -> dict[str, int]:
    """Edge numbers 0-9 for the base relations under which the most derived relations are
    among the inference task's 400 trained relations (:func:`~dnc_qa.graphs.relations.
    paper_relations`, edge paths over labels 0-9); the first such numbering in order.

    Every two-edge path is a trained relation, so every derived relation of two base
    relations is covered; of the longer ones, only those whose path was drawn."""
    from itertools import permutations

    from dnc_qa.graphs.relations import paper_relations

    paths = {r.path for r in paper_relations()}
    best, chosen = -1, ()
    for numbers in permutations(range(10), len(BASE_RELATIONS)):
        table = dict(zip(BASE_RELATIONS, (str(n) for n in numbers), strict=True))
        covered = sum(tuple(table[e] for e in r.path) in paths for r in DERIVED_RELATIONS)
        if covered > best:
            best, chosen = covered, numbers
    return dict(zip(BASE_RELATIONS, chosen, strict=True))


def paper_relation_labels(edge_numbers: dict[str, int]) -> dict[str, int]:
    """``{derived relation name: trained relation label}`` for the derived relations whose
    path under ``edge_numbers`` is one of the inference task's trained relations."""
    from dnc_qa.graphs.relations import paper_relations

    labels = {r.path: int(r.label) for r in paper_relations()}
    out = {}
    for r in DERIVED_RELATIONS:
        path = tuple(str(edge_numbers[e]) for e in r.path)
        if path in labels:
            out[str(r.label)] = labels[path]
    return out


@dataclass(frozen=True)
class FamilySpec:
    """Parameters of :func:`family_tree` (see module docstring)."""

    generations: int = 4
    founding_couples: int = 2
    children: tuple[int, int] = (1, 3)
    marriage_rate: float = 0.8


class _Names:
    def __init__(self, rng: np.random.Generator) -> None:
        self.pools = {"F": [str(n) for n in rng.permutation(FEMALE_NAMES)],
                      "M": [str(n) for n in rng.permutation(MALE_NAMES)]}
        self.used: set[str] = set()

    def take(self, sex: str) -> str:
        pool = self.pools[sex]
        base = pool.pop(0) if pool else (FEMALE_NAMES if sex == "F" else MALE_NAMES)[0]
        name, k = base, 2
        while name in self.used:
            name, k = f"{base} {k}", k + 1
        self.used.add(name)
        return name


def family_tree(spec: FamilySpec = FamilySpec(), seed: Seed = None) -> nx.MultiDiGraph:
    """A random family tree; nodes carry ``sex`` ("F"/"M"), ``generation`` and ``married_in``."""
    rng = as_rng(seed)
    names = _Names(rng)
    g = nx.MultiDiGraph()
    g.graph["kind"] = "family"

    def person(sex: str, generation: int, married_in: bool) -> str:
        name = names.take(sex)
        g.add_node(name, sex=sex, generation=generation, married_in=married_in)
        return name

    def marry(husband: str, wife: str) -> None:
        add_triple(g, husband, "wife", wife)
        add_triple(g, wife, "husband", husband)

    couples: list[tuple[str, str]] = []
    for _ in range(spec.founding_couples):
        h, w = person("M", 0, False), person("F", 0, False)
        marry(h, w)
        couples.append((h, w))
    for gen in range(1, spec.generations):
        families: list[list[str]] = []
        for father, mother in couples:
            kids = []
            for _ in range(int(rng.integers(spec.children[0], spec.children[1] + 1))):
                sex = "F" if rng.random() < 0.5 else "M"
                child = person(sex, gen, False)
                for parent, rel in ((mother, "mother"), (father, "father")):
                    add_triple(g, child, rel, parent)
                    add_triple(g, parent, "daughter" if sex == "F" else "son", child)
                kids.append(child)
            families.append(kids)
        couples = []
        if gen == spec.generations - 1:
            break
        single = {k: f for f, kids in enumerate(families) for k in kids}
        for f, kids in enumerate(families):
            for kid in kids:
                if kid not in single or rng.random() >= spec.marriage_rate:
                    continue
                del single[kid]
                sex = g.nodes[kid]["sex"]
                other = [p for p, f2 in single.items() if f2 != f and g.nodes[p]["sex"] != sex]
                if other and rng.random() < 0.5:
                    spouse = other[int(rng.integers(len(other)))]
                    del single[spouse]
                else:
                    spouse = person("F" if sex == "M" else "M", gen, True)
                h, w = (kid, spouse) if sex == "M" else (spouse, kid)
                marry(h, w)
                couples.append((h, w))
    return g


def derived(graph: nx.MultiDiGraph, person: str, relation: str) -> set[str]:
    """Everyone who is ``person``'s ``relation`` (a derived or base relation name)."""
    path = RELATIONS_BY_NAME[relation].path if relation in RELATIONS_BY_NAME else (relation,)
    return follow(graph, person, path)
