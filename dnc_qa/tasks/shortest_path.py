"""Shortest path (DNC paper) with DAgger mixing and outputs renormalised over legal moves.

Episode: a random graph of the lesson's size, its triples in random order, the query
``(src, _, dst)`` for a pair whose distance is in the lesson's range, 10 planning steps, then
the answer phase, run step by step with the model in the loop:

* the input at answer step ``k`` is the previous action (blank at ``k = 0``) with the
  answer channel on;
* the output is read as a distribution over the *current node's outgoing triples* only
  (:func:`dnc_qa.encoding.candidate_scores`, batched); the loss is ``-log`` of the
  probability of the optimal moves (those that reduce the distance to ``dst`` by one);
* the next input is an optimal move with probability ``beta`` (0.8, the paper's DAgger
  mixing) and the network's own most likely move otherwise; the current node follows the
  chosen move. Evaluation uses ``beta = 0`` (the network's own moves only).

An episode is right when the network's own path reaches ``dst`` in the minimal number of
steps (every step optimal). The model acts inside the episode, so this task does not use the
padded :class:`~dnc_qa.tasks.base.Batch` path: the trainer calls
:meth:`ShortestPathTask.rollout` instead of ``sample``/``loss``/``score``. A rollout runs its
whole batch at once (:meth:`ShortestPathTask.run`): the prefixes as one pass per prefix
length, then one batched step per answer step; each episode sees exactly the steps and makes
exactly the choices it would on its own (tested).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import NamedTuple

import networkx as nx
import numpy as np
import torch
from torch import Tensor, nn

from dnc_qa.encoding import (
    ANSWER_CHANNEL,
    INPUT_SIZE,
    OUTPUT_SIZE,
    PHASE_CHANNEL,
    ShortestPathQuery,
    shortest_path_episode,
)
from dnc_qa.encoding import Episode as GraphEpisode
from dnc_qa.encoding.episodes import DEFAULT_PLANNING_STEPS
from dnc_qa.encoding.labels import encode_triples
from dnc_qa.encoding.readout import digit_log_probs
from dnc_qa.errors import DncQaError
from dnc_qa.graphs.lesson_tables import Lesson
from dnc_qa.graphs.model import Triple
from dnc_qa.graphs.random_graphs import lesson_graph
from dnc_qa.graphs.transit_generator import lesson_map
from dnc_qa.models.state import index_rows
from dnc_qa.models.trimmed import run_by_length
from dnc_qa.tasks.base import Batch, MetricCounts
from dnc_qa.tasks.graph_base import MAX_TRIES, GraphTask, episode_rng, planning_budget

BETA = 0.8
GRAPH_KINDS = ("random", "transit")
"""The graphs shortest-path episodes are drawn on: the paper's random graphs, transit maps."""


def check_graphs(value: str) -> str:
    """``value`` when it is one of :data:`GRAPH_KINDS`, else a one-line :class:`DncQaError`
    naming the choices (the ``--graphs`` option of ``train`` and ``eval``)."""
    if value not in GRAPH_KINDS:
        raise DncQaError(f"unknown --graphs {value!r}; choose {' or '.join(GRAPH_KINDS)}")
    return value


def out_triples(graph: nx.MultiDiGraph, node: str) -> list[Triple]:
    """``node``'s outgoing triples in a fixed order."""
    return sorted(Triple(u, k, v) for u, v, k in graph.out_edges(node, keys=True))


def path_triples(graph: nx.MultiDiGraph, nodes: list[str]) -> tuple[Triple, ...]:
    """The triples along a node path (the smallest edge label between consecutive nodes)."""
    return tuple(
        min(Triple(u, k, v) for k in graph[u][v]) for u, v in zip(nodes, nodes[1:], strict=False)
    )


def hop_distances(graph: nx.MultiDiGraph) -> tuple[list[str], np.ndarray]:
    """The graph's nodes and ``D [n, n]``: ``D[i, j]`` the fewest edges from node ``i`` to
    node ``j`` (-1 when unreachable), by breadth-first search on every row at once."""
    nodes = list(graph.nodes)
    index = {v: i for i, v in enumerate(nodes)}
    n = len(nodes)
    adjacent = np.zeros((n, n), dtype=np.float32)  # products count paths: exact below 2^24
    for u, v in graph.edges():
        adjacent[index[u], index[v]] = 1.0
    distance = np.full((n, n), -1, dtype=np.int64)
    frontier = np.eye(n, dtype=bool)
    seen = frontier.copy()
    d = 0
    while frontier.any():
        distance[frontier] = d
        frontier = (frontier.astype(np.float32) @ adjacent > 0) & ~seen
        seen |= frontier
        d += 1
    return nodes, distance


