"""Accuracy by path distance / relation length, next to rules that need no memory or planning,
on the same fresh episodes.

``dncqa eval`` uses this for shortest path and inference: a lesson counts as learned only
where the model beats the best rule of :mod:`dnc_qa.baselines.rules` on the very episodes it
was scored on. Traversal is split by walk length and ``kb_qa`` (the same episode layout) by
the number of relations a question chains, with no rule beside them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from dnc_qa.baselines.rules import PATH_RULES, path_success, random_reachable_success
from dnc_qa.models.trimmed import answer_lengths, run_fitted
from dnc_qa.tasks.base import MetricCounts, pad_episodes
from dnc_qa.tasks.graph_base import as_task_episode, episode_rng
from dnc_qa.tasks.inference import InferenceTask, relation_length
from dnc_qa.tasks.kb_qa import KbQaTask
from dnc_qa.tasks.shortest_path import ShortestPathTask
from dnc_qa.tasks.traversal import TraversalTask
from dnc_qa.train.evaluate import cells_for

INFERENCE_RULES = ("random reachable node",)


@dataclass
class LengthRow:
    """Answers of one length (path distance or relation length): the model's and each
    rule's accuracy."""

    length: int
    answers: int = 0
    right: int = 0
    rules: dict[str, float] = field(default_factory=dict)  # summed success probabilities

    def add(self, right: bool, rules: dict[str, float]) -> None:
        self.answers += 1
        self.right += int(right)
        for name, p in rules.items():
            self.rules[name] = self.rules.get(name, 0.0) + p

    def to_json(self) -> dict:
        n = max(self.answers, 1)
        return {"length": self.length, "answers": self.answers, "accuracy": self.right / n,
                "rules": {k: self.rules[k] / n for k in sorted(self.rules)}}


@dataclass
class Breakdown:
    """An evaluation split by length. ``unit`` says what one answer is (``"path"``:
    one shortest-path episode; ``"query"``: one inference query; ``"walk"``: one traversal
    walk; ``"chain"``: one ``kb_qa`` question, its length the relations it chains)."""

    unit: str
    rows: dict[int, LengthRow] = field(default_factory=dict)
    counts: MetricCounts = field(default_factory=MetricCounts)

    def row(self, length: int) -> LengthRow:
        return self.rows.setdefault(length, LengthRow(length))

    @property
    def answers(self) -> int:
        return sum(r.answers for r in self.rows.values())

    @property
    def accuracy(self) -> float:
        return sum(r.right for r in self.rows.values()) / max(self.answers, 1)

    def rule_accuracy(self) -> dict[str, float]:
        n = max(self.answers, 1)
        names = {k for r in self.rows.values() for k in r.rules}
        return {name: sum(r.rules.get(name, 0.0) for r in self.rows.values()) / n
                for name in sorted(names)}

    @property
    def best_rule(self) -> tuple[str, float]:
        return max(self.rule_accuracy().items(), key=lambda kv: kv[1], default=("none", 0.0))

    @property
    def beats_rules(self) -> bool | None:
        """Whether the model is right more often than the best rule (``None``: no rule)."""
        if not self.rule_accuracy():
            return None
        return self.accuracy > self.best_rule[1]

    def to_json(self) -> dict:
        name, value = self.best_rule if self.rule_accuracy() else (None, None)
        return {"unit": self.unit, "answers": self.answers, "answer_accuracy": self.accuracy,
                "by_length": [self.rows[d].to_json() for d in sorted(self.rows)],
                "rules": self.rule_accuracy(), "best_rule": name, "best_rule_accuracy": value,
                "beats_rules": self.beats_rules}


@torch.no_grad()
def shortest_path_breakdown(model: nn.Module, task: ShortestPathTask, episodes: int,
                            generator: torch.Generator, device: torch.device,
                            batch_size: int = 64) -> Breakdown:
    """Roll out ``episodes`` fresh episodes (the network's own moves) and score them and the
    rules by distance."""
    out = Breakdown("path")
    with _eval_mode(model):
        left = episodes
        while left > 0:
            n = min(batch_size, left)
            problems, rngs = task.problems(n, generator)
            _, outcomes = task.run(model, problems, rngs, device, train=False)
            for problem, outcome in zip(problems, outcomes, strict=True):
                rules = {name: path_success(policy, problem.graph, problem.source, problem.goal)
                         for name, policy in PATH_RULES.items()}
                out.row(outcome.distance).add(outcome.solved, rules)
                out.counts = out.counts + outcome.counts(train=False)
            left -= n
    return out


