"""Several memories of one graph, one vote each: a test-time ensemble over relabellings.

A graph model never sees names, only the random numbers an episode gives the nodes and edge
labels (:mod:`dnc_qa.encoding.relabel`), and it is trained on fresh numbers every episode. Its
mistakes on a stored graph therefore depend on which numbers that graph happened to get: a
hop it gets wrong under one numbering it usually gets right under another. :func:`ask_views`
asks the question of ``views`` memories of the same graph, the stored one and ``views - 1``
written now under other numbers (and another triple order), and returns the answer most of
them give. A shortest path, whose whole answers rarely coincide, is instead stepped in all
memories at once, each move the one their averaged move distributions favour
(:func:`ask_in_views`). Every vote and every move is the model's own; nothing is computed
around it.

The answer's confidence is the sum of its voters' confidences over ``views``: one memory
alone gives its own confidence, a unanimous vote their mean, a split vote less (an answer
that carries no confidence, such as "the model finds no such fact", keeps none).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from dnc_qa.app import codec
from dnc_qa.app.answer import ask_model
from dnc_qa.app.answer.runner import ModelAnswer
from dnc_qa.app.engine import describe_now, label_plan, tasks_for
from dnc_qa.app.exact_answers import Answer
from dnc_qa.app.queries import Query, ShortestPathQuery

if TYPE_CHECKING:
    import networkx as nx

    from dnc_qa.app.codec import LabelMap
    from dnc_qa.app.engine import LoadedModel

DEFAULT_VIEWS = 5
"""Memories ``dncqa ask`` consults per question by default (``--views``)."""
MAX_VIEWS = 32
SEED_STRIDE = 7919
"""View ``v`` numbers the graph with seed ``labels.seed + v * SEED_STRIDE``: the same
numbers every time the question is asked, different ones per view."""

Ask = Callable[[Any, "LabelMap"], ModelAnswer]
"""Asks the question of one memory: ``(state, labels) -> answer``."""


def view_labels(model: LoadedModel, graph: nx.MultiDiGraph, labels: LabelMap,
                view: int) -> LabelMap:
    """The numbers of view ``view``: the stored ones for view 0, else fresh ones drawn from
    the ranges the model was trained with (fixed edge numbers stay fixed)."""
    if view == 0:
        return labels
    node_range, edge_range, fixed = label_plan(model)
    return codec.assign_labels(graph, labels.seed + view * SEED_STRIDE, node_range, edge_range,
                               fixed)


def answer_key(answer: Answer) -> tuple[Any, ...]:
    """What two answers must share to count as the same vote."""
    return (answer.kind, answer.nodes, answer.labels)


def vote(results: list[ModelAnswer]) -> ModelAnswer:
    """The answer most of ``results`` give (ties: the larger summed confidence, then the
    earlier view), with confidence ``sum of its voters' confidences / len(results)``. Lists
    (answers of kind ``"nodes"``) are voted member by member (:func:`_vote_members`).

    Views without an answer count in the denominator but vote for nothing; when none
    answered, the first view's result is returned as it is.
    """
    if not results:
        raise ValueError("vote needs at least one result")
    answered = [r for r in results if r.answer is not None]
    if not answered or len(results) == 1:
        return results[0]
    if any(r.answer.kind == "nodes" for r in answered):  # type: ignore[union-attr]
        return _vote_members(results, answered)
    groups: dict[tuple[Any, ...], list[ModelAnswer]] = {}
    for r in answered:
        groups.setdefault(answer_key(r.answer), []).append(r)  # type: ignore[arg-type]

    def strength(key: tuple[Any, ...]) -> tuple[int, float]:
        return len(groups[key]), sum(r.confidence or 0.0 for r in groups[key])

    best = max(groups, key=strength)  # max keeps the first of equals: the earlier view
    voters = groups[best]
    chosen = voters[0]
    known = [r.confidence for r in voters if r.confidence is not None]
    confidence = sum(known) / len(results) if known else None  # "none" answers carry none
    said = f"{len(voters)} of {len(results)} relabelled memories gave this answer"
    note = "; ".join(filter(None, [chosen.note, said]))
    return ModelAnswer(chosen.answer, confidence, note, chosen.trace, chosen.phases,
                       votes=(len(voters), len(results)))


def relabelled_memories(model: LoadedModel, graph: nx.MultiDiGraph, labels: LabelMap,
                        views: int) -> list[tuple[Any, LabelMap]]:
    """Views ``1..views-1``: the graph written now into fresh memories of ``model``, each
    under its :func:`view_labels` numbers (and its own triple order)."""
    out = []
    for view in range(1, views):
        numbers = view_labels(model, graph, labels, view)
        out.append((describe_now(model, graph, numbers, seed=view), numbers))
    return out


def ask_in_views(model: LoadedModel, graph: nx.MultiDiGraph, labels: LabelMap, state: Any,
                 query: Query, views: int = DEFAULT_VIEWS, beam: int = 1) -> ModelAnswer:
    """``query`` asked of ``views`` memories of the graph: a shortest path steps them all
    in lockstep, each move scored by their averaged distributions (decoded with ``beam``);
    any other question is asked of each and :func:`vote` picks the answer."""
    if not 1 <= views <= MAX_VIEWS:
        raise ValueError(f"views must be in 1..{MAX_VIEWS}, not {views}")
    fits = model.spec.task in ("untrained", *tasks_for(query))
    if isinstance(query, ShortestPathQuery) and fits:
        out = ask_model(model, state, graph, labels, query,
                        relabelled_memories(model, graph, labels, views), beam)
        if views == 1:
            return out
        said = f"each move averaged over {views} relabelled memories"
        out.note = "; ".join(filter(None, [out.note, said]))
        return out
    return ask_views(model, graph, labels, state,
                     lambda s, numbers: ask_model(model, s, graph, numbers, query), views)


def _members(answer: Answer) -> tuple[str, ...]:
    return answer.nodes if answer.kind in ("node", "nodes") else ()


def _vote_members(results: list[ModelAnswer], answered: list[ModelAnswer]) -> ModelAnswer:
    """Lists of people or stations: each member is in the answer when more than half of
    the memories that answered name it. The confidence is how decisive the member votes
    were (1 when every answering memory named the same list; a member named by 3 of 5 adds
    0.6) times the share of memories that answered: an agreement measure, as the members'
    own confidences (the least over many walks) say little about a list."""
    k = len(answered)
    counts: dict[str, int] = {}
    for r in answered:
        for node in dict.fromkeys(_members(r.answer)):  # type: ignore[arg-type]
            counts[node] = counts.get(node, 0) + 1
    members = tuple(sorted(n for n, c in counts.items() if 2 * c > k))
    decisive = (sum(max(c, k - c) for c in counts.values()) / (k * len(counts))
                if counts else 1.0)
    confidence = decisive * k / len(results)
    same = [r for r in answered
            if tuple(sorted(_members(r.answer))) == members]  # type: ignore[arg-type]
    chosen = same[0] if same else answered[0]
    answer = Answer("nodes", members) if members else Answer("none", ())
    said = (f"each listed by more than half of the {k} of {len(results)} relabelled memories "
            f"that answered ({len(same)} gave exactly this list)")
    note = "; ".join(filter(None, [chosen.note if same else "", said]))
    return ModelAnswer(answer, confidence, note, chosen.trace, chosen.phases,
                       votes=(len(same), len(results)))


def ask_views(model: LoadedModel, graph: nx.MultiDiGraph, labels: LabelMap, state: Any,
              ask: Ask, views: int = DEFAULT_VIEWS) -> ModelAnswer:
    """Ask ``ask`` of ``views`` memories of ``graph`` and :func:`vote`.

    View 0 is ``state`` (written under ``labels``); each further view writes the graph into
    a fresh memory of ``model`` under :func:`view_labels` numbers. When view 0 could not be
    asked at all (no answer and no model steps run: a model trained for another task, a
    label missing from memory), that is the answer.
    """
    if not 1 <= views <= MAX_VIEWS:
        raise ValueError(f"views must be in 1..{MAX_VIEWS}, not {views}")
    results = [ask(state, labels)]
    if results[0].answer is None and not results[0].trace:
        return results[0]  # the question could not be put to the model: no view can
    for s, numbers in relabelled_memories(model, graph, labels, views):
        results.append(ask(s, numbers))
    return vote(results)
