"""Parse an English question about a graph into a typed query.

The graph's node names are found first with a spaCy ``PhraseMatcher`` (a blank English
pipeline, no model download) over every spelling variant of every name, and masked, so a name
that contains "and", "to" or "from" ("Elephant and Castle") cannot confuse the patterns.  Then
the masked text is matched against the question forms below; each slot that was not masked is
resolved with :class:`~dnc_qa.app.name_lookup.NameIndex` (case-insensitive, punctuation variants,
fuzzy), which reports unknown and ambiguous names.

Supported forms (:data:`SUPPORTED_FORMS`): shortest path, traversal, neighbours, family
relation, fact, and chains of two or more facts ("who is the mayor of the capital of X",
"where was the author of X born"), read as noun phrases built from relations around a name.
A transit line's direction may be named by a station it heads towards ("take the Red line
towards Cedar"); the stored graph says which direction leads there.
Without a :class:`Vocabulary` the parser returns the names as typed.

The work is bounded: a question longer than :data:`MAX_QUESTION_CHARS` is refused, a traversal
may have :data:`MAX_STEPS` steps and a chain as many relations, the chain reader gives no
reading to a phrase of more than :data:`MAX_CHAIN_WORDS` words and drops readings with two
unknown words, and the traversal reader reads each rest of its legs once.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Container, Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from dnc_qa.app.kinship import parse_relation
from dnc_qa.app.name_lookup import NameIndex, UnknownNameError, normalise
from dnc_qa.app.queries import (
    DIRECTION_WORDS,
    FactQuery,
    NeighboursQuery,
    Query,
    RelationQuery,
    ShortestPathQuery,
    Step,
    TraversalQuery,
    chain_query,
    inverse_label,
)
from dnc_qa.errors import DncQaError
from dnc_qa.kb.lemmas import verb_lemma
from dnc_qa.kb.makers import MAKER_OF
from dnc_qa.textout import clip

SUPPORTED_FORMS = (
    "shortest path ('shortest path from A to B', 'how do I get from A to B')",
    "number of stops ('how many stops from A to B')",
    "traversal ('from A take the Central line east for 2 stops', "
    "'start at A and follow X then Y')",
    "neighbours ('which stations are next to A')",
    "family relation ('who is Alice's maternal great uncle', 'who are Bob's grandchildren')",
    "fact ('what is the capital of France', 'who wrote Hamlet')",
    "chained facts ('who is the mayor of the capital of France', "
    "'where was the author of Hamlet born')",
)

MAX_STEPS = 50
"""The most hops a traversal question, or a chain of relations, may ask for."""

MAX_QUESTION_CHARS = 2000
"""The longest question read; a longer one is refused before parsing."""

_NUMBERS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19, "twenty": 20,
}
_MASK = "\u27e6{}\u27e7"
_MASK_RE = re.compile("\u27e6(\\d+)\u27e7")


class UnparsedQuestionError(DncQaError):
    """The question matches none of the supported forms."""

    def __init__(self, question: str, why: str = "") -> None:
        self.question = question
        extra = f" ({why})" if why else ""
        super().__init__(
            f"cannot parse {clip(question)!r}{extra}; ask one of: " + "; ".join(SUPPORTED_FORMS)
        )


@dataclass
class Vocabulary:
    """What the parser knows about one graph.

    Attributes:
        nodes: the node names.
        labels: the edge labels ("Central E", "mother", "capital").
        lines: transit line names ("Central"), the labels' first part when labels carry a
            direction; empty for other graphs.
        directions: ``{line: {direction, ...}}`` for transit graphs: compass points or
            ``"in"``/``"out"`` (``"Central E"``), or ``"towards <terminal>"`` (``"Red towards
            Cedar"``, a map without coordinates).
        moves: ``{label: {station: (next station, ...)}}`` along each line label, from a
            graph (:meth:`from_graph`); empty otherwise. It says which way leads to a
            station ("take the Red line towards Birch").
    """

    nodes: NameIndex
    labels: NameIndex
    lines: NameIndex | None = None
    directions: dict[str, set[str]] = field(default_factory=dict)
    moves: dict[str, dict[str, tuple[str, ...]]] = field(default_factory=dict)

    @classmethod
    def from_names(
        cls,
        nodes: Iterable[str],
        labels: Iterable[str] = (),
        *,
        graph: str | None = None,
        node_kind: str = "node",
    ) -> Vocabulary:
        """A vocabulary from names and labels; labels ``"<line> <N|E|S|W|in|out>"`` and
        ``"<line> towards <station>"`` make lines."""
        labels = list(dict.fromkeys(labels))
        nodes = list(nodes)
        directions = transit_directions(labels, stations=set(nodes))
        lines = NameIndex(list(directions), "line", graph) if directions else None
        return cls(
            NameIndex(nodes, node_kind, graph),
            NameIndex(labels, "relation" if not directions else "edge label", graph),
            lines,
            directions,
        )

    @classmethod
    def from_graph(cls, graph: Any, name: str | None = None, node_kind: str | None = None
                   ) -> Vocabulary:
        """The vocabulary of a :class:`networkx.MultiDiGraph` (keys are the labels)."""
        labels = [str(k) for _, _, k in graph.edges(keys=True)]
        kind = node_kind or guess_node_kind(graph)
        vocab = cls.from_names([str(n) for n in graph.nodes], labels, graph=name,
                               node_kind=kind)
        vocab.moves = line_moves(graph, label_parts(vocab.directions))
        return vocab


_TOWARDS_LABEL = re.compile(r"(?P<line>.+?) (?P<dir>towards (?P<end>.+))")


def transit_directions(labels: Iterable[str], stations: Container[str] = ()
                       ) -> dict[str, set[str]]:
    """``{line: {direction, ...}}`` for the labels that read ``"<line> <direction>"``.

    "in" and "out" count as directions only when a line has both (inbound and outbound), so
    a knowledge base's "born in" and "live in" are relations, not lines. A label ``"<line>
    towards <station>"`` (a map whose line directions are named by their terminals) has the
    direction ``"towards <station>"`` when the station is one of ``stations``.
    """
    directions: dict[str, set[str]] = {}
    suffixes = set(DIRECTION_WORDS.values())
    for lab in labels:
        towards = _TOWARDS_LABEL.fullmatch(lab)
        if towards and towards.group("end") in stations:
            directions.setdefault(towards.group("line"), set()).add(towards.group("dir"))
            continue
        head, _, tail = lab.rpartition(" ")
        if head and tail in suffixes:
            directions.setdefault(head, set()).add(tail)
    return {line: found for line, found in directions.items()
            if found - {"in", "out"} or found == {"in", "out"}}


def label_parts(directions: dict[str, set[str]]) -> dict[str, tuple[str, str]]:
    """``{label: (line, direction)}`` for the labels ``directions`` makes
    (``"Red towards Cedar"`` -> ``("Red", "towards Cedar")``)."""
    return {f"{line} {d}": (line, d) for line, found in directions.items() for d in found}


def line_moves(graph: Any, parts: dict[str, tuple[str, str]]
               ) -> dict[str, dict[str, tuple[str, ...]]]:
    """``{label: {station: (next station, ...)}}`` for the edges of ``graph`` whose label is
    one of ``parts`` (a line's)."""
    moves: dict[str, dict[str, list[str]]] = {}
    for u, v, k in graph.edges(keys=True):
        if str(k) in parts:
            moves.setdefault(str(k), {}).setdefault(str(u), []).append(str(v))
    return {lab: {u: tuple(vs) for u, vs in out.items()} for lab, out in moves.items()}


def guess_node_kind(graph: Any) -> str:
    """"station" for a transit map, "person" for a family tree (declared, or only family
    labels), else "node"."""
    from dnc_qa.app.kinship import FamilyView

    declared = str(graph.graph.get("kind", "")).lower()
    if declared in ("transit", "family"):
        return "station" if declared == "transit" else "person"
    labels = {str(k) for _, _, k in graph.edges(keys=True)}
    if any(d.get("line") for _, _, d in graph.edges(data=True)):
        return "station"
    lines = transit_directions(labels, stations={str(n) for n in graph.nodes})
    parts = label_parts(lines)
    if labels and all(lab in parts or lab.rpartition(" ")[0] in lines for lab in labels):
        return "station"
    kin = {"mother", "father", "parent", "son", "daughter", "child", "brother", "sister",
           "sibling", "husband", "wife", "spouse"}
    if labels and labels <= kin and FamilyView(graph).is_family_tree():
        return "person"
    return "node"


# ---------------------------------------------------------------------------------- spaCy


@lru_cache(maxsize=1)
def _nlp() -> Any:
    import spacy

    return spacy.blank("en")


def mask_names(text: str, vocab: Vocabulary) -> tuple[str, list[str]]:
    """Replace every known node name in ``text`` by a placeholder; return the masked text and
    the canonical names (placeholder ``i`` stands for ``names[i]``)."""
    from spacy.util import filter_spans

    nlp = _nlp()
    matcher = _matcher(id(vocab), vocab)
    doc = nlp.make_doc(text)
    spans = []
    for match_id, start, end in matcher(doc):
        span = doc[start:end]
        span.label_ = nlp.vocab.strings[match_id]
        spans.append(span)
    names: list[str] = []
    out, pos = [], 0
    for span in sorted(filter_spans(spans), key=lambda s: s.start_char):
        out.append(text[pos:span.start_char])
        out.append(_MASK.format(len(names)))
        names.append(vocab.nodes.names[int(span.label_[1:])])
        pos = span.end_char
    out.append(text[pos:])
    return "".join(out), names


_MATCHERS: dict[int, tuple[Vocabulary, Any]] = {}


def _matcher(key: int, vocab: Vocabulary) -> Any:
    from spacy.matcher import PhraseMatcher

    cached = _MATCHERS.get(key)
    if cached is not None and cached[0] is vocab:
        return cached[1]
    nlp = _nlp()
    matcher = PhraseMatcher(nlp.vocab, attr="LOWER")
    owners: dict[str, set[int]] = {}
    for i, name in enumerate(vocab.nodes.names):
        for variant in vocab.nodes.variants(name):
            owners.setdefault(variant.casefold(), set()).add(i)
    by_name: dict[int, list[str]] = {}
    for variant, who in owners.items():
        if len(who) == 1:  # a spelling two names share is left for NameIndex to call ambiguous
            by_name.setdefault(next(iter(who)), []).append(variant)
    for i, variants in sorted(by_name.items()):
        matcher.add(f"n{i}", [nlp.make_doc(v) for v in sorted(variants)])
    _MATCHERS.clear()
    _MATCHERS[key] = (vocab, matcher)
    return matcher


# ------------------------------------------------------------------------------- patterns

_X = r"(?P<a>.+?)"
_Y = r"(?P<b>.+?)"
_R = r"(?P<r>.+?)"

_SP = [
    rf"(?:what(?:'s| is) |find |show me |give me |tell me |compute |get |list |plan )?"
    rf"(?:the |a |an )?(?:shortest|quickest|fastest|best|minimal|optimal|most direct) "
    rf"(?:path|route|way|journey|connection|trip)(?: to (?:get|go|travel))? "
    rf"(?:from )?{_X} to {_Y}",
    rf"how (?:do|can|should|would|could|might|will) (?:i|you|we|one) "
    rf"(?:get|go|travel|reach|commute|journey|make it|ride) from {_X} to {_Y}",
    rf"(?:how to|what(?:'s| is) the (?:best|quickest|fastest) way to) (?:get|go|travel) "
    rf"from {_X} to {_Y}",
    rf"how (?:do|can) (?:i|you|we) (?:get|go) to {_Y} from {_X}",
    rf"(?:what(?:'s| is) |find |show me |give me )?(?:the |a )?"
    rf"(?:shortest |quickest |fastest )?(?:path|route|way) between {_X} and {_Y}",
    rf"(?:find |show me |give me |plan )?(?:a |the )?(?:route|directions|path|way|journey) "
    rf"from {_X} to {_Y}",
    rf"(?:navigate|take me|get me|guide me|route me|travel|go) from {_X} to {_Y}",
    rf"(?:go |travel |get )?from {_X} to {_Y}",
]

_COUNT = [
    rf"how many (?:stops|stations|steps|hops|edges) "
    rf"(?:is it |are there |does it take |do i (?:need|have) to (?:go|travel) )?"
    rf"(?:from|between) {_X} (?:to|and) {_Y}",
    rf"how far (?:is it )?from {_X} to {_Y} in (?:stops|stations|steps|hops)",
]
"""Questions asking how many stops a shortest path has."""

_NB_WHAT = r"(?:stations?|stops?|nodes?|places?|people|persons?|entities|ones)"
_NB_REL = (r"(?:next to|adjacent to|connected to|linked to|beside|neighbou?ring|neighbou?rs of|"
           r"one stop (?:from|away from)|a stop away from|directly connected to|"
           r"joined to|reachable in one (?:stop|step) from)")
_NB = [
    rf"(?:which|what) {_NB_WHAT} (?:are|is) {_NB_REL} {_X}",
    rf"(?:what|who|which)(?:'s| is| are) {_NB_REL} {_X}",
    rf"(?:list |show |show me |give me |find |get |name |what are )?(?:the |all )?(?:all )?"
    rf"(?:(?:direct |immediate )?neighbou?rs|adjacent (?:stations|stops|nodes)|"
    rf"neighbou?ring (?:stations|stops|nodes)) (?:of|to|for|around) {_X}",
    rf"(?:what|who|which) are {_X}(?:'s?)? (?:direct |immediate )?"
    rf"(?:neighbou?rs|adjacent stations|neighbou?ring stations)",
    rf"{_X}(?:'s?)? neighbou?rs",
    rf"where can (?:i|you|we) go (?:directly )?from {_X}(?: in one (?:stop|step))?",
    rf"{_NB_WHAT} {_NB_REL} {_X}",
    rf"what (?:connects|links) (?:to|with) {_X}",
]

_POSS = [
    rf"(?:who|what|which (?:person|people|one))(?:'s| is| are| was| were) {_X}'s? {_R}",
    rf"(?:who|what|which (?:person|people|one))(?:'s| is| are| was| were) "
    rf"(?:the |all (?:the )?)?{_R} of {_X}",
    rf"(?:list|name|find|show|show me|give me|tell me|get) (?:all )?(?:of )?{_X}'s? {_R}",
    rf"(?:list|name|find|show|show me|give me|tell me|get) (?:all )?(?:of )?(?:the )?"
    rf"{_R} of {_X}",
    rf"{_X}'s {_R}",
    rf"(?:the )?{_R} of {_X}",
]

_VERB_FACTS = [
    rf"(?:what|who|where|which|when|whom) (?:does|did|do) {_X} (?P<r>[\w' -]+?)",
    rf"(?:where|when|how) (?:is|was|were|are) {_X} (?P<r>[\w' -]+?)",
]
_INVERSE_FACT = rf"(?:who|what|which \w+) (?P<r>[\w' -]+?) {_X}"
# the same with the object one known name, so the relation keeps its particle ("lives in")
_INVERSE_FACT_NAME = r"(?:who|what|which \w+) (?P<r>[\w' -]+?) (?P<a>\u27e6\d+\u27e7)"

_DIR = r"(?P<dir>" + "|".join(sorted(DIRECTION_WORDS, key=len, reverse=True)) + r")"
_NUM = r"(?P<n>\d+|" + "|".join(_NUMBERS) + r")"
_UNIT = r"(?:stops?|stations?|steps?|hops?|times?)"
_LINE = r"(?P<line>.+?)(?: line)?"
_VERB = (r"(?:take|ride|follow|go|travel|catch|board|get on|head|hop on|change to|switch to|"
         r"then take|and take|go along|travel along|ride along)")
_TOWARD = r"(?:towards|toward|in the direction of) (?P<to>.+?)"
_ON = r"(?:on|along|via|using|with)"
_LEGS: list[str] = [
    rf"(?:the )?{_LINE},? (?:for )?{_NUM} {_UNIT},? {_DIR}",
    rf"(?:the )?{_LINE},? {_DIR}(?:,? (?:for )?{_NUM} {_UNIT})?",
    rf"{_NUM} {_UNIT} {_DIR} {_ON} (?:the )?{_LINE}",
    rf"{_DIR} (?:on|along|via|using) (?:the )?{_LINE}(?:,? (?:for )?{_NUM} {_UNIT})?",
    rf"{_DIR} (?:for )?{_NUM} {_UNIT} (?:on|along|via|using) (?:the )?{_LINE}",
    # "towards <station>": a terminal, or any station the line leads to
    rf"{_NUM} {_UNIT} {_TOWARD} {_ON} (?:the )?{_LINE}",
    rf"{_NUM} {_UNIT} {_ON} (?:the )?{_LINE},? {_TOWARD}",
    rf"{_TOWARD} {_ON} (?:the )?{_LINE}(?:,? (?:for )?{_NUM} {_UNIT})?",
    rf"(?:the )?{_LINE},? (?:for )?{_NUM} {_UNIT},? {_TOWARD}",
    rf"(?:the )?{_LINE},? {_TOWARD}(?:,? (?:for )?{_NUM} {_UNIT})?",
    rf"(?:the )?(?P<label>.+?)(?: edge| link| relation)?(?:,? (?:for )?{_NUM} {_UNIT})?",
]
_STRONG_SPLIT = re.compile(r",? (?:and then|then|after that|followed by)\s+|, ")
_WEAK_SPLIT = re.compile(r" and ")
_DIR_AND = re.compile(
    r"\b(?:" + "|".join(DIRECTION_WORDS) + r") and\b", re.IGNORECASE
)  # "Central E and Victoria" is two legs, not one line
_TRAVERSAL = [
    rf"(?:start(?:ing)? )?(?:at|from) {_X},? (?:and |then |, )*{_VERB} (?P<legs>.+)",
    rf"(?:start(?:ing)? )?(?:at|from) {_X}, (?P<legs>.+)",
    rf"(?:where|which station|what station|which node|what node|who) (?:do|will|would) "
    rf"(?:i|you|we) (?:end up|get to|arrive|reach|be|end up at|land)(?: at)? if (?:i|you|we) "
    rf"{_VERB} (?P<legs>.+) from {_X}",
    rf"{_VERB} (?P<legs>.+?) (?:starting )?from {_X}(?:,? where (?:do|will) (?:i|you) "
    rf"(?:end up|arrive|get to))?",
]


def _full(pattern: str) -> re.Pattern[str]:
    return re.compile(rf"^{pattern}$", re.IGNORECASE)


_SP_RE = [_full(p) for p in _SP]
_COUNT_RE = [_full(p) for p in _COUNT]
_NB_RE = [_full(p) for p in _NB]
_POSS_RE = [_full(p) for p in _POSS]
_VERB_FACT_RE = [_full(p) for p in _VERB_FACTS]
_INVERSE_FACT_RE = [_full(_INVERSE_FACT_NAME), _full(_INVERSE_FACT)]
_LEG_RE = [_full(p) for p in _LEGS]
_TRAVERSAL_RE = [_full(p) for p in _TRAVERSAL]

_SLOT_NOISE = re.compile(
    r"^(?:the |station |stop )+|(?:,| (?:tube|underground|train|metro|dlr|rail))?"
    r" (?:station|stop)$|,$",
    re.IGNORECASE,
)


def clean_question(question: str) -> str:
    """Trim, collapse whitespace, unify apostrophes and drop final punctuation."""
    text = question.replace("\u2019", "'").replace("\u2018", "'")
    text = " ".join(text.split())
    text = re.sub(r"^(?:please|hey|ok|so|and|q:)[, ]+", "", text, flags=re.IGNORECASE)
    text = re.sub(r"[\s?.!]+$", "", text)
    text = re.sub(r",? please$", "", text, flags=re.IGNORECASE)
    text = _ADVERB.sub("", text)
    return text.strip()


_ADVERB = re.compile(r"\b(?:first|also|originally|later|once|still|currently|now) (?=[a-z]+ed\b|"
                     r"(?:wrote|built|drew|sang|won|led|ran|made|found|founded|took|gave|"
                     r"began|became)\b)")
"""An adverb before a past verb ("who first climbed X"), which says nothing the facts hold."""


_IN_WHICH = re.compile(r"(?<=[a-z]) (?:in|at) which (?!(?:country|city|town|place|state|"
                       r"year)\b)", re.IGNORECASE)
"""A relative "in which" after a noun ("the country in which X was born") reads as "where"
(not "in which country ..." opening a question)."""

_NAME_OF = re.compile(r"\b(?:the |their |his |her )?names? of (?=\S)", re.IGNORECASE)
"""'the name of' before a noun phrase, which names the same thing."""


class _Ctx:
    """Turns masked slots back into names, resolving them against the vocabulary."""

    def __init__(self, vocab: Vocabulary | None, names: list[str]):
        self.vocab, self.names = vocab, names
        self._longest: int | None = None
        self.unknown_relation: DncQaError | None = None
        """Set when a form fitted but its relation names no label ("Orla's favourite
        colour"): the error to raise if no other form reads the question."""

    def unmask(self, text: str) -> str:
        return _MASK_RE.sub(lambda m: self.names[int(m.group(1))], text)

    def longest_name(self) -> int:
        """The most words a node name of the vocabulary has (0 without a vocabulary)."""
        if self._longest is None:
            names = self.vocab.nodes.names if self.vocab is not None else []
            self._longest = max((len(n.split()) for n in names), default=0)
        return self._longest

    def node(self, slot: str) -> str:
        text = slot.strip()
        while True:
            new = _SLOT_NOISE.sub("", text).strip()
            if new == text:
                break
            text = new
        m = _MASK_RE.fullmatch(text)
        if m:
            return self.names[int(m.group(1))]
        raw = self.unmask(text)
        if self.vocab is None:
            return raw
        return self.vocab.nodes.resolve(raw)

    def has_label(self, label: str) -> bool:
        """Whether the graph stores edge label ``label`` (always, without a vocabulary)."""
        return self.vocab is None or label in self.vocab.labels

    def relation_words(self, typed: str) -> str:
        """``typed``, or the relation it stands for (:func:`synonym`) unless the graph stores
        a label ``typed`` itself."""
        if self.vocab is None:
            return synonym(typed)
        if typed in self.vocab.labels:
            return typed
        return synonym(typed, self.vocab.labels)

    def relation_label(self, typed: str) -> str:
        raw = self.unmask(typed).strip()
        if self.vocab is None:
            return normalise(raw)
        return resolve_label(self.vocab.labels, raw)


def resolve_label(index: NameIndex, typed: str) -> str:
    """An edge label from words: exact, then word stems ("like" -> "likes"), then verb
    lemmas ("wrote" -> "write", "built" -> "build"), then fuzzy."""
    if typed in index:
        return index.resolve(typed)
    lemma = " ".join(verb_lemma(w) for w in normalise(typed).split())
    if lemma != normalise(typed) and lemma in index:
        return index.resolve(lemma)  # "painted" is "paint", though "paint in" is stored too
    for key in (_stem_phrase, _lemma_phrase):
        wanted = key(typed)
        hits = [n for n in index.names if key(n) == wanted]
        if len(hits) == 1:
            return hits[0]
    return index.resolve(typed)


_LABEL_FILLER = ("the", "a", "an", "of", "is", "was", "by", "in", "at")


def _stem_phrase(text: str) -> str:
    return " ".join(_stem(w) for w in normalise(text).replace("_", " ").split()
                    if w not in _LABEL_FILLER)


def _lemma_phrase(text: str) -> str:
    """Each word's verb lemma (:func:`dnc_qa.kb.lemmas.verb_lemma`), then its stem: the
    irregular forms the stems miss ("wrote"/"write"/"written", "bought"/"buy")."""
    return " ".join(_stem(verb_lemma(w)) for w in normalise(text).replace("_", " ").split()
                    if w not in _LABEL_FILLER)


def _stem(word: str) -> str:
    """A crude stem, enough to match "like"/"likes"/"liked" and "born"/"borns"."""
    for suffix in ("ing", "ies", "ed", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)] + ("y" if suffix == "ies" else "")
            break
    return word[:-1] if word.endswith("e") and len(word) > 3 else word


def parse_question(question: str, vocab: Vocabulary | None = None) -> Query:
    """The typed query ``question`` asks.

    Args:
        question: the English question.
        vocab: the graph's names and labels; ``None`` returns names as typed, unresolved.

    Raises:
        UnparsedQuestionError: no supported form fits.
        UnknownNameError, AmbiguousNameError: a name in it cannot be resolved.
        DncQaError: a form fits a known name, but its relation names none of the graph's
            labels (the message lists them).
    """
    text = clean_question(question)
    if not text:
        raise UnparsedQuestionError(question, "empty question")
    if len(text) > MAX_QUESTION_CHARS:
        raise UnparsedQuestionError(
            question, f"{len(text):,} characters; a question may have at most "
            f"{MAX_QUESTION_CHARS:,}")
    masked, names = mask_names(text, vocab) if vocab is not None else (text, [])
    masked = _IN_WHICH.sub(" where ", masked)
    ctx = _Ctx(vocab, names)
    if vocab is None or not ctx.has_label("name"):  # "what is the name of X's mother"
        masked = _NAME_OF.sub("", masked)
    for parser in _PARSERS:
        query = parser(masked, ctx)
        if query is not None:
            return query
    if ctx.unknown_relation is not None:
        raise ctx.unknown_relation
    raise UnparsedQuestionError(question)


def _parse_traversal(text: str, ctx: _Ctx) -> Query | None:
    for pattern in _TRAVERSAL_RE:
        m = pattern.match(text)
        if not m:
            continue
        start = ctx.node(m.group("a"))
        steps = _parse_legs(m.group("legs"), ctx)
        if steps is None:
            continue
        if len(steps) > MAX_STEPS:
            raise TooManyStepsError(len(steps))
        return TraversalQuery(start, tuple(resolve_towards(start, steps, ctx.vocab)))
    return None


class TooManyStepsError(DncQaError):
    """A traversal asks for more than :data:`MAX_STEPS` hops (``steps`` is ``None`` when the
    count was not finished: more legs than ``MAX_STEPS``)."""

    def __init__(self, steps: int | None) -> None:
        self.steps = steps
        counted = f"this one has {steps:,}" if steps is not None else "this one has more"
        super().__init__(f"a traversal question may have at most {MAX_STEPS} steps, {counted}")


MAX_LEG_SEPARATORS = 3
"""The most separators of one kind ("then" / ", ", or "and") one leg may contain ("the
Hammersmith and City line east, for 2 stops"); splits past them are not tried."""


def _parse_legs(text: str, ctx: _Ctx) -> list[Step] | None:
    """Steps for ``text`` (one or more legs), or ``None`` if it is not a list of legs.

    Tried in order: the whole text as one line-and-direction leg; splits at strong separators
    ("then", ", "), then at "and" (a line may be called "Hammersmith and City"); the whole text
    as one edge label.  If every attempt fails and one raised a name error, that error is raised.
    Each rest of the text is read once, and a reading of more than :data:`MAX_STEPS` legs
    stops with :class:`TooManyStepsError`, so the work is bounded.
    """
    return _legs(re.sub(rf"^{_VERB} ", "", text.strip(), flags=re.IGNORECASE), ctx, {}, 1)


def _legs(text: str, ctx: _Ctx, memo: dict[str, list[Step] | DncQaError | None],
          depth: int) -> list[Step] | None:
    """:func:`_parse_legs` for the rest ``text`` of the legs, read as leg number ``depth``
    onwards; ``memo`` holds the rests already read (their steps, ``None`` or their error)."""
    if depth > MAX_STEPS:
        raise TooManyStepsError(None)
    if text in memo:
        known = memo[text]
        if isinstance(known, DncQaError):
            raise known
        return known
    errors: list[DncQaError] = []

    def attempt(fn: Callable[[], list[Step] | None]) -> list[Step] | None:
        try:
            return fn()
        except TooManyStepsError:
            raise
        except DncQaError as exc:
            errors.append(exc)
            return None

    def read() -> list[Step] | None:
        found = attempt(lambda: _parse_leg(text, ctx, labels=False))
        if found is not None:
            return found
        for sep in (_STRONG_SPLIT, _WEAK_SPLIT):
            for i, m in enumerate(sep.finditer(text)):
                if i > MAX_LEG_SEPARATORS:
                    break
                left_text, right_text = text[: m.start()], text[m.end():]
                left = attempt(lambda lt=left_text: _parse_leg(lt, ctx, labels=True))
                if left is None:
                    continue
                right = attempt(lambda rt=right_text: _legs(rt, ctx, memo, depth + 1))
                if right is not None:
                    return left + right
        return attempt(lambda: _parse_leg(text, ctx, labels=True))

    found = read()
    memo[text] = found if found is not None or not errors else errors[0]
    if found is None and errors:
        raise errors[0]
    return found


def _parse_leg(text: str, ctx: _Ctx, labels: bool) -> list[Step] | None:
    """Steps for one leg ("the Central line east for 2 stops", "Central E", "mother")."""
    text = re.sub(rf"^{_VERB} ", "", text.strip(), flags=re.IGNORECASE).strip()
    if not text:
        return None
    for pattern in _LEG_RE:
        m = pattern.match(text)
        if not m:
            continue
        groups = m.groupdict()
        n = _number(groups.get("n"))
        if groups.get("label") is not None:
            label = ctx.unmask(groups["label"]).strip()
            if not labels or not _looks_like_label(label):
                return None
            return [_label_step(label, ctx)] * n
        line = ctx.unmask(groups["line"]).strip()
        if not line or _STRONG_SPLIT.search(line) or _DIR_AND.search(line):
            continue
        if groups.get("to") is not None:
            step = _towards_step(line, groups["to"], ctx)
            if step is None:
                continue
            return [step] * n
        direction = DIRECTION_WORDS[groups["dir"].lower()]
        return [_line_step(line, direction, ctx)] * n
    return None


def _looks_like_label(label: str) -> bool:
    """Whether ``label`` could be one edge label (short, no list separators)."""
    return not (_STRONG_SPLIT.search(label) or _WEAK_SPLIT.search(label)
                or len(label.split()) > 4)


def _number(text: str | None) -> int:
    """The number of stops a leg names (1 when it names none)."""
    if text is None:
        return 1
    n = int(text) if text.isdigit() else _NUMBERS[text.lower()]
    if n < 1:
        raise DncQaError("a traversal needs at least 1 stop")
    if n > MAX_STEPS:
        raise TooManyStepsError(n)
    return n


def _line_step(line: str, direction: str, ctx: _Ctx) -> Step:
    vocab = ctx.vocab
    if vocab is None:
        return Step(line, direction)
    if vocab.lines is None:
        label = resolve_label(vocab.labels, f"{line} {direction}")
        return Step(label)
    name = vocab.lines.resolve(line)
    have = vocab.directions.get(name, set())
    if direction not in have:
        raise DncQaError(
            f"the {name} line has no direction {direction!r} in {vocab.lines.graph!r} "
            f"(it has {', '.join(sorted(have))})"
        )
    return Step(name, direction)


def _towards_step(line: str, towards: str, ctx: _Ctx) -> Step | None:
    """The step "the ``line`` line towards ``towards``" (a station): ``Step(line, "towards
    <station>")``, ``None`` when the graph has no transit lines (the words may be a label).

    When the station is not a terminal of the line the step's direction is not one of the
    line's yet; :func:`resolve_towards` picks the direction that leads there.
    """
    vocab = ctx.vocab
    if vocab is None:
        return Step(line, f"towards {ctx.unmask(towards).strip()}")
    if vocab.lines is None:
        return None
    name = vocab.lines.resolve(line)
    return Step(name, f"towards {ctx.node(towards)}")


def resolve_towards(start: str, steps: list[Step], vocab: Vocabulary | None) -> list[Step]:
    """``steps`` with each "towards <station>" that is not a direction of its line replaced
    by the line's direction that leads from where the walk is to that station.

    A leg of several stops ("towards Birch for 3 stops") keeps the direction chosen at its
    first stop. Without the graph's moves (a vocabulary made from names), or where an earlier
    step cannot be followed, the rest is left as it is (the exact answer names the step that
    fails).

    Raises:
        DncQaError: the station is not on the line (the message names the line's
            terminals), or no direction of the line leads there from the walk's station.
    """
    if vocab is None or not vocab.moves:
        return steps
    out: list[Step] = []
    node: str | None = start
    asked: Step | None = None  # the pending step of the leg being walked
    resolved = asked
    for step in steps:
        if _pending(step, vocab):
            if step != asked:
                if node is None:
                    return out + steps[len(out):]
                asked, resolved = step, _towards_direction(node, step, vocab)
            step = resolved or step
        else:
            asked = None
        out.append(step)
        node = _move(node, step.label, vocab) if node is not None else None
    return out


def _pending(step: Step, vocab: Vocabulary) -> bool:
    """Whether ``step`` is "towards <station>" on a line that has no such direction."""
    return (step.direction is not None and step.direction.startswith("towards ")
            and step.direction not in vocab.directions.get(step.line, ()))


def _move(node: str, label: str, vocab: Vocabulary) -> str | None:
    """The station one ``label`` edge from ``node`` (``None`` when there is not exactly one)."""
    nexts = vocab.moves.get(label, {}).get(node, ())
    return nexts[0] if len(nexts) == 1 else None


def _stops_along(node: str, label: str, vocab: Vocabulary) -> dict[str, int]:
    """``{station: stops}`` for the stations reached from ``node`` along ``label`` alone."""
    moves = vocab.moves.get(label, {})
    seen, frontier = {node: 0}, [node]
    while frontier:
        nxt = []
        for here in frontier:
            for there in moves.get(here, ()):
                if there not in seen:
                    seen[there] = seen[here] + 1
                    nxt.append(there)
        frontier = nxt
    return seen


def line_terminals(line: str, vocab: Vocabulary) -> list[str]:
    """The terminals of ``line``: the stations of its "towards" directions, else the stations
    with one neighbour on the line (from :attr:`Vocabulary.moves`)."""
    named = sorted(d.removeprefix("towards ") for d in vocab.directions.get(line, ())
                   if d.startswith("towards "))
    if named:
        return named
    near: dict[str, set[str]] = {}
    for d in vocab.directions.get(line, ()):
        for u, vs in vocab.moves.get(f"{line} {d}", {}).items():
            for v in vs:
                near.setdefault(u, set()).add(v)
                near.setdefault(v, set()).add(u)
    return sorted(s for s, others in near.items() if len(others) == 1)


def _line_stations(line: str, vocab: Vocabulary) -> set[str]:
    out: set[str] = set()
    for d in vocab.directions.get(line, ()):
        for u, vs in vocab.moves.get(f"{line} {d}", {}).items():
            out.add(u)
            out.update(vs)
    return out


def _towards_direction(node: str, step: Step, vocab: Vocabulary) -> Step:
    """The step along ``step.line`` from ``node`` whose direction leads to the station of
    ``step`` ("towards Birch"), the nearest when several do."""
    target = (step.direction or "").removeprefix("towards ")
    line = step.line
    stations = _line_stations(line, vocab)
    for station in (target, node):
        if station not in stations:
            ends = line_terminals(line, vocab)
            runs = f" (it runs between {_names(ends)})" if ends else ""
            raise DncQaError(f"{station!r} is not on the {line} line{runs}")
    if node == target:
        raise DncQaError(f"the walk is at {target!r} already when it takes the {line} line "
                         f"towards it")
    found = []
    for d in sorted(vocab.directions.get(line, ())):
        stops = _stops_along(node, f"{line} {d}", vocab).get(target)
        if stops is not None:
            found.append((stops, d))
    if not found:
        raise DncQaError(f"no direction of the {line} line leads from {node!r} to {target!r}")
    return Step(line, min(found)[1])


def _names(names: list[str]) -> str:
    """``'A'``, ``'A' and 'B'``, ``'A', 'B' and 'C'``."""
    quoted = [repr(n) for n in names]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]


