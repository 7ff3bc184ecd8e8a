"""Episodes for the paper's graph tasks: description, then query / planning / answer phases.

An episode is a sequence of ``T`` steps.  Each step's input is one encoded triple (92 wide,
see :mod:`dnc_qa.encoding.labels`) and its target one encoded triple (90 wide); ``mask`` marks
the answer steps, the only ones in the loss (``-sum_t A(t) sum_d log p``, A(t) = ``mask[t]``).

Layout (names are relabelled to random integer labels for every episode):

* **description**: every triple of the graph once, in random order; no targets.
* then for each query, a **query** phase, a **planning** phase of blank steps (default 10 for
  shortest path and inference; traversal has none in the paper, default 0) and an **answer**
  phase whose steps carry the "answer required" channel:

  ============== =================================== ====================== ==================
  task           query inputs                        answer inputs          answer targets
  ============== =================================== ====================== ==================
  traversal      ``(src, e1, _)``, ``(_, e2, _)``... blank                  each path triple
  shortest path  ``(src, _, dst)``                   previous action triple each path triple
  inference      ``(start, relation, _)``            blank                  ``(start, rel, end)``
  ============== =================================== ====================== ==================

For shortest path the previous action is the optimal one by default (teacher forcing; blank at
the first answer step); a caller mixing in the network's own actions (DAgger) passes them as
``ShortestPathQuery.previous``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, NamedTuple

import networkx as nx
import torch
from torch import Tensor

from dnc_qa.encoding.labels import (
    ANSWER_CHANNEL,
    INPUT_SIZE,
    OUTPUT_SIZE,
    PHASE_CHANNEL,
    LabelTriple,
    decode_labels,
    encode_triples,
)
from dnc_qa.encoding.relabel import Relabelling
from dnc_qa.errors import DncQaError
from dnc_qa.graphs.model import Triple, triples
from dnc_qa.graphs.rng import Seed, as_rng

PhaseKind = Literal["description", "query", "planning", "answer"]
Task = Literal["traversal", "shortest_path", "inference"]
DEFAULT_PLANNING_STEPS = 10
NameTriple = tuple[str | None, str | None, str | None]


class PhaseSpan(NamedTuple):
    """Steps ``start <= t < stop`` form one phase; ``query`` is its query's index (-1 for the
    description)."""

    kind: PhaseKind
    start: int
    stop: int
    query: int


class TraversalQuery(NamedTuple):
    """Start at ``start`` and follow ``edges`` (edge names) in order."""

    start: str
    edges: tuple[str, ...]


class ShortestPathQuery(NamedTuple):
    """A path to output (its first source and last target make the query).

    ``previous[i]`` is the input at answer step ``i`` (``None`` = blank); by default it is
    ``(None, path[0], ..., path[-2])`` (teacher forcing).
    """

    path: tuple[Triple, ...]
    previous: tuple[Triple | None, ...] | None = None


class InferenceQuery(NamedTuple):
    """``answer`` is ``start``'s ``relation`` (a relation name, e.g. ``"37"`` or
    ``"maternal great uncle"``)."""

    start: str
    relation: str
    answer: str


@dataclass(frozen=True, eq=False)
class Episode:
    """One encoded episode.

    Attributes:
        inputs: ``FloatTensor [T, 92]``.
        targets: ``FloatTensor [T, 90]`` (zeros off the answer steps).
        mask: ``BoolTensor [T]``: answer steps (the loss mask).
        phases: the phases in order.
        relabelling: the episode's name <-> label maps.
        answers: per query, the expected answer triples (names), one per answer step.
        task: which task built it.
    """

    inputs: Tensor
    targets: Tensor
    mask: Tensor
    phases: tuple[PhaseSpan, ...]
    relabelling: Relabelling
    answers: tuple[tuple[Triple, ...], ...]
    task: Task

    def __len__(self) -> int:
        return int(self.inputs.shape[0])

    def answer_steps(self, query: int) -> range:
        """The step indices of query ``query``'s answer phase."""
        span = next(p for p in self.phases if p.kind == "answer" and p.query == query)
        return range(span.start, span.stop)

    def decode_inputs(self) -> list[NameTriple]:
        """Every step's input triple as names (blank parts ``None``)."""
        return [self.relabelling.decode(tuple(row)) for row in decode_labels(
            self.inputs[:, :OUTPUT_SIZE]).tolist()]

    def decode_answers(self, outputs: Tensor) -> tuple[tuple[Triple | None, ...], ...]:
        """Per query, the triples read from ``outputs [T, 90]`` (logits or one-hot) at its
        answer steps; a label not in the episode decodes to ``None``."""
        labels = decode_labels(outputs, blank=False).tolist()
        return tuple(
            tuple(self.relabelling.decode_triple(tuple(labels[t])) for t in self.answer_steps(q))
            for q in range(len(self.answers))
        )

    def correct(self, outputs: Tensor) -> list[bool]:
        """Per query, whether every answer step decodes to the expected triple."""
        return [tuple(got) == want for got, want in
                zip(self.decode_answers(outputs), self.answers, strict=True)]


