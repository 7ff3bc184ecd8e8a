"""Extract ``(subject, relation, object)`` triples from simple English with spaCy.

Uses a blank English pipeline (``spacy.blank("en")``; no model download): a sentencizer, an
:class:`~spacy.pipeline.EntityRuler` plus ``merge_entities`` so that known multi-word names
(e.g. "Bank of England") act as one token, and a :class:`~spacy.matcher.Matcher` compiled from
the templates in :mod:`dnc_qa.kb.patterns` (``with_alignments`` tells which slot each token
filled).  Triples follow the graph convention: ``Triple(Bob, mother, Alice)`` means *Alice is
Bob's mother*.

The forms read, in the order they are tried:

* the copula templates of :mod:`dnc_qa.kb.patterns`: "Alice is the mother of Bob",
  "Bob's wife is Carol", "Carol is Bob's wife", "The capital of France is Paris",
  "The kitchen is north of the hallway", "Tom is a friend of Ann";
* verb statements (:func:`read_verb_statement`): "Jonah likes apples" -> ``(Jonah, like,
  apples)`` (the verb's lemma, :mod:`dnc_qa.kb.lemmas`), with particles kept: "Tom lives in
  Paris" -> ``(Tom, live in, Paris)``; the passive with an agent in the active voice:
  "Hamlet was written by Shakespeare" -> ``(Shakespeare, write, Hamlet)``; other passives and
  states as written: "Tom was born in Dunmere" -> ``(Tom, born in, Dunmere)``, "Ann is
  married to Tom" -> ``(Ann, married to, Tom)``, "Paris is in France" -> ``(Paris, in,
  France)``;
* what a thing is, with a place or a maker (:func:`read_kind_statement`): "Castelbrook is a
  city in Maravia" -> ``(Castelbrook, in, Maravia)``, "Jonah is a painter from Dunholt" ->
  ``(Jonah, from, Dunholt)``, "The Silver Orchard is a novel by Petra Lune" -> ``(Petra Lune,
  write, Silver Orchard)`` (the maker's verb from the kind of work: :data:`MAKER_VERBS`);
* appositions are facts or asides: "Petra, the author of Hamlet, lives in Dunholt" reads
  "Petra is the author of Hamlet" too; "Petra, a poet, lives in Dunholt" reads the rest;
* relative clauses are split into facts: "Tom, who lives in Paris, likes apples" -> two
  statements; "Tom likes Ann, who lives in Rome" -> the clause is about the last name before
  the comma; "Tom, whose mother is Ann, ..." -> "Tom's mother is Ann".

Every sentence that no form reads is returned in :attr:`ExtractionResult.unread` with its line,
never dropped.
"""

from __future__ import annotations

import re
from collections.abc import Container, Iterable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import spacy
from spacy.matcher import Matcher
from spacy.tokens import Span