def _label_step(label: str, ctx: _Ctx) -> Step:
    vocab = ctx.vocab
    if vocab is None:
        head, _, tail = label.rpartition(" ")
        if head and tail.lower() in DIRECTION_WORDS:
            return Step(head, DIRECTION_WORDS[tail.lower()])
        return Step(label)
    try:
        found = resolve_label(vocab.labels, label)
    except UnknownNameError:
        bare = label.lower().removesuffix(" line")
        if vocab.lines is not None and bare in {n.lower() for n in vocab.lines.names}:
            name = vocab.lines.resolve(bare)
            raise DncQaError(
                f"say which way to go on the {name} line: "
                + " or ".join(sorted(vocab.directions.get(name, ())))
            ) from None
        raise
    parts = label_parts(vocab.directions).get(found)
    if parts is not None:
        return Step(*parts)
    return Step(found)


def _parse_shortest(text: str, ctx: _Ctx) -> Query | None:
    for pattern in _COUNT_RE:
        m = pattern.match(text)
        if m:
            return ShortestPathQuery(ctx.node(m.group("a")), ctx.node(m.group("b")),
                                     count=True)
    for pattern in _SP_RE[:-1]:
        m = pattern.match(text)
        if m:
            return ShortestPathQuery(ctx.node(m.group("a")), ctx.node(m.group("b")))
    return None