def pairs_at_distance(graph: nx.MultiDiGraph, lo: int, hi: int) -> list[tuple[str, str]]:
    """Every ``(source, target)`` whose shortest path has ``lo..hi`` edges, sorted."""
    nodes, distance = hop_distances(graph)
    rows, cols = np.nonzero((distance >= lo) & (distance <= hi))
    return sorted((nodes[i], nodes[j]) for i, j in zip(rows.tolist(), cols.tolist(), strict=True))


class Moves(NamedTuple):
    """A node's outgoing triples (the legal moves), encoded, and which are optimal."""

    triples: list[Triple]
    encoded: Tensor  # [K, 90]
    good: Tensor  # [K] bool: the move reduces the distance to the goal by one


class PathProblem:
    """One episode's graph, query and distances to the goal."""

    def __init__(self, graph: nx.MultiDiGraph, source: str, goal: str, episode: GraphEpisode):
        self.graph = graph
        self.source = source
        self.goal = goal
        self.episode = episode
        self.distance = nx.single_target_shortest_path_length(graph, goal)
        span = next(p for p in episode.phases if p.kind == "answer")
        self.prefix = episode.inputs[: span.start]  # description, query, planning
        self._moves: dict[str, Moves] = {}

    @property
    def best(self) -> int:
        """The length of a shortest path from the source to the goal."""
        return int(self.distance[self.source])

    def optimal(self, node: str, triples: list[Triple] | None = None) -> list[bool]:
        """For each of ``node``'s outgoing triples (``triples``, when the caller has them),
        whether it is a shortest-path move."""
        d = self.distance.get(node)
        triples = out_triples(self.graph, node) if triples is None else triples
        return [d is not None and self.distance.get(t.target, -1) == d - 1 for t in triples]

    def moves(self, node: str) -> Moves:
        """``node``'s legal moves (cached per node)."""
        if node not in self._moves:
            triples = out_triples(self.graph, node)
            relabelling = self.episode.relabelling
            encoded = encode_triples([relabelling.encode(*t) for t in triples])  # [K, 90]
            self._moves[node] = Moves(triples, encoded,
                                      torch.tensor(self.optimal(node, triples), dtype=torch.bool))
        return self._moves[node]


class PathOutcome(NamedTuple):
    """How one rolled-out episode went.

    Attributes:
        distance: the shortest-path length from source to goal.
        steps: moves the network made (at most ``distance + slack``).
        right: how many of them were optimal (judged by the network's own choice).
        solved: the network's own path reached the goal in ``distance`` moves.
        path: the nodes the fed-back moves visited, source first.
    """

    distance: int
    steps: int
    right: int
    solved: bool
    path: tuple[str, ...]

    def counts(self, train: bool) -> MetricCounts:
        """Metric counts; in training (DAgger inputs) an episode counts as right when every
        choice the network made was optimal."""
        correct = int(self.solved) if not train else int(self.steps > 0 and
                                                          self.right == self.steps)
        return MetricCounts(episodes=1, correct_episodes=correct, answer_steps=self.steps,
                            correct_steps=self.right, bit_errors=self.steps - self.right)


class _Walk:
    """The answer phase of one episode in a batched rollout."""

    def __init__(self, problem: PathProblem, rng: np.random.Generator) -> None:
        self.problem = problem
        self.rng = rng
        self.node = problem.source
        self.previous: Triple | None = None
        self.previous_row: Tensor | None = None  # the previous move, encoded
        self.steps = self.right = 0
        self.path = [problem.source]

    def next_input(self) -> Tensor:
        """The input row of the next answer step: the previous move, answer channel on."""
        row = torch.zeros(INPUT_SIZE)
        row[ANSWER_CHANNEL] = 1.0
        row[PHASE_CHANNEL] = float(self.steps == 0)
        if self.previous_row is not None:
            row[:OUTPUT_SIZE] = self.previous_row
        return row

    def moves(self) -> Moves:
        return self.problem.moves(self.node)

    def advance(self, moves: Moves, choice: int, choice_good: bool, train: bool,
                beta: float, slack: int) -> bool:
        """Take a step after the network chose ``moves.triples[choice]``: feed back an
        optimal move with probability ``beta`` in training (DAgger), else the choice.
        Returns whether the episode goes on."""
        if not moves.triples:
            return False
        self.steps += 1
        self.right += int(choice_good)
        if train and bool(moves.good.any()) and self.rng.random() < beta:
            options = [i for i, g in enumerate(moves.good.tolist()) if g]
            choice = options[int(self.rng.integers(len(options)))]
        self.previous = moves.triples[choice]
        self.previous_row = moves.encoded[choice]
        self.node = self.previous.target
        self.path.append(self.node)
        return self.node != self.problem.goal and self.steps < self.problem.best + slack

    def outcome(self) -> PathOutcome:
        best = self.problem.best
        solved = self.node == self.problem.goal and self.steps == best
        return PathOutcome(best, self.steps, self.right, solved, tuple(self.path))


