"""Shortest path (DNC paper) with DAgger mixing and outputs renormalised over legal moves.

Episode: a random graph of the lesson's size, its triples in random order, the query
``(src, _, dst)`` for a pair whose distance is in the lesson's range, 10 planning steps, then
the answer phase, run step by step with the model in the loop:

* the input at answer step ``k`` is the previous action (blank at ``k = 0``) with the
  answer channel on;
* the output is read as a distribution over the *current node's outgoing triples* only
  (:func:`dnc_qa.encoding.candidate_scores`); the loss is ``-log`` of the probability of the
  optimal moves (those that reduce the distance to ``dst`` by one);
* the next input is an optimal move with probability ``beta`` (0.8, the paper's DAgger
  mixing) and the network's own most likely move otherwise; the current node follows the
  chosen move. Evaluation uses ``beta = 0`` (the network's own moves only).

An episode is right when the network's own path reaches ``dst`` in the minimal number of
steps (every step optimal). Episodes run one at a time (the paper's batch size is 1), so this
task does not use the padded :class:`~dnc_qa.tasks.base.Batch` path: the trainer calls
:meth:`ShortestPathTask.rollout` instead of ``sample``/``loss``/``score``. It does not support
DDP (several forward passes per step).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

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
    candidate_scores,
    encode_triple,
    shortest_path_episode,
)
from dnc_qa.encoding import Episode as GraphEpisode
from dnc_qa.encoding.relabel import Relabelling
from dnc_qa.graphs.curriculum import Lesson
from dnc_qa.graphs.model import Triple
from dnc_qa.graphs.random_graphs import lesson_graph
from dnc_qa.tasks.base import Batch, MetricCounts
from dnc_qa.tasks.graph_base import MAX_TRIES, GraphTask, episode_rng

BETA = 0.8


def out_triples(graph: nx.MultiDiGraph, node: str) -> list[Triple]:
    """``node``'s outgoing triples in a fixed order."""
    return sorted(Triple(u, k, v) for u, v, k in graph.out_edges(node, keys=True))


def path_triples(graph: nx.MultiDiGraph, nodes: list[str]) -> tuple[Triple, ...]:
    """The triples along a node path (the smallest edge label between consecutive nodes)."""
    return tuple(
        min(Triple(u, k, v) for k in graph[u][v]) for u, v in zip(nodes, nodes[1:], strict=False)
    )


def encode_move(relabelling: Relabelling, move: Triple) -> Tensor:
    return encode_triple(*relabelling.encode(*move))


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

    def optimal(self, node: str) -> list[bool]:
        """For each of ``node``'s outgoing triples, whether it is a shortest-path move."""
        d = self.distance.get(node)
        return [
            d is not None and self.distance.get(t.target, -1) == d - 1
            for t in out_triples(self.graph, node)
        ]


