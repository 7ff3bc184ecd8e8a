"""Relation questions ("who is X's maternal grandmother"): an inference model reads
``(person, relation, _)``, plans and writes one completed triple; a traversal model answers
the relation as walks over the graph's edge labels."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from dnc_qa.app import codec
from dnc_qa.app.answer.by_parents import answer_by_parents, ask_walk, parent_walk_plan
from dnc_qa.app.answer.runner import ModelAnswer, Runner, names_nothing, plan
from dnc_qa.app.codec import LabelMap
from dnc_qa.app.exact_answers import Answer
from dnc_qa.app.queries import RelationQuery

if TYPE_CHECKING:
    import networkx as nx


def answer_relation(runner: Runner, labels: LabelMap, query: RelationQuery) -> ModelAnswer:
    """An inference model's answer: the relation looked up by its trained label."""
    return infer(runner, labels, query.person, query.relation)


def answer_relation_walk(runner: Runner, labels: LabelMap, query: RelationQuery,
                         graph: nx.MultiDiGraph | None = None) -> ModelAnswer:
    """A traversal model answers a family relation as walks over edge labels: a named
    composition ("maternal grandmother" = mother, mother) as that one walk; a relation with
    alternatives ("grandmother": mother or father, then mother) as each walk its steps allow
    with the graph's labels, each asked in one query, the people found joined (the note
    lists the walks). A walk that ends in child hops (``son``, ``daughter``: several people
    each) is answered by asking every candidate for their parents instead
    (:mod:`dnc_qa.app.answer.by_parents`; needs ``graph`` for the people's sexes)."""
    from dnc_qa.app.kinship import FamilyView, label_walks, parse_relation

    relation = parse_relation(query.relation)
    walks = [] if relation is None else (
        [relation.labels] if relation.labels else label_walks(relation, set(labels.edges)))
    if not walks:
        return ModelAnswer(None, note=(
            f"a traversal model answers relations that are walks over this graph's edge "
            f"labels; {query.relation!r} is not one"))
    sexes = FamilyView(graph).sex if graph is not None else {}
    found: list[str] = []
    prob, notes = 1.0, []
    cache: dict = {}
    by_parents = False
    for walk in walks:
        plan = (parent_walk_plan(walk, sexes.get(query.person), set(labels.edges))
                if graph is not None else None)
        if plan is not None:
            people, confidence, said = answer_by_parents(runner, labels, query.person, plan,
                                                         sexes, cache)
            found += [p for p in people if p not in found]
            prob = min(prob, confidence)
            if said not in notes:
                notes.append(said)
            by_parents = True
            continue
        result = ask_walk(runner, labels, query.person, walk, cache)
        if result.answer is None:
            if len(walks) == 1:
                return result
            notes.append(f"{' then '.join(walk)}: {result.note}")
            continue
        end = result.answer.nodes[-1]
        # simple walks, as the exact answer: a walk that comes back to a node it passed
        # (the father as his own father's son) names no one
        if len(result.answer.nodes) == len(walk) + 1 and end not in result.answer.nodes[:-1]:
            if end not in found:
                found.append(end)
            prob = min(prob, result.confidence or 0.0)
        if result.note:
            notes.append(result.note)
    said = "; ".join(" then ".join(w) for w in walks)
    note = "; ".join([f"answered as the walk{'s' if len(walks) > 1 else ''} {said}", *notes])
    if not found:
        return ModelAnswer(Answer("none", ()), prob, note=note)
    several = len(walks) > 1 or by_parents
    kind = "node" if len(found) == 1 and not several else "nodes"
    return ModelAnswer(Answer(kind, tuple(sorted(found) if by_parents else found)), prob,
                       note=note)


def infer(runner: Runner, labels: LabelMap, person: str, relation: str) -> ModelAnswer:
    """Query ``(person, relation, _)``, plan, and read one completed triple."""
    number = runner.model.spec.relations.get(relation)
    if number is None:
        if runner.model.trained:
            return ModelAnswer(None, note=f"model {runner.model.ref!r} does not know the "
                                          f"relation {relation!r}")
        number = int(hashlib.sha256(relation.encode()).hexdigest(), 16) % 1000
    plan(runner, (labels.nodes[person], number, None))
    y = runner.run(runner.encode([(None, None, None)], phase=[True], answer=[True]),
                   "answer")[0]
    (_, _, dst), p = codec.decode_triple(y)
    node = labels.node_name(dst)
    if node is None:
        return names_nothing(dst, 1)
    return ModelAnswer(Answer("node", (node,)), p)