def _parse_neighbours(text: str, ctx: _Ctx) -> Query | None:
    for pattern in _NB_RE:
        m = pattern.match(text)
        if m:
            return NeighboursQuery(ctx.node(m.group("a")))
    return None


def _parse_possessive(text: str, ctx: _Ctx) -> Query | None:
    for pattern in _POSS_RE:
        m = pattern.match(text)
        if not m:
            continue
        query = _relation_or_fact(m.group("a"), m.group("r"), ctx)
        if query is not None:
            return query
    return None


def _relation_or_fact(subject: str, relation: str, ctx: _Ctx) -> Query | None:
    """What "X's R" / "the R of X" asks.

    An R that is one of the graph's edge labels is a fact (one edge); otherwise a family
    relation (composed: "maternal great uncle", "grandchildren"); otherwise a fact whose label
    is matched loosely ("like" for "likes"); otherwise ``None`` (R names nothing here).
    """
    rel_text = ctx.relation_words(ctx.unmask(relation).strip())
    if ctx.vocab is not None and rel_text in ctx.vocab.labels:
        return FactQuery(ctx.node(subject), ctx.vocab.labels.resolve(rel_text))
    relation_obj = parse_relation(rel_text)
    if relation_obj is not None:
        return RelationQuery(ctx.node(subject), relation_obj.name)
    label = _known_label(rel_text, ctx)
    if label is None:
        _note_unknown_relation(subject, rel_text, ctx)
        return None
    return FactQuery(ctx.node(subject), label)