@dataclass(frozen=True)
class ShortestPathTask(GraphTask):
    """Shortest path at ``lesson`` (``None``: the final lesson, distances 2-5, 20-25 nodes).

    Args:
        beta: probability of feeding the optimal move rather than the network's (training).
        slack: a rolled-out answer stops after ``distance + slack`` moves at the latest.
        fit_cells: give a memory network at least as many cells as the episode has steps.
    """

    lesson: Lesson | None = None
    beta: float = BETA
    slack: int = 2
    fit_cells: bool = False
    name: str = "shortest_path"

    def with_lesson(self, lesson: Lesson) -> ShortestPathTask:
        return replace(self, lesson=lesson)

    def problem(self, rng: np.random.Generator) -> PathProblem:
        lesson = self.current
        for _ in range(MAX_TRIES):
            graph = lesson_graph(lesson, rng)
            lengths = dict(nx.all_pairs_shortest_path_length(graph))
            pairs = sorted(
                (s, t)
                for s, row in lengths.items()
                for t, d in row.items()
                if lesson.length[0] <= d <= lesson.length[1]
            )
            if not pairs:
                continue
            source, goal = pairs[int(rng.integers(len(pairs)))]
            path = path_triples(graph, nx.shortest_path(graph, source, goal))
            episode = shortest_path_episode(graph, [ShortestPathQuery(path)], rng)
            return PathProblem(graph, source, goal, episode)
        raise RuntimeError(f"no pair at distance {lesson.length} in {MAX_TRIES} graphs")

    def build(self, rng: np.random.Generator) -> GraphEpisode:
        """The teacher-forced episode (for inspection; training uses :meth:`rollout`)."""
        return self.problem(rng).episode

    def rollout(
        self,
        model: nn.Module,
        batch_size: int,
        generator: torch.Generator,
        device: torch.device,
        train: bool,
    ) -> tuple[Tensor, MetricCounts]:
        """Run ``batch_size`` episodes with the model in the loop.

        Returns the loss (summed over each episode's answer steps, averaged over episodes;
        differentiable when ``train``) and the metric counts of the network's own choices.
        """
        total = torch.zeros((), device=device)
        counts = MetricCounts()
        for _ in range(batch_size):
            rng = episode_rng(generator)
            loss, c = self._one(model, self.problem(rng), rng, device, train)
            total = total + loss
            counts = counts + c
        counts.loss_sum = float(total.detach().item())
        return total / batch_size, counts

    def solve(self, model: nn.Module, problem: PathProblem, device: torch.device) -> bool:
        """Whether the network's own path (``beta = 0``) is a shortest path."""
        rng = np.random.default_rng(0)
        with torch.no_grad():
            _, counts = self._one(model, problem, rng, device, train=False)
        return counts.correct_episodes == 1

    def _one(
        self,
        model: nn.Module,
        problem: PathProblem,
        rng: np.random.Generator,
        device: torch.device,
        train: bool,
    ) -> tuple[Tensor, MetricCounts]:
        relabelling = problem.episode.relabelling
        state = None
        memory = getattr(getattr(model, "module", model), "memory", None)
        if self.fit_cells and memory is not None:
            cells = max(int(memory.num_cells), problem.prefix.shape[0] + problem.distance[
                problem.source] + self.slack)
            state = getattr(model, "module", model).initial_state(
                1, device=device, num_cells=cells)
        _, state = model(problem.prefix.unsqueeze(0).to(device), state)
        node = problem.source
        best = problem.distance[node]
        loss = torch.zeros((), device=device)
        steps = right = 0
        previous: Triple | None = None
        while node != problem.goal and steps < best + self.slack:
            row = torch.zeros(INPUT_SIZE)
            row[ANSWER_CHANNEL] = 1.0
            row[PHASE_CHANNEL] = float(steps == 0)
            if previous is not None:
                row[:OUTPUT_SIZE] = encode_move(relabelling, previous)
            logits, state = model(row.view(1, 1, -1).to(device), state)
            moves = out_triples(problem.graph, node)
            if not moves:
                break
            candidates = torch.stack([encode_move(relabelling, m) for m in moves]).to(device)
            logp = candidate_scores(logits[0, 0].float(), candidates)
            good = torch.tensor(problem.optimal(node), device=device)
            if good.any():
                loss = loss - torch.logsumexp(logp[good], dim=0)
            choice = int(logp.argmax().item())
            steps += 1
            right += int(bool(good[choice]))
            if train and good.any() and rng.random() < self.beta:
                options = [m for m, g in zip(moves, good.tolist(), strict=True) if g]
                previous = options[int(rng.integers(len(options)))]
            else:
                previous = moves[choice]
            node = previous.target
        solved = node == problem.goal and steps == best
        return loss, MetricCounts(
            episodes=1,
            correct_episodes=int(solved) if not train else int(steps > 0 and right == steps),
            answer_steps=steps,
            correct_steps=right,
            bit_errors=steps - right,
        )

    def sample(self, batch_size: int, generator: torch.Generator) -> Batch:
        """Teacher-forced batches (for inspection; training uses :meth:`rollout`)."""
        return super().sample(batch_size, generator)
