"""Text knowledge bases: a file of simple sentences -> a canonical graph, plus Q/A files.

A knowledge-base file holds sentences (several per line allowed; ``#`` starts a comment line).
A Q/A file is tab-separated ``question<TAB>answer`` lines (several acceptable answers are
separated by ``|``).  Sentences the extractor cannot read make reading fail with the first one's
line named (or, with ``allow_unread=True``, are kept in :attr:`KnowledgeBase.unread`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import networkx as nx

from dnc_qa.graphs.errors import line_col
from dnc_qa.graphs.limits import DEFAULT_LIMITS, Limits, read_text
from dnc_qa.graphs.model import GraphBuilder
from dnc_qa.graphs.relations import follow
from dnc_qa.kb.babi import KbFormatError
from dnc_qa.kb.extract import ExtractedTriple, Query, TripleExtractor, UnreadSentence


@dataclass(frozen=True)
class KnowledgeBase:
    """The graph of a text knowledge base, the triples it came from, and unread sentences."""

    graph: nx.MultiDiGraph
    triples: tuple[ExtractedTriple, ...]
    unread: tuple[UnreadSentence, ...]


class QAPair(NamedTuple):
    """A question, its acceptable answers, and its line in the Q/A file."""

    question: str
    answers: tuple[str, ...]
    line: int


def read_text_kb(
    path: str | Path,
    extractor: TripleExtractor | None = None,
    *,
    allow_unread: bool = False,
    limits: Limits = DEFAULT_LIMITS,
) -> KnowledgeBase:
    """Extract a knowledge base's triples and build its graph (repeated facts merge)."""
    p = Path(path)
    result = (extractor or TripleExtractor()).extract(read_text(p, limits))
    if result.unread and not allow_unread:
        first = result.unread[0]
        more = f" (and {len(result.unread) - 1} more)" if len(result.unread) > 1 else ""
        raise KbFormatError(f"cannot read sentence {first.sentence!r}{more}; see "
                            "dnc_qa.kb.patterns for the forms understood", path=p,
                            place=line_col(first.line))
    builder = GraphBuilder(p, limits=limits, implicit_nodes=True)
    seen = set()
    for item in result.triples:
        if item.triple in seen:
            continue
        seen.add(item.triple)
        builder.add_edge(item.triple.source, item.triple.target, item.triple.relation,
                         None, line_col(item.line))
    return KnowledgeBase(builder.build(), tuple(result.triples), tuple(result.unread))


def read_qa(path: str | Path, limits: Limits = DEFAULT_LIMITS) -> list[QAPair]:
    """Read a ``question<TAB>answer[|answer...]`` file."""
    p = Path(path)
    pairs = []
    for number, line in enumerate(read_text(p, limits).splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) != 2 or not parts[0].strip() or not parts[1].strip():
            raise KbFormatError("expected 'question<TAB>answer'", path=p, place=line_col(number))
        answers = tuple(a.strip() for a in parts[1].split("|") if a.strip())
        pairs.append(QAPair(parts[0].strip(), answers, number))
    return pairs


def answer(graph: nx.MultiDiGraph, query: Query) -> set[str]:
    """The nodes that are ``query.source``'s ``query.relation``."""
    if query.source not in graph:
        return set()
    return follow(graph, query.source, (query.relation,))
