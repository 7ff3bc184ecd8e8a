"""A model's answer to a question about a stored graph: :func:`ask_model` is the one entry.

It runs the query phase from the stored description-phase state (see
:mod:`dnc_qa.app.engine`) and decodes the answer, in the paper's episode layout
(:mod:`dnc_qa.app.codec` encoding). One module per question type:

* :mod:`~dnc_qa.app.answer.traversal`: walks along edge labels, in one query or hop by hop;
* :mod:`~dnc_qa.app.answer.shortest_path`: query, planning steps, then one answer step per
  edge, each renormalised over the current node's outgoing triples;
* :mod:`~dnc_qa.app.answer.relations`: family relations (an inference model's one answer
  step, or a traversal model's walks over edge labels);
* :mod:`~dnc_qa.app.answer.facts`: facts and chains of facts, asked of a traversal model as
  one walk over their relation labels (an inference model looks a forward fact up);
* :mod:`~dnc_qa.app.answer.backward`: facts asked backwards where the graph stores no
  inverse label ("who lives in X"): every node asked its forward fact;
* :mod:`~dnc_qa.app.answer.neighbours`: one one-hop traversal per label leaving the node.

:mod:`~dnc_qa.app.answer.runner` steps the network and records its memory activity.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import nullcontext
from typing import TYPE_CHECKING, Any

from dnc_qa.app.answer.backward import answer_backward_chain
from dnc_qa.app.answer.facts import answer_fact, answer_fact_chain, forward_chain
from dnc_qa.app.answer.neighbours import answer_neighbours
from dnc_qa.app.answer.relations import answer_relation, answer_relation_walk
from dnc_qa.app.answer.runner import ModelAnswer, Runner
from dnc_qa.app.answer.shortest_path import answer_shortest_path
from dnc_qa.app.answer.traversal import answer_traversal
from dnc_qa.app.codec import LabelMap
from dnc_qa.app.engine import MEMORY_SLACK, tasks_for, threads_for
from dnc_qa.app.queries import (
    MultiFactQuery,
    NeighboursQuery,
    Query,
    RelationQuery,
    ShortestPathQuery,
    TraversalQuery,
)

if TYPE_CHECKING:
    import networkx as nx

    from dnc_qa.app.engine import LoadedModel

__all__ = ["ModelAnswer", "ask_model"]


def ask_model(
    model: LoadedModel | None,
    state: Any,
    graph: nx.MultiDiGraph,
    labels: LabelMap,
    query: Query,
    more: Sequence[tuple[Any, LabelMap]] = (),
    beam: int = 1,
) -> ModelAnswer:
    """Run ``query`` through ``model`` from the stored ``state`` and decode its answer.

    ``more``: further memories of the same graph, ``(state, numbers)`` each, that a
    shortest-path answer steps in lockstep with the first (their move distributions
    averaged, :func:`~dnc_qa.app.answer.shortest_path.answer_shortest_path`); other
    questions use the first memory only. ``beam``: a shortest path's decoding (1: greedy;
    see :func:`~dnc_qa.app.answer.shortest_path.answer_shortest_path`).
    """
    if model is None:
        return ModelAnswer(None, note="no model: this graph was ingested with --model none")
    cells = graph.number_of_edges() + MEMORY_SLACK
    with threads_for(cells) if model.backend == "torch" else nullcontext():
        return _dispatch(model, state, graph, labels, query, more, beam)


def _dispatch(
    model: LoadedModel,
    state: Any,
    graph: nx.MultiDiGraph,
    labels: LabelMap,
    query: Query,
    more: Sequence[tuple[Any, LabelMap]] = (),
    beam: int = 1,
) -> ModelAnswer:
    """The question type's own module answers; a model trained for another task does not."""
    task = model.spec.task
    runner = Runner(model, state, graph.number_of_edges())
    wants = tasks_for(query)
    if task != "untrained" and task not in wants:
        return ModelAnswer(None, note=(
            f"model {model.ref!r} was trained for {task.replace('_', ' ')}, "
            f"not for {query.type.replace('_', ' ')} questions"))
    if isinstance(query, TraversalQuery):
        result = answer_traversal(runner, labels, query)
    elif isinstance(query, ShortestPathQuery):
        extra = [Runner(model, s, graph.number_of_edges()) for s, _ in more]
        result = answer_shortest_path([runner, *extra], graph,
                                      [labels, *(numbers for _, numbers in more)], query, beam)
    elif isinstance(query, RelationQuery) and task == "traversal":
        result = answer_relation_walk(runner, labels, query, graph)
    elif isinstance(query, RelationQuery):
        result = answer_relation(runner, labels, query)
    elif isinstance(query, NeighboursQuery):
        result = answer_neighbours(model, state, graph, labels, query)
    else:  # a fact or a chain of facts
        forward = forward_chain(query.as_chain(), labels)
        if task != "inference" and any(forward.inverse):  # a hop with no inverse label
            result = answer_backward_chain(runner, labels, forward)
        elif isinstance(query, MultiFactQuery):
            result = answer_fact_chain(runner, labels, query)
        else:
            result = answer_fact(runner, labels, query)
    if not model.trained:
        result.note = "; ".join(filter(None, ["untrained model: its answer is noise",
                                              result.note]))
    if not result.trace:
        result.trace, result.phases = runner.trace(), runner.phases
    return result