def _note_unknown_relation(subject: str, relation: str, ctx: _Ctx) -> None:
    """When ``subject`` is one of the graph's names and ``relation`` none of its labels, keep
    an error that says so, with the near labels (by plain edit similarity: the name lookup's
    looser score offers "write" for "favourite colour") and the labels there are, so that
    "what is Orla's favourite colour" is not reported as a question of no known form."""
    if ctx.vocab is None or ctx.unknown_relation is not None or not ctx.vocab.labels.names:
        return
    try:
        ctx.node(subject)
        ctx.relation_label(relation)
        return
    except UnknownNameError as exc:
        if exc.kind != ctx.vocab.labels.kind:
            return  # the subject is no name here: the question may be of another form
        near = exc.suggestions
    except DncQaError:
        return
    from rapidfuzz import fuzz

    typed = normalise(relation)
    near = [s for s in near if fuzz.ratio(normalise(s), typed) >= RELATION_SUGGEST]
    labels = sorted(ctx.vocab.labels.names, key=str.lower)
    shown = ", ".join(labels[:MAX_LABELS_SHOWN]) + (", ..." if len(labels) > MAX_LABELS_SHOWN
                                                    else "")
    where = f" in {ctx.vocab.labels.graph!r}" if ctx.vocab.labels.graph else ""
    hint = ("did you mean " + " or ".join(repr(s) for s in near) + "? ") if near else ""
    ctx.unknown_relation = DncQaError(
        f"no relation {clip(relation, 60)!r}{where}; {hint}its relations: {shown}")


