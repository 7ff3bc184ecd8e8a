"""Graphs: one in-memory form, readers/writers, validation, generators and curricula.

The canonical graph is a :class:`networkx.MultiDiGraph` with ``str`` node names and a ``str``
``label`` on every edge (the edge key is the label); see :mod:`dnc_qa.graphs.model`.
"""

from dnc_qa.graphs.errors import GraphFormatError
from dnc_qa.graphs.io import ReadOptions, detect_format, read_graph, write_graph
from dnc_qa.graphs.lesson_tables import Lesson, LessonTable, load_curriculum
from dnc_qa.graphs.limits import Limits
from dnc_qa.graphs.model import LABEL, Triple, graph_from_triples, triples
from dnc_qa.graphs.stats import GraphStats, graph_stats

__all__ = [
    "LABEL", "GraphFormatError", "GraphStats", "Lesson", "LessonTable", "Limits", "ReadOptions",
    "Triple", "detect_format", "graph_from_triples", "graph_stats", "load_curriculum",
    "read_graph", "triples", "write_graph",
]
