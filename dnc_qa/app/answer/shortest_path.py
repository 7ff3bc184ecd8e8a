"""Shortest-path questions: query ``(source, _, target)``, the planning budget the model was
trained with, then answer steps whose input is the previous chosen triple; each step's output
is renormalised over the current node's outgoing triples."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from dnc_qa.app import codec
from dnc_qa.app.answer.runner import ModelAnswer, Runner, plan
from dnc_qa.app.codec import LabelMap
from dnc_qa.app.exact_answers import Answer, as_count
from dnc_qa.app.queries import ShortestPathQuery

if TYPE_CHECKING:
    import networkx as nx


def answer_shortest_path(runners: Sequence[Runner], graph: nx.MultiDiGraph,
                         labels: Sequence[LabelMap], query: ShortestPathQuery) -> ModelAnswer:
    """Answer steps until the target is reached, a node repeats, or a dead end.

    ``runners[i]`` steps a memory of the graph written under ``labels[i]`` (one memory, or
    several relabelled ones: :mod:`dnc_qa.app.answer.views`). Each step, every memory's
    output is renormalised over the current node's outgoing triples (in its own numbers),
    the memories' distributions are averaged and the most likely move is taken; that move is
    every memory's next input. A ``count`` query is answered with the number of stops of
    that path (:func:`~dnc_qa.app.exact_answers.as_count`). The confidence is the product of
    the chosen moves' averaged probabilities.
    """
    if len(runners) != len(labels) or not runners:
        raise ValueError("one LabelMap per runner, at least one")
    for runner, numbers in zip(runners, labels, strict=True):
        plan(runner, (numbers.nodes[query.source], None, numbers.nodes[query.target]))
    node, nodes, edges, log_conf = query.source, [query.source], [], 0.0
    previous: tuple[str, str, str] | None = None
    note = ""
    while node != query.target:
        options = sorted(graph.out_edges(node, keys=True), key=lambda e: (e[2], e[1]))
        outputs = [runner.run(runner.encode([_numbered(previous, numbers)], phase=[not edges],
                                            answer=[True]), "answer")[0]
                   for runner, numbers in zip(runners, labels, strict=True)]
        if not options:
            note = f"the model's path reaches {node}, which has no way out"
            break
        mean = [0.0] * len(options)
        for y, numbers in zip(outputs, labels, strict=True):
            for i, p in enumerate(_move_probs(y, numbers, options)):
                mean[i] += p / len(runners)
        best = max(range(len(options)), key=mean.__getitem__)
        u, v, k = options[best]
        log_conf += math.log(max(mean[best], 1e-300))
        previous = (u, k, v)
        node = v
        edges.append(k)
        if v in nodes:
            nodes.append(v)
            note = f"the model's path returns to {v}; stopped there"
            break
        nodes.append(v)
    answer = Answer("path", tuple(nodes), tuple(edges), note=note)
    if query.count:  # "how many stops": the length of the model's path, when it arrives
        answer = as_count(answer, query.target)
    return ModelAnswer(answer, math.exp(log_conf), note=note)


def _numbered(move: tuple[str, str, str] | None, numbers: LabelMap
              ) -> tuple[codec.Slot, codec.Slot, codec.Slot]:
    """The previous move as one memory's numbers (a blank row before the first move)."""
    if move is None:
        return (None, None, None)
    u, k, v = move
    return (numbers.nodes[u], numbers.edges[k], numbers.nodes[v])


def _move_probs(y: object, numbers: LabelMap, options: list[tuple[str, str, str]]
                ) -> list[float]:
    """The output ``y`` renormalised over ``options`` (``(u, v, label)`` edges)."""
    scores = [codec.triple_log_prob(y, (numbers.nodes[u], numbers.edges[k], numbers.nodes[v]))
              for u, v, k in options]
    top = max(scores)
    weights = [math.exp(s - top) for s in scores]
    total = sum(weights)
    return [w / total for w in weights]
