"""Accuracy by path distance, next to the no-planning rules, on the same fresh episodes.

``dncqa eval`` uses this for shortest path: a lesson counts as learned only where the model
beats the best rule of :mod:`dnc_qa.baselines.rules` on the very episodes it was scored on.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from dnc_qa.baselines.rules import PATH_RULES, path_success
from dnc_qa.tasks.base import MetricCounts
from dnc_qa.tasks.shortest_path import ShortestPathTask


@dataclass
class DistanceRow:
    """Episodes of one shortest-path distance: the model's and each rule's accuracy."""

    distance: int
    episodes: int = 0
    solved: int = 0
    rules: dict[str, float] = field(default_factory=dict)  # summed success probabilities

    def to_json(self) -> dict:
        n = max(self.episodes, 1)
        return {"distance": self.distance, "episodes": self.episodes,
                "accuracy": self.solved / n,
                "rules": {k: v / n for k, v in self.rules.items()}}


@dataclass
class PathBreakdown:
    """A shortest-path evaluation split by distance."""

    rows: dict[int, DistanceRow]
    counts: MetricCounts = field(default_factory=MetricCounts)

    @property
    def episodes(self) -> int:
        return sum(r.episodes for r in self.rows.values())

    @property
    def accuracy(self) -> float:
        return sum(r.solved for r in self.rows.values()) / max(self.episodes, 1)

    def rule_accuracy(self) -> dict[str, float]:
        n = max(self.episodes, 1)
        return {name: sum(r.rules.get(name, 0.0) for r in self.rows.values()) / n
                for name in PATH_RULES}

    @property
    def best_rule(self) -> tuple[str, float]:
        return max(self.rule_accuracy().items(), key=lambda kv: kv[1])

    @property
    def beats_rules(self) -> bool:
        """Whether the model is right more often than the best rule."""
        return self.accuracy > self.best_rule[1]

    def to_json(self) -> dict:
        name, value = self.best_rule
        return {"by_distance": [self.rows[d].to_json() for d in sorted(self.rows)],
                "rules": self.rule_accuracy(), "best_rule": name, "best_rule_accuracy": value,
                "beats_rules": self.beats_rules}


@torch.no_grad()
def shortest_path_breakdown(model: nn.Module, task: ShortestPathTask, episodes: int,
                            generator: torch.Generator, device: torch.device,
                            batch_size: int = 64) -> PathBreakdown:
    """Roll out ``episodes`` fresh episodes (the network's own moves) and score them and the
    rules by distance."""
    was_training = model.training
    model.eval()
    rows: dict[int, DistanceRow] = {}
    counts = MetricCounts()
    try:
        left = episodes
        while left > 0:
            n = min(batch_size, left)
            problems, rngs = task.problems(n, generator)
            _, outcomes = task.run(model, problems, rngs, device, train=False)
            for problem, outcome in zip(problems, outcomes, strict=True):
                row = rows.setdefault(outcome.distance, DistanceRow(outcome.distance))
                row.episodes += 1
                row.solved += int(outcome.solved)
                counts = counts + outcome.counts(train=False)
                for name, policy in PATH_RULES.items():
                    p = path_success(policy, problem.graph, problem.source, problem.goal)
                    row.rules[name] = row.rules.get(name, 0.0) + p
            left -= n
    finally:
        model.train(was_training)
    return PathBreakdown(rows, counts)
