"""Shortest-path questions: query ``(source, _, target)``, the planning budget the model was
trained with, then answer steps whose input is the previous chosen triple; each step's output
is renormalised over the current node's outgoing triples.

The moves are decoded greedily (``beam = 1``: the most likely move each step) or by a beam
search over the model's own move probabilities (``beam = B``: the B most likely partial paths
are kept each step, and the answer is the most likely path that arrives), as sequence models'
outputs are decoded. Either way every move's probability is the model's."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dnc_qa.app import codec
from dnc_qa.app.answer.runner import ModelAnswer, Runner, plan
from dnc_qa.app.codec import LabelMap
from dnc_qa.app.exact_answers import Answer, as_count
from dnc_qa.app.queries import ShortestPathQuery

if TYPE_CHECKING:
    import networkx as nx

DEFAULT_BEAM = 1
"""Partial paths kept per step when none is given (1: greedy decoding, as the trainer's
evaluation and the paper decode)."""
ASK_BEAM = 3
"""Partial paths ``dncqa ask`` keeps per step (``--beam``)."""
MAX_BEAM = 16


@dataclass
class _Path:
    """A partial path of the search: the memories' states after its last move."""

    states: list[Any]
    nodes: list[str]
    edges: list[str] = field(default_factory=list)
    log_prob: float = 0.0
    end: str = ""  # "arrived", or why it stopped ("returns to X", "no way out"); "" going on

    @property
    def last_move(self) -> tuple[str, str, str] | None:
        if not self.edges:
            return None
        return (self.nodes[-2], self.edges[-1], self.nodes[-1])


def answer_shortest_path(runners: Sequence[Runner], graph: nx.MultiDiGraph,
                         labels: Sequence[LabelMap], query: ShortestPathQuery,
                         beam: int = DEFAULT_BEAM) -> ModelAnswer:
    """Answer steps until the target is reached, a node repeats, or a dead end.

    ``runners[i]`` steps a memory of the graph written under ``labels[i]`` (one memory, or
    several relabelled ones: :mod:`dnc_qa.app.answer.views`). Each step, every memory's
    output is renormalised over the current node's outgoing triples (in its own numbers),
    the memories' distributions are averaged, and the move taken is fed back to every
    memory as its next input. ``beam = 1`` takes the most likely move; ``beam = B`` keeps the
    B most likely partial paths (probability: the product of their moves') and answers with
    the most likely one that arrives (the search stops once no partial path is more likely).
    A ``count`` query is answered with the number of stops of that path
    (:func:`~dnc_qa.app.exact_answers.as_count`). The confidence is the product of the
    chosen moves' averaged probabilities. ``runners[0]`` records the memory activity of the
    answer (its moves replayed on the first memory).
    """
    if len(runners) != len(labels) or not runners:
        raise ValueError("one LabelMap per runner, at least one")
    if not 1 <= beam <= MAX_BEAM:
        raise ValueError(f"beam must be in 1..{MAX_BEAM}, not {beam}")
    for runner, numbers in zip(runners, labels, strict=True):
        plan(runner, (numbers.nodes[query.source], None, numbers.nodes[query.target]))
    model, edges_count = runners[0].model, runners[0].edges
    first = runners[0].state
    start = _Path([r.state for r in runners], [query.source],
                  end="arrived" if query.source == query.target else "")
    finished, alive = ([start], []) if start.end else ([], [start])
    for _ in range(graph.number_of_nodes()):
        if not alive:
            break
        grown: list[_Path] = []
        for path in alive:
            grown += _extend(path, model, edges_count, graph, labels, query.target)
        grown.sort(key=lambda p: -p.log_prob)  # stable: ties keep the moves' order
        kept = grown[:beam]
        finished += [p for p in kept if p.end]
        alive = [p for p in kept if not p.end]
        arrived = [p for p in finished if p.end == "arrived"]
        if arrived and (not alive or max(p.log_prob for p in arrived) >= alive[0].log_prob):
            break
    arrived = [p for p in finished if p.end == "arrived"]
    best = max(arrived or finished or alive, key=lambda p: p.log_prob)
    replay = Runner(model, first, edges_count)  # the answer's activity, on the first memory
    _replay(replay, labels[0], best)
    runners[0].absorb(replay)
    note = "" if best.end == "arrived" else f"the model's path {best.end}"
    if beam > 1:
        note = "; ".join(filter(None, [note, f"decoded by a beam search over the model's "
                                             f"moves (width {beam})"]))
    answer = Answer("path", tuple(best.nodes), tuple(best.edges), note=note)
    if query.count:  # "how many stops": the length of the model's path, when it arrives
        answer = as_count(answer, query.target)
    return ModelAnswer(answer, math.exp(best.log_prob), note=note)


def _extend(path: _Path, model: Any, edges_count: int, graph: nx.MultiDiGraph,
            labels: Sequence[LabelMap], target: str) -> list[_Path]:
    """``path`` one move further, one child per way out of its last station."""
    node = path.nodes[-1]
    options = sorted(graph.out_edges(node, keys=True), key=lambda e: (e[2], e[1]))
    states, outputs = [], []
    for state, numbers in zip(path.states, labels, strict=True):
        runner = Runner(model, state, edges_count)
        outputs.append(runner.run(runner.encode([_numbered(path.last_move, numbers)],
                                                phase=[not path.edges], answer=[True]),
                                  "answer")[0])
        states.append(runner.state)
    if not options:
        return [_Path(states, path.nodes, path.edges, path.log_prob,
                      f"reaches {node}, which has no way out")]
    mean = [0.0] * len(options)
    for y, numbers in zip(outputs, labels, strict=True):
        for i, p in enumerate(_move_probs(y, numbers, options)):
            mean[i] += p / len(labels)
    children = []
    for (_, v, k), p in zip(options, mean, strict=True):
        end = ("arrived" if v == target else
               f"returns to {v}; stopped there" if v in path.nodes else "")
        children.append(_Path(states, path.nodes + [v], path.edges + [k],
                              path.log_prob + math.log(max(p, 1e-300)), end))
    return children


def _replay(runner: Runner, numbers: LabelMap, path: _Path) -> None:
    """Run ``path``'s moves through ``runner`` (for the record of memory activity)."""
    moves = [None] + [(u, k, v) for u, k, v in zip(path.nodes, path.edges, path.nodes[1:],
                                                   strict=False)]
    for i, move in enumerate(moves[:max(1, len(path.edges))]):
        runner.run(runner.encode([_numbered(move, numbers)], phase=[i == 0], answer=[True]),
                   "answer")


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
