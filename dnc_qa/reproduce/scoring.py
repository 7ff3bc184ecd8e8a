"""Scoring a trained DNC, NTM or LSTM on held-out generated graphs and on the test graphs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import networkx as nx
import numpy as np
import torch
from torch import nn

from dnc_qa.encoding import (
    InferenceQuery,
    ShortestPathQuery,
    TraversalQuery,
    inference_episode,
    shortest_path_episode,
    traversal_episode,
)
from dnc_qa.encoding.episodes import DEFAULT_PLANNING_STEPS
from dnc_qa.reproduce.testmaps import InferenceTest, PathTest, TraversalTest
from dnc_qa.tasks.base import Task, pad_episodes
from dnc_qa.tasks.graph_base import as_task_episode, planning_budget, score_digits
from dnc_qa.tasks.shortest_path import PathProblem, ShortestPathTask, path_triples
from dnc_qa.train.evaluate import cells_for, evaluate_counts

CPU = torch.device("cpu")


def heldout_accuracy(model: nn.Module, lesson: Task, episodes: int, seed: int) -> float:
    """Episode accuracy on ``episodes`` fresh graphs of ``lesson`` (seeds unlike training's)."""
    if episodes < 1:
        return 0.0
    if isinstance(lesson, ShortestPathTask):
        lesson = replace(lesson, fit_cells=True)
    generator = torch.Generator().manual_seed(10_000_019 + seed)
    counts = evaluate_counts(model, lesson, episodes, generator, CPU, batch_size=16,
                             fit_cells=True)
    return counts.summary().accuracy


@torch.no_grad()
def _digit_accuracy(model: nn.Module, episodes: list) -> float:
    right = 0
    for i in range(0, len(episodes), 8):
        batch = pad_episodes([as_task_episode(e) for e in episodes[i: i + 8]])
        cells = cells_for(model, batch.inputs.shape[1])
        state = model.initial_state(batch.inputs.shape[0], num_cells=cells)
        logits, _ = model(batch.inputs, state)
        right += score_digits(logits, batch).correct_episodes
    return right / len(episodes) if episodes else 0.0


def traversal_accuracy(model: nn.Module, graph: nx.MultiDiGraph,
                       tests: Sequence[TraversalTest], seed: int = 0) -> float:
    """Share of walks whose every completed triple the network outputs right."""
    rng = np.random.default_rng(seed)
    episodes = [traversal_episode(graph, [TraversalQuery(t.start, t.edges)], rng) for t in tests]
    model.eval()
    return _digit_accuracy(model, episodes)


def planning_for(task: Task | None, graph: nx.MultiDiGraph) -> int:
    """The planning steps a run's ``task`` gives an episode on ``graph`` (its
    ``planning_steps`` plus ``planning_per_edge`` per triple); the paper's 10 without a
    task. A model trained with a budget that grows with the graph is tested with the same."""
    if task is None:
        return DEFAULT_PLANNING_STEPS
    return planning_budget(graph, getattr(task, "planning_steps", DEFAULT_PLANNING_STEPS),
                           getattr(task, "planning_per_edge", 0.0))


def inference_accuracy(model: nn.Module, graph: nx.MultiDiGraph,
                       tests: Sequence[InferenceTest], seed: int = 0,
                       task: Task | None = None) -> float:
    """Share of relation queries answered with the right completed triple (planning as the
    run's ``task`` plans, :func:`planning_for`)."""
    rng = np.random.default_rng(seed)
    planning = planning_for(task, graph)
    episodes = [inference_episode(graph, [InferenceQuery(t.start, t.relation, t.answer)], rng,
                                  planning_steps=planning)
                for t in tests]
    model.eval()
    return _digit_accuracy(model, episodes)


def path_accuracy(model: nn.Module, graph: nx.MultiDiGraph, tests: Sequence[PathTest],
                  seed: int = 0, task: Task | None = None) -> float:
    """Share of queries where the network's own rolled-out path is a shortest path
    (planning as the run's ``task`` plans, :func:`planning_for`)."""
    rng = np.random.default_rng(seed)
    planning = planning_for(task, graph)
    solver = ShortestPathTask(fit_cells=True)
    model.eval()
    right = 0
    for t in tests:
        path = path_triples(graph, nx.shortest_path(graph, t.source, t.goal))
        episode = shortest_path_episode(graph, [ShortestPathQuery(path)], rng,
                                        planning_steps=planning)
        right += solver.solve(model, PathProblem(graph, t.source, t.goal, episode), CPU)
    return right / len(tests) if tests else 0.0
