"""Traversal questions ("start at X, take the Red line 3 stops"): the paper's layout, query
``(start, e1, _)``, ``(_, e2, _)``..., then one answer step per hop (blank input, answer channel
on), each output a completed triple; walks longer than the model was trained on
(``walk_steps``) are asked hop by hop, each hop from the stored memory."""

from __future__ import annotations

from dnc_qa.app import codec
from dnc_qa.app.answer.runner import ModelAnswer, Runner, names_nothing
from dnc_qa.app.codec import LabelMap
from dnc_qa.app.exact_answers import Answer
from dnc_qa.app.queries import TraversalQuery


def answer_traversal(runner: Runner, labels: LabelMap, query: TraversalQuery) -> ModelAnswer:
    """The whole walk in one query (the paper's layout), or hop by hop when it is longer
    than the walks the model was trained on (``walk_steps``)."""
    limit = runner.model.spec.walk_steps
    if limit is not None and len(query.steps) > limit:
        return _traversal_by_hops(runner, labels, query)
    return _traversal_whole(runner, labels, query)


def _traversal_by_hops(runner: Runner, labels: LabelMap, query: TraversalQuery) -> ModelAnswer:
    """One one-hop query per step, each from the stored memory, the next starting where the
    model's previous answer ended."""
    stored = runner.state
    node, nodes, edges, prob = query.start, [query.start], [], 1.0
    n = len(query.steps)
    note = (f"answered hop by hop: {n} one-hop queries from the stored memory (the model was "
            f"trained on walks of up to {runner.model.spec.walk_steps} steps)")
    for step in query.steps:
        hop = Runner(runner.model, stored)
        result = _traversal_whole(hop, labels, TraversalQuery(node, (step,)))
        runner.absorb(hop)
        if result.answer is None:
            if len(nodes) == 1:
                return result
            note += f"; stopped at {node} ({result.note})"
            break
        node = result.answer.nodes[-1]
        nodes.append(node)
        edges.append(result.answer.labels[-1])
        prob *= result.confidence or 0.0
    return ModelAnswer(Answer("path", tuple(nodes), tuple(edges)), prob, note=note)


def _traversal_whole(runner: Runner, labels: LabelMap, query: TraversalQuery) -> ModelAnswer:
    try:
        edge_numbers = [labels.edges[s.label] for s in query.steps]
    except KeyError as exc:
        return ModelAnswer(None, note=f"edge label {exc.args[0]!r} was not stored in memory")
    q = [(labels.nodes[query.start], edge_numbers[0], None)]
    q += [(None, e, None) for e in edge_numbers[1:]]
    runner.run(runner.encode(q, phase=[True]), "query")
    n = len(query.steps)
    y = runner.run(runner.encode([(None, None, None)] * n, phase=[True], answer=[True] * n),
                   "answer")
    nodes, edges, prob = [query.start], [], 1.0
    for t in range(n):
        (_, e, dst), p = codec.decode_triple(y[t])
        node, edge = labels.node_name(dst), labels.edge_name(e)
        if node is None or edge is None:
            return names_nothing(dst if node is None else e, t + 1)
        nodes.append(node)
        edges.append(edge)
        prob *= p
    return ModelAnswer(Answer("path", tuple(nodes), tuple(edges)), prob)

