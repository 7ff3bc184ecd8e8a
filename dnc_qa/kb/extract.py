"""Extract ``(subject, relation, object)`` triples from simple English with spaCy.

Uses a blank English pipeline (``spacy.blank("en")``; no model download): a sentencizer, an
:class:`~spacy.pipeline.EntityRuler` plus ``merge_entities`` so that known multi-word names
(e.g. "Bank of England") act as one token, and a :class:`~spacy.matcher.Matcher` compiled from
the templates in :mod:`dnc_qa.kb.patterns` (``with_alignments`` tells which slot each token
filled).  Triples follow the graph convention: ``Triple(Bob, mother, Alice)`` means *Alice is
Bob's mother*.  Every sentence that no pattern reads is returned in
:attr:`ExtractionResult.unread`, never dropped.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import spacy
from spacy.matcher import Matcher
from spacy.tokens import Span

from dnc_qa.errors import DncQaError
from dnc_qa.graphs.model import Triple
from dnc_qa.kb.patterns import (
    DEFAULT_QUESTION_PATTERNS,
    DEFAULT_SENTENCE_PATTERNS,
    SLOTS,
    STOP_WORDS,
    QuestionPattern,
    SentencePattern,
)


class ExtractedTriple(NamedTuple):
    """A triple, the sentence it came from, its line (1-based) and the pattern that read it."""

    triple: Triple
    sentence: str
    line: int
    pattern: str


class UnreadSentence(NamedTuple):
    """A sentence no pattern could read, with its line and why."""

    sentence: str
    line: int
    reason: str


class Query(NamedTuple):
    """A question read as ``(source, relation, ?)``."""

    source: str
    relation: str
    pattern: str


@dataclass(frozen=True)
class ExtractionResult:
    """What :meth:`TripleExtractor.extract` read and what it could not."""

    triples: list[ExtractedTriple] = field(default_factory=list)
    unread: list[UnreadSentence] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.unread


def compile_template(template: str) -> tuple[list[dict], list[str | None]]:
    """A template -> (Matcher token patterns, the slot name of each pattern token or None)."""
    tokens: list[dict] = []
    roles: list[str | None] = []
    for word in template.split():
        if word in SLOTS:
            tokens.append({"LOWER": {"NOT_IN": list(STOP_WORDS)}, "OP": "+"})
            roles.append(word)
        elif word.startswith("[") and word.endswith("]"):
            tokens.append({"LOWER": word[1:-1].lower(), "OP": "?"})
            roles.append(None)
        else:
            tokens.append({"LOWER": word.lower()})
            roles.append(None)
    return tokens, roles


def _check(pattern: SentencePattern | QuestionPattern, needs: tuple[str, ...]) -> None:
    words = pattern.template.split()
    missing = [s for s in needs if s not in words]
    if pattern.relation is None and "R" not in words:
        missing.append("R")
    if missing:
        raise DncQaError(f"pattern {pattern.name!r} lacks slot(s) {', '.join(missing)}")


class TripleExtractor:
    """Reads statements into triples and questions into queries (see module docstring).

    Args:
        sentence_patterns: statement forms, tried in order.
        question_patterns: question forms, tried in order.
        entities: multi-word names to keep whole (EntityRuler phrases).
    """

    def __init__(
        self,
        sentence_patterns: Sequence[SentencePattern] = DEFAULT_SENTENCE_PATTERNS,
        question_patterns: Sequence[QuestionPattern] = DEFAULT_QUESTION_PATTERNS,
        entities: Iterable[str] = (),
    ) -> None:
        self.nlp = spacy.blank("en")
        self.nlp.add_pipe("sentencizer")
        self.matcher = Matcher(self.nlp.vocab)
        self.sentence_patterns: list[SentencePattern] = []
        self.question_patterns: list[QuestionPattern] = []
        self._roles: dict[str, list[str | None]] = {}
        for p in sentence_patterns:
            self.add_pattern(p)
        for q in question_patterns:
            self.add_pattern(q)
        self.add_entities(entities)

    def add_entities(self, names: Iterable[str]) -> None:
        """Keep these (multi-word) names as single entity tokens."""
        phrases = [{"label": "NAME", "pattern": n} for n in names if n.strip()]
        if not phrases:
            return
        if "entity_ruler" not in self.nlp.pipe_names:  # added on first use (no empty-ruler warning)
            self.nlp.add_pipe("entity_ruler")
            self.nlp.add_pipe("merge_entities")
        self.nlp.get_pipe("entity_ruler").add_patterns(phrases)  # type: ignore[attr-defined]

    def add_pattern(self, pattern: SentencePattern | QuestionPattern) -> None:
        """Append a statement or question pattern (tried after the existing ones)."""
        is_question = isinstance(pattern, QuestionPattern)
        _check(pattern, ("Y",) if is_question else ("X", "Y"))
        key = f"{'Q' if is_question else 'S'}:{pattern.name}"
        if key in self._roles:
            raise DncQaError(f"pattern name {pattern.name!r} is already used")
        tokens, roles = compile_template(pattern.template)
        self.matcher.add(key, [tokens])
        self._roles[key] = roles
        (self.question_patterns if is_question else self.sentence_patterns).append(pattern)

    def _read(self, sent: Span, prefix: str) -> tuple[str, dict[str, str]] | None:
        doc = sent.as_doc()
        found: dict[str, list[int]] = {}
        for match_id, start, end, align in self.matcher(doc, with_alignments=True):
            key = self.nlp.vocab.strings[match_id]
            if key.startswith(prefix) and start == 0 and end == len(doc):
                found.setdefault(key, align)
        order = self.question_patterns if prefix == "Q:" else self.sentence_patterns
        for pattern in order:
            key = f"{prefix}{pattern.name}"
            if key in found:
                roles = self._roles[key]
                slots: dict[str, list[str]] = {}
                for token, index in zip(doc, found[key], strict=True):
                    role = roles[index]
                    if role is not None:
                        slots.setdefault(role, []).append(token.text)
                values = {k: " ".join(v) for k, v in slots.items()}
                if "R" in values:
                    values["R"] = values["R"].lower()
                elif pattern.relation is not None:
                    values["R"] = pattern.relation
                return pattern.name, values
        return None

    def extract(self, text: str) -> ExtractionResult:
        """Read every sentence of ``text``; lines starting with ``#`` are comments."""
        result = ExtractionResult()
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            for sent in self.nlp(line.strip()).sents:
                read = self._read(sent, "S:")
                if read is None:
                    result.unread.append(UnreadSentence(sent.text, number,
                                                        "no sentence pattern matches"))
                    continue
                name, v = read
                result.triples.append(ExtractedTriple(Triple(v["Y"], v["R"], v["X"]),
                                                      sent.text, number, name))
        return result

    def question(self, text: str) -> Query | None:
        """Read one question as ``(source, relation, ?)``; ``None`` if no pattern matches."""
        doc = self.nlp(text.strip())
        read = self._read(doc[:], "Q:")
        if read is None:
            return None
        name, v = read
        return Query(v["Y"], v["R"], name)
