"""The numbers of a graph-task reproduction: one :class:`ModelRow` per trained network, one
:class:`BaselineRow` per baseline, and the :class:`Report` that holds them. The pipeline
(:mod:`dnc_qa.reproduce.pipeline`) fills them; :mod:`dnc_qa.reproduce.report` writes them out."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class ModelRow:
    """One trained network's numbers."""

    task: str
    model: str
    source: str
    """``trained`` here, or the reused run folder."""
    run_dir: str
    checkpoint: str
    steps: int
    episodes: int
    wall_s: float
    warmup_lessons: int
    lessons_total: int
    lessons_passed: int
    """Paper lessons passed (warm-up lessons not counted)."""
    last_lesson: int
    """The paper lesson it was training on at the end (1-based; 0: still in warm-up)."""
    heldout_accuracy: float
    heldout_episodes: int
    per_lesson: dict[str, float]
    test_accuracy: float
    test_queries: int
    curve: list[dict[str, float]] = field(default_factory=list)
    by_length: dict = field(default_factory=dict)
    """On the lesson it reached: accuracy per walk length / distance / relation length next
    to the rules that need no memory (:mod:`dnc_qa.train.breakdown`), same episodes."""


@dataclass
class BaselineRow:
    task: str
    model: str
    heldout_accuracy: float | None
    test_accuracy: float
    test_queries: int
    steps: int = 0
    wall_s: float = 0.0
    curve: list[list[float]] = field(default_factory=list)


@dataclass
class Report:
    budget: dict[str, Any]
    test_map: str
    family: str
    rows: list[ModelRow]
    baselines: list[BaselineRow]
    wall_s: float = 0.0
    notes: list[str] = field(default_factory=list)