from dnc_qa.errors import DncQaError
from dnc_qa.graphs.model import Triple
from dnc_qa.kb.lemmas import IRREGULAR, is_inflected_verb, verb_lemma
from dnc_qa.kb.makers import MAKER_OF
from dnc_qa.kb.patterns import (
    DEFAULT_QUESTION_PATTERNS,
    DEFAULT_SENTENCE_PATTERNS,
    SLOTS,
    STOP_WORDS,
    QuestionPattern,
    SentencePattern,
)
from dnc_qa.kb.simplify import NAME_JOINERS, is_name_word, rewrite


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
                if prefix == "S:" and any(_opens_phrase(slots.get(k, [""])[0]) for k in "XY"):
                    continue  # "The University of Brisk is in Brisk": not "the R of Y is X"
                if "R" in values:
                    values["R"] = values["R"].lower()
                elif pattern.relation is not None:
                    values["R"] = pattern.relation
                return pattern.name, values
        return None

    def read_statement(self, text: str) -> tuple[Triple, str] | None:
        """One simple statement (no relative clause) -> its triple and the form's name, or
        ``None`` when no form reads it."""
        doc = self.nlp(text.strip())
        read = self._read(doc[:], "S:")
        if read is not None:
            name, v = read
            return Triple(v["Y"], v["R"], v["X"]), name
        words = [t.text for t in doc]
        return (read_verb_statement(words) or read_kind_statement(words)
                or read_of_statement(words))

    def extract(self, text: str) -> ExtractionResult:
        """Read every sentence of ``text``; lines starting with ``#`` are comments.

        Two passes: the first reads every sentence without splitting lists of names, and
        collects the names the text uses; the second reads again, splitting "A and B" where
        the text names A or B elsewhere (:func:`dnc_qa.kb.simplify.rewrite`)."""
        sentences = [(number, sent.text)
                     for number, line in enumerate(text.splitlines(), start=1)
                     if line.strip() and not line.lstrip().startswith("#")
                     for sent in self.nlp(line.strip()).sents]
        names: set[str] = set()
        for _, sentence in sentences:
            for triple, _name in self._read_sentence(sentence, frozenset())[0]:
                names.update((triple.source, triple.target))
        result = ExtractionResult()
        for number, sentence in sentences:
            facts, unread = self._read_sentence(sentence, names)
            for triple, name in facts:
                result.triples.append(ExtractedTriple(triple, sentence, number, name))
            if unread is not None:
                result.unread.append(UnreadSentence(sentence, number, unread))
        return result

    def _read_sentence(self, text: str, names: Container[str] = ()
                       ) -> tuple[list[tuple[Triple, str]], str | None]:
        """The facts of one sentence, each once, and why (part of) it cannot be read
        (``None``: all of it was read). The simple statements it is rewritten into
        (:mod:`dnc_qa.kb.simplify`; ``names``: the names the rest of the text uses) are read
        when every one of them reads; else the sentence as written, and when that does not
        read either, the statements that do ("Imogen's husband, Felix, is a painter" gives
        Felix as Imogen's husband; the sentence is listed as read in part)."""
        text = text.strip()
        if text.endswith("?"):
            return [], "a question, not a statement"
        parts = rewrite(text, names)
        reads = [self._read_written(part, names) for part in parts or ()]
        if reads and all(why is None for _, why in reads):
            facts, why = [fact for f, _ in reads for fact in f], None
        else:
            facts, why = self._read_written(text, names)
            partial = [fact for f, _ in reads for fact in f]
            if not facts and partial:
                unread = next(part for part, (_, w) in zip(parts or (), reads, strict=True)
                              if w is not None)
                facts, why = partial, f"read in part: not {unread!r}"
        return list({fact[0]: fact for fact in facts}.values()), why

    def _read_written(self, text: str, names: Container[str] = ()
                      ) -> tuple[list[tuple[Triple, str]], str | None]:
        """:meth:`_read_sentence` for the sentence as written."""
        apposition = split_apposition(text)
        if apposition is not None:
            main, subject, aside = apposition
            facts, why = self._read_sentence(main, names)
            aside_read = self.read_statement(f"{subject} {aside}.")
            if aside_read is not None and aside_read[1] != "X is a KIND":
                facts.append((aside_read[0], f"{aside_read[1]} (apposition)"))
                if why is not None:  # "Brackenholt, the capital of Lormandy, is a busy port"
                    why = f"only its apposition was read: {why}"
            return facts, why
        split = split_relative_clause(text)
        if split is None:
            read = self.read_statement(text)
            return ([read], None) if read is not None else ([], "no sentence form matches")
        main, clause, pronoun = split
        main_read = self.read_statement(main)
        if main_read is None:
            return [], f"no sentence form matches its main clause {main!r}"
        before = text[: text.index(f", {pronoun} ")]
        antecedent = _antecedent(before, main_read[0])
        if antecedent is None:
            return [], "cannot tell what its relative clause is about"
        words = clause.split()
        end = _subject_end(words, 0)
        if pronoun in ("which", "that") and 0 < end < len(words):
            # "X, which Aurelia Brandt painted in 1930, ...": Aurelia Brandt painted X
            statement = " ".join([*words[:end + 1], antecedent, *words[end + 1:]])
        elif pronoun == "whose":
            statement = f"{antecedent}'s {clause}"
        else:
            statement = f"{antecedent} {clause}"
        clause_facts, clause_why = self._read_sentence(statement + ".", names)
        if clause_why is not None or not clause_facts:
            return [], f"no sentence form matches its clause {pronoun!r} {clause!r}"
        return [main_read, *((t, f"{n} (relative clause)") for t, n in clause_facts)], None

    def question(self, text: str) -> Query | None:
        """Read one question as ``(source, relation, ?)``; ``None`` if no pattern matches."""
        doc = self.nlp(text.strip())
        read = self._read(doc[:], "Q:")
        if read is None:
            return None
        name, v = read
        return Query(v["Y"], v["R"], name)


# ----------------------------------------------------------------- verb statements