RELATION_SUGGEST = 70.0
"""Edit similarity (rapidfuzz ``ratio``, 0-100) a label needs to be offered for a relation
the graph does not have."""

MAX_LABELS_SHOWN = 12
"""The most labels an unknown-relation error lists."""


def _parse_verb_fact(text: str, ctx: _Ctx) -> Query | None:
    """"what does X like", "where was X born", "who wrote X" (inverse).

    These forms are loose, so they only apply when the verb names one of the graph's labels.
    """
    for pattern in _VERB_FACT_RE:
        m = pattern.match(text)
        if m and not _has_clause(m.group("a")):
            label = _known_label(m.group("r"), ctx)
            if label is not None:
                return FactQuery(ctx.node(m.group("a")), label)
    for pattern in _INVERSE_FACT_RE:
        m = pattern.match(text)
        if not m:
            continue
        rel = m.group("r").strip()
        if rel.lower().split()[0] in ("is", "are", "was", "were", "'s", "do", "does", "did"):
            return None
        label = _known_label(rel, ctx)
        if label is not None:
            return FactQuery(ctx.node(m.group("a")), label, inverse=True)
    return None


def _has_clause(phrase: str) -> bool:
    """Whether ``phrase`` holds a relative clause ("the gallery where X"): a noun phrase for
    the chain readers, not a name."""
    return any(w.lower() in (*_RELATIVE_PRONOUNS, "where") for w in _words(phrase))