class _Writer:
    """Accumulates steps as label triples and flags, then encodes them in one pass."""

    def __init__(self, relabelling: Relabelling) -> None:
        self.r = relabelling
        self.inputs: list[LabelTriple] = []
        self.targets: list[LabelTriple] = []
        self.phase_flags: list[bool] = []
        self.mask: list[bool] = []
        self.phases: list[PhaseSpan] = []

    def phase(self, kind: PhaseKind, query: int, steps: Iterable[tuple[NameTriple | None,
                                                                     Triple | None]]) -> None:
        start = len(self.inputs)
        encode, inputs, targets = self.r.encode, self.inputs, self.targets
        for inp, target in steps:
            inputs.append(encode(*inp) if inp is not None else _BLANK)
            targets.append(encode(*target) if target is not None else _BLANK)
        added = len(inputs) - start
        if added:
            self.phase_flags += [kind != "description"] + [False] * (added - 1)
            self.mask += [kind == "answer"] * added
            self.phases.append(PhaseSpan(kind, start, len(inputs), query))

    def episode(self, answers: Sequence[Sequence[Triple]], task: Task) -> Episode:
        mask = torch.tensor(self.mask, dtype=torch.bool)
        inputs = torch.zeros(len(self.inputs), INPUT_SIZE)
        inputs[:, :OUTPUT_SIZE] = encode_triples(self.inputs)
        inputs[:, PHASE_CHANNEL] = torch.tensor(self.phase_flags, dtype=torch.float32)
        inputs[:, ANSWER_CHANNEL] = mask.float()
        return Episode(inputs, encode_triples(self.targets), mask, tuple(self.phases), self.r,
                       tuple(tuple(a) for a in answers), task)


_BLANK = LabelTriple(None, None, None)


def description(graph: nx.MultiDiGraph, seed: Seed = None) -> list[Triple]:
    """All triples of ``graph`` in random order."""
    items = list(triples(graph))
    order = as_rng(seed).permutation(len(items))
    return [items[int(i)] for i in order]


def traversal_path(graph: nx.MultiDiGraph, start: str, edges: Sequence[str]) -> tuple[Triple, ...]:
    """The triples visited following ``edges`` from ``start``; an edge that is missing or leads
    to several nodes is an error."""
    node, out = start, []
    for edge in edges:
        targets = [v for _, v, k in graph.out_edges(node, keys=True) if k == edge]
        if len(targets) != 1:
            what = "no" if not targets else "several"
            raise DncQaError(f"{what} edge {edge!r} leaves {node!r}; cannot traverse")
        out.append(Triple(node, edge, targets[0]))
        node = targets[0]
    return tuple(out)


def _relabelling(graph: nx.MultiDiGraph, extra_edges: Iterable[str], rng: object,
                 given: Relabelling | None,
                 fixed_edges: Mapping[str, int] | None = None) -> Relabelling:
    if given is not None:
        return given
    edges = [k for *_, k in graph.edges(keys=True)] + list(extra_edges)
    return Relabelling.random(graph.nodes, edges, rng, fixed_edges=fixed_edges)  # type: ignore[arg-type]


def traversal_episode(
    graph: nx.MultiDiGraph,
    queries: Sequence[TraversalQuery],
    seed: Seed = None,
    *,
    relabelling: Relabelling | None = None,
    planning_steps: int = 0,
) -> Episode:
    """Traversal: query ``(src, e1, _), (_, e2, _), ...``; answer each completed triple."""
    rng = as_rng(seed)
    w = _Writer(_relabelling(graph, (), rng, relabelling))
    w.phase("description", -1, ((t, None) for t in description(graph, rng)))
    answers = []
    for q, query in enumerate(queries):
        path = traversal_path(graph, query.start, query.edges)
        answers.append(path)
        w.phase("query", q, (((query.start if i == 0 else None, e, None), None)
                             for i, e in enumerate(query.edges)))
        w.phase("planning", q, ((None, None) for _ in range(planning_steps)))
        w.phase("answer", q, ((None, t) for t in path))
    return w.episode(answers, "traversal")