_DETERMINERS = {"the", "a", "an"}
_PRONOUNS = {"i", "you", "he", "she", "it", "we", "they", "this", "that", "these", "those",
             "there", "who", "what", "which", "someone", "everyone", "nobody"}
_BE = {"is", "are", "was", "were", "am", "be", "been"}
_AUX = _BE | {"has", "have", "had", "does", "do", "did", "will", "would", "can", "could"}
_NEGATIONS = {"not", "never", "n't", "no"}
_PREPS = {"in", "at", "on", "for", "to", "with", "from", "by", "into", "of", "about", "near",
          "under", "over", "across", "through", "onto", "upon", "towards", "toward", "after",
          "before", "behind", "beside", "inside", "outside", "out", "up", "down", "off"}
_TITLE_JOINERS = NAME_JOINERS | {"at", "and", "in", "on", "over", "under", "for", "the", "to",
                                  "a", "an", "with", "from", "without", "beyond", "after",
                                  "before", "by", "into", "through", "across"}
"""Small words inside a title that opens a statement ("Winter at Pirrow was painted by ...",
"Song of the North was written by ...")."""


def _subject_end(words: Sequence[str], start: int) -> int:
    """The index after the name or title that opens a statement at ``start``: capitalised
    words, with small words between them (:data:`_TITLE_JOINERS`) when a capitalised word
    follows."""
    i = start
    while i < len(words):
        if is_name_word(words[i]):
            i += 1
            continue
        j = i
        while j < len(words) and words[j].lower() in _TITLE_JOINERS:
            j += 1
        if j == i or i == start or j >= len(words) or not is_name_word(words[j]):
            break
        i = j
    return i


def _simple_words(tokens: Sequence[str]) -> list[str] | None:
    """The words of one simple statement, without blanks and its final stop; ``None`` when
    it has the punctuation of a longer sentence (a comma, a colon, a bracket, a "?")."""
    words = [t for t in tokens if t.strip()]
    while words and words[-1] in (".", "!"):
        words.pop()
    if any(w in (",", ";", ":", "?", "(", ")") for w in words):
        return None
    return words


def _opens_phrase(word: str) -> bool:
    """Whether a slot that opens with ``word`` is a phrase, not a name ("in Brisk", "a book
    by Petra", "located in Mirovale")."""
    w = word.lower()
    return word[:1].islower() and (w in _PREPS or w in _DETERMINERS or _is_participle(w))


def _is_participle(word: str) -> bool:
    """Whether ``word`` is a past participle ("directed", "written", "built"): an inflected
    form of a verb that is not the verb itself, ending as participles do ("then", "kitchen"
    and "rose" are not)."""
    w = word.lower()
    return (w.isalpha() and verb_lemma(w) != w and w.endswith(_PARTICIPLE_ENDINGS)
            and is_inflected_verb(w))


_PARTICIPLE_ENDINGS = ("ed", "en", "wn", "lt", "de", "ht", "ng", "un", "ne")


def _relation_word(word: str) -> bool:
    """A word of a relation: lower case, or an acronym ("CEO"); a capitalised word is a
    name's."""
    return word.islower() or (word.isupper() and word.isalpha())


