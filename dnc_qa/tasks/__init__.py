"""Tasks: seeded episode generators with their loss and metrics.

Bit-vector tasks (NTM paper): :class:`CopyTask`, :class:`RepeatCopyTask`,
:class:`AssociativeRecallTask`, :class:`PrioritySortTask`, :class:`ReverseCopyTask`.
"""

from dnc_qa.tasks.associative_recall import AssociativeRecallTask
from dnc_qa.tasks.base import Batch, Episode, MetricCounts, Metrics, Task
from dnc_qa.tasks.copy import CopyTask
from dnc_qa.tasks.priority_sort import PrioritySortTask
from dnc_qa.tasks.registry import TASKS, check_task_name, make_task
from dnc_qa.tasks.repeat_copy import RepeatCopyTask
from dnc_qa.tasks.reverse_copy import ReverseCopyTask

__all__ = [
    "TASKS",
    "AssociativeRecallTask",
    "Batch",
    "CopyTask",
    "Episode",
    "MetricCounts",
    "Metrics",
    "PrioritySortTask",
    "RepeatCopyTask",
    "ReverseCopyTask",
    "Task",
    "check_task_name",
    "make_task",
]