def run_prefixes(model: nn.Module, initial_state, prefixes: list[Tensor], cells: int | None,
                 device: torch.device, dtype: torch.dtype) -> object:
    """Run each prefix ``[T_i, input]`` through ``model`` from a fresh state: the rows'
    states after their own prefix, in the order of ``prefixes``.

    The prefixes run as one batch cut at each prefix length
    (:func:`~dnc_qa.models.trimmed.run_by_length`): each row sees exactly its own steps, and
    the steps rows share run as one batched pass of the fast sequence path (one pass per
    distinct length, instead of one pass per row when every prefix has its own length).
    ``initial_state(n, dtype=, device=, num_cells=)`` makes the fresh states (the network's
    ``initial_state``).
    """
    lengths = [p.shape[0] for p in prefixes]
    x = torch.zeros(len(prefixes), max(lengths), prefixes[0].shape[-1], dtype=dtype,
                    device=device)
    for row, p in enumerate(prefixes):
        x[row, : lengths[row]] = p.to(device, dtype)
    state = initial_state(len(prefixes), dtype=dtype, device=device, num_cells=cells)
    return run_by_length(model, x, lengths, state, final_states=True)[1]


def _candidate_log_probs(logits: Tensor, candidates: Tensor, legal: Tensor) -> Tensor:
    """Batched :func:`~dnc_qa.encoding.candidate_scores`: ``logits [A, 90]``, one-hot
    ``candidates [A, K, 90]`` (padded), ``legal [A, K]`` -> ``[A, K]`` log-probabilities
    renormalised over each row's legal candidates (``-inf`` on padding)."""
    logp = digit_log_probs(logits).flatten(1)  # [A, 90]
    scores = torch.einsum("akd,ad->ak", candidates, logp)
    return torch.log_softmax(scores.masked_fill(~legal, float("-inf")), dim=-1)


