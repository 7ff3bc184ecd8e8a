"""What the graph tasks (traversal, shortest path, inference) share.

Episodes come from :mod:`dnc_qa.encoding` (92-wide inputs, 90-wide outputs read as nine
ten-way softmaxes) on random graphs from :mod:`dnc_qa.graphs.random_graphs`, with the lesson
tables of :mod:`dnc_qa.graphs.lesson_tables`. The torch generator the trainer passes draws one
integer seed per episode for the graph layer's numpy generator, so batches are reproducible
and a checkpointed generator state resumes them exactly.

Loss: the paper's ``-sum_t A(t) sum_d log p`` per episode, averaged over episodes (nats per
episode, as for the bit tasks). A step is right when the mode of each of its nine digit
groups is the target digit; ``bit_errors`` counts wrong *digits* for these tasks.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from typing import ClassVar

import numpy as np
import torch
from torch import Tensor

from dnc_qa.encoding import INPUT_SIZE, OUTPUT_SIZE, masked_digit_nll
from dnc_qa.encoding import Episode as GraphEpisode
from dnc_qa.encoding.labels import digit_targets, digit_view
from dnc_qa.errors import DncQaError
from dnc_qa.graphs.lesson_tables import Lesson, load_curriculum
from dnc_qa.tasks.base import Batch, Episode, MetricCounts, pad_episodes

MAX_TRIES = 200
"""How many graphs or queries a builder draws before giving up on a lesson's constraints."""


def digit_nll_per_episode(logits: Tensor, batch: Batch) -> Tensor:
    """The paper's loss summed over each episode's answer steps, averaged over episodes; a
    step whose mask is below 1 (an inference hint, :class:`~dnc_qa.tasks.inference.
    InferenceTask`) counts with that weight."""
    total = masked_digit_nll(logits.float(), batch.targets, batch.mask, reduction="sum")
    return total / logits.shape[0]


def score_digits(logits: Tensor, batch: Batch) -> MetricCounts:
    """Counts for 90-wide digit outputs: a step is right when all nine digit modes are. Only
    answer steps (mask 1) are scored; hints (mask below 1) are not answers."""
    with torch.no_grad():
        answer = batch.mask >= 1
        wrong = (digit_view(logits[answer]).argmax(-1)
                 != digit_targets(batch.targets[answer])).sum(-1)  # [answer steps]
        episode = answer.nonzero()[:, 0]  # each answer step's episode
        wrong_per_episode = torch.zeros(logits.shape[0], dtype=wrong.dtype,
                                        device=wrong.device).index_add_(0, episode, wrong)
        loss = digit_nll_per_episode(logits, batch) * logits.shape[0]
        return MetricCounts(
            episodes=logits.shape[0],
            correct_episodes=int((wrong_per_episode == 0).sum().item()),
            answer_steps=int(answer.sum().item()),
            correct_steps=int((wrong == 0).sum().item()),
            bit_errors=int(wrong.sum().item()),
            loss_sum=float(loss.item()),
        )


def episode_rng(generator: torch.Generator) -> np.random.Generator:
    """A numpy generator for one episode, seeded from the torch ``generator``."""
    seed = int(torch.randint(0, 2**62, (1,), generator=generator).item())
    return np.random.default_rng(seed)


def planning_budget(graph, steps: int, per_edge: float) -> int:
    """Planning steps for an episode on ``graph``: ``steps + ceil(per_edge * edges)``."""
    if not per_edge:  # (counting a networkx graph's edges walks every node)
        return steps
    return steps + math.ceil(per_edge * graph.number_of_edges())


def as_task_episode(episode: GraphEpisode) -> Episode:
    return Episode(episode.inputs.float(), episode.targets.float(), episode.mask.float())


class GraphTask(ABC):
    """Base of the graph tasks: frozen dataclasses with a ``lesson`` (``None``: the last one)."""

    name: str
    lesson: Lesson | None
    answers_only: ClassVar[bool] = True
    """The loss and the score read only the steps whose mask is above 0, so the trainer may
    skip each padded row's steps after its last answer (:mod:`dnc_qa.models.trimmed`)."""

    @property
    def input_size(self) -> int:
        return INPUT_SIZE

    @property
    def output_size(self) -> int:
        return OUTPUT_SIZE

    @property
    def curriculum(self) -> str:
        """The name of this task's lesson table (``dnc_qa/graphs/curricula/<name>.json``)."""
        return self.name

    @property
    def current(self) -> Lesson:
        """The lesson this task draws from."""
        return self.lesson if self.lesson is not None else load_curriculum(self.curriculum).final

    @abstractmethod
    def build(self, rng: np.random.Generator) -> GraphEpisode:
        """One encoded episode of the current lesson."""

    @abstractmethod
    def with_lesson(self, lesson: Lesson) -> GraphTask: ...

    def lessons(self) -> list[GraphTask]:
        """The task's curriculum (:attr:`curriculum`: the paper's, for the paper's tasks)."""
        lessons = [self.with_lesson(lesson) for lesson in load_curriculum(self.curriculum).lessons]
        return lessons[:-1] + [self]

    def warmup_lessons(self, count: int) -> list[GraphTask]:
        """``count`` lessons easier than the paper's first (not in the paper).

        They keep the first lesson's path length and queries and grow the graph linearly from
        2-4 nodes of out-degree 1-2 towards the first lesson's size (which they stop short
        of): on a CPU budget this is what gets a DNC past traversal's first lesson at all
        (docs/reproduction.md). A task with ``bridge`` set also asks one-hop questions in
        them (lengths from 1 up to the first lesson's longest).
        """
        first = load_curriculum(self.curriculum).lessons[0]
        if first.lines != (0, 0):
            raise DncQaError(f"the {self.curriculum} curriculum starts small already: "
                             "no warm-up lessons")
        length = (1, first.length[1]) if getattr(self, "bridge", False) else first.length

        def grow(lo: int, hi: int, a: tuple[int, int], t: float) -> tuple[int, int]:
            low = round(lo + (a[0] - lo) * t)
            return low, max(low, round(hi + (a[1] - hi) * t))

        out = []
        for i in range(count):
            nodes = grow(2, 4, first.nodes, i / count)
            nodes = (max(nodes[0], first.length[1] + 1), max(nodes[1], first.length[1] + 1))
            lesson = Lesson(-(count - i), nodes, grow(1, 2, first.out_degree, i / count),
                            length, first.queries)
            out.append(self.with_lesson(lesson))
        return out

    def task_episode(self, rng: np.random.Generator) -> Episode:
        """One episode as the trainer takes it (:meth:`build`, as float tensors)."""
        return as_task_episode(self.build(rng))

    def sample(self, batch_size: int, generator: torch.Generator) -> Batch:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        return pad_episodes([self.task_episode(episode_rng(generator))
                             for _ in range(batch_size)])

    def loss(self, logits: Tensor, batch: Batch) -> Tensor:
        return digit_nll_per_episode(logits, batch)

    def score(self, logits: Tensor, batch: Batch) -> MetricCounts:
        return score_digits(logits, batch)
