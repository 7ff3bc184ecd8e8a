"""Facts and chains of facts ("who is the mayor of the capital of X"): one walk over their
relation labels, in one query up to the walk length the model was trained on, else hop by hop.
A fact's answer is taken only when the model wrote the fact that was asked (its source and
relation); otherwise it has none."""

from __future__ import annotations

from dataclasses import dataclass

from dnc_qa.app import codec
from dnc_qa.app.answer.relations import infer
from dnc_qa.app.answer.runner import ModelAnswer, Runner
from dnc_qa.app.codec import LabelMap
from dnc_qa.app.exact_answers import Answer
from dnc_qa.app.queries import FactQuery, MultiFactQuery, inverse_label


def answer_fact(runner: Runner, labels: LabelMap, query: FactQuery) -> ModelAnswer:
    """A one-hop walk (traversal model) or a relation lookup (inference model); an inverse
    fact ("who wrote Hamlet") walks the inverse label the graph stores (Hamlet's
    ``author``)."""
    if runner.model.spec.task == "inference" and not query.inverse:
        return infer(runner, labels, query.subject, query.relation)
    if query.inverse and runner.model.spec.task == "inference":
        return ModelAnswer(None, note="the model reads triples forwards only; it cannot answer "
                                      "(?, relation, object) questions")
    return answer_fact_chain(runner, labels, query.as_chain())


def forward_chain(query: MultiFactQuery, labels: LabelMap) -> MultiFactQuery:
    """``query`` with each backwards hop replaced by the inverse label the graph stores
    ("(?, write, Hamlet)" -> "(Hamlet, author, ?)"); hops without one stay backwards."""
    relations, inverse = list(query.relations), list(query.inverse)
    for i, (relation, backwards) in enumerate(zip(query.relations, query.inverse, strict=True)):
        other = inverse_label(relation) if backwards else None
        if other is not None and other in labels.edges:
            relations[i], inverse[i] = other, False
    return MultiFactQuery(query.subject, tuple(relations), tuple(inverse))


@dataclass(frozen=True)
class _Read:
    """One answer step's completed triple as the model wrote it: each part's name, or
    ``None`` where its number names nothing in this graph (``numbers`` keeps the numbers)."""

    source: str | None
    edge: str | None
    target: str | None
    numbers: tuple[int, int, int]
    prob: float

    def completes(self, source: str, edge: str) -> bool:
        """Whether this is a fact ``(source, edge, target)`` with a target of this graph."""
        return self.source == source and self.edge == edge and self.target is not None

    def text(self) -> str:
        parts = [name if name is not None else f"label {number:03d}"
                 for name, number in zip((self.source, self.edge, self.target), self.numbers,
                                         strict=True)]
        return f"({', '.join(parts)})"


def read_walk(runner: Runner, labels: LabelMap, start: str, edges: tuple[str, ...]
               ) -> list[_Read]:
    """Ask the walk from ``start`` along ``edges`` in one query (the paper's layout: query
    ``(start, e1, _), (_, e2, _)...``, then one answer step per hop) and read each answer
    step's triple. Every label must be stored in ``labels``."""
    numbers = [labels.edges[e] for e in edges]
    q = [(labels.nodes[start], numbers[0], None)] + [(None, e, None) for e in numbers[1:]]
    runner.run(runner.encode(q, phase=[True]), "query")
    n = len(edges)
    y = runner.run(runner.encode([(None, None, None)] * n, phase=[True], answer=[True] * n),
                   "answer")
    reads = []
    for t in range(n):
        (src, e, dst), p = codec.decode_triple(y[t])
        reads.append(_Read(labels.node_name(src), labels.edge_name(e), labels.node_name(dst),
                           (src, e, dst), p))
    return reads


def answer_fact_chain(runner: Runner, labels: LabelMap, query: MultiFactQuery) -> ModelAnswer:
    """A chain of facts as one walk over its relation labels: in one query (the paper's
    layout) up to the walk length the model was trained on (``walk_steps``), else hop by hop,
    each hop one query from the stored memory (the note says so).

    The answer is the walk's last node, taken only when every answer step wrote the fact
    that was asked: its source the node reached so far, its edge the hop's relation, its
    target a node of this graph. Otherwise the model has no answer (``"none"``, its note
    quoting the triple it wrote): a chain with a missing fact is never answered with a name
    the model read from some other triple.
    """
    asked = query
    query = forward_chain(query, labels)
    if any(query.inverse):
        hop = query.inverse.index(True)
        return ModelAnswer(None, note=(
            f"the model reads triples forwards only; hop {hop + 1} asks "
            f"(?, {query.relations[hop]}, _) and this graph stores no inverse label for it"))
    missing = [r for r in query.relations if r not in labels.edges]
    if missing:
        return ModelAnswer(None, note=f"edge label {missing[0]!r} was not stored in memory")
    limit = runner.model.spec.walk_steps
    if limit is None or query.hops <= limit:
        reads = read_walk(runner, labels, query.subject, query.relations)
        how = ""
    else:
        reads = _read_hops(runner, labels, query)
        how = (f"answered hop by hop: {query.hops} one-hop queries from the stored memory (the "
               f"model was trained on walks of up to {limit} steps)")
    node, walk, prob = query.subject, [query.subject], 1.0
    for i, (read, relation) in enumerate(zip(reads, query.relations, strict=False)):
        if not read.completes(node, relation):
            said = f"the model finds no {relation!r} of {node}"
            detail = (f"at hop {i + 1} the model wrote {read.text()}, not a "
                      f"({node}, {relation}, _) fact")
            return ModelAnswer(Answer("none", note=said), None,
                               note="; ".join(filter(None, [detail, how])))
        node = read.target
        walk.append(f"-[{relation}]-> {node}")
        prob *= read.prob
    note = f"the model's walk: {' '.join(walk)}" if query.hops > 1 or asked != query else ""
    return ModelAnswer(Answer("node", (node,)), prob, note="; ".join(filter(None, [note, how])))


def _read_hops(runner: Runner, labels: LabelMap, query: MultiFactQuery) -> list[_Read]:
    """The chain as one one-hop query per relation, each from the stored memory, the next
    starting at the node the model's previous answer named; stops at a hop whose answer
    names no node (its read is the last)."""
    stored, node, reads = runner.state, query.subject, []
    for relation in query.relations:
        hop = Runner(runner.model, stored)
        read = read_walk(hop, labels, node, (relation,))[0]
        runner.absorb(hop)
        reads.append(read)
        if not read.completes(node, relation):
            break
        node = read.target
    return reads

