"""The no-planning rules' exact success probabilities, against values worked out by hand."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
import torch

from dnc_qa.baselines.rules import (
    PATH_RULES,
    goal_if_adjacent,
    never_back,
    path_success,
    random_move,
    random_reachable_success,
    reachable_in,
)
from dnc_qa.graphs.lesson_tables import load_curriculum
from dnc_qa.models import DNC
from dnc_qa.tasks.shortest_path import ShortestPathTask
from dnc_qa.train.breakdown import shortest_path_breakdown


def _graph(edges: list[tuple[str, str]]) -> nx.MultiDiGraph:
    g = nx.MultiDiGraph()
    for i, (u, v) in enumerate(edges):
        g.add_edge(u, v, key=str(i))
    return g


def test_hand_computed_path_rules() -> None:
    # s -> a, s -> b; a -> s, a -> g, a -> x; b -> s. Shortest path s, a, g (distance 2).
    g = _graph([("s", "a"), ("s", "b"), ("a", "s"), ("a", "g"), ("a", "x"), ("b", "s")])
    assert path_success(random_move, g, "s", "g") == pytest.approx(1 / 2 * 1 / 3)
    assert path_success(never_back, g, "s", "g") == pytest.approx(1 / 2 * 1 / 2)
    assert path_success(goal_if_adjacent, g, "s", "g") == pytest.approx(1 / 2 * 1)
    assert path_success(random_move, g, "g", "s") == 0.0  # unreachable


def test_rule_success_matches_simulation() -> None:
    rng = np.random.default_rng(0)
    task = ShortestPathTask(lesson=load_curriculum("shortest_path").lessons[8])
    problems, _ = task.problems(5, torch.Generator().manual_seed(4))
    for problem in problems:
        for policy in PATH_RULES.values():
            wins = 0
            for _ in range(400):
                node, prev, steps = problem.source, None, 0
                while node != problem.goal and steps < problem.best:
                    options = policy(problem.graph, node, prev, problem.goal)
                    nxt = rng.choice(list(options), p=list(options.values()))
                    prev, node, steps = node, str(nxt), steps + 1
                wins += node == problem.goal
            exact = path_success(policy, problem.graph, problem.source, problem.goal)
            assert abs(wins / 400 - exact) < 0.09


def test_random_reachable() -> None:
    g = _graph([("s", "a"), ("s", "b"), ("a", "c"), ("b", "c"), ("b", "s"), ("a", "d")])
    assert reachable_in(g, "s", 2) == {"c", "d"}
    assert random_reachable_success(g, "s", 2, "d") == pytest.approx(0.5)
    assert random_reachable_success(g, "s", 2, "a") == 0.0


def test_breakdown_counts_the_model_and_rules_on_the_same_episodes() -> None:
    torch.manual_seed(0)
    model = DNC(input_size=92, output_size=90, hidden_size=16, num_cells=8, cell_width=4,
                num_reads=1, controller="feedforward")
    task = ShortestPathTask(lesson=load_curriculum("shortest_path").lessons[4])
    out = shortest_path_breakdown(model, task, 30, torch.Generator().manual_seed(1),
                                  torch.device("cpu"), batch_size=8)
    assert out.answers == 30 == out.counts.episodes
    assert {r.length for r in out.rows.values()} <= {2, 3}
    # the same episodes scored again one by one give the same accuracy
    problems, rngs = task.problems(30, torch.Generator().manual_seed(1))
    solved = sum(task.solve(model, p, torch.device("cpu")) for p in problems)
    assert out.accuracy == pytest.approx(solved / 30)
    rules = out.rule_accuracy()
    want = np.mean([path_success(never_back, p.graph, p.source, p.goal) for p in problems])
    assert rules["never step back"] == pytest.approx(want)
    assert out.beats_rules == (out.accuracy > max(rules.values()))