def read_verb_statement(tokens: Sequence[str]) -> tuple[Triple, str] | None:
    """``Subject verb [particles] object .`` -> a triple (see the module docstring).

    The subject is a name (capitalised words, "of"-joined: "Bank of England") or "the" and
    one word; the verb a finite form (``likes``, ``wrote``; an irregular past or a regular
    ``-s``/``-ed`` form) or ``is``/``was`` + a participle or preposition; the object is the
    rest, without a leading article. Negations, pronoun subjects and questions are not read.
    """
    words = _simple_words(tokens)
    if words is None or len(words) < 3:
        return None
    i = 0
    if words[0].lower() in _DETERMINERS:
        i = 1
    start = i
    if i < len(words) and (words[i][:1].islower() and start == 1):
        i += 1  # "the kitchen"
    i = _subject_end(words, i) if i == start else i
    subject = words[start:i]
    if not subject or subject[0].lower() in _PRONOUNS:
        return None
    rest = [w.lower() for w in words[i:]]
    aux = None
    if rest and rest[0] in _AUX:
        aux, rest = rest[0], rest[1:]
        if rest and rest[0] in ("been", "being"):
            rest = rest[1:]
    if not rest or rest[0] in _NEGATIONS:
        return None
    verb = None
    if rest[0] not in _PREPS:
        written = words[len(words) - len(rest)]
        verb, rest = rest[0], rest[1:]
        if not verb.isalpha() or verb in _DETERMINERS or verb in _AUX or written[:1].isupper():
            return None  # "X is Hadrian Voss": a name, no verb
        if aux is None and not is_inflected_verb(verb):
            return None
        if aux in _BE and not (verb.endswith(("ed", "en", "n", "t")) or verb in IRREGULAR):
            return None  # "Tom is tall", "Tom is happy"
    elif aux not in _BE:
        return None
    preps: list[str] = []
    while rest and rest[0] in _PREPS and len(preps) < 2:
        preps.append(rest.pop(0))
    obj_words = words[len(words) - len(rest):]
    while obj_words and obj_words[0].lower() in _DETERMINERS:
        obj_words = obj_words[1:]
    if not obj_words:
        return None
    subj, obj = " ".join(subject), " ".join(obj_words)
    if verb is not None and aux in _BE and preps == ["by"]:
        return Triple(obj, verb_lemma(verb), subj), "X was VERBed by Y (passive)"
    if verb is None:
        return Triple(subj, " ".join(preps), obj), "X is PREP Y"
    if aux in _BE:
        return Triple(subj, " ".join([verb, *preps]), obj), "X is VERBed [PREP] Y"
    return Triple(subj, " ".join([verb_lemma(verb), *preps]), obj), "X VERBs [PREP] Y"


def read_of_statement(tokens: Sequence[str]) -> tuple[Triple, str] | None:
    """``X is the|a|an R of Y .`` where a name holds "of" or "the" ("Lucan is the author of
    A Map of Small Hours", "Vell is the capital of the Republic of Ardun"), which the copula
    templates' slots cannot: X a name or title, R one to three lower-case words."""
    words = _simple_words(tokens)
    if words is None:
        return None
    reverse = _read_the_r_of(words)
    if reverse is not None:
        return reverse
    start = 1 if words and words[0].lower() == "the" else 0
    end = _subject_end(words, start)
    if end == start or end + 3 >= len(words) or words[end].lower() not in ("is", "was"):
        return None
    if words[end + 1].lower() not in _DETERMINERS:
        return None
    try:
        of = words.index("of", end + 2)
    except ValueError:
        return None
    relation = words[end + 2:of]
    if not 1 <= len(relation) <= 3 or not all(_relation_word(w) for w in relation):
        return None
    obj = _without_the(words[of + 1:])
    if not obj or not is_name_word(obj[0]) or _subject_end(obj, 0) != len(obj):
        return None
    return Triple(" ".join(obj), " ".join(relation).lower(), " ".join(words[start:end])), \
        "X is the R of Y (a name with of)"


def _without_the(words: list[str]) -> list[str]:
    """``words`` without a leading "the" (kept when it is the only word)."""
    return words[1:] if len(words) > 1 and words[0].lower() == "the" else words


def _read_the_r_of(words: list[str]) -> tuple[Triple, str] | None:
    """``The R of Y is X`` where Y holds "of" ("The rector of the University of Kelderwick is
    Ingrid Sauvel")."""
    if len(words) < 6 or words[0].lower() != "the":
        return None
    try:
        of = words.index("of", 1)
        be = next(i for i in range(len(words) - 1, of, -1) if words[i].lower() in ("is", "was"))
    except (ValueError, StopIteration):
        return None
    relation = words[1:of]
    obj, subj = _without_the(words[of + 1:be]), _without_the(words[be + 1:])
    if (not 1 <= len(relation) <= 3 or not all(_relation_word(w) for w in relation)
            or not obj or _subject_end(obj, 0) != len(obj) or not subj
            or _subject_end(subj, 0) != len(subj)):
        return None
    return Triple(" ".join(obj), " ".join(relation).lower(), " ".join(subj)), \
        "the R of Y is X (a name with of)"


_KIND_PLACE = {"in": "in", "on": "in", "near": "near", "from": "from", "at": "in"}


