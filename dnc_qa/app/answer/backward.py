"""Facts asked backwards when the graph stores no inverse label: "who lives in X", "who was
born in X", "where was the person who lives in X born".

A model reads a triple ``(A, R, _)`` forwards: given a source and a relation it names the
target. ``(?, R, X)`` asks for every source, which no single read can give. So a backward hop
is answered by asking every other node of the graph the forward fact ``(node, R, _)``, one
one-hop query each from the same stored memory, and keeping the nodes for which the model
wrote exactly ``(node, R, X)`` with probability at least :data:`ACCEPT`. The forward hops of
the chain around it are asked as one walk per node reached (the paper's layout).

Every hop is the model's own answer; the code only enumerates the nodes and compares what the
model wrote with the node the hop must reach. Hops that lead to several nodes are followed
from each of them, as the exact answer does.
"""

from __future__ import annotations

from dnc_qa.app.answer.facts import answer_fact_chain, read_walk
from dnc_qa.app.answer.runner import ModelAnswer, Runner
from dnc_qa.app.codec import LabelMap
from dnc_qa.app.exact_answers import Answer
from dnc_qa.app.queries import MultiFactQuery

ACCEPT = 0.5
"""A node is a backward hop's answer when the model's forward read of it ends at the hop's
node with at least this probability."""

_Cache = dict[tuple[str, str], tuple[str | None, float]]
"""Forward one-hop reads already made: ``(node, relation) -> (target, probability)``."""


def _one_hop(runner: Runner, labels: LabelMap, node: str, relation: str, cache: _Cache
             ) -> tuple[str | None, float]:
    """The target the model writes for ``(node, relation, _)`` from the stored memory, with
    its probability (``None`` when the triple it wrote is not that fact)."""
    key = (node, relation)
    if key not in cache:
        hop = Runner(runner.model, runner.state, runner.edges)
        read = read_walk(hop, labels, node, (relation,))[0]
        runner.absorb(hop)
        cache[key] = (read.target if read.completes(node, relation) else None, read.prob)
    return cache[key]


def _backward(runner: Runner, labels: LabelMap, nodes: list[str], relation: str,
              cache: _Cache) -> tuple[list[str], float]:
    """Every node whose forward ``relation`` fact the model completes with one of ``nodes``;
    the confidence is the least decisiveness ``max(p, 1 - p)`` over the nodes asked (``p``
    the probability that the node's fact ends in ``nodes``)."""
    found, confidence = [], 1.0
    for candidate in sorted(labels.nodes):
        if candidate in nodes:
            continue
        target, prob = _one_hop(runner, labels, candidate, relation, cache)
        p = prob if target in nodes else 0.0
        confidence = min(confidence, max(p, 1.0 - p))
        if p >= ACCEPT:
            found.append(candidate)
    return found, confidence


def _forward(runner: Runner, labels: LabelMap, nodes: list[str], relations: tuple[str, ...]
             ) -> tuple[list[str], float, str]:
    """Where the walk along ``relations`` leads from each of ``nodes`` (one query per node),
    the least probability of the walks, and a note for a walk the model could not make."""
    found: list[str] = []
    confidence, note = 1.0, ""
    for node in nodes:
        walk = Runner(runner.model, runner.state, runner.edges)
        result = answer_fact_chain(walk, labels, MultiFactQuery(
            node, relations, (False,) * len(relations)))
        runner.absorb(walk)
        if result.answer is None or result.answer.kind != "node":
            note = note or result.note
            continue
        confidence = min(confidence, result.confidence or 0.0)
        found.extend(n for n in result.answer.nodes if n not in found)
    return found, confidence, note


def answer_backward_chain(runner: Runner, labels: LabelMap, query: MultiFactQuery
                          ) -> ModelAnswer:
    """A chain of facts in which some hops go backwards with no stored inverse label
    (``query`` as :func:`dnc_qa.app.answer.facts.forward_chain` leaves it): the nodes it
    reaches, as a list (possibly empty), with the least confidence of its hops."""
    missing = [r for r in query.relations if r not in labels.edges]
    if missing:
        return ModelAnswer(None, note=f"edge label {missing[0]!r} was not stored in memory")
    nodes, confidence, notes, cache = [query.subject], 1.0, [], {}
    i = 0
    while i < query.hops and nodes:
        if query.inverse[i]:
            nodes, sure = _backward(runner, labels, nodes, query.relations[i], cache)
            i += 1
        else:
            j = i
            while j < query.hops and not query.inverse[j]:
                j += 1
            nodes, sure, note = _forward(runner, labels, nodes, query.relations[i:j])
            notes.append(note)
            i = j
        confidence = min(confidence, sure)
    backward = ", ".join(repr(r) for r, b in zip(query.relations, query.inverse, strict=True)
                         if b)
    how = (f"the model reads triples forwards only: for the backward {backward} hop every "
           f"node was asked its own fact, one query each")
    return ModelAnswer(Answer("nodes", tuple(sorted(nodes))), confidence,
                       note="; ".join(filter(None, [how, *notes])))