def _known_label(typed: str, ctx: _Ctx) -> str | None:
    try:
        return ctx.relation_label(ctx.relation_words(typed))
    except DncQaError:
        return None


RELATION_SYNONYMS: tuple[tuple[str, ...], ...] = (
    ("born in", "birthplace", "birth place", "place of birth", "from", "come from"),
    ("author", "writer"),
    ("live in", "residence", "home", "reside in", "live at", "dwell in"),
    ("work for", "work at", "employer"),
    ("located in", "location", "in", "situated in", "based in", "headquartered in", "lie in",
     "locate in"),
    ("capital", "capital city"),
    ("ceo", "chief executive", "chief executive officer", "head", "run", "lead"),
    ("married to", "spouse", "husband", "wife", "marry", "partner"),
    ("flow through", "run through", "pass through", "flow in"),
    ("parent", "father", "mother"),
    ("sibling", "brother", "sister"),
    ("child", "son", "daughter"),
    ("found", "establish", "set up", "form", "start", "create"),
    ("founder", "establisher"),
    ("designer", "architect"),
    ("sculptor", "carver"),
    ("make", "manufacture", "produce", "build"),
    ("study at", "study in", "attend", "graduate from", "educated at"),
)
"""Words a question may use for a relation the knowledge base words otherwise, in groups: a
relation the graph does not store is read as the first of its group's other words that the
graph stores ("the birthplace of X" is where X was born; "where is X based" asks X's
"headquartered in"; "X's wife" asks "married to" when no "wife" is stored)."""


GENDERED = frozenset({"father", "mother", "brother", "sister", "son", "daughter", "husband",
                      "wife"})
"""Relation words with a sex: one never stands for another (a graph with only ``mother``
does not answer "who is Tom's father"), only for a word without one (``parent``)."""


def synonym_words(typed: str) -> list[str]:
    """The words that may stand for relation ``typed``, in order: the other words of its
    :data:`RELATION_SYNONYMS` groups, without a word of the other sex (:data:`GENDERED`)."""
    key = " ".join(typed.lower().split())
    out: list[str] = []
    for group in RELATION_SYNONYMS:
        if key in group:
            out += [w for w in group if w != key and w not in out
                    and not (key in GENDERED and w in GENDERED)]
    return out


def synonym(typed: str, stored: NameIndex | None = None) -> str:
    """The relation words ``typed`` stands for: with ``stored`` (the graph's labels), the
    first of :func:`synonym_words` that the graph stores; without, its group's first word;
    else ``typed``."""
    words = synonym_words(typed)
    if stored is None:
        key = " ".join(typed.lower().split())
        first = next((g[0] for g in RELATION_SYNONYMS if key in g), key)
        return first if first != key and first in words else typed
    return next((w for w in words if w in stored), typed)


# ------------------------------------------------------------------ chains of relations

_FUNCTION_WORDS = frozenset({
    "of", "'s", "that", "which", "who", "whom", "whose", "where", "what", "when", "is", "are",
    "was", "were", "do", "does", "did", "the", "a", "an", "has", "have", "had", "be", "been",
})
_PREPOSITIONS = frozenset({"in", "at", "on", "for", "to", "with", "from", "by", "into", "about",
                           "near", "under", "over", "after", "before"})
_AUX_WORDS = ("is", "are", "was", "were", "does", "do", "did", "has", "have", "had", "been")
_DETERMINER = re.compile(r"^(?:the|a|an)\s+", re.IGNORECASE)
_RELATIVE_PRONOUNS = ("that", "which", "whom", "who")
_BE_THERE = ("is", "are", "was", "were", "lies", "lie", "lay", "stands", "stood", "sits")
_PLACE_LABELS = ("in", "located in", "based in", "situated in", "headquartered in", "lie in",
                 "at", "located at")
"""The labels "the country where X is" may ask, the first one the graph stores read first."""
MAX_RELATION_WORDS = 3
"""The most words one relation of a chain is read from ("longest river", "lives in")."""
MAX_NAME_WORDS = 5
"""The most words an unmasked name in a chain may have."""
MAX_CHAIN_WORDS = 3 * MAX_STEPS + MAX_NAME_WORDS
"""The most words the noun phrase of a chain may have (``MAX_STEPS`` hops of "the R of")."""


@dataclass(frozen=True)
class _Hop:
    """One relation of a chain: a stored label (``None`` when the words name none)."""

    label: str | None
    inverse: bool = False


@dataclass(frozen=True)
class _Chain:
    """A reading of a noun phrase: the name it starts from, its hops (innermost first) and the
    errors of the words that named nothing (a reading with errors is only reported)."""

    subject: str | None
    hops: tuple[_Hop, ...] = ()
    errors: tuple[DncQaError, ...] = ()

    def then(self, hop: _Hop, error: DncQaError | None = None) -> _Chain:
        return _Chain(self.subject, (*self.hops, hop), self.errors + ((error,) if error else ()))


_Memo = dict[tuple[str, bool], _Chain | None]
"""Readings of noun phrases already made, by ``(phrase, strict)``."""


def _best(readings: Iterable[_Chain | None]) -> _Chain | None:
    """The reading with the fewest errors (the first of equals)."""
    found = [r for r in readings if r is not None]
    return min(found, key=lambda r: len(r.errors)) if found else None


def _words(text: str) -> list[str]:
    return text.split()


def _chain_name(text: str, ctx: _Ctx, strict: bool = False) -> _Chain | None:
    """A known name (a masked one, or one the vocabulary resolves), or a name-like phrase that
    names nothing (a reading with that error; none when ``strict``)."""
    words = _words(text)
    if not words or any(w.lower() in _FUNCTION_WORDS or w.lower().endswith("'s")
                        for w in words):
        return None
    masked = _MASK_RE.fullmatch(text.strip())
    if masked:
        return _Chain(ctx.names[int(masked.group(1))])
    if ctx.vocab is not None and len(words) > max(MAX_NAME_WORDS, ctx.longest_name() + 3):
        return None  # longer than any name, even with "the ... station" around it
    try:
        return _Chain(ctx.node(text))
    except DncQaError as exc:
        if strict or len(words) > MAX_NAME_WORDS or _MASK_RE.search(text):
            return None
        return _Chain(None, errors=(exc,))


