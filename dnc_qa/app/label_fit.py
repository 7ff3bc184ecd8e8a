"""Each hop of a fact question read by the label the facts use at that point of the walk.

A knowledge base may word one relation two ways ("Pellucia's capital city is Corvath" and
"Velmaria's capital is Tamberly"; "works for" and "works at"). A question uses one word for
it, and the parser reads it as that label when the graph stores it anywhere. When no node the
walk has reached has an edge with that label, but every one of them has an edge with one
other word of the same :data:`~dnc_qa.app.questions.RELATION_SYNONYMS` group (never one of
the other sex: :data:`~dnc_qa.app.questions.GENDERED`), the hop is read
with that word instead: a choice made from the graph's *shape* (which labels leave which
nodes), never from which answer is right. The note names the labels swapped; the exact answer
and the model follow the same chain.
"""

from __future__ import annotations

import networkx as nx

from dnc_qa.app.exact_answers import follow_hop
from dnc_qa.app.queries import FactQuery, MultiFactQuery, Query, chain_query, inverse_label
from dnc_qa.app.questions import synonym_words


def alternatives(label: str, labels: set[str]) -> list[str]:
    """The stored words that may stand for ``label`` (:func:`synonym_words`), in order."""
    return [w for w in synonym_words(label) if w in labels]


def with_fitted_labels(query: Query, graph: nx.MultiDiGraph
                       ) -> tuple[Query, tuple[tuple[str, str], ...]]:
    """``query`` with each hop's label swapped for a synonym that every node reached there
    has, where none of them has the label asked (see the module docstring); and the
    ``(asked, used)`` pairs swapped (empty: ``query`` unchanged)."""
    if not isinstance(query, FactQuery | MultiFactQuery):
        return query, ()
    chain = query.as_chain()
    if chain.subject not in graph:
        return query, ()
    labels = {str(k) for *_, k in graph.edges(keys=True)}
    nodes, relations, directions, swapped = {chain.subject}, [], [], []
    for relation, inverse in zip(chain.relations, chain.inverse, strict=True):
        found = follow_hop(graph, nodes, relation, inverse)
        if not found and nodes:
            for other, flipped in _candidates(relation, inverse, labels):
                if all(follow_hop(graph, {n}, other, flipped) for n in nodes):
                    swapped.append((relation, other))
                    relation, inverse = other, flipped
                    found = follow_hop(graph, nodes, relation, inverse)
                    break
        relations.append(relation)
        directions.append(inverse)
        nodes = found
    if not swapped:
        return query, ()
    return chain_query(chain.subject, relations, directions), tuple(swapped)


def _candidates(label: str, inverse: bool, labels: set[str]) -> list[tuple[str, bool]]:
    """The hops that may stand for ``label`` read ``inverse``: its stored synonyms the same
    way, then the stored synonyms of its inverse word read the other way ("founder" of X is
    who "formed" X)."""
    out = [(w, inverse) for w in alternatives(label, labels)]
    other = inverse_label(label)
    if other is not None:
        words = [other, *alternatives(other, labels)]
        out += [(w, not inverse) for w in words if w in labels]
    return out
