"""Scoring on the test graphs plans as the run trained: its planning budget, not the paper's
fixed 10 steps."""

from __future__ import annotations

import networkx as nx
import torch

from dnc_qa.encoding.episodes import DEFAULT_PLANNING_STEPS
from dnc_qa.reproduce import scoring, testmaps
from dnc_qa.tasks.registry import make_task


def _graph(edges: int) -> nx.MultiDiGraph:
    g = nx.MultiDiGraph()
    for i in range(edges):
        g.add_edge(str(i), str(i + 1), key="0")
    return g


def test_planning_for_follows_the_runs_budget() -> None:
    g = _graph(7)
    assert scoring.planning_for(None, g) == DEFAULT_PLANNING_STEPS
    assert scoring.planning_for(make_task("inference"), g) == DEFAULT_PLANNING_STEPS
    grows = make_task("inference", planning_steps=4, planning_per_edge=1.5)
    assert scoring.planning_for(grows, g) == 4 + 11  # ceil(1.5 * 7)
    assert scoring.planning_for(make_task("shortest_path", planning_per_edge=1.0), g) == 17


def test_inference_test_episodes_get_the_runs_planning_steps(monkeypatch) -> None:
    """The episodes scored on the family tree carry the run's planning budget."""
    family, relations = testmaps.load_family()
    tests = testmaps.inference_tests(family, relations, 3, 0, steps=None)
    seen: list[int] = []
    real = scoring.inference_episode

    def spy(graph, queries, rng, **kw):
        seen.append(kw["planning_steps"])
        return real(graph, queries, rng, **kw)

    monkeypatch.setattr(scoring, "inference_episode", spy)
    monkeypatch.setattr(scoring, "_digit_accuracy", lambda model, episodes: 0.0)
    task = make_task("inference", planning_per_edge=1.0)
    scoring.inference_accuracy(torch.nn.Identity(), family.graph, tests, 0, task)
    edges = family.graph.number_of_edges()
    assert seen == [DEFAULT_PLANNING_STEPS + edges] * len(tests)
