"""The sentence and question forms the triple extractor reads, as small templates.

A template is space-separated: ``X``, ``Y`` and ``R`` are slots (one or more tokens; ``X``/``Y``
entities, ``R`` the relation), ``[w]`` is an optional literal word, anything else a literal
word matched case-insensitively.  spaCy splits ``Bob's`` into ``Bob`` ``'s``, so templates write
``Y 's R``.  A statement pattern yields the triple ``(Y, R, X)``: *X is Y's R*; a question
pattern yields the query ``(Y, R, ?)``.

Extend by passing more patterns to :class:`~dnc_qa.kb.extract.TripleExtractor`, e.g.
``SentencePattern("married", "X is married to Y .", relation="spouse")`` (a pattern without an
``R`` slot gives its fixed ``relation``).  Patterns are tried in order; the first that matches
the whole sentence wins.
"""

from __future__ import annotations

from typing import NamedTuple

SLOTS = ("X", "Y", "R")
# Words a slot never contains (so the literals around it can match).
STOP_WORDS = ("is", "are", "was", "of", "the", "'s", "'", ".", "?", "who", "what", "where")


class SentencePattern(NamedTuple):
    """A statement form: ``template`` must use ``X`` and ``Y``, and ``R`` unless ``relation``."""

    name: str
    template: str
    relation: str | None = None


class QuestionPattern(NamedTuple):
    """A question form: ``template`` uses ``Y`` and ``R`` (or a fixed ``relation``)."""

    name: str
    template: str
    relation: str | None = None


DEFAULT_SENTENCE_PATTERNS: tuple[SentencePattern, ...] = (
    # "Alice is the mother of Bob."  "Paris is the capital of France."
    SentencePattern("X is the R of Y", "[the] X is the R of [the] Y ."),
    # "Bob's wife is Carol."
    SentencePattern("Y's R is X", "[the] Y 's R is [the] X ."),
    # "Carol is Bob's wife."
    SentencePattern("X is Y's R", "[the] X is [the] Y 's R ."),
    # "The capital of France is Paris."
    SentencePattern("the R of Y is X", "the R of [the] Y is [the] X ."),
    # "Tom is a friend of Ann."  "Ann is an aunt of Pell."
    SentencePattern("X is a R of Y", "[the] X is a R of [the] Y ."),
    SentencePattern("X is an R of Y", "[the] X is an R of [the] Y ."),
    # "The kitchen is north of the hallway."
    SentencePattern("X is R of Y", "[the] X is R of [the] Y ."),
    # the same in the past: "Ondine's doctoral advisor was Henrietta Vasko."
    SentencePattern("Y's R was X", "[the] Y 's R was [the] X ."),
    SentencePattern("X was Y's R", "[the] X was [the] Y 's R ."),
    SentencePattern("X was the R of Y", "[the] X was the R of [the] Y ."),
    SentencePattern("the R of Y was X", "the R of [the] Y was [the] X ."),
    # "Port Sable has a population of two million."
    SentencePattern("Y has a R of X", "[the] Y has a R of [the] X ."),
    SentencePattern("Y has an R of X", "[the] Y has an R of [the] X ."),
)

DEFAULT_QUESTION_PATTERNS: tuple[QuestionPattern, ...] = (
    # "Who is the mother of Bob?"  "What is the capital of France?"
    QuestionPattern("who is the R of Y", "who is the R of [the] Y ?"),
    QuestionPattern("what is the R of Y", "what is the R of [the] Y ?"),
    # "Who is Bob's wife?"  "What is France's capital?"
    QuestionPattern("who is Y's R", "who is [the] Y 's R ?"),
    QuestionPattern("what is Y's R", "what is [the] Y 's R ?"),
    # "What is north of the hallway?"
    QuestionPattern("what is R of Y", "what is R of [the] Y ?"),
)
