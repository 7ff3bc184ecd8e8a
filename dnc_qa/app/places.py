"""Places inside places: the hop a question leaves out when it names a country and the facts
name a town.

"What is the capital of the country where Ava was born?" reads as Ava's ``born in``, then
``capital``. When the knowledge base says Ava was born in a town and the town is in a country
(``(Ashford, in, Veland)``), the chain as written has no answer: a town has no capital. The
question meant the country the town is in. Likewise "in which country was Ava born?" asks
for the country, not the town ``born in`` reaches.

:func:`with_containment` reads the question against the stored graph's *shape* (which labels
leave which nodes, never which answer is right) and adds the containment hops (``in``,
``located in``) the question left out:

* before a hop whose relation no node reached so far has, when each such node's containment
  edge leads to a node that has it, or a synonym of it (:mod:`dnc_qa.app.label_fit`; at
  most one hop added per gap);
* at the end, when the question asks for a country-like place ("in which country", "what
  country") and every node the chain reaches is itself inside another place: up to two
  hops, stopping at a place that has a capital (a country) or is inside nothing; for a
  region ("which region", "province", "county") the climb stops one place below the top (a
  town in a region in a country answers the region). A place above the countries (a
  continent) is climbed into like any other.

The model then answers the completed chain like any other, in one query; the note says
which hops were added. The exact answer follows the same chain.
"""

from __future__ import annotations

import re

import networkx as nx

from dnc_qa.app.exact_answers import follow_hop
from dnc_qa.app.label_fit import alternatives
from dnc_qa.app.queries import FactQuery, MultiFactQuery, Query, chain_query
from dnc_qa.app.questions import MAX_STEPS

CONTAINMENT = (("in", False), ("located in", False), ("situated in", False), ("lie in", False),
               ("based in", False), ("headquartered in", False), ("capital", True))
"""Hops from a place to the place it is in: its ``in``, ``located in`` (or alike) edge, or for
a capital the country whose ``capital`` it is (a backward hop)."""
AREA_WORDS = ("country", "countries", "nation", "state", "kingdom", "province", "region",
              "county", "district")
_ASKS_AREA = re.compile(rf"^(?:in |from )?(?:which|what) (?:{'|'.join(AREA_WORDS)})\b",
                        re.IGNORECASE)
REGION_WORDS = ("region", "regions", "province", "county", "district")
_ASKS_REGION = re.compile(rf"^(?:in |from )?(?:which|what) (?:{'|'.join(REGION_WORDS)})\b",
                          re.IGNORECASE)
MAX_CLIMB = 2


Hop = tuple[str, bool]
"""A relation label and whether it is followed backwards."""


def _container(graph: nx.MultiDiGraph, nodes: set[str]) -> Hop | None:
    """The containment hop every one of ``nodes`` has, if any."""
    for hop in CONTAINMENT:
        if nodes and all(follow_hop(graph, {n}, *hop) for n in nodes):
            return hop
    return None


def asks_for_area(question: str) -> bool:
    """Whether ``question`` asks which country (nation, state, region...) something is in."""
    return bool(_ASKS_AREA.match(" ".join(question.strip().split())))


def asks_for_region(question: str) -> bool:
    """Whether ``question`` asks for a place below a country (region, province, county,
    district): the climb then stops one place below the top."""
    return bool(_ASKS_REGION.match(" ".join(question.strip().split())))


def with_containment(query: Query, graph: nx.MultiDiGraph, question: str
                     ) -> tuple[Query, tuple[str, ...]]:
    """``query`` with the containment hops the question left out (see the module docstring),
    and the labels added (empty: ``query`` unchanged). Only forward chains are completed."""
    if not isinstance(query, FactQuery | MultiFactQuery):
        return query, ()
    chain = query.as_chain()
    relations, subject = chain.relations, chain.subject
    if any(chain.inverse) or subject not in graph:
        return query, ()
    places = {label for label, backwards in CONTAINMENT if not backwards}
    labels = {str(k) for *_, k in graph.edges(keys=True)}
    nodes, out, added = {subject}, [], []
    for relation in relations:
        words = (relation, *alternatives(relation, labels))  # "capital" or "capital city"
        found = follow_hop(graph, nodes, relation)
        hop = _container(graph, nodes) if nodes and not found else None
        if hop is not None and relation in places:  # "which country is X in", X a capital
            out.append(hop)
            added.append(hop[0])
            nodes = follow_hop(graph, nodes, *hop)
            continue
        # a hop the nodes word otherwise ("capital city") leaves ``found`` empty here, and the
        # hops after it are read again once ask() fits the labels (dnc_qa.app.label_fit)
        inside = follow_hop(graph, nodes, *hop) if hop else set()
        if hop and inside and all(any(follow_hop(graph, {n}, w) for w in words)
                                  for n in inside):
            out.append(hop)
            added.append(hop[0])
            found = follow_hop(graph, inside, relation)
        out.append((relation, False))
        nodes = found
    if nodes and asks_for_area(question):
        region = asks_for_region(question)
        for _ in range(MAX_CLIMB):
            hop = _container(graph, nodes)
            if hop is None or all(follow_hop(graph, {n}, "capital") for n in nodes):
                break  # a place with a capital is a country already
            up = follow_hop(graph, nodes, *hop)
            if region and _container(graph, up) is None:
                break  # a region is the place just below the top: "up" is the country
            out.append(hop)
            added.append(hop[0])
            nodes = up
    if not added or len(out) > MAX_STEPS:
        return query, ()
    return chain_query(subject, [r for r, _ in out], [b for _, b in out]), tuple(added)