def _padded_passes(model: nn.Module, task: InferenceTask | TraversalTask | KbQaTask,
                   build: Callable,
                   episodes: int, generator: torch.Generator, device: torch.device,
                   batch_size: int, num_cells: int | None, fit_cells: bool,
                   out: Breakdown) -> Iterator[tuple[list, Tensor]]:
    """Draw ``episodes`` items with ``build(rng)`` (each ending in its encoded episode) in
    batches, run the model over each padded batch (counts added to ``out``), and yield the
    batch's items with the model's logits."""
    left = episodes
    while left > 0:
        n = min(batch_size, left)
        items = [build(episode_rng(generator)) for _ in range(n)]
        batch = pad_episodes([as_task_episode(item[-1]) for item in items]).to(device)
        minimum = cells_for(model, 0, num_cells) if fit_cells else None
        if minimum is not None:  # memories sized per group of rows, as in training
            logits = run_fitted(model, batch.inputs, answer_lengths(batch.mask), minimum)
        else:
            state = model.initial_state(n, device=device, num_cells=num_cells)
            logits, _ = model(batch.inputs, state)
        out.counts = out.counts + task.score(logits, batch)
        yield items, logits
        left -= n


@torch.no_grad()
def inference_breakdown(model: nn.Module, task: InferenceTask, episodes: int,
                        generator: torch.Generator, device: torch.device,
                        batch_size: int = 64, num_cells: int | None = None,
                        fit_cells: bool = False) -> Breakdown:
    """Score ``episodes`` fresh episodes query by query, by relation length, next to naming
    a random node reachable by a walk of the relation's length."""
    out = Breakdown("query")
    with _eval_mode(model):
        for items, logits in _padded_passes(model, task, task.problem, episodes, generator,
                                            device, batch_size, num_cells, fit_cells, out):
            for b, (graph, queries, episode) in enumerate(items):
                right = episode.correct(logits[b, : len(episode)].cpu())
                for query, ok in zip(queries, right, strict=True):
                    length = relation_length(query.relation)
                    rule = random_reachable_success(graph, query.start, length, query.answer)
                    out.row(length).add(ok, {INFERENCE_RULES[0]: rule})
    return out


@torch.no_grad()
def traversal_breakdown(model: nn.Module, task: TraversalTask | KbQaTask, episodes: int,
                        generator: torch.Generator, device: torch.device,
                        batch_size: int = 64, num_cells: int | None = None,
                        fit_cells: bool = False, unit: str = "walk") -> Breakdown:
    """Score ``episodes`` fresh episodes walk by walk, by walk length (a walk is right when
    every triple of it is). No rule without memory can answer a walk, so there is none.

    A ``kb_qa`` episode is laid out as a traversal (a question is a walk over relations), so
    it is scored the same way; ``unit`` names what a walk is (``"chain"`` for ``kb_qa``)."""
    out = Breakdown(unit)
    with _eval_mode(model):
        for items, logits in _padded_passes(model, task, lambda rng: (task.build(rng),),
                                            episodes, generator, device, batch_size,
                                            num_cells, fit_cells, out):
            for b, (episode,) in enumerate(items):
                right = episode.correct(logits[b, : len(episode)].cpu())
                for answer, ok in zip(episode.answers, right, strict=True):
                    out.row(len(answer)).add(ok, {})
    return out


class _eval_mode:
    """``with _eval_mode(model):`` evaluation mode inside, the previous mode after."""

    def __init__(self, model: nn.Module) -> None:
        self.model = model
        self.was_training = model.training

    def __enter__(self) -> None:
        self.model.eval()

    def __exit__(self, *exc: object) -> None:
        self.model.train(self.was_training)