def _chain_relation(typed: str, ctx: _Ctx, inverse: bool = False,
                    verb: bool = False) -> tuple[_Hop, DncQaError | None] | None:
    """The hop ``typed`` names: a stored label, or for a noun with no label of its own the
    inverse of the label it is the inverse of ("author" when only "write" is stored).

    ``verb``: leading auxiliaries are dropped ("was born" -> "born"). ``None`` when the words
    cannot be one relation (a name in them, too many words).
    """
    words = _words(typed)
    if verb:
        while words and words[0].lower() in _AUX_WORDS:
            words = words[1:]
    if (not words or len(words) > MAX_RELATION_WORDS or _MASK_RE.search(" ".join(words))
            or words[0].lower() in _FUNCTION_WORDS
            or any(w.lower() in ("the", "a", "an", "of") for w in words)):
        return None
    typed = " ".join(words)
    text = ctx.relation_words(typed)
    try:
        label = ctx.relation_label(text)
    except DncQaError as exc:
        other = inverse_label(normalise(text))
        if other is not None and ctx.vocab is not None and other in ctx.vocab.labels:
            return _Hop(ctx.vocab.labels.resolve(other), not inverse), None
        return _Hop(None, inverse), exc
    extra = Counter(w.lower() for w in words if w.lower() in _PREPOSITIONS)
    if text == typed and extra - Counter(normalise(label).split()):
        return None  # "capital in" is the capital, then "in": not one relation
    return _Hop(label, inverse), None


def _noun_phrase(text: str, ctx: _Ctx, memo: _Memo, strict: bool = False) -> _Chain | None:
    """The best reading of a noun phrase that names something by relations from a name.

    Readings, tried in this order: "R of NP" (at each "of", left to right: "the mother of
    Pell's father" is the mother of Pell's father), "NP's R" (at each "'s", right to left),
    a relative clause ("the book that NP likes", "the country NP lives in", "the city where
    NP was born", "the person who wrote NP", "the city that is NP"), a name.

    ``strict``: only readings without errors (the caller's reading has one already; a
    reading with two is never used). A phrase of more than :data:`MAX_CHAIN_WORDS` words
    has no reading, which bounds the work and the depth of the search.
    """
    text = _DETERMINER.sub("", text.strip()).strip()
    key = (text, strict)
    if key in memo:
        return memo[key]
    memo[key] = None  # no reading of a phrase goes through itself
    words = _words(text)
    if len(words) > MAX_CHAIN_WORDS:
        return None
    readings: list[_Chain | None] = []
    for i in range(1, min(MAX_RELATION_WORDS + 1, len(words) - 1)):  # "R of NP", R short
        if words[i].lower() == "of":
            readings.append(_link(" ".join(words[:i]), " ".join(words[i + 1:]), ctx, memo,
                                  strict=strict))
    for i in range(len(words) - 1, max(0, len(words) - MAX_RELATION_WORDS - 1), -1):
        if (words[i - 1].lower().endswith("'s") and len(words[i - 1]) > 2
                and all(_possessor_word(w) for w in words[:i - 1])):
            inner = " ".join([*words[:i - 1], words[i - 1][:-2]])
            readings.append(_link(" ".join(words[i:]), inner, ctx, memo, strict=strict))
    readings.extend(_relative_clauses(words, ctx, memo, strict))
    if len(words) > 2 and words[1].lower() == "by" and words[0].islower():
        # "the painting by X": what X painted (the maker's verb of the kind), else "by" back
        verb = MAKER_OF.get(words[0].lower())
        rest = " ".join(words[2:])
        readings.append(_link(verb, rest, ctx, memo, strict=strict) if verb is not None
                        else _link("by", rest, ctx, memo, inverse=True, strict=strict))
    readings.append(_chain_name(text, ctx, strict))
    best = _best(readings)
    memo[key] = best
    return best


def _possessor_word(word: str) -> bool:
    """Whether ``word`` can be part of what a "'s" applies to: a name or a possessive ("'s"
    binds to the nearest name: "the book written by X's father" is written by X's father)."""
    return bool(_MASK_RE.match(word)) or word[:1].isupper() or word.lower().endswith("'s")


def _link(relation: str, inner: str, ctx: _Ctx, memo: _Memo, inverse: bool = False,
          verb: bool = False, strict: bool = False) -> _Chain | None:
    """``inner``'s reading followed by one hop along ``relation`` (with ``strict``, only a
    reading without errors)."""
    hop = _chain_relation(relation, ctx, inverse, verb)
    if hop is None or (strict and hop[1] is not None):
        return None
    chain = _noun_phrase(inner, ctx, memo, strict or hop[1] is not None)
    return None if chain is None else chain.then(*hop)


def _relative_clauses(words: list[str], ctx: _Ctx, memo: _Memo, strict: bool = False
                      ) -> list[_Chain | None]:
    """Readings of ``HEAD [that|which|whom] NP VERB``, ``HEAD where NP VERB`` (the object
    is missing: NP's VERB), ``HEAD [that was] VERBed by NP`` (NP's VERB too), ``HEAD
    who|that|which VERB NP`` and ``HEAD VERBed PREP NP`` (the subject is missing: VERB read
    backwards: "the book set in NP") and ``HEAD that|which|who is NP`` (NP itself). HEAD
    is one or two plain words ("book", "country", "river town") and says only what kind of
    thing is meant."""
    out: list[_Chain | None] = []
    for h in (1, 2):
        head, rest = words[:h], words[h:]
        if len(rest) < 2 or any(not w.isalpha() or w.lower() in _FUNCTION_WORDS
                                or w.lower() in _PREPOSITIONS for w in head):
            continue
        out.extend(_passive_clause(rest, ctx, memo, strict))
        pronoun = rest[0].lower()
        if pronoun in _RELATIVE_PRONOUNS and rest[1].lower() in ("is", "was", "are", "were"):
            out.append(_noun_phrase(" ".join(rest[2:]), ctx, memo, strict)
                       if len(rest) > 2 else None)
            continue
        clause = rest[1:] if pronoun in (*_RELATIVE_PRONOUNS, "where") else rest
        if pronoun == "where" and clause[-1].lower() in _PREPOSITIONS:
            continue  # "where" is the place already: "the city where X was born in"
        if pronoun == "where" and clause[-1].lower() in _BE_THERE:  # "where X is": X's "in"
            out.extend(_link(label, " ".join(clause[:-1]), ctx, memo, strict=strict)
                       for label in _PLACE_LABELS if ctx.has_label(label))
            continue
        for v in range(1, min(MAX_RELATION_WORDS + 1, len(clause))):
            verb, noun = " ".join(clause[-v:]), " ".join(clause[:-v])
            out.append(_link(verb, noun, ctx, memo, verb=True, strict=strict))
        participle = pronoun not in (*_RELATIVE_PRONOUNS, "where", *_PREPOSITIONS)
        if pronoun in ("who", "that", "which") or participle:
            # "the person who wrote NP"; a participle: "the book set in NP"
            for v in range(1, min(MAX_RELATION_WORDS + 1, len(clause))):
                verb, noun = " ".join(clause[:v]), " ".join(clause[v:])
                if clause[0].lower() not in _AUX_WORDS:
                    out.append(_link(verb, noun, ctx, memo, inverse=True, verb=True,
                                     strict=strict))
    return out


def _passive_clause(rest: list[str], ctx: _Ctx, memo: _Memo, strict: bool = False
                    ) -> list[_Chain | None]:
    """``[that|which] [was|is] VERBed by NP`` ("founded by X", "that was written by X"):
    NP's VERB."""
    words = list(rest)
    if words and words[0].lower() in ("that", "which"):
        words = words[1:]
    if words and words[0].lower() in ("is", "was", "are", "were"):
        words = words[1:]
    if "by" not in words[1:MAX_RELATION_WORDS + 1]:
        return []
    i = words.index("by")
    return [_link(" ".join(words[:i]), " ".join(words[i + 1:]), ctx, memo, verb=True,
                  strict=strict)]


