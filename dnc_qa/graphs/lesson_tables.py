"""The paper's curriculum lesson tables (ED Tables 3-5), shipped as package data.

``dnc_qa/graphs/curricula/{traversal,shortest_path,inference}.json`` each hold
``{"task", "source", "lessons": [{"nodes": [lo, hi], "out_degree": [lo, hi],
"length": [lo, hi], "queries": q}, ...]}``.  Only the first and last lessons are the paper's;
the ones between are linear interpolations (see ``docs/data.md``).

``shortest_path_transit.json`` is not the paper's: shortest paths on transit maps
(:func:`dnc_qa.graphs.transit_generator.lesson_map`), whose lessons give ``"lines"`` instead
of an out-degree.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources

from dnc_qa.errors import DncQaError

TASKS = ("traversal", "shortest_path", "inference")
CURRICULA = (*TASKS, "shortest_path_transit")
"""Every lesson table shipped: the paper's three and shortest paths on transit maps."""
Range = tuple[int, int]


@dataclass(frozen=True)
class Lesson:
    """One curriculum lesson (all ranges inclusive).

    Attributes:
        index: 1-based lesson number.
        nodes: number of graph nodes, drawn uniformly from this range.
        out_degree: each node's out-degree K, drawn per node from this range.
        length: traversal path length, shortest-path length, or inference relation length.
        queries: queries per episode.
        lines: transit-map lessons: the number of lines (``(0, 0)`` for random graphs).
    """

    index: int
    nodes: Range
    out_degree: Range
    length: Range
    queries: int = 1
    lines: Range = (0, 0)


@dataclass(frozen=True)
class LessonTable:
    """A task's ordered lessons."""

    task: str
    lessons: tuple[Lesson, ...]
    source: str = ""

    def __len__(self) -> int:
        return len(self.lessons)

    def __getitem__(self, i: int) -> Lesson:
        return self.lessons[i]

    @property
    def final(self) -> Lesson:
        return self.lessons[-1]


def _pair(value: object) -> Range:
    if isinstance(value, int):
        return (value, value)
    lo, hi = value  # type: ignore[misc]
    return (int(lo), int(hi))


@cache
def load_curriculum(task: str) -> LessonTable:
    """Load the lesson table ``task`` (one of :data:`CURRICULA`); read once per process (a
    task asks for its final lesson with every episode it draws)."""
    if task not in CURRICULA:
        raise DncQaError(f"unknown curriculum {task!r}; known: {', '.join(CURRICULA)}")
    folder = resources.files("dnc_qa.graphs").joinpath("curricula")
    text = folder.joinpath(f"{task}.json").read_text(encoding="utf-8")
    data = json.loads(text)
    lessons = tuple(
        Lesson(i + 1, _pair(d["nodes"]), _pair(d.get("out_degree", 0)), _pair(d["length"]),
               int(d.get("queries", 1)), _pair(d.get("lines", 0)))
        for i, d in enumerate(data["lessons"])
    )
    return LessonTable(data["task"], lessons, data.get("source", ""))


def interpolate(first: Lesson, last: Lesson, count: int) -> list[Lesson]:
    """``count`` lessons from ``first`` to ``last``, every bound linearly interpolated (rounded
    half up) so each bound is non-decreasing and ``lo <= hi`` holds in every lesson."""

    def at(a: Range, b: Range, t: float) -> Range:
        lo = int(a[0] + (b[0] - a[0]) * t + 0.5)
        hi = int(a[1] + (b[1] - a[1]) * t + 0.5)
        return (lo, max(lo, hi))

    out = []
    for i in range(count):
        t = i / (count - 1) if count > 1 else 1.0
        out.append(Lesson(i + 1, at(first.nodes, last.nodes, t),
                          at(first.out_degree, last.out_degree, t),
                          at(first.length, last.length, t), first.queries))
    return out