def shortest_path_episode(
    graph: nx.MultiDiGraph,
    queries: Sequence[ShortestPathQuery],
    seed: Seed = None,
    *,
    relabelling: Relabelling | None = None,
    planning_steps: int = DEFAULT_PLANNING_STEPS,
) -> Episode:
    """Shortest path: query ``(src, _, dst)``, planning, then answer the path triples with the
    previous action as input."""
    rng = as_rng(seed)
    w = _Writer(_relabelling(graph, (), rng, relabelling))
    w.phase("description", -1, ((t, None) for t in description(graph, rng)))
    for q, query in enumerate(queries):
        path = query.path
        if not path:
            raise DncQaError("a shortest-path query needs a path of at least one triple")
        prev = query.previous if query.previous is not None else (None, *path[:-1])
        if len(prev) != len(path):
            raise DncQaError("previous actions must match the path length")
        w.phase("query", q, [((path[0].source, None, path[-1].target), None)])
        w.phase("planning", q, ((None, None) for _ in range(planning_steps)))
        w.phase("answer", q, zip(prev, path, strict=True))
    return w.episode([q.path for q in queries], "shortest_path")


def integer_names(names: Iterable[str]) -> dict[str, int] | None:
    """``{name: int(name)}`` when every name is a decimal integer, else ``None``."""
    table = {}
    for n in names:
        if not n.isdigit():
            return None
        table[n] = int(n)
    return table


def inference_episode(
    graph: nx.MultiDiGraph,
    queries: Sequence[InferenceQuery],
    seed: Seed = None,
    *,
    relabelling: Relabelling | None = None,
    fixed_edges: Mapping[str, int] | None = None,
    planning_steps: int = DEFAULT_PLANNING_STEPS,
) -> Episode:
    """Inference: query ``(start, relation, _)``, planning, answer ``(start, relation, end)``.

    Edge and relation labels keep fixed meanings across episodes: ``fixed_edges`` maps edge and
    relation names to labels (edges 0-9, relations 10-409 in the paper); by default names that
    are decimal integers (as in :func:`dnc_qa.graphs.random_graphs.random_graph` with
    ``edge_labels=range(10)`` and :func:`dnc_qa.graphs.relations.paper_relations`) map to their
    value.  Only node labels are redrawn per episode.
    """
    rng = as_rng(seed)
    names = [k for *_, k in graph.edges(keys=True)] + [q.relation for q in queries]
    fixed = fixed_edges if fixed_edges is not None else integer_names(names)
    w = _Writer(_relabelling(graph, (q.relation for q in queries), rng, relabelling, fixed))
    w.phase("description", -1, ((t, None) for t in description(graph, rng)))
    answers = []
    for q, query in enumerate(queries):
        answer = Triple(query.start, query.relation, query.answer)
        answers.append((answer,))
        w.phase("query", q, [((query.start, query.relation, None), None)])
        w.phase("planning", q, ((None, None) for _ in range(planning_steps)))
        w.phase("answer", q, [(None, answer)])
    return w.episode(answers, "inference")


class Batch(NamedTuple):
    """Episodes padded to a common length ``T``.

    Attributes:
        inputs: ``[B, T, 92]``; targets: ``[B, T, 90]``.
        mask: ``BoolTensor [B, T]``: answer steps (loss mask; False on padding).
        valid: ``BoolTensor [B, T]``: real (non-padding) steps.
        lengths: ``LongTensor [B]``.
        episodes: the episodes, for decoding.
    """

    inputs: Tensor
    targets: Tensor
    mask: Tensor
    valid: Tensor
    lengths: Tensor
    episodes: tuple[Episode, ...]


def collate(episodes: Sequence[Episode]) -> Batch:
    """Pad episodes with zero steps at the end and stack them batch-first."""
    if not episodes:
        raise DncQaError("cannot collate an empty list of episodes")
    lengths = torch.tensor([len(e) for e in episodes], dtype=torch.long)
    t = int(lengths.max())
    b = len(episodes)
    inputs = torch.zeros(b, t, INPUT_SIZE)
    targets = torch.zeros(b, t, OUTPUT_SIZE)
    mask = torch.zeros(b, t, dtype=torch.bool)
    for i, e in enumerate(episodes):
        n = len(e)
        inputs[i, :n], targets[i, :n], mask[i, :n] = e.inputs, e.targets, e.mask
    valid = torch.arange(t)[None, :] < lengths[:, None]
    return Batch(inputs, targets, mask, valid, lengths, tuple(episodes))