@dataclass(frozen=True)
class ShortestPathTask(GraphTask):
    """Shortest path at ``lesson`` (``None``: the final lesson, distances 2-5, 20-25 nodes).

    Args:
        beta: probability of feeding the optimal move rather than the network's (training).
        slack: a rolled-out answer stops after ``distance + slack`` moves at the latest.
        fit_cells: give a memory network at least as many cells as the episode has steps.
        planning_steps: blank steps between the query and the answer (the paper's 10) ...
        planning_per_edge: ... plus this many per triple of the graph, rounded up.
        bridge: warm-up lessons also ask for paths of length 1.
        ponder_steps: extra steps on each answer step's input before the move is read out
            (the output of the last of the ``1 + ponder_steps`` steps chooses the move).
        graphs: ``"random"``, the paper's random graphs and lessons, or ``"transit"``:
            generated transit maps (edge labels ``"<line> <direction>"``, as ``dncqa ingest``
            labels maps) with the ``shortest_path_transit`` lessons (not in the paper).
    """

    lesson: Lesson | None = None
    beta: float = BETA
    slack: int = 2
    fit_cells: bool = False
    planning_steps: int = DEFAULT_PLANNING_STEPS
    planning_per_edge: float = 0.0
    bridge: bool = False
    ponder_steps: int = 0
    graphs: str = "random"
    name: str = "shortest_path"

    def __post_init__(self) -> None:
        if self.graphs not in GRAPH_KINDS:
            raise DncQaError(f"unknown graphs {self.graphs!r}; choose {' or '.join(GRAPH_KINDS)}")

    @property
    def curriculum(self) -> str:
        return "shortest_path_transit" if self.graphs == "transit" else self.name

    def with_lesson(self, lesson: Lesson) -> ShortestPathTask:
        return replace(self, lesson=lesson)

    def problem(self, rng: np.random.Generator) -> PathProblem:
        lesson = self.current
        for _ in range(MAX_TRIES):
            transit = self.graphs == "transit"
            graph = lesson_map(lesson, rng) if transit else lesson_graph(lesson, rng)
            pairs = pairs_at_distance(graph, *lesson.length)
            if not pairs:
                continue
            source, goal = pairs[int(rng.integers(len(pairs)))]
            path = path_triples(graph, nx.shortest_path(graph, source, goal))
            planning = planning_budget(graph, self.planning_steps, self.planning_per_edge)
            episode = shortest_path_episode(graph, [ShortestPathQuery(path)], rng,
                                            planning_steps=planning)
            return PathProblem(graph, source, goal, episode)
        raise RuntimeError(f"no pair at distance {lesson.length} in {MAX_TRIES} graphs")

    def build(self, rng: np.random.Generator) -> GraphEpisode:
        """The teacher-forced episode (for inspection; training uses :meth:`rollout`)."""
        return self.problem(rng).episode

    def problems(self, batch_size: int, generator: torch.Generator
                 ) -> tuple[list[PathProblem], list[np.random.Generator]]:
        """``batch_size`` problems of the current lesson and each one's episode generator
        (which also draws that episode's DAgger choices)."""
        rngs = [episode_rng(generator) for _ in range(batch_size)]
        return [self.problem(rng) for rng in rngs], rngs

    def rollout(
        self,
        model: nn.Module,
        batch_size: int,
        generator: torch.Generator,
        device: torch.device,
        train: bool,
    ) -> tuple[Tensor, MetricCounts]:
        """Run ``batch_size`` episodes with the model in the loop, all at once.

        Returns the loss (summed over each episode's answer steps, averaged over episodes;
        differentiable when ``train``) and the metric counts of the network's own choices.
        """
        problems, rngs = self.problems(batch_size, generator)
        total, outcomes = self.run(model, problems, rngs, device, train)
        counts = MetricCounts()
        for o in outcomes:
            counts = counts + o.counts(train)
        counts.loss_sum = float(total.detach().item())
        return total / batch_size, counts

    def solve(self, model: nn.Module, problem: PathProblem, device: torch.device) -> bool:
        """Whether the network's own path (``beta = 0``) is a shortest path."""
        with torch.no_grad():
            _, (outcome,) = self.run(model, [problem], [np.random.default_rng(0)], device,
                                     train=False)
        return outcome.solved

    def run(
        self,
        model: nn.Module,
        problems: list[PathProblem],
        rngs: list[np.random.Generator],
        device: torch.device,
        train: bool,
    ) -> tuple[Tensor, list[PathOutcome]]:
        """Roll out every problem as one batch; return the summed loss and each outcome.

        The prefixes (description, query, planning) run as one batch cut at each prefix
        length (:func:`run_prefixes`), so every episode sees exactly its own steps; the
        answer phase then runs one batched step at a time for the episodes still under way.
        Each episode's choices (DAgger draws from its own generator) are those it would make
        on its own.
        """
        net = getattr(model, "module", model)
        memory = getattr(net, "memory", None)
        dtype = next(net.parameters()).dtype
        cells = None
        if self.fit_cells and memory is not None:
            cells = max([int(memory.num_cells)] + [
                p.prefix.shape[0] + (p.distance[p.source] + self.slack) * (1 + self.ponder_steps)
                for p in problems])
        state = run_prefixes(model, net.initial_state, [p.prefix for p in problems], cells,
                             device, dtype)
        walks = [_Walk(p, rng) for p, rng in zip(problems, rngs, strict=True)]
        total = torch.zeros((), device=device)
        alive = list(range(len(walks)))
        while alive:
            x = torch.stack([walks[i].next_input() for i in alive]).unsqueeze(1).to(device, dtype)
            if self.ponder_steps:  # the same input again: more steps to think before moving
                x = x.repeat(1, 1 + self.ponder_steps, 1)
            logits, state = model(x, state)
            logits = logits[:, -1]
            if logits.dtype not in (torch.float32, torch.float64):
                logits = logits.float()
            moves = [walks[i].moves() for i in alive]
            width = max(len(m.triples) for m in moves)
            candidates = logits.new_zeros(len(alive), width, OUTPUT_SIZE)
            legal = torch.zeros(len(alive), width, dtype=torch.bool)
            good = torch.zeros(len(alive), width, dtype=torch.bool)
            for a, m in enumerate(moves):
                k = len(m.triples)
                candidates[a, :k] = m.encoded.to(candidates.dtype)
                legal[a, :k] = True
                good[a, :k] = m.good
            legal, good = legal.to(device), good.to(device)
            logp = _candidate_log_probs(logits, candidates, legal)
            has_good = good.any(-1)
            if bool(has_good.any()):
                picked = logp.masked_fill(~good, float("-inf")).logsumexp(-1)
                total = total - picked[has_good].sum()
            choices = logp.argmax(-1).tolist()
            best_good = good.gather(1, logp.argmax(-1, keepdim=True)).squeeze(1).tolist()
            still = []
            for a, i in enumerate(alive):
                if walks[i].advance(moves[a], choices[a], bool(best_good[a]), train, self.beta,
                                    self.slack):
                    still.append(a)
            if len(still) != len(alive):
                if still:
                    state = index_rows(state, torch.tensor(still, device=device))
                alive = [alive[a] for a in still]
        return total, [w.outcome() for w in walks]

    def sample(self, batch_size: int, generator: torch.Generator) -> Batch:
        """Teacher-forced batches (for inspection; training uses :meth:`rollout`)."""
        return super().sample(batch_size, generator)