def read_kind_statement(tokens: Sequence[str]) -> tuple[Triple, str] | None:
    """``X is a|an [words] KIND PREP Y .``: what X is, with where or by whom.

    ``in``/``on``/``at`` give ``(X, in, Y)`` ("Castelbrook is a city in Maravia", as "X is in
    Y" does), ``from`` and ``near`` give themselves; ``by`` gives the maker's verb of the kind
    of work (:data:`MAKER_VERBS`: "a novel by Y" -> ``(Y, write, X)``), or the participle's
    ("a 1987 film directed by Y" -> ``(Y, direct, X)``), else ``(X, by, Y)``. A plural
    subject ("The Glass Foxes are a band from Y") reads as a singular one.
    X is a name, or "the" and one word; "X is a KIND" alone says nothing this graph stores.
    """
    words = _simple_words(tokens)
    if words is None:
        return None
    lower = [w.lower() for w in words]
    try:
        be = next(i for i, w in enumerate(lower) if w in ("is", "was", "are", "were"))
    except StopIteration:
        return None
    subject = words[1:be] if lower[0] in _DETERMINERS else words[:be]
    if (not subject or not all(is_name_word(w) or w.lower() in _TITLE_JOINERS for w in subject)
            and not (lower[0] == "the" and len(subject) == 1)):
        return None
    if be + 2 >= len(words) or lower[be + 1] not in ("a", "an"):
        return None
    rest = lower[be + 2:]
    at = next((i for i, w in enumerate(rest) if w in (*_KIND_PLACE, "by")), None)
    if at is None or at == 0 or at + 1 >= len(rest):
        return None
    kind, prep = rest[at - 1], rest[at]
    obj = words[be + 2 + at + 1:]
    while obj and obj[0].lower() in _DETERMINERS:
        obj = obj[1:]
    if not obj or any(w in _PREPS or w in _AUX for w in rest[:at]):
        return None
    subj, obj_text = " ".join(subject), " ".join(obj)
    if prep == "by" and kind not in MAKER_OF and _is_participle(kind):
        return Triple(obj_text, verb_lemma(kind), subj), "X is a KIND VERBed by Y"
    if prep == "by":
        verb = MAKER_OF.get(kind)
        if verb is not None:
            return Triple(obj_text, verb, subj), "X is a KIND by Y"
        return Triple(subj, "by", obj_text), "X is a KIND by Y"
    return Triple(subj, _KIND_PLACE[prep], obj_text), "X is a KIND PREP Y"


# ----------------------------------------------------------------- appositions

_APPOSITION = re.compile(r"^(?P<subject>[^,]+), (?P<aside>(?i:a|an|the) [^,]+|[a-z]+ "
                         r"(?:by|in|at|on|from|for|to|into) [^,]+), "
                         r"(?P<rest>[^,]+?)\s*[.!]?$")


def split_apposition(text: str) -> tuple[str, str, str] | None:
    """``(the sentence without it, its subject, the apposition as a predicate)`` for "Petra
    Lune, a poet, was born in Castelbrook" (an apposition opens with "a", "an" or "the": "is a
    poet"), or for a participle: "Foxglove Studios, owned by Ravi Tallis, is in Brannock"
    ("was owned by Ravi Tallis"); else ``None``."""
    m = _APPOSITION.match(text.strip())
    if m is None:
        return None
    subject, aside = m.group("subject").strip(), m.group("aside").strip()
    if aside.split()[0].lower() not in ("a", "an", "the"):
        if not (_is_participle(aside.split()[0]) or aside.split()[0] == "born"):
            return None  # "Tom, then in Rome, ...": no participle
        return f"{subject} {m.group('rest').strip()}.", subject, f"was {aside}"
    return f"{subject} {m.group('rest').strip()}.", subject, f"is {aside}"


# ----------------------------------------------------------------- relative clauses

_RELATIVE = re.compile(r"^(?P<pre>.+?), (?P<pro>who|which|that|whose) (?P<body>.+?)"
                       r"(?:, (?P<post>.+?))?\s*[.!]?$", re.IGNORECASE)


def split_relative_clause(text: str) -> tuple[str, str, str] | None:
    """``(main statement, clause body, pronoun)`` of a sentence with one non-restrictive
    relative clause ("Tom, who lives in Paris, likes apples"), or ``None`` without one."""
    m = _RELATIVE.match(text.strip())
    if m is None:
        return None
    pre, body, post = m.group("pre"), m.group("body"), m.group("post")
    main = f"{pre} {post}." if post else f"{pre}."
    return main, body.strip(), m.group("pro").lower()


def _antecedent(before: str, main: Triple) -> str | None:
    """Which name of the main statement the text before ", who ..." ends with (the longest
    match: "Bank of England" over "England"); ``None`` when neither."""
    tail = before.strip().rstrip(".")
    for name in sorted({main.source, main.target}, key=len, reverse=True):
        if tail == name or tail.endswith(" " + name):
            return name
    return None
