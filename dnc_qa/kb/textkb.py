"""Text knowledge bases: a file of simple sentences -> a canonical graph, plus Q/A files.

A knowledge-base file holds sentences (several per line allowed; ``#`` starts a comment line).
A Q/A file is tab-separated ``question<TAB>answer`` lines (several acceptable answers are
separated by ``|``).  Sentences the extractor cannot read make reading fail, the message naming
how many and the first few with their lines (or, with ``allow_unread=True``, they are skipped
and kept in :attr:`KnowledgeBase.unread`); a file with no readable sentence fails either way.
The graph also holds the inverse facts the stated ones imply (:mod:`dnc_qa.kb.inverse`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import networkx as nx

from dnc_qa.graphs.errors import line_col
from dnc_qa.graphs.limits import DEFAULT_LIMITS, Limits, read_text
from dnc_qa.graphs.model import GraphBuilder, Triple
from dnc_qa.graphs.relations import follow
from dnc_qa.kb.babi import KbFormatError
from dnc_qa.kb.extract import ExtractedTriple, Query, TripleExtractor, UnreadSentence
from dnc_qa.kb.inverse import inverse_triples


@dataclass(frozen=True)
class KnowledgeBase:
    """The graph of a text knowledge base, the triples it came from, the unread sentences
    and the inverse facts added (:mod:`dnc_qa.kb.inverse`)."""

    graph: nx.MultiDiGraph
    triples: tuple[ExtractedTriple, ...]
    unread: tuple[UnreadSentence, ...]
    inferred: tuple[Triple, ...] = ()


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
    if result.unread and (not allow_unread or not result.triples):
        read = len({(t.line, t.sentence) for t in result.triples})
        raise KbFormatError(unread_message(result.unread, read, allow_unread),
                            path=p, place=line_col(result.unread[0].line))
    if not result.triples:
        raise KbFormatError("no sentences to read (empty, or only comments)", path=p)
    builder = GraphBuilder(p, limits=limits, implicit_nodes=True)
    seen = set()
    for item in result.triples:
        if item.triple in seen:
            continue
        seen.add(item.triple)
        builder.add_edge(item.triple.source, item.triple.target, item.triple.relation,
                         None, line_col(item.line))
    inferred = tuple(inverse_triples(t.triple for t in result.triples))
    for triple in inferred:
        builder.add_edge(triple.source, triple.target, triple.relation, None, None)
    return KnowledgeBase(builder.build(), tuple(result.triples), tuple(result.unread), inferred)


def unread_message(unread: list[UnreadSentence], read: int, allow_unread: bool,
                   show: int = 3) -> str:
    """One line: how many sentences cannot be read (of ``read`` + those), the first ``show``
    with their lines, and what to do."""
    total = read + len(unread)
    listed = "; ".join(f"line {u.line}: {u.sentence!r}" for u in unread[:show])
    more = f"; and {len(unread) - show} more" if len(unread) > show else ""
    if not read:
        return (f"none of the {total} sentence(s) can be read ({listed}{more}); see "
                "docs/api.md for the sentence forms understood")
    hint = "" if allow_unread else "; rephrase them, or pass --allow-unread to skip them"
    return f"{len(unread)} of {total} sentences cannot be read ({listed}{more}){hint}"


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
