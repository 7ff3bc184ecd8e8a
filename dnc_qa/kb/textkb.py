"""Text knowledge bases: a file of simple sentences -> a canonical graph, plus Q/A files.

A knowledge-base file holds sentences (several per line allowed; ``#`` starts a comment line).
A Q/A file is tab-separated ``question<TAB>answer`` lines (several acceptable answers are
separated by ``|``).  Sentences the extractor cannot read are skipped and kept, with their lines
and why, in :attr:`KnowledgeBase.unread` (with ``strict=True`` they make reading fail, the
message naming how many and the first few); a file with no readable sentence fails either way.
The graph also holds the inverse facts the stated ones imply (:mod:`dnc_qa.kb.inverse`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import networkx as nx

from dnc_qa.graphs.errors import line_col
from dnc_qa.graphs.limits import DEFAULT_LIMITS, Limits, read_text
from dnc_qa.graphs.model import GraphBuilder, Triple
from dnc_qa.graphs.relations import follow
from dnc_qa.kb.babi_reader import KbFormatError
from dnc_qa.kb.extract import ExtractedTriple, Query, TripleExtractor, UnreadSentence
from dnc_qa.kb.inverse import inverse_triples

STRICT_HINT = "rephrase them, or leave out --strict to skip them"
"""What a ``strict`` refusal suggests (the command line's words)."""

SHOWN_CHARS = 80
"""How much of an unread sentence messages show."""


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
    strict: bool = False,
    limits: Limits = DEFAULT_LIMITS,
    strict_hint: str = STRICT_HINT,
) -> KnowledgeBase:
    """Extract a knowledge base's triples and build its graph (repeated facts merge).

    Args:
        path: the text file.
        extractor: the sentence reader (default: :class:`TripleExtractor` with its forms).
        strict: refuse a file with any sentence that cannot be read, instead of skipping
            those (they are in :attr:`KnowledgeBase.unread` either way).
        limits: size limits of the file.
        strict_hint: what the ``strict`` error tells the reader to do.

    Raises:
        KbFormatError: no sentence can be read (or none is there); with ``strict``, any
            sentence cannot be read. One line, naming how many and the first few.
    """
    p = Path(path)
    result = (extractor or TripleExtractor()).extract(read_text(p, limits))
    if result.unread and (strict or not result.triples):
        read = len({(t.line, t.sentence) for t in result.triples})
        raise KbFormatError(unread_message(result.unread, read, strict_hint),
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


def unread_message(unread: Sequence[UnreadSentence], read: int, hint: str = STRICT_HINT,
                   show: int = 3) -> str:
    """One line: how many sentences cannot be read (of ``read`` + those), the first ``show``
    with their lines (:func:`describe_unread`), and ``hint`` (what to do) when some can."""
    total = read + len(unread)
    listed = "; ".join(describe_unread(u) for u in unread[:show])
    more = f"; and {len(unread) - show} more" if len(unread) > show else ""
    if not read:
        return (f"none of the {total} sentence(s) can be read ({listed}{more}); see "
                "docs/api.md for the sentence forms understood")
    tail = f"; {hint}" if hint else ""
    return f"{len(unread)} of {total} sentences cannot be read ({listed}{more}){tail}"


def describe_unread(item: UnreadSentence, limit: int = SHOWN_CHARS) -> str:
    """``line N: 'the sentence'``: quoted with escapes (``repr``) and cut to ``limit``
    characters, safe to print on a terminal."""
    text = item.sentence
    if len(text) <= limit:
        return f"line {item.line}: {text!r}"
    return f"line {item.line}: {text[:limit]!r}... ({len(text) - limit:,} more characters)"


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