_CHAIN_WHAT = r"(?:who|whom|where|(?:what|which)(?: [a-z]+)?)"
_FRONT_PREPOSITION = _full(r"(?P<prep>in|at|for|from|on|to|with) (?P<rest>(?:which|what|whom)\b.+)")
_CHAIN_NOUN_FORMS = [
    _full(rf"(?:{_CHAIN_WHAT}(?:'s| is| are| was| were) )?(?P<np>.+)"),
    _full(r"(?:list|name|find|show|show me|give me|tell me|get)(?: all)?(?: of)? (?P<np>.+)"),
]
_CHAIN_BE_VERB = _full(rf"(?:{_CHAIN_WHAT}|when|how) (?:is|was|were|are) (?P<rest>.+)")
_CHAIN_DO_VERB = _full(rf"(?:{_CHAIN_WHAT}|when|whom) (?:does|did|do) (?P<rest>.+)")
_CHAIN_SUBJECT_VERB = _full(rf"{_CHAIN_WHAT} (?P<rest>.+)")


def _question_chains(text: str, ctx: _Ctx) -> list[_Chain | None]:
    """Every reading of ``text`` as a question about a chain of relations, in order: "who is
    NP", "where was NP born" / "what does NP like" (NP, then the verb), "who wrote NP" (the
    verb read backwards). A question led by a preposition ("in which city was NP born")
    reads as the question without it, the preposition after its verb ("born in")."""
    memo: _Memo = {}
    out: list[_Chain | None] = []
    front = _FRONT_PREPOSITION.match(text)
    particle = ""
    if front:
        text, particle = front.group("rest"), " " + front.group("prep").lower()
    for form in _CHAIN_NOUN_FORMS:
        m = form.match(text)
        if m and not particle:
            out.append(_noun_phrase(m.group("np"), ctx, memo))
    for form in (_CHAIN_BE_VERB, _CHAIN_DO_VERB):
        m = form.match(text)
        if m and particle and form is _CHAIN_BE_VERB:  # "in which country is NP": NP's "in"
            out.append(_link(particle.strip(), m.group("rest"), ctx, memo, verb=True))
        if m and not particle and form is _CHAIN_BE_VERB:
            out.extend(_passive_question(_words(m.group("rest")), ctx, memo))
            out.extend(_by_last(_words(m.group("rest")), ctx, memo))
        if m:
            rest = _words(m.group("rest"))
            for v in range(1, min(MAX_RELATION_WORDS + 1, len(rest))):
                out.append(_link(" ".join(rest[-v:]) + particle, " ".join(rest[:-v]), ctx,
                                 memo, verb=True))
    m = _CHAIN_SUBJECT_VERB.match(text)
    if m and not particle:
        rest = _words(m.group("rest"))
        if rest and rest[0].lower() not in (*_AUX_WORDS, "'s"):
            for v in range(1, min(MAX_RELATION_WORDS + 1, len(rest))):
                out.append(_link(" ".join(rest[:v]), " ".join(rest[v:]), ctx, memo,
                                 inverse=True, verb=True))
    return out


def _passive_question(rest: list[str], ctx: _Ctx, memo: _Memo) -> list[_Chain | None]:
    """Readings of "who was VERB NP" with the verb first: "who was born in NP" asks the
    sources of NP's "born in" (a backward hop); "what was written by NP" asks NP's
    "write" (forward: the agent after "by" is the triple's source)."""
    out: list[_Chain | None] = []
    for v in range(1, min(MAX_RELATION_WORDS + 1, len(rest))):
        verb, noun = rest[:v], " ".join(rest[v:])
        if verb[0].lower() in _FUNCTION_WORDS:
            continue
        if verb[-1].lower() == "by":
            if v > 1:
                out.append(_link(" ".join(verb[:-1]), noun, ctx, memo, verb=True))
        else:
            out.append(_link(" ".join(verb), noun, ctx, memo, inverse=True, verb=True))
    return out


def _by_last(rest: list[str], ctx: _Ctx, memo: _Memo) -> list[_Chain | None]:
    """Readings of "who was NP VERBed by": the source of NP's VERB (a backward hop: "who
    was Hamlet written by" asks who wrote Hamlet)."""
    if len(rest) < 3 or rest[-1].lower() != "by":
        return []
    words = rest[:-1]
    return [_link(" ".join(words[-v:]), " ".join(words[:-v]), ctx, memo, inverse=True,
                  verb=True) for v in range(1, min(MAX_RELATION_WORDS + 1, len(words)))]


def _chain_query(chain: _Chain, ctx: _Ctx) -> Query:
    """The query a fully read chain asks: a :class:`FactQuery` for one hop, else a
    :class:`MultiFactQuery`; inverse hops become the stored inverse label where there is one
    ("who wrote X" walks X's "author" edge)."""
    assert chain.subject is not None and all(h.label is not None for h in chain.hops)
    hops = [_forward(h, ctx) for h in chain.hops]
    return chain_query(chain.subject, [h.label or "" for h in hops], [h.inverse for h in hops])


def _forward(hop: _Hop, ctx: _Ctx) -> _Hop:
    if not hop.inverse or hop.label is None or ctx.vocab is None:
        return hop
    other = inverse_label(hop.label)
    if other is not None and other in ctx.vocab.labels:
        return _Hop(ctx.vocab.labels.resolve(other))
    return hop


def _read_chain(text: str, ctx: _Ctx, min_hops: int) -> Query | None:
    """The best chain reading of ``text`` as a query, when it has at least ``min_hops`` hops.

    A reading whose words name nothing in one place only (one misspelt relation or name in
    an otherwise clear chain of two or more) raises that error, with its suggestions.
    """
    best = _best(c for c in _question_chains(text, ctx) if c is not None and c.hops)
    if best is None:
        return None
    if len(best.hops) > MAX_STEPS:
        raise DncQaError(f"a chain of relations may have at most {MAX_STEPS} relations, "
                         f"this one has {len(best.hops)}")
    if not best.errors:
        return _chain_query(best, ctx) if len(best.hops) >= min_hops else None
    if len(best.errors) == 1 and len(best.hops) >= 2:
        raise best.errors[0]
    return None


def _parse_chain(text: str, ctx: _Ctx) -> Query | None:
    """Questions chaining two or more relations: "who is the mayor of the capital of X",
    "who is X's father's mother", "where was the author of X born", "who wrote the book
    that X likes", "what is the capital of the country X lives in".

    A possessive that names a family relation of its own ("Eli's wife's father") stays
    that relation.
    """
    try:
        relation = _parse_possessive(text, ctx)
    except DncQaError:
        relation = None
    if isinstance(relation, RelationQuery):
        return relation
    return _read_chain(text, ctx, min_hops=2)


_WHERE_IS = re.compile(r"^where (?:is|are|was|were) (?P<np>.+)$", re.IGNORECASE)


def _parse_where_is(text: str, ctx: _Ctx) -> Query | None:
    """"Where is X?", "where is the gallery that X owns?": the place X is in, by the first
    place label the graph stores (:data:`_PLACE_LABELS`; the answer reads the one X has,
    :func:`dnc_qa.app.places.with_containment`). Tried when no other form reads the
    question, so "where is X located" and "where was X born" keep their own relation."""
    m = _WHERE_IS.match(text)
    if m is None or ctx.vocab is None:
        return None
    label = next((lb for lb in _PLACE_LABELS if ctx.has_label(lb)), None)
    if label is None or _words(m.group("np"))[-1].lower() in (*_PREPOSITIONS, *_AUX_WORDS):
        return None
    chain = _noun_phrase(m.group("np"), ctx, {})
    if chain is None or chain.subject is None or chain.errors:
        return None
    return _chain_query(chain.then(_Hop(ctx.vocab.labels.resolve(label))), ctx)


def _parse_clause_fact(text: str, ctx: _Ctx) -> Query | None:
    """One relation asked through a relative clause ("what is the country X lives in"), when
    no other form reads the question."""
    return _read_chain(text, ctx, min_hops=1)


def _parse_bare_route(text: str, ctx: _Ctx) -> Query | None:
    m = _SP_RE[-1].match(text)
    if m:
        return ShortestPathQuery(ctx.node(m.group("a")), ctx.node(m.group("b")))
    return None


_PARSERS: list[Callable[[str, _Ctx], Query | None]] = [
    _parse_shortest,
    _parse_traversal,
    _parse_bare_route,
    _parse_neighbours,
    _parse_chain,
    _parse_possessive,
    _parse_verb_fact,
    _parse_clause_fact,
    _parse_where_is,
]
