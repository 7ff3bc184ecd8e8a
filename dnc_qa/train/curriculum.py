"""A curriculum over a task's lessons, with a share of each batch from earlier lessons."""

from __future__ import annotations

import torch

from dnc_qa.errors import DncQaError
from dnc_qa.tasks.base import Batch, Task, concat_batches
from dnc_qa.train.config import CurriculumConfig


class Curriculum:
    """Holds the lessons and the current lesson index.

    Args:
        task: the full task; its :meth:`~dnc_qa.tasks.base.Task.lessons` are the lessons.
        config: threshold, evaluation period and the share from earlier lessons.
        lesson: the lesson to start at (from a checkpoint).
    """

    def __init__(self, task: Task, config: CurriculumConfig, lesson: int = 0) -> None:
        self.config = config
        self.lessons: list[Task] = task.lessons() if config.enabled else [task]
        if config.enabled and config.warmup > 0:
            warmup = getattr(task, "warmup_lessons", None)
            if warmup is None:
                raise DncQaError("--warmup applies to the graph tasks only")
            self.lessons = warmup(config.warmup) + self.lessons
        if not 0 <= lesson < len(self.lessons):
            raise ValueError(f"lesson {lesson} out of range 0..{len(self.lessons) - 1}")
        self.lesson = lesson

    @property
    def task(self) -> Task:
        """The current lesson."""
        return self.lessons[self.lesson]

    @property
    def final(self) -> bool:
        """Whether the current lesson is the last one."""
        return self.lesson == len(self.lessons) - 1

    def plan(self, batch_size: int, generator: torch.Generator) -> list[tuple[Task, int]]:
        """Which lessons a batch draws from: ``(lesson, episodes)`` pairs summing to
        ``batch_size``; each episode comes from a uniformly chosen earlier lesson with
        probability ``earlier_fraction``, else from the current one."""
        if self.lesson == 0 or self.config.earlier_fraction == 0:
            return [(self.task, batch_size)]
        earlier = torch.rand(batch_size, generator=generator) < self.config.earlier_fraction
        n_old = int(earlier.sum().item())
        parts: list[tuple[Task, int]] = []
        if batch_size - n_old > 0:
            parts.append((self.task, batch_size - n_old))
        for _ in range(n_old):
            k = int(torch.randint(0, self.lesson, (1,), generator=generator).item())
            parts.append((self.lessons[k], 1))
        return parts

    def sample(self, batch_size: int, generator: torch.Generator) -> Batch:
        """A batch drawn according to :meth:`plan` (padded to its longest episode)."""
        return concat_batches(
            [task.sample(n, generator) for task, n in self.plan(batch_size, generator)]
        )

    def update(self, accuracy: float) -> bool:
        """Advance when ``accuracy >= threshold``; return whether the lesson changed."""
        if accuracy >= self.config.threshold and not self.final:
            self.lesson += 1
            return True
        return False
