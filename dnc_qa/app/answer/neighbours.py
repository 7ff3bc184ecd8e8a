"""Neighbours questions ("which stations are next to X"): one one-hop traversal per label
leaving the node, each from the stored state."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dnc_qa.app.answer.runner import ModelAnswer, Runner
from dnc_qa.app.answer.traversal import answer_traversal
from dnc_qa.app.codec import LabelMap
from dnc_qa.app.exact_answers import Answer
from dnc_qa.app.queries import NeighboursQuery, Step, TraversalQuery

if TYPE_CHECKING:
    import networkx as nx

    from dnc_qa.app.engine import LoadedModel


def answer_neighbours(model: LoadedModel, state: Any, graph: nx.MultiDiGraph, labels: LabelMap,
                      query: NeighboursQuery) -> ModelAnswer:
    """One one-hop traversal per label leaving the node, each from the stored state."""
    out_labels = sorted({k for _, _, k in graph.out_edges(query.node, keys=True)})
    found: list[str] = []
    prob = 1.0
    record = Runner(model, state)
    for label in out_labels:
        runner = Runner(model, state)
        result = answer_traversal(runner, labels, TraversalQuery(query.node, (Step(label),)))
        if result.answer is not None:
            found.extend(result.answer.nodes[1:])
            prob *= result.confidence or 0.0
        record.absorb(runner, suffix=f" {label}")
    answer = Answer("nodes", tuple(sorted(set(found))))
    return ModelAnswer(answer, prob if out_labels else None, trace=record.trace(),
                       phases=record.phases)

