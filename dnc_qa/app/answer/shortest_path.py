"""Shortest-path questions: query ``(source, _, target)``, the planning budget the model was
trained with, then answer steps whose input is the previous chosen triple; each step's output
is renormalised over the current node's outgoing triples."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from dnc_qa.app import codec
from dnc_qa.app.answer.runner import ModelAnswer, Runner, plan
from dnc_qa.app.codec import LabelMap
from dnc_qa.app.exact_answers import Answer, as_count
from dnc_qa.app.queries import ShortestPathQuery

if TYPE_CHECKING:
    import networkx as nx


def answer_shortest_path(runner: Runner, graph: nx.MultiDiGraph, labels: LabelMap,
                         query: ShortestPathQuery) -> ModelAnswer:
    """Answer steps until the target is reached, a node repeats, or a dead end.

    Each step's output is renormalised over the current node's outgoing triples and the best
    one is taken; its triple is the next step's input. A ``count`` query is answered with
    the number of stops of that path (:func:`~dnc_qa.app.exact_answers.as_count`).
    """
    plan(runner, (labels.nodes[query.source], None, labels.nodes[query.target]))
    node, nodes, edges, log_conf = query.source, [query.source], [], 0.0
    previous: tuple[codec.Slot, codec.Slot, codec.Slot] = (None, None, None)
    note = ""
    while node != query.target:
        y = runner.run(runner.encode([previous], phase=[not edges], answer=[True]),
                       "answer")[0]
        options = sorted(graph.out_edges(node, keys=True), key=lambda e: (e[2], e[1]))
        if not options:
            note = f"the model's path reaches {node}, which has no way out"
            break
        scores = [codec.triple_log_prob(y, (labels.nodes[u], labels.edges[k], labels.nodes[v]))
                  for u, v, k in options]
        top = max(scores)
        norm = top + math.log(sum(math.exp(s - top) for s in scores))
        best = scores.index(top)
        u, v, k = options[best]
        log_conf += scores[best] - norm
        previous = (labels.nodes[u], labels.edges[k], labels.nodes[v])
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

