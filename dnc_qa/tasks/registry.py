"""Task names and how to build each task with its default (paper) setup."""

from __future__ import annotations

import difflib
from collections.abc import Callable
from typing import Any

from dnc_qa.errors import DncQaError
from dnc_qa.tasks.associative_recall import AssociativeRecallTask
from dnc_qa.tasks.babi import BabiTask
from dnc_qa.tasks.base import Task
from dnc_qa.tasks.copy import CopyTask
from dnc_qa.tasks.inference import InferenceTask
from dnc_qa.tasks.kb_qa import KbQaTask
from dnc_qa.tasks.priority_sort import PrioritySortTask
from dnc_qa.tasks.repeat_copy import RepeatCopyTask
from dnc_qa.tasks.reverse_copy import ReverseCopyTask
from dnc_qa.tasks.shortest_path import ShortestPathTask
from dnc_qa.tasks.traversal import TraversalTask

TASKS: dict[str, Callable[..., Task]] = {
    "copy": CopyTask,
    "repeat_copy": RepeatCopyTask,
    "associative_recall": AssociativeRecallTask,
    "priority_sort": PrioritySortTask,
    "reverse_copy": ReverseCopyTask,
    "traversal": TraversalTask,
    "shortest_path": ShortestPathTask,
    "inference": InferenceTask,
    "babi": BabiTask,
    "kb_qa": KbQaTask,
}
"""Every task the trainer knows, by name."""


def suggest(name: str, choices: list[str]) -> str:
    """A ``" (did you mean X?)"`` hint for a misspelt ``name``, or ``""``."""
    close = difflib.get_close_matches(name, choices, n=2, cutoff=0.5)
    return f" (did you mean {' or '.join(close)}?)" if close else ""


def check_task_name(name: str) -> str:
    """Normalise ``name`` (``-`` and ``_`` are the same) or raise :class:`DncQaError`."""
    key = name.strip().lower().replace("-", "_")
    if key not in TASKS:
        raise DncQaError(
            f"unknown task {name!r}{suggest(key, list(TASKS))}; choose one of {', '.join(TASKS)}"
        )
    return key


def make_task(name: str, **options: Any) -> Task:
    """Build the task called ``name`` with its default setup, or with ``options`` (keyword
    arguments of its constructor, e.g. ``task_id`` and ``data_dir`` for ``babi``)."""
    return TASKS[check_task_name(name)](**options)
